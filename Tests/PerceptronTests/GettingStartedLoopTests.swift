@_spi(Benchmarking) import Perceptron
import Testing

/// The "A training loop for any loss and optimizer" example of GettingStarted.md,
/// as printed there, run with each loss kind and each optimizer.
@Suite("Getting started: the generic training loop")
struct GettingStartedLoopTests {
    func train<L: Loss<Float>>(
        _ model: some Layer<Float>, input: Tensor<Float>, target: L.Target,
        loss: L, optimizer: some Optimizer<Float>, epochs: Int
    ) throws(PerceptronError) {
        let schedule = try CosineAnnealingLR(optimizer, periodLength: epochs, minimumLearningRate: 1e-5)
        for _ in 0..<epochs {
            _ = try loss.forward(model(input), target: target)
            _ = try model.backward(loss.backward())
            try clipGradientNorm(model, maxNorm: 1)
            try optimizer.step(model)
            schedule.step()
        }
    }

    static func xorModel(outputs: Int) -> Sequential<Float> {
        var generator = SeededRandomNumberGenerator(seed: 9)
        return Sequential<Float>([
            Linear(inputFeatures: 2, outputFeatures: 16, using: &generator), Tanh(),
            Linear(inputFeatures: 16, outputFeatures: outputs, using: &generator),
        ])
    }

    @Test(arguments: ["SGD", "Adam"])
    func learnsXORWithEveryLossKind(optimizerName: String) throws {
        let x = try Tensor<Float>([[0, 0], [0, 1], [1, 0], [1, 1]])
        let labels = [0, 1, 1, 0]
        func optimizer() -> any Optimizer<Float> {
            optimizerName == "SGD" ? SGD<Float>(learningRate: 0.5, momentum: 0.9) : Adam<Float>(learningRate: 0.05)
        }

        let classifier = Self.xorModel(outputs: 2)
        try train(classifier, input: x, target: labels, loss: SoftmaxCrossEntropy<Float>(), optimizer: optimizer(), epochs: 300)
        #expect(try accuracy(logits: classifier.predict(x), labels: labels) == 1)

        let binary = Self.xorModel(outputs: 1)
        let targets = try Tensor<Float>(shape: [4, 1], scalars: labels.map(Float.init))
        try train(binary, input: x, target: targets, loss: BinaryCrossEntropyWithLogits<Float>(), optimizer: optimizer(), epochs: 300)
        #expect(try accuracy(logits: binary.predict(x), labels: labels) == 1)

        let regression = Self.xorModel(outputs: 1)
        try train(regression, input: x, target: targets, loss: MeanSquaredError<Float>(), optimizer: optimizer(), epochs: 300)
        let mse = MeanSquaredError<Float>()
        #expect(try mse.forward(regression.predict(x), target: targets) < 0.05)
    }
}
