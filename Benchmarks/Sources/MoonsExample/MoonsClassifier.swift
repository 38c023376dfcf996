// The binary classifier of the two-moons example, and how it is fitted: the
// library's pieces only (Standardizer, RegressionBatches, Adam,
// CosineAnnealingLR, BinaryCrossEntropyWithLogits, accuracy).

import Perceptron

/// A multilayer perceptron with ReLU (2-16-16-1 in the example) that outputs one logit per point,
/// `z`, the log-odds that the point is on the lower moon (label 1): trained
/// with binary cross-entropy on `σ(z)`, it predicts label 1 where `z > 0`.
///
/// The inputs are standardised with statistics fitted on the training points
/// (kept, and applied again to any points evaluated later).
public final class MoonsClassifier {
    /// How a fit is run.
    public struct Settings: Sendable {
        /// Passes over the training points.
        public var epochs = 100
        /// Points per Adam step.
        public var batchSize = 32
        /// Adam's initial learning rate, annealed along a cosine to a hundredth of it over the epochs.
        public var learningRate: Float = 0.01

        /// The example's defaults: 100 epochs of batches of 32 from learning rate 0.01.
        public init() {}
    }

    /// What one epoch measured.
    public struct Epoch: Sendable {
        /// The epoch, from 1.
        public var number: Int
        /// The mean loss over the epoch's points, each batch's taken before its step.
        public var loss: Double
        /// The learning rate the epoch's steps used.
        public var learningRate: Float
    }

    /// The network: for hidden widths `[h₁, h₂]`, `Linear(2, h₁)`, ReLU,
    /// `Linear(h₁, h₂)`, ReLU, `Linear(h₂, 1)`; for none, `Linear(2, 1)` alone
    /// (logistic regression, whose boundary is a straight line).
    public let model: Sequential<Float>
    /// The loss that fuses the sigmoid with the cross-entropy.
    public let loss = BinaryCrossEntropyWithLogits<Float>()
    private let seed: UInt64
    /// Fitted on the training points by ``fit(_:settings:report:)``.
    public private(set) var standardizer: Standardizer<Float>?

    /// An untrained network with hidden layers of the widths `hiddenLayers`
    /// (each ≥ 1), its weights (PyTorch's `nn.Linear` initialisation) and its
    /// batches' shuffles drawn from `seed`.
    public init(hiddenLayers: [Int], seed: UInt64) {
        var generator = SeededRandomNumberGenerator(seed: seed)
        var layers: [any Layer<Float>] = []
        var inputs = 2
        for width in hiddenLayers {
            layers += [Linear(inputFeatures: inputs, outputFeatures: width, using: &generator), ReLU()]
            inputs = width
        }
        layers.append(Linear(inputFeatures: inputs, outputFeatures: 1, using: &generator))
        model = Sequential(layers)
        self.seed = seed
    }

    /// Standardises on `data`, then trains on it for `settings.epochs` passes,
    /// reshuffled before each, calling `report` after every epoch.
    public func fit(_ data: TwoMoons, settings: Settings, report: (Epoch) -> Void = { _ in }) throws(PerceptronError) {
        let standardizer = try Standardizer(fitting: data.features)
        self.standardizer = standardizer
        let batches = try RegressionBatches(
            features: standardizer.transform(data.features), targets: data.targets,
            batchSize: settings.batchSize, seed: seed &+ 1)
        let optimizer = Adam<Float>(learningRate: settings.learningRate)
        let schedule = try CosineAnnealingLR(
            optimizer, periodLength: settings.epochs, minimumLearningRate: settings.learningRate / 100)
        for epoch in 1...settings.epochs {
            let rate = optimizer.learningRate
            var total = 0.0
            for (features, targets) in batches {
                total += Double(try loss.forward(model(features), targets: targets)) * Double(targets.count)
                _ = try model.backward(loss.backward())
                try optimizer.step(model)
            }
            schedule.step()
            report(Epoch(number: epoch, loss: total / Double(data.count), learningRate: rate))
        }
    }

    /// The logit of every point of `data`, `[count, 1]`, in one inference pass.
    ///
    /// - Throws: `PerceptronError` only for points the model cannot take
    ///   (never for a ``TwoMoons``); before ``fit(_:settings:report:)`` the
    ///   inputs are not standardised.
    public func logits(_ data: TwoMoons) throws(PerceptronError) -> Tensor<Float> {
        let inputs = try standardizer?.transform(data.features) ?? data.features
        return try model.predict(inputs)
    }

    /// The share of `data`'s points whose moon the model predicts, from 0 to 1.
    public func accuracy(on data: TwoMoons) throws(PerceptronError) -> Double {
        try Perceptron.accuracy(logits: logits(data), labels: data.labels)
    }
}
