import Perceptron

/// The data and the model every scenario trains: a regression of 3 targets
/// on 6 features, 41 samples (so that batches of 12 leave a short last batch
/// of 5, which 2 or 3 processes share unevenly), and a 6-16-16-3 ReLU MLP;
/// for the checkpoints, a classifier of the same shape with Dropout.
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

    /// Labels in 0..<3 for the samples of ``data(seed:)``: the largest of each row's targets.
    static func labels(of y: Tensor<Float>) -> [Int] {
        (0..<samples).map { row in (0..<targets).max { y[row, $0] < y[row, $1] }! }
    }

    /// A fresh 6-16-16-3 classifier with two Dropout layers, one in a nested
    /// Sequential: its weights drawn from `seed`, its masks from `dropoutSeed`
    /// and the next seed.
    static func classifier(seed: UInt64, dropoutSeed: UInt64) throws(PerceptronError) -> Sequential<Float> {
        var generator = SeededRandomNumberGenerator(seed: seed)
        return Sequential<Float>([
            Linear(inputFeatures: features, outputFeatures: hidden, using: &generator), ReLU(),
            try Dropout(probability: 0.2, seed: dropoutSeed),
            Sequential([
                Linear(inputFeatures: hidden, outputFeatures: hidden, using: &generator), Tanh(),
                try Dropout(probability: 0.1, seed: dropoutSeed + 1),
            ]),
            Linear(inputFeatures: hidden, outputFeatures: targets, using: &generator),
        ])
    }
}
