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

        /// The model `perceptron-bench --mlp` times, at its sizes: 784-256-256-10
        /// with LayerNorm, ReLU and Dropout after each hidden Linear, softmax
        /// cross-entropy and Adam, on a batch of 128.
        @Test(.needsAllocationCounter)
        func mlpWithLayerNormAndDropoutAllocatesNothing() throws {
            var generator = SeededRandomNumberGenerator(seed: 17)
            let model = Sequential<Float>([
                Linear(inputFeatures: 784, outputFeatures: 256, using: &generator), LayerNorm(features: 256), ReLU(),
                try Dropout(probability: 0.1, seed: 18),
                Linear(inputFeatures: 256, outputFeatures: 256, using: &generator), LayerNorm(features: 256), ReLU(),
                try Dropout(probability: 0.1, seed: 19),
                Linear(inputFeatures: 256, outputFeatures: 10, using: &generator),
            ])
            let x = Tensor<Float>(shape: [128, 784], randomIn: -1...1, using: &generator)
            let labels = (0..<128).map { $0 % 10 }
            let loss = SoftmaxCrossEntropy<Float>()
            let adam = Adam<Float>()
            var total: Float = 0

            func step() throws {
                total += try loss.forward(model(x), labels: labels)
                _ = try model.backward(loss.backward())
                try adam.step(model)
            }
            try step()
            try step()
            let count = try allocations { for _ in 0..<10 { try step() } }
            #expect(count == 0, "\(count) allocations in 10 steady steps")
            #expect(total.isFinite)
        }
    }
}
