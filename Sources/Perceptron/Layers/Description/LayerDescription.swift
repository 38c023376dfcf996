/// What a layer is, apart from the values of its parameters: its type and the
/// sizes and hyperparameters that fix its parameters' shapes and what it
/// computes. Two layers with equal descriptions differ at most in their
/// parameter values (and a ``Dropout``'s generator).
///
/// A model file records its model's description (its architecture), so the
/// file can rebuild the model alone, and a file is matched against a model
/// by comparing descriptions. The description also knows how PyTorch's
/// `state_dict` lays out each parameter (``parameterLayouts``), which is the
/// one place that knows a ``Linear`` weight is stored transposed there.
///
/// Hyperparameters are held as `Double`, which holds a `Float` exactly; a
/// description read from a file is compared with a model's after
/// ``rounded(to:)`` its precision.
indirect enum LayerDescription: Equatable, Sendable {
    /// ``Linear``: `inputFeatures` (f) by `outputFeatures` (m), with or without a bias.
    case linear(inputFeatures: Int, outputFeatures: Int, bias: Bool)
    /// ``ReLU``.
    case relu
    /// ``LeakyReLU`` with its slope for non-positive inputs.
    case leakyReLU(slope: Double)
    /// ``Tanh``.
    case tanh
    /// ``Sigmoid``.
    case sigmoid
    /// ``Softmax``, over the last dimension.
    case softmax
    /// ``GELU``, the exact form (with erf).
    case gelu
    /// ``SiLU``.
    case silu
    /// ``LayerNorm`` over a last dimension of `features`, with its epsilon, and
    /// with a weight and a bias when `affine`.
    case layerNorm(features: Int, epsilon: Double, affine: Bool)
    /// ``Dropout`` with its probability (its generator's state is not part of it).
    case dropout(probability: Double)
    /// ``Sequential``: the description of each of its layers, in order.
    case sequential([LayerDescription])
    /// A layer of a type that is not one of the library's, such as a user's
    /// own, by its module-qualified type name without generic arguments
    /// (`MyApp.Scale`): what it computes and which parameters it has are
    /// known only to it.
    case other(typeName: String)
}

/// One parameter as a layer of the library holds it, and as PyTorch's
/// `state_dict` for the same architecture holds it.
struct ParameterLayout: Equatable, Sendable {
    /// The parameter's name as ``Layer/forEachParameter(_:)`` gives it from
    /// the layer described: `weight`, or `0.weight`, `2.1.bias`, … inside a
    /// ``Sequential``, which are also its `state_dict` keys.
    var name: String
    /// The shape Perceptron holds it in.
    var shape: [Int]
    /// Whether PyTorch holds the transpose: a ``Linear`` weight, `[f, m]` here
    /// and `[out, in]` (`[m, f]`) in `nn.Linear`.
    var isTransposedInPyTorch: Bool
    /// The layer it belongs to, for messages: `Linear(64 → 10)`, `LayerNorm(64)`.
    var owner: String

    /// The shape PyTorch holds it in.
    var pyTorchShape: [Int] { isTransposedInPyTorch ? shape.reversed() : shape }
}

extension LayerDescription {
    /// The type names of the library's layers, as the descriptions show them
    /// and the architecture format writes them (PyTorch's `torch.nn` names).
    static let libraryTypeNames = [
        "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "GELU", "SiLU", "LayerNorm", "Dropout", "Sequential",
    ]

    /// The type's name: PyTorch's (`Linear`, `LayerNorm`), or an other layer's ``other(typeName:)``.
    var typeName: String {
        switch self {
        case .linear: return "Linear"
        case .relu: return "ReLU"
        case .leakyReLU: return "LeakyReLU"
        case .tanh: return "Tanh"
        case .sigmoid: return "Sigmoid"
        case .softmax: return "Softmax"
        case .gelu: return "GELU"
        case .silu: return "SiLU"
        case .layerNorm: return "LayerNorm"
        case .dropout: return "Dropout"
        case .sequential: return "Sequential"
        case let .other(typeName): return typeName
        }
    }

    /// The parameters a layer of this description has, in the order
    /// ``Layer/forEachParameter(_:)`` visits them, named as it names them,
    /// with `prefix` (`"2."`) before each name.
    ///
    /// An ``other(typeName:)`` layer adds none: its parameters are known only
    /// to it, and are saved and loaded as it lists them, untransposed.
    func parameterLayouts(prefix: String = "") -> [ParameterLayout] {
        switch self {
        case let .linear(f, m, bias):
            let owner = summary(as: Double.self)
            let weight = ParameterLayout(name: prefix + "weight", shape: [f, m], isTransposedInPyTorch: true, owner: owner)
            return bias ? [weight, ParameterLayout(name: prefix + "bias", shape: [m], isTransposedInPyTorch: false, owner: owner)] : [weight]
        case let .layerNorm(features, _, affine):
            guard affine else { return [] }
            return ["weight", "bias"].map {
                ParameterLayout(name: prefix + $0, shape: [features], isTransposedInPyTorch: false, owner: "LayerNorm(\(features))")
            }
        case let .sequential(layers):
            return layers.enumerated().flatMap { index, layer in layer.parameterLayouts(prefix: "\(prefix)\(index).") }
        case .relu, .leakyReLU, .tanh, .sigmoid, .softmax, .gelu, .silu, .dropout, .other:
            return []
        }
    }

