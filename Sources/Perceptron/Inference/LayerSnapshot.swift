// What an `InferenceModel` holds: one immutable value per layer, made of the
// layer's hyperparameters and its parameter tensors, and nothing a pass
// writes. Each case runs the check and the arithmetic of its layer's
// `predict` (the layers expose them as internal static functions), so a
// snapshot gives `predict`'s bits and errors, and the tree of cases mirrors
// the tree of `Sequential`s, so that errors name every level as
// `Sequential.predict` does.
//
// The cases are plain data: a layer type, its hyperparameters and its
// tensors, in Perceptron's layout. A model described elsewhere (a list of
// layer types and sizes, with tensors by name) maps onto them case for case.

/// One layer of an ``InferenceModel``: its type, hyperparameters and parameters, immutable.
enum LayerSnapshot<Scalar: BLASScalar>: Sendable {
    /// `Z = XW + b`: `weight` is `[inputFeatures, outputFeatures]`, `bias` `[outputFeatures]` or absent.
    /// `roundedWeight` is `weight` rounded to bfloat16 once, for a layer in bfloat16;
    /// `packed`, its weights packed for the library's small-request kernel and
    /// for oneDNN, for a snapshot asked to pack them
    /// (``InferenceModel/Kernels/packedWeights``) on a CPU where they can be.
    case linear(
        weight: Tensor<Scalar>, bias: Tensor<Scalar>?, precision: Precision, roundedWeight: RoundedWeight?,
        packed: PackedLinear?)
    case relu
    case leakyReLU(slope: Scalar)
    case sigmoid
    case tanh
    case softmax
    case gelu
    case silu
    /// `weight` and `bias`, when present, are `[features]`.
    case layerNorm(features: Int, epsilon: Scalar, weight: Tensor<Scalar>?, bias: Tensor<Scalar>?)
    /// The identity at inference; the probability is kept so that the snapshot still describes its model.
    case dropout(probability: Scalar)
    case sequential([LayerSnapshot<Scalar>])

