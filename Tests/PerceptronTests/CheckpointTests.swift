import Foundation
@testable import Perceptron
import Testing

/// A small classifier's pieces, made the same way from the same seeds, so
/// that a "fresh run" has the objects an interrupted one had at its start.
struct Classifier<Scalar: BLASScalar> {
    let model: Sequential<Scalar>
    let first: Dropout<Scalar>, nested: Dropout<Scalar>
    let x: Tensor<Scalar>
    let labels: [Int]
    let loss = SoftmaxCrossEntropy<Scalar>()

    /// `initSeed` draws the weights and `dropoutSeed` seeds the Dropout layers:
    /// a restore must overwrite both.
    init(initSeed: UInt64 = 1, dropoutSeed: UInt64 = 10, hidden: Int = 8, probabilities: (Scalar, Scalar) = (0.3, 0.5)) throws {
        var generator = SeededRandomNumberGenerator(seed: initSeed)
        first = try Dropout(probability: probabilities.0, seed: dropoutSeed)
        nested = try Dropout(probability: probabilities.1, seed: dropoutSeed + 1)
        model = Sequential([
            Linear(inputFeatures: 4, outputFeatures: hidden, using: &generator), ReLU(), first,
            Sequential([Linear(inputFeatures: hidden, outputFeatures: hidden, using: &generator), Tanh(), nested]),
            Linear(inputFeatures: hidden, outputFeatures: 3, using: &generator),
        ])
        var data = SeededRandomNumberGenerator(seed: 99)
        x = Tensor(shape: [12, 4], randomIn: -1...1, using: &data)
        labels = (0..<12).map { $0 % 3 }
    }

    /// One training step on all the data.
    func step(_ optimizer: some Optimizer<Scalar>) throws {
        _ = try loss.forward(model(x), labels: labels)
        _ = try model.backward(loss.backward())
        try optimizer.step(model)
    }
}

/// A fresh file name in the temporary directory, removed by `cleanUp`.
func temporaryCheckpoint(_ name: String = "run.checkpoint") throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent(name)
}

func cleanUp(_ url: URL) {
    try? FileManager.default.removeItem(at: url.deletingLastPathComponent())
}

/// The file names in `url`'s directory other than `url`'s own.
func otherFiles(beside url: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        .filter { $0 != url.lastPathComponent }.sorted()
}

@Suite("Checkpoints: round trips")
struct CheckpointRoundTripTests {
    @Test func adamMomentsStepCountAndLearningRate() throws {
        try checkAdam(Float.self)
        try checkAdam(Double.self)
    }

    func checkAdam<Scalar: BLASScalar>(_: Scalar.Type) throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Scalar>()
        let adam = Adam<Scalar>(learningRate: 0.02, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.01, decoupledWeightDecay: true)
        for _ in 0..<5 { try run.step(adam) }
        adam.learningRate = 0.015
        try Checkpoint.save(model: run.model, optimizer: adam, to: url)

        let fresh = try Classifier<Scalar>(initSeed: 2, dropoutSeed: 20)
        let restored = Adam<Scalar>(learningRate: 0.02, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.01, decoupledWeightDecay: true)
        #expect(parameterBits(fresh.model) != parameterBits(run.model))
        let state = try Checkpoint.restore(model: fresh.model, optimizer: restored, from: url)
        #expect(state.isEmpty)
        #expect(parameterBits(fresh.model) == parameterBits(run.model))
        #expect(restored.stepCount == 5)
        #expect(restored.learningRate == 0.015)
        #expect(restored.state.names == adam.state.names)
        #expect(restored.state.names == ["0.weight", "0.bias", "3.0.weight", "3.0.bias", "4.weight", "4.bias"])
        #expect(restored.state.buffers.map(bits) == adam.state.buffers.map(bits))
        #expect(restored.state.buffers.contains { $0.scalars.contains { $0 != 0 } })

