/// An algorithm that updates a model's parameters from the gradients its
/// last backward pass stored.
///
/// Every optimizer has a learning rate that can be changed between steps, so
/// a schedule, a warm-up or a training loop can be written once for any of
/// them:
///
/// ```swift
/// func train(_ model: some Layer<Float>, with optimizer: some Optimizer<Float>, epochs: Int) throws {
///     for epoch in 0..<epochs {
///         optimizer.learningRate = 0.1 / Float(epoch + 1)
///         // … forward, loss, backward …
///         try optimizer.step(model)
///     }
/// }
/// ```
///
/// An optimizer keeps state per parameter (momentum, moment estimates),
/// matched to the model it first stepped: stepping another model throws
/// rather than mixing the two up.
public protocol Optimizer<Scalar>: AnyObject {
    /// The precision of the parameters it updates.
    associatedtype Scalar: BLASScalar

    /// The step size; checked by ``step(_:)``, which throws for a negative or non-finite value.
    var learningRate: Scalar { get set }

    /// Updates every parameter of `model` from the gradient it holds.
    ///
    /// A step that throws changes neither the model nor the optimizer.
    func step(_ model: some Layer<Scalar>) throws(PerceptronError)
}

extension SGD: Optimizer {}
extension Adam: Optimizer {}