    /// The first layer, depth first, of a type other than the library's, with
    /// its position (`"3"`, `"2.1"`; empty for the described layer itself).
    var firstOtherLayer: (position: String, typeName: String)? {
        switch self {
        case let .other(typeName):
            return ("", typeName)
        case let .sequential(layers):
            for (index, layer) in layers.enumerated() {
                if let (position, typeName) = layer.firstOtherLayer {
                    return (position.isEmpty ? "\(index)" : "\(index).\(position)", typeName)
                }
            }
            return nil
        default:
            return nil
        }
    }

    /// The description with every hyperparameter rounded to `Scalar`, as a
    /// layer of that precision built from it would hold it.
    func rounded<Scalar: BLASScalar>(to _: Scalar.Type) -> LayerDescription {
        func round(_ value: Double) -> Double { Double(Scalar(value)) }
        switch self {
        case let .leakyReLU(slope): return .leakyReLU(slope: round(slope))
        case let .layerNorm(features, epsilon, affine): return .layerNorm(features: features, epsilon: round(epsilon), affine: affine)
        case let .dropout(probability): return .dropout(probability: round(probability))
        case let .sequential(layers): return .sequential(layers.map { $0.rounded(to: Scalar.self) })
        case .linear, .relu, .tanh, .sigmoid, .softmax, .gelu, .silu, .other: return self
        }
    }

    // MARK: - Messages

    /// The layer in a few words, with each hyperparameter printed in
    /// `Scalar`'s precision: `Linear(64 → 10)`, `LeakyReLU(slope 0.01)`,
    /// `Sequential(3 layers)`.
    func summary<Scalar: BLASScalar>(as _: Scalar.Type) -> String {
        func number(_ value: Double) -> String { Scalar(value).description }
        switch self {
        case let .linear(f, m, bias): return "Linear(\(f) → \(m)\(bias ? "" : ", no bias"))"
        case let .leakyReLU(slope): return "LeakyReLU(slope \(number(slope)))"
        case let .layerNorm(features, epsilon, affine):
            return "LayerNorm(\(features), epsilon \(number(epsilon))\(affine ? "" : ", no affine"))"
        case let .dropout(probability): return "Dropout(probability \(number(probability)))"
        case let .sequential(layers): return "Sequential(\(layers.count) layer\(layers.count == 1 ? "" : "s"))"
        case let .other(typeName): return Self.shown(typeName)
        case .relu, .tanh, .sigmoid, .softmax, .gelu, .silu: return typeName
        }
    }

    /// A type name as messages show it: as it is when it is short and plain,
    /// quoted and clipped otherwise, so that a hostile file cannot make a huge
    /// message, nor one that hides control characters.
    static func shown(_ typeName: String) -> String {
        let plain = !typeName.isEmpty && typeName.count <= 60
            && typeName.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil || "._<>()$ ".unicodeScalars.contains($0) }
        return plain ? typeName : JSONString.clipped(typeName)
    }

    /// The first difference between this description, a file's, and
    /// `model`'s, in words, or `nil` when they are equal: `layer 2: the file
    /// has Linear(64 → 10), the model has Linear(64 → 32)`.
    ///
    /// Both are compared as given: round the file's to the model's precision
    /// first (``rounded(to:)``). Layers of two ``Sequential``s are compared
    /// one by one, so the first layer that differs is named by its position
    /// (`layer 2.1` inside a nested one); hyperparameters print in `Scalar`'s
    /// precision.
    func firstDifference<Scalar: BLASScalar>(from model: LayerDescription, as _: Scalar.Type) -> String? {
        guard let difference = firstDifferingLayer(from: model, as: Scalar.self) else { return nil }
        let place = difference.position.isEmpty ? "" : "layer \(difference.position): "
        return place + "the file has \(difference.saved), the model has \(difference.actual)"
    }

    /// The first difference, as ``firstDifference(from:as:)`` finds it, in
    /// parts: the position of the layer that differs (`"2.1"`; empty for the
    /// described layer itself), and what this description and `model`'s have
    /// there (`none (3 layers in all)` for a layer one of them lacks).
    func firstDifferingLayer<Scalar: BLASScalar>(
        from model: LayerDescription, as _: Scalar.Type
    ) -> (position: String, saved: String, actual: String)? {
        Self.difference(file: self, model: model, position: [], Scalar.self)
    }

    private static func difference<Scalar: BLASScalar>(
        file: LayerDescription, model: LayerDescription, position: [Int], _: Scalar.Type
    ) -> (position: String, saved: String, actual: String)? {
        func named(_ position: [Int]) -> String { position.map(String.init).joined(separator: ".") }
        if case let .sequential(fileLayers) = file, case let .sequential(modelLayers) = model {
            let container = position.isEmpty ? "in all" : "in layer \(named(position))"
            for index in 0..<max(fileLayers.count, modelLayers.count) {
                let inner = position + [index]
                guard index < fileLayers.count else {
                    return (named(inner), "none (\(fileLayers.count) layers \(container))", modelLayers[index].summary(as: Scalar.self))
                }
                guard index < modelLayers.count else {
                    return (named(inner), fileLayers[index].summary(as: Scalar.self), "none (\(modelLayers.count) layers \(container))")
                }
                if let difference = difference(file: fileLayers[index], model: modelLayers[index], position: inner, Scalar.self) {
                    return difference
                }
            }
            return nil
        }
        guard file != model else { return nil }
        return (named(position), file.summary(as: Scalar.self), model.summary(as: Scalar.self))
    }
}