        // And the runs go on as one: the same steps give the same bits.
        for _ in 0..<3 {
            try run.step(adam)
            try fresh.step(restored)
        }
        #expect(parameterBits(fresh.model) == parameterBits(run.model))
        #expect(restored.state.buffers.map(bits) == adam.state.buffers.map(bits))
    }

    @Test(arguments: [(0.9, false, 0.0), (0.9, true, 0.01), (0.0, false, 0.001)] as [(Double, Bool, Double)])
    func sgdMomentumBuffers(momentum: Double, nesterov: Bool, weightDecay: Double) throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        func sgd() -> SGD<Double> {
            SGD(learningRate: 0.05, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
        }
        let run = try Classifier<Double>()
        let optimizer = sgd()
        for _ in 0..<4 { try run.step(optimizer) }
        try Checkpoint.save(model: run.model, optimizer: optimizer, to: url)

        let fresh = try Classifier<Double>(initSeed: 3, dropoutSeed: 30)
        let restored = sgd()
        try Checkpoint.restore(model: fresh.model, optimizer: restored, from: url)
        #expect(restored.state.buffers.map(bits) == optimizer.state.buffers.map(bits))
        for _ in 0..<3 {
            try run.step(optimizer)
            try fresh.step(restored)
        }
        #expect(parameterBits(fresh.model) == parameterBits(run.model))
    }

    @Test func anOptimizerSavedBeforeItsFirstStepHasNoBuffers() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Float>()
        let adam = Adam<Float>()
        try Checkpoint.save(model: run.model, optimizer: adam, to: url)
        #expect(try SafeTensors<Float>(contentsOf: url).tensors.keys.allSatisfy { $0.hasPrefix("model.") })

        // Restored into an optimizer that has stepped: it starts afresh.
        let fresh = try Classifier<Float>()
        let restored = Adam<Float>()
        try fresh.step(restored)
        try Checkpoint.restore(model: fresh.model, optimizer: restored, from: url)
        #expect(restored.stepCount == 0 && restored.state.names.isEmpty && restored.state.buffers.isEmpty)
        try run.step(adam)
        try fresh.step(restored)
        #expect(parameterBits(fresh.model) == parameterBits(run.model))
    }

    enum ScheduleKind: String, CaseIterable, Sendable { case step, cosine, warmup }

    static func schedule(_ kind: ScheduleKind, _ optimizer: SGD<Float>) throws -> any LearningRateSchedule<Float> {
        switch kind {
        case .step: try StepLR(optimizer, stepSize: 3, gamma: 0.5)
        case .cosine: try CosineAnnealingLR(optimizer, periodLength: 10, minimumLearningRate: 0.001)
        case .warmup: try LinearWarmup(optimizer, steps: 12, startFactor: 0.25)
        }
    }

    @Test(arguments: ScheduleKind.allCases)
    func scheduleStepCountAndRates(kind: ScheduleKind) throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Float>()
        let optimizer = SGD<Float>(learningRate: 0.1, momentum: 0.9)
        let schedule = try Self.schedule(kind, optimizer)
        for _ in 0..<7 {
            try run.step(optimizer)
            schedule.step()
        }
        try Checkpoint.save(model: run.model, optimizer: optimizer, schedule: schedule, to: url)

        let fresh = try Classifier<Float>()
        let restoredOptimizer = SGD<Float>(learningRate: 0.1, momentum: 0.9)
        let restored = try Self.schedule(kind, restoredOptimizer)
        #expect(restoredOptimizer.learningRate != optimizer.learningRate)
        try Checkpoint.restore(model: fresh.model, optimizer: restoredOptimizer, schedule: restored, from: url)
        #expect(restored.stepCount == 7)
        #expect(restored.learningRate.bitPattern == schedule.learningRate.bitPattern)
        #expect(restoredOptimizer.learningRate.bitPattern == optimizer.learningRate.bitPattern)
        for _ in 0..<8 {
            try run.step(optimizer)
            schedule.step()
            try fresh.step(restoredOptimizer)
            restored.step()
            #expect(restoredOptimizer.learningRate.bitPattern == optimizer.learningRate.bitPattern)
        }
        #expect(restored.stepCount == 15)
        #expect(parameterBits(fresh.model) == parameterBits(run.model))
    }

    @Test func dropoutGeneratorsInNestedSequentials() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Float>()
        let adam = Adam<Float>()
        for _ in 0..<3 { try run.step(adam) }
        try Checkpoint.save(model: run.model, optimizer: adam, to: url)

        let fresh = try Classifier<Float>(dropoutSeed: 40)
        #expect(fresh.first.generator.state != run.first.generator.state)
        try Checkpoint.restore(model: fresh.model, optimizer: Adam<Float>(), from: url)
        #expect(fresh.first.generator.state == run.first.generator.state)
        #expect(fresh.nested.generator.state == run.nested.generator.state)
        // The next masks are the uninterrupted layers' masks.
        let input = Tensor<Float>(shape: [12, 8], repeating: 1)
        for _ in 0..<3 {
            #expect(bits(try fresh.first.forward(input)) == bits(try run.first.forward(input)))
            #expect(bits(try fresh.nested.forward(input)) == bits(try run.nested.forward(input)))
        }
    }

    @Test func aDropoutLayerThatIsTheWholeModel() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let dropout = try Dropout<Double>(probability: 0.25, seed: 1)
        let input = Tensor<Double>(shape: [50], repeating: 1)
        _ = try dropout.forward(input)
        try Checkpoint.save(model: dropout, optimizer: SGD<Double>(learningRate: 0.1), to: url)
        #expect(try SafeTensors<Double>(contentsOf: url).metadata["model.layer"] == "Dropout(probability: 0.25)")

        let restored = try Dropout<Double>(probability: 0.25, seed: 2)
        try Checkpoint.restore(model: restored, optimizer: SGD<Double>(learningRate: 0.1), from: url)
        #expect(bits(try restored.forward(input)) == bits(try dropout.forward(input)))
    }

    // MARK: Batches

    /// Where a run stops before its checkpoint: after `fullPasses` whole
    /// passes, `batches` batches into the next (`nil`: that pass not begun).
    struct StopPoint: Sendable, CustomTestStringConvertible {
        var fullPasses: Int, batches: Int?
        var shuffle = true, dropLast = false
        var testDescription: String {
            "\(fullPasses) passes, then \(batches.map { "\($0) batches" } ?? "no pass")\(shuffle ? "" : ", unshuffled")\(dropLast ? ", dropLast" : "")"
        }
    }

    static let stopPoints = [
        StopPoint(fullPasses: 0, batches: nil),
        StopPoint(fullPasses: 0, batches: 0),
        StopPoint(fullPasses: 0, batches: 2),
        StopPoint(fullPasses: 1, batches: 3),
        StopPoint(fullPasses: 2, batches: nil),
        StopPoint(fullPasses: 1, batches: 4),   // every batch handed out, the end not yet seen
        StopPoint(fullPasses: 1, batches: 1, dropLast: true),
        StopPoint(fullPasses: 1, batches: 2, shuffle: false),
    ]

    /// Every batch's rows of the rest of the pass under way in `iterator`
    /// (if any) and of two more passes, as `decodedRows` reads them.
    static func rest(_ batches: MiniBatches<Float>, _ iterator: inout MiniBatches<Float>.Iterator?) -> [[Int]] {
        var seen: [[Int]] = []
        if var current = iterator {
            while let batch = current.next() { seen.append(decodedRows(batch.features)) }
            iterator = nil
        }
        for _ in 0..<2 { seen += pass(batches) }
        return seen
    }

    /// The same from batches restored: `passes` passes by `for` loops, the
    /// first of which continues the pass under way when there was one.
    static func passes(_ batches: MiniBatches<Float>, _ count: Int) -> [[Int]] {
        (0..<count).flatMap { _ in pass(batches) }
    }

    @Test(arguments: stopPoints)
    func miniBatchesContinueThePassUnderWay(_ stop: StopPoint) throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Float>()
        let features = try encodedRows(14)
        func batches(seed: UInt64) throws -> MiniBatches<Float> {
            try MiniBatches(features: features, labels: Array(0..<14), batchSize: 4, shuffle: stop.shuffle, dropLast: stop.dropLast, seed: seed)
        }
        let original = try batches(seed: 5)
        for _ in 0..<stop.fullPasses { _ = pass(original) }
        var iterator: MiniBatches<Float>.Iterator?
        if let count = stop.batches {
            iterator = original.makeIterator()
            for _ in 0..<count { _ = iterator!.next() }
        }
        try Checkpoint.save(model: run.model, optimizer: Adam<Float>(), batches: original, to: url)

        let restored = try batches(seed: 6)
        try Checkpoint.restore(model: run.model, optimizer: Adam<Float>(), batches: restored, from: url)
        let underWay = stop.batches != nil
        let expected = Self.rest(original, &iterator)
        #expect(restored.underestimatedCount == (underWay ? restored.batchCount - stop.batches! : restored.batchCount))
        #expect(Self.passes(restored, underWay ? 3 : 2) == expected)
        #expect(expected.count >= 2 * (stop.dropLast ? 3 : 4))
    }

    @Test func aCheckpointSavedRightAfterARestoreKeepsThePassToContinue() throws {
        let (first, second) = (try temporaryCheckpoint(), try temporaryCheckpoint())
        defer { cleanUp(first); cleanUp(second) }
        let run = try Classifier<Float>()
        let features = try encodedRows(10)
        func batches(seed: UInt64) throws -> MiniBatches<Float> {
            try MiniBatches(features: features, labels: Array(0..<10), batchSize: 3, seed: seed)
        }
        let original = try batches(seed: 1)
        var iterator: MiniBatches<Float>.Iterator? = original.makeIterator()
        _ = iterator!.next()
        try Checkpoint.save(model: run.model, optimizer: Adam<Float>(), batches: original, to: first)
        let middle = try batches(seed: 2)
        try Checkpoint.restore(model: run.model, optimizer: Adam<Float>(), batches: middle, from: first)
        try Checkpoint.save(model: run.model, optimizer: Adam<Float>(), batches: middle, to: second)
        let last = try batches(seed: 3)
        try Checkpoint.restore(model: run.model, optimizer: Adam<Float>(), batches: last, from: second)
        #expect(Self.passes(last, 3) == Self.rest(original, &iterator))
    }

    /// A checkpoint of one shard restores into every shard of the same
    /// count: the order and the pass under way are the same for all, and each
    /// goes on with its own part; the parts together are the whole batches.
    @Test func shardedBatchesRestoreIntoEveryShardOfTheSameCount() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Float>()
        let features = try encodedRows(14)
        func batches(seed: UInt64, shard: Int = 0, of count: Int = 1) throws -> MiniBatches<Float> {
            // 14 rows in batches of 5: parts of 2, 2 and 1 rows, then of 2, 1 and 1.
            try MiniBatches(features: features, labels: Array(0..<14), batchSize: 5, seed: seed, shard: shard, of: count)
        }
        func advanced(_ batches: MiniBatches<Float>) -> MiniBatches<Float>.Iterator? {
            _ = pass(batches)
            var iterator: MiniBatches<Float>.Iterator? = batches.makeIterator()
            _ = iterator!.next()
            return iterator
        }
        let saved = try batches(seed: 4, shard: 0, of: 3)
        let savedIterator = advanced(saved)
        try Checkpoint.save(model: run.model, optimizer: Adam<Float>(), batches: saved, to: url)
        #expect(try SafeTensors<Float>(contentsOf: url).metadata["batches.shardCount"] == "3")

        let whole = try batches(seed: 4)
        var wholeIterator = advanced(whole)
        let wholeRest = Self.rest(whole, &wholeIterator)
        var parts: [[[Int]]] = []
        for shard in 0..<3 {
            // The uninterrupted sequence of this shard, as far as the saved one had come.
            let uninterrupted = shard == 0 ? saved : try batches(seed: 4, shard: shard, of: 3)
            var iterator = shard == 0 ? savedIterator : advanced(uninterrupted)
            let expected = Self.rest(uninterrupted, &iterator)
            let restored = try batches(seed: 9, shard: shard, of: 3)
            try Checkpoint.restore(model: run.model, optimizer: Adam<Float>(), batches: restored, from: url)
            let rest = Self.passes(restored, 3)
            #expect(rest == expected, "shard \(shard)")
            parts.append(rest)
        }
        #expect(parts[0].indices.map { parts[0][$0] + parts[1][$0] + parts[2][$0] } == wholeRest)
        #expect(wholeRest.count == 2 + 2 * 3)

        for count in [1, 2] {
            let error = #expect(throws: PerceptronError.self) {
                try Checkpoint.restore(model: run.model, optimizer: Adam<Float>(), batches: batches(seed: 9, of: count), from: url)
            }
            #expect(error == .checkpointMismatch(path: url.path, what: "the batches' shardCount", saved: "3", actual: "\(count)"))
        }
    }

    @Test func regressionBatchesContinueThePassUnderWay() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Float>()
        let features = try encodedRows(11)
        func batches(seed: UInt64) throws -> RegressionBatches<Float> {
            try RegressionBatches(features: features, targets: features, batchSize: 3, seed: seed)
        }
        func rows(_ batch: (features: Tensor<Float>, targets: Tensor<Float>)) -> [Int] { decodedRows(batch.features) }
        let original = try batches(seed: 8)
        _ = original.map(rows)
        var iterator = original.makeIterator()
        _ = iterator.next()
        try Checkpoint.save(model: run.model, optimizer: SGD<Float>(learningRate: 0.1), batches: original, to: url)
        let restored = try batches(seed: 9)
        try Checkpoint.restore(model: run.model, optimizer: SGD<Float>(learningRate: 0.1), batches: restored, from: url)
        var expected: [[Int]] = []
        while let batch = iterator.next() { expected.append(rows(batch)) }
        expected += original.map(rows) + original.map(rows)
        #expect(restored.map(rows) + restored.map(rows) + restored.map(rows) == expected)
    }

    // MARK: The user's state and the file

    @Test func theUsersStringsComeBackAsSaved() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Float>()
        let state = ["epoch": "3", "step": "1200", "": "an empty key", "ünïcode \"quoted\"\n": "a\\b\u{0}c", "best loss": "0.125"]
        try Checkpoint.save(model: run.model, optimizer: Adam<Float>(), state: state, to: url)
        #expect(try Checkpoint.restore(model: run.model, optimizer: Adam<Float>(), from: url) == state)
    }

    @Test func theFileIsASafetensorsFileWithReadableMetadata() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Float>()
        let adam = Adam<Float>(learningRate: 0.01)
        let schedule = try StepLR(adam, stepSize: 2)
        let batches = try MiniBatches(features: run.x, labels: run.labels, batchSize: 5, seed: 4)
        let before = batches.order.savedState.generator.state
        var iterator = batches.makeIterator()
        let batch = iterator.next()
        let (features, labels) = try #require(batch)
        _ = try run.loss.forward(run.model(features), labels: labels)
        _ = try run.model.backward(run.loss.backward())
        try adam.step(run.model)
        schedule.step()
        try Checkpoint.save(model: run.model, optimizer: adam, schedule: schedule, batches: batches, state: ["epoch": "0"], to: url)

        let file = try SafeTensors<Float>(contentsOf: url)
        let parameters = ["0.weight", "0.bias", "3.0.weight", "3.0.bias", "4.weight", "4.bias"]
        #expect(Set(file.tensors.keys) == Set(parameters.map { "model." + $0 }
            + parameters.flatMap { ["optimizer.\($0).exp_avg", "optimizer.\($0).exp_avg_sq"] }))
        #expect(file.tensors["model.0.weight"].map(bits) == run.model.namedParameters["0.weight"].map(bits))
        #expect(file.tensors["optimizer.4.bias.exp_avg_sq"].map(bits) == bits(adam.state.buffers[11]))
        func words(_ state: [UInt64]) -> String { "[" + state.map(String.init).joined(separator: ", ") + "]" }
        #expect(file.metadata == [
            "perceptron.checkpoint": "2", "scalar": "Float",
            "model.architecture": #"{"version":1,"model":{"type":"Sequential","layers":["#
                + #"{"type":"Linear","in_features":4,"out_features":8,"bias":true},{"type":"ReLU"},{"type":"Dropout","p":0.3},"#
                + #"{"type":"Sequential","layers":[{"type":"Linear","in_features":8,"out_features":8,"bias":true},"#
                + #"{"type":"Tanh"},{"type":"Dropout","p":0.5}]},{"type":"Linear","in_features":8,"out_features":3,"bias":true}]}}"#,
            "model.2.layer": "Dropout(probability: 0.3)", "model.2.generator": words(run.first.generator.state),
            "model.3.2.layer": "Dropout(probability: 0.5)", "model.3.2.generator": words(run.nested.generator.state),
            "optimizer": "Adam", "optimizer.learningRate": "0.01", "optimizer.beta1": "0.9", "optimizer.beta2": "0.999",
            "optimizer.epsilon": "1e-08", "optimizer.weightDecay": "0.0", "optimizer.decoupledWeightDecay": "false",
            "optimizer.stepCount": "1",
            "schedule": "StepLR", "schedule.baseLearningRate": "0.01", "schedule.stepSize": "2", "schedule.gamma": "0.1",
            "schedule.stepCount": "1",
            "batches": "MiniBatches", "batches.rows": "12", "batches.batchSize": "5", "batches.shuffle": "true",
            "batches.dropLast": "false", "batches.generator": words(batches.order.savedState.generator.state),
            "batches.pass.generator": words(before), "batches.pass.batches": "1",
            "state.epoch": "0",
        ])
    }
}
