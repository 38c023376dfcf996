import Perceptron

/// The data and the model every scenario trains: a regression of 3 targets
/// on 6 features, 41 samples (so that batches of 12 leave a short last batch
/// of 5, which 2 or 3 processes share unevenly), and a 6-16-16-3 ReLU MLP.
enum Scenario {
    static let features = 6
    static let hidden = 16
    static let targets = 3
    static let samples = 41
    static let batchSize = 12
    static let learningRate: Float = 0.05

    /// Inputs and targets in -1...1, from `seed`.
    static func data(seed: UInt64) -> (x: Tensor<Float>, y: Tensor<Float>) {
        var generator = SeededRandomNumberGenerator(seed: seed)
        let x = Tensor<Float>(shape: [samples, features], randomIn: -1...1, using: &generator)
        let y = Tensor<Float>(shape: [samples, targets], randomIn: -1...1, using: &generator)
        return (x, y)
    }

    /// A fresh model, its weights drawn from `seed`.
    static func model(seed: UInt64) -> Sequential<Float> {
        var generator = SeededRandomNumberGenerator(seed: seed)
        return Sequential<Float>([
            Linear(inputFeatures: features, outputFeatures: hidden, using: &generator), ReLU(),
            Linear(inputFeatures: hidden, outputFeatures: hidden, using: &generator), ReLU(),
            Linear(inputFeatures: hidden, outputFeatures: targets, using: &generator),
        ])
    }
}
