import Foundation
import Perceptron
import Testing

/// A layer with one parameter whose name and shape the test can change on
/// the same instance, with a gradient of ones: what an optimizer must notice
/// when the model it stepped is no longer the one it set its state up for.
private final class ReshapableParameter: Layer {
    var name = "weight"
    var weight: Tensor<Float>
    var gradient: Tensor<Float>

    init(shape: [Int]) {
        weight = Tensor(shape: shape, repeating: 1)
        gradient = Tensor(shape: shape, repeating: 1)
    }

    func forward(_ input: Tensor<Float>) throws(PerceptronError) -> Tensor<Float> { input }
    func predict(_ input: Tensor<Float>) throws(PerceptronError) -> Tensor<Float> { input }
    func backward(_ outputGradient: Tensor<Float>, accumulate: Bool) throws(PerceptronError) -> Tensor<Float> { outputGradient }

    func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Float>, _ gradient: inout Tensor<Float>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        try body(name, &weight, &gradient)
    }

    func zeroGradients() { gradient = Tensor(shape: weight.shape) }

    func reshape(_ shape: [Int]) {
        weight = Tensor(shape: shape, repeating: 1)
        gradient = Tensor(shape: shape, repeating: 1)
    }
}

/// A model of two layers, with gradients from one backward pass of `x`.
private func steppableModel(seed: UInt64) throws -> Sequential<Float> {
    var generator = SeededRandomNumberGenerator(seed: seed)
    let model = Sequential<Float>([Linear(inputFeatures: 3, outputFeatures: 2, using: &generator), Tanh()])
    let x = Tensor<Float>(shape: [4, 3], randomIn: -1...1, using: &generator)
    _ = try model(x)
    _ = try model.backward(Tensor(shape: [4, 2], repeating: 0.5))
    return model
}

private func makeOptimizer(_ name: String) -> any Optimizer<Float> {
    name == "SGD" ? SGD<Float>(learningRate: 0.1, momentum: 0.9) : Adam<Float>(learningRate: 0.1)
}

private func parameters(of model: some Layer<Float>) -> [String: [Float]] {
    model.namedParameters.mapValues(\.scalars)
}

private var anotherInstance: PerceptronError { .invalidArgument(
    name: "model",
    expected: "the model instance this optimizer was set up for by its first step (an optimizer keeps "
        + "its state for one model: create one optimizer per model)",
    actual: "another model instance") }

@Suite("Optimizers: one model instance each")
struct OptimizerOwnershipTests {
    /// Two models of the same architecture, equal parameters and equal
    /// gradients: names and shapes cannot tell them apart, identity can.
    @Test(arguments: ["SGD", "Adam"])
    func aSecondModelOfTheSameArchitectureIsRefused(optimizerName: String) throws {
        let optimizer = makeOptimizer(optimizerName)
        let (a, b) = (try steppableModel(seed: 5), try steppableModel(seed: 5))
        try optimizer.step(a)
        let before = parameters(of: b)
        #expect(throws: anotherInstance) { try optimizer.step(b) }
        #expect(parameters(of: b) == before, "a refused step must not change the model")

        // The optimizer still belongs to `a`, and a fresh one steps `b`.
        try optimizer.step(a)
        try makeOptimizer(optimizerName).step(b)
        #expect(parameters(of: b) != before)
    }

    /// A model that has gone counts as another: a new model may even reuse its address.
    @Test(arguments: ["SGD", "Adam"])
    func aModelThatNoLongerExistsCountsAsAnother(optimizerName: String) throws {
        let optimizer = makeOptimizer(optimizerName)
        weak var gone: Sequential<Float>?
        func stepAndDrop() throws {
            let first = try steppableModel(seed: 5)
            gone = first
            try optimizer.step(first)
        }
        try stepAndDrop()
        #expect(gone == nil, "the optimizer must not keep the model alive")
        let second = try steppableModel(seed: 5)
        #expect(throws: PerceptronError.invalidArgument(
            name: "model",
            expected: "the model instance this optimizer was set up for by its first step (an optimizer keeps "
                + "its state for one model: create one optimizer per model)",
            actual: "another model instance (the one it was set up for no longer exists)")) {
            try optimizer.step(second)
        }
    }

    /// The same instance with a parameter of another shape: the optimizer's
    /// state no longer fits it, and the message says so.
    @Test(arguments: ["SGD", "Adam"])
    func aParameterThatChangedShapeIsNamedAsNotFittingTheState(optimizerName: String) throws {
        let optimizer = makeOptimizer(optimizerName)
        let layer = ReshapableParameter(shape: [2, 3])
        try optimizer.step(layer)
        layer.reshape([3, 3])
        #expect(throws: PerceptronError.shapeMismatch(
            what: "the optimizer's state for parameter weight (set up by its first step)", expected: [3, 3], actual: [2, 3])) {
            try optimizer.step(layer)
        }
        #expect(layer.weight.scalars == Array(repeating: 1, count: 9))
    }

    @Test(arguments: ["SGD", "Adam"])
    func aParameterThatWasRenamedIsNamed(optimizerName: String) throws {
        let optimizer = makeOptimizer(optimizerName)
        let layer = ReshapableParameter(shape: [2])
        try optimizer.step(layer)
        layer.name = "scale"
        #expect(throws: PerceptronError.invalidArgument(
            name: "model", expected: "a model with the parameters this optimizer was set up for by its first step ([\"weight\"])",
            actual: "one with parameter scale at position 0")) {
            try optimizer.step(layer)
        }
    }
}
