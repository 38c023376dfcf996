/// Layers applied one after another: the output of each is the input of the next.
///
/// ```swift
/// let model = Sequential<Float>([
///     Linear(inputFeatures: 64, outputFeatures: 64), ReLU(),
///     Linear(inputFeatures: 64, outputFeatures: 10),
/// ])
/// ```
///
/// Parameters are named by position, as PyTorch's `nn.Sequential` names them:
/// `0.weight`, `0.bias`, `2.weight`, … An error thrown by a layer comes out
/// wrapped in ``PerceptronError/inLayer(index:type:error:)``, which names the
/// layer's position and type: `layer 2 (Linear): input must have 64 features …`.
public final class Sequential<Scalar: BLASScalar>: Layer {
    /// The layers, in the order they are applied.
    public let layers: [any Layer<Scalar>]

    /// Creates a network applying `layers` in order.
    public init(_ layers: [any Layer<Scalar>]) {
        self.layers = layers
    }

    /// The precision last set on the network: setting it sets
    /// ``Linear/precision`` on every layer that has one, in nested
    /// `Sequential`s too. It starts as ``Precision/float32``; a layer set on
    /// its own afterwards keeps its own setting.
    ///
    /// ```swift
    /// model.precision = .bfloat16   // every Linear<Float> in the model
    /// ```
    public var precision: Precision = .float32 {
        didSet {
            for index in 0..<layers.count {
                (layers[index] as? any PrecisionSettable)?.precision = precision
            }
        }
    }

    /// Runs every layer's forward pass in turn.
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        var x = input
        // Index loops, here and below: they allocate nothing in any build.
        for index in 0..<layers.count {
            x = try located(index) { layer throws(PerceptronError) in try layer.forward(x) }
        }
        return x
    }

    /// Runs every layer's ``Layer/predict(_:)`` in turn: keeps nothing, changes nothing.
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        var x = input
        for index in 0..<layers.count {
            x = try located(index) { layer throws(PerceptronError) in try layer.predict(x) }
        }
        return x
    }

    /// Runs every layer's backward pass in reverse order for the last forward
    /// pass, returning `∂E/∂input`; it may be called any number of times.
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        try backward(outputGradient, accumulate: accumulate, afterLayer: { _ throws(PerceptronError) in })
    }

    /// ``backward(_:accumulate:)``, calling `afterLayer(index)` as soon as
    /// layer `index` has stored its parameter gradients (last layer first),
    /// while the layers before it are still to run: the hook through which
    /// data-parallel training starts sending a layer's gradients to the other
    /// processes while earlier layers compute theirs.
    package func backward(
        _ outputGradient: Tensor<Scalar>, accumulate: Bool,
        afterLayer: (_ index: Int) throws(PerceptronError) -> Void
    ) throws(PerceptronError) -> Tensor<Scalar> {
        var g = outputGradient
        var index = layers.count
        while index > 0 {
            index -= 1
            g = try located(index) { layer throws(PerceptronError) in try layer.backward(g, accumulate: accumulate) }
            try afterLayer(index)
        }
        return g
    }

    /// Visits each layer's parameters, their names prefixed with the layer's index.
    public func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: inout Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        for index in 0..<layers.count {
            try layers[index].forEachParameter { name, value, gradient throws(PerceptronError) in
                try body("\(index).\(name)", &value, &gradient)
            }
        }
    }

    /// Clears every layer's parameter gradients.
    public func zeroGradients() {
        for index in 0..<layers.count { layers[index].zeroGradients() }
    }

    /// Lets every layer go of what it keeps between passes.
    public func releaseCaches() {
        for index in 0..<layers.count { layers[index].releaseCaches() }
    }

    /// Runs `body` on layer `index`, naming the layer in any error it throws.
    @inline(__always)
    private func located(
        _ index: Int, _ body: (any Layer<Scalar>) throws(PerceptronError) -> Tensor<Scalar>
    ) throws(PerceptronError) -> Tensor<Scalar> {
        let layer = layers[index]
        do {
            return try body(layer)
        } catch {
            throw .inLayer(index: index, type: Self.typeName(of: layer), error: error)
        }
    }

    /// A layer's type without its generic arguments: `Linear`, not `Linear<Float>`.
    static func typeName(of layer: any Layer<Scalar>) -> String {
        let name = String(describing: type(of: layer))
        return name.firstIndex(of: "<").map { String(name[..<$0]) } ?? name
    }
}
