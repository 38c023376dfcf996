/// A scalar measure of how far a model's output is from a target, with its
/// gradient with respect to that output.
///
/// ``forward(_:target:)`` computes the loss and keeps what ``backward()``
/// needs; ``backward()`` returns `∂E/∂prediction`, the gradient to pass to the
/// model's backward pass:
///
/// ```swift
/// func step<L: Loss<Float>>(_ model: some Layer<Float>, _ loss: L, _ x: Tensor<Float>, _ y: L.Target) throws -> Float {
///     let value = try loss.forward(model(x), target: y)
///     _ = try model.backward(try loss.backward())
///     return value
/// }
/// ```
public protocol Loss<Scalar>: AnyObject {
    /// The precision of predictions and of the loss.
    associatedtype Scalar: BLASScalar

    /// What a prediction is compared with: a tensor of the same shape for
    /// regression, class labels for classification.
    associatedtype Target

    /// Returns the loss of `prediction` against `target`, keeping what the backward pass needs.
    func forward(_ prediction: Tensor<Scalar>, target: Target) throws(PerceptronError) -> Scalar

    /// Returns `∂E/∂prediction` for the last forward pass.
    func backward() throws(PerceptronError) -> Tensor<Scalar>
}

extension MeanSquaredError: Loss {}

extension SoftmaxCrossEntropy: Loss {
    /// The same as ``forward(_:labels:)``: `target` holds one class label per row of `logits`.
    public func forward(_ logits: Tensor<Scalar>, target: [Int]) throws(PerceptronError) -> Scalar {
        try forward(logits, labels: target)
    }
}
