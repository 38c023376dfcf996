@_spi(Benchmarking) import Perceptron
import Testing

/// Errors say where they happened: inside which layer of a model, and that
/// an optimizer was handed a model other than its own.
@Suite("Errors that say where")
struct ErrorLocationTests {
    @Test func anErrorInsideSequentialNamesTheLayer() throws {
        let model = Sequential<Float>([
            Linear(inputFeatures: 4, outputFeatures: 8), ReLU(),
            Linear(inputFeatures: 64, outputFeatures: 2),
        ])
        do {
            _ = try model(Tensor(shape: [3, 4]))
            Issue.record("a forward pass into the wrong width must throw")
        } catch {
            #expect(error == .inLayer(index: 2, type: "Linear", error: .featureMismatch(expected: 64, actual: 8, shape: [3, 8])))
            #expect(error.description == "layer 2 (Linear): input must have 64 features in its last dimension, but has shape [3, 8] (last dimension 8)")
        }
    }

    @Test func nestedModelsNameEveryLevel() throws {
        let inner = Sequential<Double>([Tanh(), Linear(inputFeatures: 3, outputFeatures: 1)])
        let model = Sequential<Double>([Linear(inputFeatures: 2, outputFeatures: 5), inner])
        #expect(throws: PerceptronError.inLayer(index: 1, type: "Sequential", error: .inLayer(
            index: 1, type: "Linear", error: .featureMismatch(expected: 3, actual: 5, shape: [1, 5])))) {
            try model.predict(Tensor(shape: [1, 2]))
        }
    }

    @Test func underlyingErrorIsTheErrorInsideEveryLayer() throws {
        let inner = Sequential<Double>([Tanh(), Linear(inputFeatures: 3, outputFeatures: 1)])
        let model = Sequential<Double>([Linear(inputFeatures: 2, outputFeatures: 5), inner])
        let error = #expect(throws: PerceptronError.self) { try model.predict(Tensor(shape: [1, 2])) }
        #expect(error?.underlyingError == .featureMismatch(expected: 3, actual: 5, shape: [1, 5]))
        let bare = PerceptronError.featureMismatch(expected: 3, actual: 5, shape: [1, 5])
        #expect(bare.underlyingError == bare)
    }

    @Test func aBackwardErrorNamesTheLayerToo() throws {
        let model = Sequential<Float>([Linear(inputFeatures: 2, outputFeatures: 3), Sigmoid()])
        _ = try model(Tensor(shape: [4, 2]))
        #expect(throws: PerceptronError.inLayer(index: 1, type: "Sigmoid", error: .shapeMismatch(
            what: "Sigmoid output gradient", expected: [4, 3], actual: [4, 2]))) {
            try model.backward(Tensor(shape: [4, 2]))
        }
    }

    @Test(arguments: ["SGD", "Adam"])
    func anOptimizerSaysItWasSetUpForAnotherModel(name: String) throws {
        let optimizer: any Optimizer<Float> = name == "SGD" ? SGD<Float>(learningRate: 0.1) : Adam<Float>()
        let first = Sequential<Float>([Linear(inputFeatures: 2, outputFeatures: 3)])
        let second = Sequential<Float>([ReLU(), Linear(inputFeatures: 2, outputFeatures: 3)])
        try optimizer.step(first)
        do {
            try optimizer.step(second)
            Issue.record("stepping another model must throw")
        } catch {
            #expect(error == .invalidArgument(
                name: "model",
                expected: "the model instance this optimizer was set up for by its first step (an optimizer keeps "
                    + "its state for one model: create one optimizer per model)",
                actual: "another model instance"))
        }
    }
}
