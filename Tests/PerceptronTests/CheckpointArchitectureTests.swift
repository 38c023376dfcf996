import Foundation
import Perceptron
import Testing

/// A layer of the user's own that doubles its input: no parameters, so only
/// its type tells it apart from its twin `CheckpointHalver`.
final class CheckpointDoubler: ParameterlessLayer {
    func forward(_ input: Tensor<Float>) throws(PerceptronError) -> Tensor<Float> { try predict(input) }
    func predict(_ input: Tensor<Float>) throws(PerceptronError) -> Tensor<Float> {
        try Tensor(shape: input.shape, scalars: input.scalars.map { 2 * $0 })
    }
    func backward(_ outputGradient: Tensor<Float>, accumulate: Bool) throws(PerceptronError) -> Tensor<Float> {
        try Tensor(shape: outputGradient.shape, scalars: outputGradient.scalars.map { 2 * $0 })
    }
}

/// `CheckpointDoubler`'s twin, which halves.
final class CheckpointHalver: ParameterlessLayer {
    func forward(_ input: Tensor<Float>) throws(PerceptronError) -> Tensor<Float> { try predict(input) }
    func predict(_ input: Tensor<Float>) throws(PerceptronError) -> Tensor<Float> {
        try Tensor(shape: input.shape, scalars: input.scalars.map { $0 / 2 })
    }
    func backward(_ outputGradient: Tensor<Float>, accumulate: Bool) throws(PerceptronError) -> Tensor<Float> {
        try Tensor(shape: outputGradient.shape, scalars: outputGradient.scalars.map { $0 / 2 })
    }
}

/// A checkpoint records the model's architecture: a restore into a model
/// whose parameters have the same names and shapes, but whose layers compute
/// something else, is refused, naming the first layer that differs.
@Suite("Checkpoints: the model's architecture")
struct CheckpointArchitectureTests {
    /// A model of the given middle layers between two `Linear`s (4 → 3 → 2),
    /// its parameters drawn from `seed`.
    static func model(_ middle: [any Layer<Float>], seed: UInt64 = 1) -> Sequential<Float> {
        var generator = SeededRandomNumberGenerator(seed: seed)
        let first = Linear<Float>(inputFeatures: 4, outputFeatures: 3, using: &generator)
        let last = Linear<Float>(inputFeatures: 3, outputFeatures: 2, using: &generator)
        return Sequential([first] + middle + [last])
    }

    /// The saved model's middle layers, the restored one's, and the difference named: where, as saved, as given.
    static var cases: [(String, () -> [any Layer<Float>], () -> [any Layer<Float>], String, String, String)] { [
        ("GELU for ReLU", { [GELU()] }, { [ReLU()] }, "the model's layer 1", "GELU", "ReLU"),
        ("another epsilon", { [LayerNorm(features: 3), Tanh()] }, { [LayerNorm(features: 3, epsilon: 1e-3), Tanh()] },
         "the model's layer 1", "LayerNorm(3, epsilon 1e-05)", "LayerNorm(3, epsilon 0.001)"),
        ("inside a Sequential", { [Sequential([SiLU(), Tanh()])] }, { [Sequential([SiLU(), Sigmoid()])] },
         "the model's layer 1.1", "Tanh", "Sigmoid"),
        ("an extra layer without parameters", { [Sequential([ReLU(), Tanh()])] }, { [Sequential([ReLU(), Tanh(), Softmax()])] },
         "the model's layer 1.2", "none (2 layers in layer 1)", "Softmax"),
        ("a layer type of the user's own", { [CheckpointDoubler()] }, { [CheckpointHalver()] },
         "the model's layer 1", "PerceptronTests.CheckpointDoubler", "PerceptronTests.CheckpointHalver"),
    ] }

    @Test(arguments: cases.indices)
    func aRestoreIntoAnotherArchitectureNamesTheFirstDifferenceAndChangesNothing(_ index: Int) throws {
        let (_, savedLayers, restoredLayers, what, saved, actual) = Self.cases[index]
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        try Checkpoint.save(model: Self.model(savedLayers()), optimizer: Adam<Float>(), to: url)

        let model = Self.model(restoredLayers(), seed: 2)
        let before = model.namedParameters.mapValues(\.scalars)
        let error = #expect(throws: PerceptronError.self) { try Checkpoint.restore(model: model, optimizer: Adam<Float>(), from: url) }
        #expect(error == .checkpointMismatch(path: url.path, what: what, saved: saved, actual: actual))
        #expect(error?.description
            == "the checkpoint '\(url.path)' does not fit what it is restored into: \(what) is \(saved) in it, but \(actual) here")
        #expect(model.namedParameters.mapValues(\.scalars) == before, "a restore that throws changes nothing")

        // The same architecture restores, parameters and all.
        let same = Self.model(savedLayers(), seed: 2)
        try Checkpoint.restore(model: same, optimizer: Adam<Float>(), from: url)
        #expect(same.namedParameters.mapValues(\.scalars) == Self.model(savedLayers()).namedParameters.mapValues(\.scalars))
    }

    /// A model that is not a `Sequential`: the model itself is named.
    @Test func theModelItselfIsNamedWhenItDiffers() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        try Checkpoint.save(model: LayerNorm<Float>(features: 3), optimizer: SGD<Float>(learningRate: 0.1), to: url)
        let other = LayerNorm<Float>(features: 3, epsilon: 1e-3)
        let error = #expect(throws: PerceptronError.self) {
            try Checkpoint.restore(model: other, optimizer: SGD<Float>(learningRate: 0.1), from: url)
        }
        #expect(error == .checkpointMismatch(
            path: url.path, what: "the model itself", saved: "LayerNorm(3, epsilon 1e-05)", actual: "LayerNorm(3, epsilon 0.001)"))
        try Checkpoint.restore(model: LayerNorm<Float>(features: 3), optimizer: SGD<Float>(learningRate: 0.1), from: url)
    }
}
