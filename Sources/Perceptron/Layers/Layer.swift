/// A differentiable building block of a network: it maps an input tensor to an
/// output, and maps the gradient of a loss with respect to its output back to
/// the gradient with respect to its input, keeping the gradients of its own
/// parameters for an optimizer.
///
/// Layers are classes: they remember their last input (or output) between
/// ``forward(_:)`` and ``backward(_:accumulate:)``, and reuse their result
/// buffers once the caller has let go of them. For that reason a layer is not
/// `Sendable`; use one instance from one task at a time.
public protocol Layer<Scalar>: AnyObject {
    /// The precision the layer computes in.
    associatedtype Scalar: BLASScalar

    /// Computes the layer's output for `input`, remembering what the backward pass needs.
    func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar>

    /// Given `∂E/∂output` for the last forward pass, stores the gradients of
    /// the parameters (added to the stored ones when `accumulate` is `true`)
    /// and returns `∂E/∂input`.
    func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool) throws(PerceptronError) -> Tensor<Scalar>

    /// Calls `body` for each parameter, in a fixed order, with its name (as in
    /// PyTorch's `state_dict`: `weight`, `bias`, and `0.weight` … inside a
    /// ``Sequential``), the parameter itself, to read or update in place, and
    /// its gradient from the last backward pass.
    ///
    /// Optimizers, saving and gradient checks find parameters only through
    /// this, so a layer with parameters must list every one; a layer without
    /// any conforms to ``ParameterlessLayer`` instead, which visits none.
    func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError)

    /// Sets every parameter gradient to zero.
    func zeroGradients()
}

extension Layer {
    /// The same as ``forward(_:)``.
    public func callAsFunction(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try forward(input)
    }

    /// ``backward(_:accumulate:)`` replacing the stored parameter gradients.
    public func backward(_ outputGradient: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try backward(outputGradient, accumulate: false)
    }

    /// The number of scalars in all parameters.
    public var parameterCount: Int {
        var total = 0
        try? forEachParameter { _, value, _ in total += value.count }
        return total
    }
}

/// A layer with no parameters, such as an activation: it visits none and has
/// no gradients to clear.
///
/// Conforming to this rather than to ``Layer`` says so explicitly. A layer
/// that has parameters must conform to ``Layer`` and list them in
/// ``Layer/forEachParameter(_:)``: there is no empty default for it to fall
/// back on, so forgetting them does not compile, rather than training nothing.
public protocol ParameterlessLayer<Scalar>: Layer {}

extension ParameterlessLayer {
    /// Visits nothing: the layer has no parameters.
    public func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {}

    /// Does nothing: the layer has no gradients.
    public func zeroGradients() {}
}
