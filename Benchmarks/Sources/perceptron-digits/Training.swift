import Perceptron

/// The classifier and how it is fitted: a multilayer perceptron with one
/// hidden ReLU layer, softmax cross-entropy, and Adam over shuffled mini-batches.
struct Trainer {
    let model: Sequential<Float>
    let loss = SoftmaxCrossEntropy<Float>()
    let optimizer: Adam<Float>
    let batchSize: Int
    /// Draws the initial weights, then every epoch's shuffle.
    var generator: SeededRandomNumberGenerator

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

    /// A `features`-`hidden`-`classes` network with PyTorch's `nn.Linear` initialisation.
    init(features: Int, hidden: Int, classes: Int, learningRate: Float, batchSize: Int, seed: UInt64) {
        generator = SeededRandomNumberGenerator(seed: seed)
        model = Sequential<Float>([
            Linear(inputFeatures: features, outputFeatures: hidden, using: &generator),
            ReLU(),
            Linear(inputFeatures: hidden, outputFeatures: classes, using: &generator),
        ])
        optimizer = Adam<Float>(learningRate: learningRate)
        self.batchSize = batchSize
    }

    /// Trains for `epochs` passes over `data`, reshuffled before each, calling
    /// `report` after every epoch.
    mutating func fit(
        _ data: DigitsDataset, epochs: Int, report: (Epoch) -> Void
    ) throws(PerceptronError) {
        let clock = ContinuousClock()
        let start = clock.now
        var order = Array(0..<data.count)
        var batches = Batches(batchSize: batchSize)
        for epoch in 1...epochs {
            order.shuffle(using: &generator)
            var totalLoss = 0.0
            var correct = 0
            var first = 0
            while first < order.count {
                let indices = order[first..<min(first + batchSize, order.count)]
                first = indices.endIndex
                let batch = batches.fill(from: data, indices: indices)
                let logits = try model(batch.inputs)
                correct += Self.countCorrect(logits, batch.labels)
                totalLoss += Double(try loss.forward(logits, labels: batch.labels)) * Double(indices.count)
                _ = try model.backward(loss.backward())
                try optimizer.step(model)
            }
            report(Epoch(
                number: epoch, loss: totalLoss / Double(data.count),
                accuracy: Double(correct) / Double(data.count), elapsed: clock.now - start))
        }
    }

    /// The predicted digit of every sample of `data`, in one forward pass.
    func predict(_ data: DigitsDataset) throws(PerceptronError) -> [Int] {
        let x = try Tensor<Float>(shape: [data.count, DigitsDataset.featureCount], scalars: data.features)
        return Self.argmax(try model(x))
    }

    /// The index of the largest logit in each row.
    private static func argmax(_ logits: Tensor<Float>) -> [Int] {
        let classes = logits.shape[1]
        return logits.withUnsafeBufferPointer { z in
            (0..<logits.shape[0]).map { row in largest(z, row: row, classes: classes) }
        }
    }

    /// How many rows of `logits` have their largest logit at the label; allocates nothing.
    private static func countCorrect(_ logits: Tensor<Float>, _ labels: [Int]) -> Int {
        let classes = logits.shape[1]
        return logits.withUnsafeBufferPointer { z in
            var correct = 0
            for (row, label) in labels.enumerated() where largest(z, row: row, classes: classes) == label {
                correct += 1
            }
            return correct
        }
    }

    /// The column of the largest value in one row of a `[rows, classes]` buffer (the first, on a tie).
    private static func largest(_ z: UnsafeBufferPointer<Float>, row: Int, classes: Int) -> Int {
        let start = row * classes
        var best = 0
        for j in 1..<classes where z[start + j] > z[start + best] { best = j }
        return best
    }
}
