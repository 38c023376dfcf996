/// A differentiable building block of a network: it maps an input tensor to an
/// output, and maps the gradient of a loss with respect to its output back to
/// the gradient with respect to its input, keeping the gradients of its own
/// parameters for an optimizer.
///
/// A training step is one ``forward(_:)`` and one or more
/// ``backward(_:accumulate:)`` calls; evaluation is ``predict(_:)``:
///
/// ```swift
/// let z = try layer.forward(x)               // keeps x for the backward pass
/// let validation = try layer.predict(v)      // keeps nothing, changes nothing
/// _ = try layer.backward(g)                  // gradients for x, not v
/// _ = try layer.backward(h, accumulate: true)
/// ```
///
/// A layer keeps what its backward pass needs from the last forward pass
/// (its input, its output) until the next forward pass, as the seed of a
/// linear layer keeps `X`: ``backward(_:accumulate:)`` may be called any
/// number of times and always refers to that last forward pass.
/// ``releaseCaches()`` lets go of what it keeps. Result buffers are reused
/// once the caller has let go of them, so a training loop at a fixed batch
/// size allocates nothing after its first step.
///
/// Layers are classes, because they hold that state. For the same reason a
/// layer is not `Sendable`: use one instance from one task at a time.
public protocol Layer<Scalar>: AnyObject {
    /// The precision the layer computes in.
    associatedtype Scalar: BLASScalar

    /// Computes the layer's output for `input`, keeping what the backward
    /// pass needs until the next forward pass.
    func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar>

    /// Computes the layer's output for `input` for inference: the forward
    /// computation, bit for bit where no randomness is involved (``Dropout``
    /// is the identity here), that keeps no reference to `input` or to
    /// batch-sized buffers once it returns and changes nothing a later
    /// ``backward(_:accumulate:)`` uses.
    ///
    /// So evaluation can happen at any point of a training step.
    func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar>

    /// Given `∂E/∂output` for the last forward pass, stores the gradients of
    /// the parameters (added to the stored ones when `accumulate` is `true`)
    /// and returns `∂E/∂input`.
    ///
    /// It may be called any number of times for one forward pass; each call
    /// computes the gradients afresh from what that pass kept.
    func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool) throws(PerceptronError) -> Tensor<Scalar>

    /// Calls `body` for each parameter, in a fixed order, with its name (as in
    /// PyTorch's `state_dict`: `weight`, `bias`, and `0.weight` … inside a
    /// ``Sequential``), the parameter itself and its gradient from the last
    /// backward pass, both to read or to change in place (an optimizer
    /// changes the parameter; ``clipGradientNorm(_:maxNorm:)`` the gradient).
    ///
    /// Optimizers, saving, clipping and gradient checks find parameters only
    /// through this, so a layer with parameters must list every one; a layer
    /// without any conforms to ``ParameterlessLayer`` instead, which visits none.
    func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: inout Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError)

    /// Sets every parameter gradient to zero.
    ///
    /// The default sets each gradient ``forEachParameter(_:)`` visits to zero, in place.
    func zeroGradients()

    /// Lets go of everything the layer keeps between passes (the last input
    /// and output, result buffers), for example after a forward pass on a
    /// large batch. A ``backward(_:accumulate:)`` then needs a forward pass first.
    ///
    /// The default keeps nothing to let go of: layers that keep state implement it.
    func releaseCaches()
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

    /// Sets every gradient ``forEachParameter(_:)`` visits to zero, in place.
    public func zeroGradients() {
        try? forEachParameter { _, _, gradient in
            let count = gradient.count
            gradient.withUnsafeMutableScalars { Kernels.scale($0, count: count, by: 0) }
        }
    }

    /// Keeps nothing: a layer that keeps state between passes implements this.
    public func releaseCaches() {}

    /// The number of scalars in all parameters.
    public var parameterCount: Int {
        var total = 0
        try? forEachParameter { _, value, _ in total += value.count }
        return total
    }
}

/// A layer with no parameters, such as an activation: it visits none.
///
/// Conforming to this rather than to ``Layer`` says so explicitly. A layer
/// that has parameters must conform to ``Layer`` and list them in
/// ``Layer/forEachParameter(_:)``: there is no empty default for it to fall
/// back on, so forgetting them does not compile, rather than training nothing.
public protocol ParameterlessLayer<Scalar>: Layer {}

extension ParameterlessLayer {
    /// Visits nothing: the layer has no parameters.
    public func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: inout Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {}
}