    /// The layer types a snapshot can take, in the order the error that refuses another lists them.
    static var supportedTypes: [String] {
        ["Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "GELU", "SiLU", "LayerNorm", "Dropout", "Sequential"]
    }

    /// A snapshot of `layer`'s parameters as they are now, sharing their
    /// buffers (copy-on-write: a later change to the layer copies the tensor
    /// it changes, and the snapshot keeps the values it took).
    ///
    /// - Throws: ``PerceptronError/unsupportedLayer(type:operation:supported:)``
    ///   for a layer of another type, inside ``PerceptronError/inLayer(index:type:error:)``
    ///   for each ``Sequential`` around it; the layer's own parameter-shape
    ///   error if a parameter was replaced by a tensor of the wrong shape.
    init(_ layer: any Layer<Scalar>) throws(PerceptronError) {
        if let linear = layer as? Linear<Scalar> {
            try linear.checkParameters()
            // Its weights never change: a Float layer in bfloat16 is rounded once, here.
            let rounded = linear.precision == .bfloat16 && Scalar.self == Float.self ? RoundedWeight(linear.weight) : nil
            self = .linear(
                weight: linear.weight, bias: linear.bias, precision: linear.precision, roundedWeight: rounded, packed: nil)
        } else if layer is ReLU<Scalar> {
            self = .relu
        } else if let leaky = layer as? LeakyReLU<Scalar> {
            self = .leakyReLU(slope: leaky.slope)
        } else if layer is Sigmoid<Scalar> {
            self = .sigmoid
        } else if layer is Tanh<Scalar> {
            self = .tanh
        } else if layer is Softmax<Scalar> {
            self = .softmax
        } else if layer is GELU<Scalar> {
            self = .gelu
        } else if layer is SiLU<Scalar> {
            self = .silu
        } else if let norm = layer as? LayerNorm<Scalar> {
            try norm.checkParameters()
            self = .layerNorm(features: norm.features, epsilon: norm.epsilon, weight: norm.weight, bias: norm.bias)
        } else if let dropout = layer as? Dropout<Scalar> {
            self = .dropout(probability: dropout.probability)
        } else if let sequential = layer as? Sequential<Scalar> {
            var children: [LayerSnapshot<Scalar>] = []
            children.reserveCapacity(sequential.layers.count)
            for (index, child) in sequential.layers.enumerated() {
                do {
                    children.append(try LayerSnapshot(child))
                } catch {
                    throw .inLayer(index: index, type: Sequential<Scalar>.typeName(of: child), error: error)
                }
            }
            self = .sequential(children)
        } else {
            throw .unsupportedLayer(
                type: Sequential<Scalar>.typeName(of: layer), operation: "InferenceModel", supported: Self.supportedTypes)
        }
    }

    /// The same snapshot with the weights of its `Float` ``Linear`` layers
    /// packed for the library's small-request kernel (on AVX-512F or AVX2) and for
    /// oneDNN where its kernel reads a packed layout: the same
    /// tensors and bfloat16 roundings, shared, plus the packed copies.
    ///
    /// - Throws: ``PerceptronError/backendFailure(backend:reason:)`` if oneDNN
    ///   fails to pack a weight, inside ``PerceptronError/inLayer(index:type:error:)``
    ///   for each ``Sequential`` around it.
    func packingWeights() throws(PerceptronError) -> LayerSnapshot {
        switch self {
        case let .linear(weight, bias, precision, roundedWeight, _) where Scalar.self == Float.self:
            let packed = try PackedLinear(
                weight: unsafeBitCast(weight, to: Tensor<Float>.self), bias: bias.map { unsafeBitCast($0, to: Tensor<Float>.self) },
                roundedWeight: roundedWeight)
            return .linear(weight: weight, bias: bias, precision: precision, roundedWeight: roundedWeight, packed: packed)
        case let .sequential(layers):
            var packed: [LayerSnapshot] = []
            packed.reserveCapacity(layers.count)
            for index in 0..<layers.count {
                do {
                    packed.append(try layers[index].packingWeights())
                } catch {
                    throw .inLayer(index: index, type: layers[index].typeName, error: error)
                }
            }
            return .sequential(packed)
        default:
            return self
        }
    }

    /// How many ``Linear`` layers in the tree have packed weights.
    var packedLayerCount: Int {
        switch self {
        case let .linear(_, _, _, _, packed): packed == nil ? 0 : 1
        case let .sequential(layers): layers.reduce(0) { $0 + $1.packedLayerCount }
        default: 0
        }
    }

    /// The kernels the packed weights in the tree run on, layer by layer:
    /// ``PanelGEMM/kernelName`` and oneDNN's implementations.
    var packedImplementations: [String] {
        switch self {
        case let .linear(_, _, _, _, packed):
            return packed?.implementations ?? []
        case let .sequential(layers): return layers.flatMap(\.packedImplementations)
        default: return []
        }
    }

    /// The features a request's rows have, where the tree says (its first
    /// ``Linear`` or ``LayerNorm``, past any layer that keeps any width).
    var inputFeatures: Int? {
        switch self {
        case let .linear(weight, _, _, _, _): weight.shape[0]
        case let .layerNorm(features, _, _, _): features
        case let .sequential(layers): layers.lazy.compactMap(\.inputFeatures).first
        default: nil
        }
    }

    /// The layer's type as ``Sequential`` names it in errors: `Linear`, not `Linear<Float>`.
    var typeName: String {
        switch self {
        case .linear: "Linear"
        case .relu: "ReLU"
        case .leakyReLU: "LeakyReLU"
        case .sigmoid: "Sigmoid"
        case .tanh: "Tanh"
        case .softmax: "Softmax"
        case .gelu: "GELU"
        case .silu: "SiLU"
        case .layerNorm: "LayerNorm"
        case .dropout: "Dropout"
        case .sequential: "Sequential"
        }
    }

    /// The layer's ``Layer/predict(_:)`` for `input`: the same checks, the
    /// same kernels, the same errors. Reads the snapshot only; the result is
    /// a new tensor (or, for dropout and an empty sequence, `input` itself).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        switch self {
        case let .linear(weight, bias, precision, roundedWeight, packed):
            let (f, m) = (weight.shape[0], weight.shape[1])
            try Linear<Scalar>.checkInput(input, inputFeatures: f)
            let sizes = try Linear<Scalar>.productSizes(rows: input.leadingCount, inputFeatures: f, outputFeatures: m)
            let inBFloat16 = try Linear<Scalar>.runsInBFloat16(precision, sizes)
            // Only a Float layer has packed weights: the casts are of Float tensors to their own type.
            if let packed, packed.hasWeight(rows: sizes.n, inBFloat16: inBFloat16) {
                var z = try Tensor<Float>(uninitializedShape: input.shape, lastDimension: m)
                let computed = try packed.affine(
                    unsafeBitCast(input, to: Tensor<Float>.self), bias: bias.map { unsafeBitCast($0, to: Tensor<Float>.self) },
                    rows: sizes.n, inBFloat16: inBFloat16, into: &z)
                if computed { return unsafeBitCast(z, to: Tensor<Scalar>.self) }
            }
            var z = try Tensor<Scalar>(uninitializedShape: input.shape, lastDimension: m)
            if inBFloat16 {
                // runsInBFloat16 holds only for a Float layer in bfloat16, which the initializer rounded.
                let roundedWeight = roundedWeight!
                try Linear<Scalar>.affineInBFloat16(
                    input, roundingInto: BFloat16Buffer(), weight: roundedWeight.buffer.contents,
                    bias: bias, sizes, into: &z)
                withExtendedLifetime(roundedWeight) {}
            } else {
                Linear<Scalar>.affine(input, weight: weight, bias: bias, sizes, into: &z)
            }
            return z
        case .relu:
            return try ElementwiseCache.predict(input, ReLU<Scalar>.apply)
        case let .leakyReLU(slope):
            return try ElementwiseCache.predict(input) { x, y, count in LeakyReLU<Scalar>.apply(slope, x, y, count) }
        case .sigmoid:
            return try ElementwiseCache.predict(input, Sigmoid<Scalar>.apply)
        case .tanh:
            return try ElementwiseCache.predict(input, Tanh<Scalar>.apply)
        case .softmax:
            let columns = try Softmax<Scalar>.rowLength(of: input)
            return try ElementwiseCache.predict(input) { x, y, count in
                Softmax<Scalar>.normaliseRows(x, y, count: count, columns: columns)
            }
        case .gelu:
            return try ElementwiseCache.predict(input, GELU<Scalar>.apply)
        case .silu:
            return try ElementwiseCache.predict(input, SiLU<Scalar>.apply)
        case let .layerNorm(features, epsilon, weight, bias):
            try LayerNorm<Scalar>.checkInput(input, features: features)
            let rows = input.leadingCount
            var y = try Tensor<Scalar>(uninitializedShape: input.shape)
            input.withUnsafeScalars { x in
                y.withUnsafeMutableScalars { y in
                    // x̂ is written into y and scaled there, as LayerNorm.predict does.
                    LayerNorm<Scalar>.normalise(
                        x, rows: rows, features: features, epsilon: epsilon, weight: weight, bias: bias,
                        normalised: y, inverseDeviations: nil, into: y)
                }
            }
            return y
        case .dropout:
            return input
        case let .sequential(layers):
            var x = input
            // An index loop, as in Sequential: it allocates nothing in any build.
            for index in 0..<layers.count {
                do {
                    x = try layers[index].predict(x)
                } catch {
                    throw .inLayer(index: index, type: layers[index].typeName, error: error)
                }
            }
            return x
        }
    }
}

/// A weight rounded to bfloat16 once and never written again, which any
/// number of tasks may read at once.
final class RoundedWeight: @unchecked Sendable {
    // @unchecked Sendable: `buffer` is written only by the initializer.
    let buffer = BFloat16Buffer()

    init<Scalar: BLASScalar>(_ weight: Tensor<Scalar>) {
        _ = Linear<Scalar>.roundedWeight(weight, into: buffer)
    }
}
