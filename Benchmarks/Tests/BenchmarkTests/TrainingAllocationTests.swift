@_spi(Benchmarking) import Perceptron
import Testing

extension AllocationTests {
    /// Whole training steps through a `Sequential` model with every
    /// activation, a loss and each optimizer: what a training loop repeats.
    @Suite("Training steps")
    struct TrainingSteps {
        /// Forward, loss, backward and an optimizer step at a fixed batch size:
        /// once warm, nothing is allocated. Warm is two steps: each layer
        /// writes its forward results into two buffers in turn, because the
        /// layer after it still holds the last one.
        @Test(.needsAllocationCounter, arguments: ["SGD", "Adam"])
        func steadyTrainingStepAllocatesNothing(optimizerName: String) throws {
            var generator = SeededRandomNumberGenerator(seed: 13)
            let model = Sequential<Float>([
                Linear(inputFeatures: 16, outputFeatures: 32, using: &generator), ReLU(),
                Linear(inputFeatures: 32, outputFeatures: 32, using: &generator), Tanh(),
                Linear(inputFeatures: 32, outputFeatures: 32, using: &generator), Sigmoid(),
                Linear(inputFeatures: 32, outputFeatures: 32, using: &generator), LeakyReLU(),
                Linear(inputFeatures: 32, outputFeatures: 10, using: &generator),
            ])
            let x = Tensor<Float>(shape: [8, 16], randomIn: -1...1, using: &generator)
            let labels = (0..<8).map { $0 % 10 }
            let loss = SoftmaxCrossEntropy<Float>()
            let sgd = SGD<Float>(learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)
            let adam = Adam<Float>(weightDecay: 1e-4, decoupledWeightDecay: true)
            var total: Float = 0

            func step() throws {
                total += try loss.forward(model(x), labels: labels)
                _ = try model.backward(loss.backward())
                if optimizerName == "SGD" { try sgd.step(model) } else { try adam.step(model) }
            }
            try step()
            try step()
            let count = try allocations { for _ in 0..<10 { try step() } }
            #expect(count == 0, "\(count) allocations in 10 steady steps")
            #expect(total.isFinite)
        }
    }
}
