import Perceptron
import PerceptronDistributed

/// The classifier and how it is fitted: a multilayer perceptron with one
/// hidden ReLU layer (and dropout, if asked for), softmax cross-entropy, and
/// Adam over the library's shuffled mini-batches, with an optional
/// learning-rate schedule and gradient clipping; with a communicator,
/// data-parallel, each process on its part of every batch.
struct Trainer {
    let model: Sequential<Float>
    /// What is trained: the model, or the model wrapped in `DataParallel`.
    let network: any Layer<Float>
    let communicator: Communicator?
    let loss = SoftmaxCrossEntropy<Float>()
    let optimizer: Adam<Float>
    let batchSize: Int
    let seed: UInt64

    /// How the learning rate moves from epoch to epoch.
    enum Schedule: String, CaseIterable {
        /// The same rate throughout.
        case none
        /// Cosine annealing to a hundredth of the rate over all epochs (`CosineAnnealingLR`).
        case cosine
        /// A tenth of the rate every third of the epochs (`StepLR`).
        case step
    }

    /// What one epoch measured.
    struct Epoch {
        var number: Int
        /// The mean loss over the epoch's samples, each batch's loss taken before its step.
        var loss: Double
        /// The share of training samples classified correctly as each batch was seen (before its step).
        var accuracy: Double
        /// Time since the fit began.
        var elapsed: Duration
    }

    /// A `features`-`hidden`-`classes` network with PyTorch's `nn.Linear`
    /// initialisation, weights drawn from `seed`; `dropout` > 0 puts a
    /// ``Dropout`` after the hidden layer. With `communicator`, every process
    /// starts from rank 0's weights.
    init(
        features: Int, hidden: Int, classes: Int, dropout: Float, learningRate: Float, batchSize: Int, seed: UInt64,
        communicator: Communicator? = nil
    ) throws(PerceptronError) {
        var generator = SeededRandomNumberGenerator(seed: seed)
        var layers: [any Layer<Float>] = [Linear(inputFeatures: features, outputFeatures: hidden, using: &generator), ReLU()]
        if dropout > 0 { layers.append(try Dropout(probability: dropout, seed: seed &+ 1)) }
        layers.append(Linear(inputFeatures: hidden, outputFeatures: classes, using: &generator))
        model = Sequential(layers)
        if let communicator {
            network = try DataParallel(model, communicator: communicator)
        } else {
            network = model
        }
        self.communicator = communicator
        optimizer = Adam<Float>(learningRate: learningRate)
        self.batchSize = batchSize
        self.seed = seed
    }

    /// Trains for `epochs` passes over `data`, reshuffled before each, calling
    /// `report` after every epoch.
    func fit(
        _ data: DigitsDataset, epochs: Int, schedule: Schedule, clipNorm: Float?, report: (Epoch) -> Void
    ) throws(PerceptronError) {
        let clock = ContinuousClock()
        let start = clock.now
        let batches = try MiniBatches(
            features: data.features, labels: data.labels, batchSize: batchSize, seed: seed,
            shard: communicator?.rank ?? 0, of: communicator?.size ?? 1)
        let rates: (any LearningRateSchedule<Float>)? = switch schedule {
        case .none: nil
        case .cosine: try CosineAnnealingLR(optimizer, periodLength: epochs, minimumLearningRate: optimizer.learningRate / 100)
        case .step: try StepLR(optimizer, stepSize: max(1, epochs / 3), gamma: 0.1)
        }
        for epoch in 1...epochs {
            var totalLoss = 0.0
            var correct = 0.0
            for (features, labels) in batches {
                let logits = try network(features)
                let value = try loss.forward(logits, labels: labels)
                // A process's part of the last batch can be empty: a mean of nothing adds nothing.
                if !labels.isEmpty {
                    correct += try accuracy(logits: logits, labels: labels) * Double(labels.count)
                    totalLoss += Double(value) * Double(labels.count)
                }
                _ = try network.backward(loss.backward())
                if let clipNorm { try clipGradientNorm(network, maxNorm: clipNorm) }
                try optimizer.step(network)
            }
            if let communicator {
                // Every process's share of the epoch's loss and accuracy, summed.
                var totals = try Tensor<Double>(shape: [2], scalars: [totalLoss, correct])
                try communicator.allReduce(&totals)
                (totalLoss, correct) = (totals[0], totals[1])
            }
            rates?.step()
            report(Epoch(
                number: epoch, loss: totalLoss / Double(data.count),
                accuracy: correct / Double(data.count), elapsed: clock.now - start))
        }
    }

    /// The predicted digit of every sample of `data`, in one inference pass.
    func predict(_ data: DigitsDataset) throws(PerceptronError) -> [Int] {
        try model.predict(data.features).argmax()
    }
}
