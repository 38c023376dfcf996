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
/// An optimizer keeps state per parameter (momentum, moment estimates) for
/// the one model instance it first stepped: stepping another model, even one
/// of the same architecture, throws rather than mixing the two up, so create
/// one optimizer per model. ``Checkpoint/restore(model:optimizer:schedule:batches:from:)-(_,_,_,MiniBatches<Scalar>?,_)``
/// gives the optimizer to the model it restores into.
public protocol Optimizer<Scalar>: AnyObject {
    /// The precision of the parameters it updates.
    associatedtype Scalar: BLASScalar

    /// The step size; checked by ``step(_:)``, which throws for a negative or non-finite value.
    var learningRate: Scalar { get set }

    /// Updates every parameter of `model` from the gradient it holds.
    ///
    /// A step that throws changes neither the model nor the optimizer. It
    /// throws for a model other than the instance the optimizer stepped
    /// first, or one whose parameters have changed since.
    func step(_ model: some Layer<Scalar>) throws(PerceptronError)
}

extension SGD: Optimizer {}
extension Adam: Optimizer {}
