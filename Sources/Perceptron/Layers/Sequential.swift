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
/// `0.weight`, `0.bias`, `2.weight`, …
public final class Sequential<Scalar: BLASScalar>: Layer {
    /// The layers, in the order they are applied.
    public let layers: [any Layer<Scalar>]

    /// Creates a network applying `layers` in order.
    public init(_ layers: [any Layer<Scalar>]) {
        self.layers = layers
    }

    /// Runs every layer's forward pass in turn.
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        var x = input
        // Index loops, here and below: iterating the array through its
        // iterator allocates in an unoptimised build.
        for index in 0..<layers.count {
            x = try layers[index].forward(x)
        }
        return x
    }

    /// Runs every layer's backward pass in reverse order, returning `∂E/∂input`.
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        var g = outputGradient
        var index = layers.count
        while index > 0 {
            index -= 1
            g = try layers[index].backward(g, accumulate: accumulate)
        }
        return g
    }

    /// Visits each layer's parameters, their names prefixed with the layer's index.
    public func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        for index in 0..<layers.count {
            try layers[index].forEachParameter { name, value, gradient throws(PerceptronError) in
                try body("\(index).\(name)", &value, gradient)
            }
        }
    }

    /// Clears every layer's parameter gradients.
    public func zeroGradients() {
        for layer in layers { layer.zeroGradients() }
    }
}
