import Foundation
import Perceptron
import Testing

/// A checkpoint's optimizer belongs to one model instance, as a stepping
/// optimizer does: a save refuses an optimizer that stepped another instance
/// (even one of the same architecture), and a restore gives the optimizer to
/// the model it restores into.
@Suite("Checkpoints: the optimizer's model")
struct CheckpointOwnershipTests {
    @Test func aSaveRefusesTheOptimizerOfAnotherModelOfTheSameArchitecture() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let (stepped, other) = (try Classifier<Float>(), try Classifier<Float>())
        let adam = Adam<Float>()
        try stepped.step(adam)
        let error = #expect(throws: PerceptronError.self) { try Checkpoint.save(model: other.model, optimizer: adam, to: url) }
        #expect(error?.description == "optimizer must be the model's optimizer (one that has stepped this model instance, "
            + "or none yet), but is an optimizer that has stepped another model instance")
        #expect(try otherFiles(beside: url).isEmpty && !FileManager.default.fileExists(atPath: url.path))
        try Checkpoint.save(model: stepped.model, optimizer: adam, to: url)
    }

    /// The same instance whose parameters changed after the step: the
    /// message names the parameter whose state no longer fits.
    @Test func aSaveNamesAStateThatNoLongerFitsTheModel() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let layer = Linear<Float>(inputFeatures: 2, outputFeatures: 3)
        _ = try layer(Tensor(shape: [1, 2], repeating: 1))
        _ = try layer.backward(Tensor(shape: [1, 3], repeating: 1))
        let sgd = SGD<Float>(learningRate: 0.1, momentum: 0.9)
        try sgd.step(layer)
        layer.weight = Tensor(shape: [3, 3])
        let error = #expect(throws: PerceptronError.self) { try Checkpoint.save(model: layer, optimizer: sgd, to: url) }
        #expect(error?.description == "optimizer must be the model's optimizer (one that has stepped this model instance, "
            + "or none yet), but is an optimizer with state of shape [2, 3] for parameter weight, which has shape [3, 3]")
    }

    /// A fresh run's objects take over from the saved ones: the optimizer
    /// that stepped the saved model steps, and saves, the restored one, and
    /// no longer the model it stepped before.
    @Test(arguments: ["SGD", "Adam"])
    func aRestoredOptimizerBelongsToTheModelRestoredInto(optimizerName: String) throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let makeOptimizer: () -> any Optimizer<Float> = {
            optimizerName == "SGD" ? SGD<Float>(learningRate: 0.1, momentum: 0.9) : Adam<Float>(learningRate: 0.01)
        }
        let saved = try Classifier<Float>()
        let optimizer = makeOptimizer()
        try saved.step(optimizer)
        try Checkpoint.save(model: saved.model, optimizer: optimizer, to: url)

        let resumed = try Classifier<Float>(initSeed: 7)
        try Checkpoint.restore(model: resumed.model, optimizer: optimizer, from: url)
        try resumed.step(optimizer)
        try Checkpoint.save(model: resumed.model, optimizer: optimizer, to: url)
        #expect(throws: PerceptronError.invalidArgument(
            name: "model",
            expected: "the model instance this optimizer was set up for by its first step (an optimizer keeps "
                + "its state for one model: create one optimizer per model)",
            actual: "another model instance")) {
            try saved.step(optimizer)
        }

        // And into a fresh optimizer, which has stepped nothing yet.
        let fresh = makeOptimizer()
        try Checkpoint.restore(model: saved.model, optimizer: fresh, from: url)
        try saved.step(fresh)
    }
}
