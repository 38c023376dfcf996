// Between layers and their descriptions: what each of the library's layers
// says it is, and the layer a description builds.

/// A layer of the library that can say what it is: the hook behind
/// ``LayerDescription/init(describing:)``, internal because only the
/// library's layers have a description of their own (a user's layer is an
/// ``LayerDescription/other(typeName:)``). A new layer type of the library
/// conforms here and gets a case in ``LayerDescription``.
protocol DescribableLayer {
    /// The layer's type, sizes and hyperparameters.
    var layerDescription: LayerDescription { get }
}

/// A layer that wraps a model and computes what it computes, and so is
/// described as that model: PerceptronDistributed's `DataParallel`, so that
/// a model file or a checkpoint of one records, and checks, the wrapped
/// model's architecture.
package protocol DescribedAsWrappedModel<Scalar>: Layer {
    /// The model wrapped, whose description is this layer's.
    var describedModel: any Layer<Scalar> { get }
}

extension LayerDescription {
    /// The description of `layer`: its own, for the library's layers (inside
    /// a ``Sequential`` too, at any depth), its wrapped model's for a
    /// ``DescribedAsWrappedModel``, or ``other(typeName:)`` with its
    /// module-qualified type name.
    init<Scalar>(describing layer: any Layer<Scalar>) {
        if let described = layer as? any DescribableLayer {
            self = described.layerDescription
        } else if let wrapper = layer as? any DescribedAsWrappedModel<Scalar> {
            self.init(describing: wrapper.describedModel)
        } else {
            let name = String(reflecting: type(of: layer))
            self = .other(typeName: name.firstIndex(of: "<").map { String(name[..<$0]) } ?? name)
        }
    }
}

extension Linear: DescribableLayer {
    var layerDescription: LayerDescription {
        .linear(inputFeatures: inputFeatures, outputFeatures: outputFeatures, bias: bias != nil)
    }
}

extension ReLU: DescribableLayer {
    var layerDescription: LayerDescription { .relu }
}

extension LeakyReLU: DescribableLayer {
    var layerDescription: LayerDescription { .leakyReLU(slope: Double(slope)) }
}

extension Tanh: DescribableLayer {
    var layerDescription: LayerDescription { .tanh }
}

extension Sigmoid: DescribableLayer {
    var layerDescription: LayerDescription { .sigmoid }
}

extension Softmax: DescribableLayer {
    var layerDescription: LayerDescription { .softmax }
}

extension GELU: DescribableLayer {
    var layerDescription: LayerDescription { .gelu }
}

extension SiLU: DescribableLayer {
    var layerDescription: LayerDescription { .silu }
}

extension LayerNorm: DescribableLayer {
    /// Affine when it has either parameter: one without the other is
    /// described as affine, and saving it then refuses the missing one.
    var layerDescription: LayerDescription {
        .layerNorm(features: features, epsilon: Double(epsilon), affine: weight != nil || bias != nil)
    }
}

extension Dropout: DescribableLayer {
    var layerDescription: LayerDescription { .dropout(probability: Double(probability)) }
}

extension Sequential: DescribableLayer {
    var layerDescription: LayerDescription {
        .sequential(layers.map { LayerDescription(describing: $0) })
    }
}

// MARK: - Building

extension LayerDescription {
    /// A new layer of this description, holding the parameters of
    /// `parameters` named ``parameterLayouts(prefix:)`` (in Perceptron's
    /// layout, and of those shapes: the caller checks them first, so that no
    /// layer is built before everything is known to fit).
    ///
    /// Each ``Dropout``'s mask generator is seeded with the next draw of
    /// `dropoutSeeds`, in the order the layers come, so that no two draw the
    /// same masks.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for an ``other(typeName:)`` layer, which only its own code can build,
    ///   for a missing parameter, and for a dropout probability that rounds to
    ///   1 in `Scalar`.
    func makeLayer<Scalar: BLASScalar>(
        parameters: [String: Tensor<Scalar>], prefix: String = "", dropoutSeeds: inout SeededRandomNumberGenerator
    ) throws(PerceptronError) -> any Layer<Scalar> {
        func parameter(_ name: String) throws(PerceptronError) -> Tensor<Scalar> {
            guard let tensor = parameters[prefix + name] else {
                throw .invalidArgument(name: "parameters", expected: "a tensor named \(prefix + name)", actual: "none")
            }
            return tensor
        }
        switch self {
        case let .linear(_, _, bias):
            return try Linear(weight: parameter("weight"), bias: bias ? parameter("bias") : nil)
        case .relu: return ReLU()
        case let .leakyReLU(slope): return LeakyReLU(slope: Scalar(slope))
        case .tanh: return Tanh()
        case .sigmoid: return Sigmoid()
        case .softmax: return Softmax()
        case .gelu: return GELU()
        case .silu: return SiLU()
        case let .layerNorm(features, epsilon, affine):
            let layer = LayerNorm<Scalar>(features: features, epsilon: Scalar(epsilon), affine: affine)
            if affine {
                layer.weight = try parameter("weight")
                layer.bias = try parameter("bias")
            }
            return layer
        case let .dropout(probability):
            return try Dropout(probability: Scalar(probability), seed: dropoutSeeds.next())
        case let .sequential(layers):
            var built: [any Layer<Scalar>] = []
            built.reserveCapacity(layers.count)
            for (index, layer) in layers.enumerated() {
                built.append(try layer.makeLayer(parameters: parameters, prefix: "\(prefix)\(index).", dropoutSeeds: &dropoutSeeds))
            }
            return Sequential(built)
        case let .other(typeName):
            throw .invalidArgument(
                name: "layer type", expected: "one of \(Self.libraryTypeNames.joined(separator: ", "))",
                actual: Self.shown(typeName))
        }
    }
}
