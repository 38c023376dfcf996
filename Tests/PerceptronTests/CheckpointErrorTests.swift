import Foundation
@testable import Perceptron
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The objects of the run every error case saves: a classifier, Adam, StepLR and MiniBatches.
struct SavedRun {
    let run: Classifier<Float>
    let adam: Adam<Float>
    let schedule: StepLR<Float>
    let batches: MiniBatches<Float>

    init() throws {
        run = try Classifier<Float>()
        adam = Adam<Float>(learningRate: 0.01)
        schedule = try StepLR(adam, stepSize: 2, gamma: 0.5)
        batches = try MiniBatches(features: run.x, labels: run.labels, batchSize: 4, seed: 3)
        var iterator = batches.makeIterator()
        for _ in 0..<2 {
            _ = iterator.next()
            try run.step(adam)
            schedule.step()
        }
    }

    var parts: CheckpointParts<Float> {
        CheckpointParts(model: run.model, optimizer: adam, schedule: schedule, batches: batches)
    }

    func save(to url: URL) throws {
        try Checkpoint.save(model: run.model, optimizer: adam, schedule: schedule, batches: batches, state: ["epoch": "0"], to: url)
    }
}

/// Everything a restore could change, to show that one that throws changes nothing.
struct Snapshot: Equatable {
    var parameters: [String: [UInt64]]
    var generators: [[UInt64]]
    var optimizer: [String]
    var schedule: Int?
    var batches: [[UInt64]]

    init(_ model: any Layer<Float>, _ optimizer: any Optimizer<Float>,
         _ schedule: (any LearningRateSchedule<Float>)?, _ batches: (any CheckpointableBatches)?) {
        parameters = model.namedParameters.mapValues(bits)
        var generators: [[UInt64]] = []
        try? (model as? any RandomGeneratorOwner)?.forEachGenerator(path: "") { _, _, generator in generators.append(generator.state) }
        self.generators = generators
        self.optimizer = ["\(optimizer.learningRate)"]
        if let adam = optimizer as? Adam<Float> {
            self.optimizer += ["\(adam.stepCount)", "\(adam.state.buffers.map(bits))"]
        }
        self.schedule = schedule?.stepCount
        let saved = batches?.order.savedState
        self.batches = [saved?.generator.state ?? [], saved?.passUnderWay?.generatorBeforePass.state ?? [],
                        [UInt64(bitPattern: Int64(saved?.passUnderWay?.batchesHandedOut ?? -1))]]
    }
}

/// A model like the classifier's, with its layers changed by `change`.
func changedModel(_ change: (inout [any Layer<Float>], inout SeededRandomNumberGenerator) throws -> Void) throws -> Sequential<Float> {
    var generator = SeededRandomNumberGenerator(seed: 1)
    var layers = try Classifier<Float>().model.layers
    try change(&layers, &generator)
    return Sequential(layers)
}

@Suite("Checkpoints: errors")
struct CheckpointErrorTests {
    /// A difference between the run saved and the objects given to restore it.
    enum Difference: String, CaseIterable, Sendable {
        case hiddenSize, extraLayer, missingLayer, dropoutProbability, dropoutReplaced, dropoutAdded
        case activation, nestedActivation
        case optimizerType, beta1, weightDecay
        case noSchedule, scheduleType, gamma, baseRate
        case noBatches, regressionBatches, batchSize, shuffle, shardCount

        /// The first difference the error names: what, as saved, as given.
        var expected: (String, String, String) {
            switch self {
            case .hiddenSize: ("the shape of the model's parameter 0.weight", "[4, 8]", "[4, 9]")
            case .extraLayer: ("the model's parameter 5.weight", "absent", "of shape [3, 2]")
            case .missingLayer: ("the model's parameter 4.bias", "of shape [3]", "absent")
            case .dropoutProbability: ("the model's layer 3.2", "Dropout(probability: 0.5)", "Dropout(probability: 0.25)")
            case .dropoutReplaced: ("the model's layer 2", "Dropout(probability: 0.3)", "a layer without a random generator")
            case .dropoutAdded: ("the model's layer 1", "a layer without a random generator", "Dropout(probability: 0.1)")
            case .activation: ("the model's layer 1", "ReLU", "GELU")
            case .nestedActivation: ("the model's layer 3.1", "Tanh", "Sigmoid")
            case .optimizerType: ("the optimizer", "Adam", "SGD")
            case .beta1: ("the optimizer's beta1", "0.9", "0.95")
            case .weightDecay: ("the optimizer's weightDecay", "0.0", "0.01")
            case .noSchedule: ("the schedule", "StepLR", "none")
            case .scheduleType: ("the schedule", "StepLR", "CosineAnnealingLR")
            case .gamma: ("the schedule's gamma", "0.5", "0.1")
            case .baseRate: ("the schedule's base learning rate", "0.01", "0.02")
            case .noBatches: ("the kind of batches", "MiniBatches", "none")
            case .regressionBatches: ("the kind of batches", "MiniBatches", "RegressionBatches")
            case .batchSize: ("the batches' batchSize", "4", "5")
            case .shuffle: ("the batches' shuffle", "true", "false")
            case .shardCount: ("the batches' shardCount", "1", "2")
            }
        }

        /// The objects to restore into: the saved run's, made afresh, with this difference.
        func objects() throws -> (any Layer<Float>, any Optimizer<Float>, (any LearningRateSchedule<Float>)?, (any CheckpointableBatches)?) {
            let run = try Classifier<Float>(initSeed: 5, dropoutSeed: 50)
            var model: any Layer<Float> = run.model
            var optimizer: any Optimizer<Float> = Adam<Float>(learningRate: 0.01)
            switch self {
            case .hiddenSize: model = try Classifier<Float>(hidden: 9).model
            case .extraLayer: model = try changedModel { layers, g in layers.append(Linear(inputFeatures: 3, outputFeatures: 2, using: &g)) }
            case .missingLayer: model = try changedModel { layers, _ in layers.removeLast() }
            case .dropoutProbability: model = try Classifier<Float>(probabilities: (0.3, 0.25)).model
            case .dropoutReplaced: model = try changedModel { layers, _ in layers[2] = ReLU<Float>() }
            case .dropoutAdded: model = try changedModel { layers, _ in layers[1] = try Dropout<Float>(probability: 0.1, seed: 1) }
            case .activation: model = try changedModel { layers, _ in layers[1] = GELU<Float>() }
            case .nestedActivation:
                model = try changedModel { layers, _ in
                    var nested = (layers[3] as! Sequential<Float>).layers
                    nested[1] = Sigmoid<Float>()
                    layers[3] = Sequential(nested)
                }
            case .optimizerType: optimizer = SGD<Float>(learningRate: 0.01)
            case .beta1: optimizer = Adam<Float>(learningRate: 0.01, beta1: 0.95)
            case .weightDecay: optimizer = Adam<Float>(learningRate: 0.01, weightDecay: 0.01)
            case .baseRate: optimizer = Adam<Float>(learningRate: 0.02)
            default: break
            }
            var schedule: (any LearningRateSchedule<Float>)? = try StepLR(optimizer, stepSize: 2, gamma: 0.5)
            switch self {
            case .noSchedule: schedule = nil
            case .scheduleType: schedule = try CosineAnnealingLR(optimizer, periodLength: 2)
            case .gamma: schedule = try StepLR(optimizer, stepSize: 2, gamma: 0.1)
            default: break
            }
            var batches: (any CheckpointableBatches)? = try MiniBatches(features: run.x, labels: run.labels, batchSize: 4, seed: 9)
            switch self {
            case .noBatches: batches = nil
            case .regressionBatches: batches = try RegressionBatches(features: run.x, targets: run.x, batchSize: 4)
            case .batchSize: batches = try MiniBatches(features: run.x, labels: run.labels, batchSize: 5)
            case .shuffle: batches = try MiniBatches(features: run.x, labels: run.labels, batchSize: 4, shuffle: false)
            case .shardCount: batches = try MiniBatches(features: run.x, labels: run.labels, batchSize: 4, shard: 1, of: 2)
            default: break
            }
            return (model, optimizer, schedule, batches)
        }
    }

    @Test(arguments: Difference.allCases)
    func aRestoreIntoOtherObjectsNamesTheFirstDifferenceAndChangesNothing(_ difference: Difference) throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        try SavedRun().save(to: url)
        let (model, optimizer, schedule, batches) = try difference.objects()
        let before = Snapshot(model, optimizer, schedule, batches)
        let error = #expect(throws: PerceptronError.self) {
            try CheckpointParts(model: model, optimizer: optimizer, schedule: schedule, batches: batches).restore(from: url)
        }
        let (what, saved, actual) = difference.expected
        #expect(error == .checkpointMismatch(path: url.path, what: what, saved: saved, actual: actual))
        #expect(error?.description
            == "the checkpoint '\(url.path)' does not fit what it is restored into: \(what) is \(saved) in it, but \(actual) here")
        #expect(Snapshot(model, optimizer, schedule, batches) == before)
    }

    @Test func theSameObjectsRestoreWithoutError() throws {
        // The baseline of the cases above: without a difference, the restore goes through.
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let saved = try SavedRun()
        try saved.save(to: url)
        let fresh = try Classifier<Float>(initSeed: 5, dropoutSeed: 50)
        let adam = Adam<Float>(learningRate: 0.01)
        let schedule = try StepLR(adam, stepSize: 2, gamma: 0.5)
        let batches = try MiniBatches(features: fresh.x, labels: fresh.labels, batchSize: 4, seed: 9)
        let state = try Checkpoint.restore(model: fresh.model, optimizer: adam, schedule: schedule, batches: batches, from: url)
        #expect(state == ["epoch": "0"])
        #expect(Snapshot(fresh.model, adam, schedule, batches) == Snapshot(saved.run.model, saved.adam, saved.schedule, saved.batches))
    }

    @Test func sgdSettingsAndPrecisionMustMatch() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Float>()
        try Checkpoint.save(model: run.model, optimizer: SGD<Float>(learningRate: 0.1, momentum: 0.9), to: url)
        let nesterov = #expect(throws: PerceptronError.self) {
            try Checkpoint.restore(model: run.model, optimizer: SGD<Float>(learningRate: 0.1, momentum: 0.9, nesterov: true), from: url)
        }
        #expect(nesterov == .checkpointMismatch(path: url.path, what: "the optimizer's nesterov", saved: "false", actual: "true"))
        let momentum = #expect(throws: PerceptronError.self) {
            try Checkpoint.restore(model: run.model, optimizer: SGD<Float>(learningRate: 0.1, momentum: 0.5), from: url)
        }
        #expect(momentum == .checkpointMismatch(path: url.path, what: "the optimizer's momentum", saved: "0.9", actual: "0.5"))
        let double = try Classifier<Double>()
        let precision = #expect(throws: PerceptronError.self) {
            try Checkpoint.restore(model: double.model, optimizer: SGD<Double>(learningRate: 0.1, momentum: 0.9), from: url)
        }
        #expect(precision == .checkpointMismatch(path: url.path, what: "the scalar type", saved: "Float", actual: "Double"))
    }

    // MARK: Files that are not checkpoints

    /// A change to the file the saved run writes.
    enum Corruption: String, CaseIterable, Sendable {
        case notACheckpoint, laterVersion, shortGenerator, zeroGenerator, negativeStepCount, missingLearningRate
        case wordyLearningRate, unknownEntry, unknownTensor, passPastTheEnd, missingBuffer, bufferOfTheWrongShape
        case earlierVersion, missingArchitecture, malformedArchitecture

        func apply(to file: inout SafeTensors<Float>) {
            switch self {
            case .notACheckpoint: file.metadata = ["format": "pt"]
            case .laterVersion: file.metadata["perceptron.checkpoint"] = "3"
            case .earlierVersion: file.metadata["perceptron.checkpoint"] = "1"
            case .missingArchitecture: file.metadata["model.architecture"] = nil
            case .malformedArchitecture: file.metadata["model.architecture"] = "{\"version\":1,\"model\":{\"type\":\"Linear\"}}"
            case .shortGenerator: file.metadata["model.2.generator"] = "[1, 2, 3]"
            case .zeroGenerator: file.metadata["batches.generator"] = "[0, 0, 0, 0]"
            case .negativeStepCount: file.metadata["optimizer.stepCount"] = "-1"
            case .missingLearningRate: file.metadata["optimizer.learningRate"] = nil
            case .wordyLearningRate: file.metadata["optimizer.learningRate"] = "fast"
            case .unknownEntry: file.metadata["extra"] = "1"
            case .unknownTensor: file.tensors["optimizer.0.weight.extra"] = Tensor(shape: [1])
            case .passPastTheEnd: file.metadata["batches.pass.batches"] = "4"
            case .missingBuffer: file.tensors["optimizer.0.bias.exp_avg"] = nil
            case .bufferOfTheWrongShape: file.tensors["optimizer.0.bias.exp_avg"] = Tensor(shape: [2])
            }
        }

        var reason: String {
            switch self {
            case .notACheckpoint: "its metadata has no \"perceptron.checkpoint\" entry: it is a safetensors file, but not a checkpoint"
            case .laterVersion: "it is a checkpoint of format version \"3\", but this library reads version 2"
            case .earlierVersion: "it is a checkpoint of format version \"1\", but this library reads version 2"
            case .missingArchitecture: "its metadata has no \"model.architecture\" entry"
            case .malformedArchitecture: "its metadata \"model.architecture\" is not an architecture: the model (Linear) has no \"in_features\""
            case .shortGenerator: "the metadata \"model.2.generator\" must be a generator's state, four integers in 0..<2⁶⁴ not all 0, such as [1, 2, 3, 4], but is \"[1, 2, 3]\""
            case .zeroGenerator: "the metadata \"batches.generator\" must be a generator's state, four integers in 0..<2⁶⁴ not all 0, such as [1, 2, 3, 4], but is \"[0, 0, 0, 0]\""
            case .negativeStepCount: "the metadata \"optimizer.stepCount\" must be a non-negative integer, but is \"-1\""
            case .missingLearningRate: "its metadata has no \"optimizer.learningRate\" entry"
            case .wordyLearningRate: "the metadata \"optimizer.learningRate\" must be a number, but is \"fast\""
            case .unknownEntry: "its metadata has the entry \"extra\", which is not part of a checkpoint"
            case .unknownTensor: "it holds the tensor \"optimizer.0.weight.extra\", which is not part of a checkpoint"
            case .passPastTheEnd: "the metadata \"batches.pass.batches\" is 4, but a pass has 3 batches"
            case .missingBuffer: "it has the optimizer's state of some parameters but no tensor \"optimizer.0.bias.exp_avg\""
            case .bufferOfTheWrongShape: "the tensor \"optimizer.0.bias.exp_avg\" has shape [2], but its parameter has [8]"
            }
        }
    }

    @Test(arguments: Corruption.allCases)
    func aMalformedCheckpointIsRefusedAndChangesNothing(_ corruption: Corruption) throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let saved = try SavedRun()
        var file = try saved.parts.file(state: ["epoch": "0"])
        corruption.apply(to: &file)
        try file.write(to: url)
        let before = Snapshot(saved.run.model, saved.adam, saved.schedule, saved.batches)
        let error = #expect(throws: PerceptronError.self) { try saved.parts.restore(from: url) }
        #expect(error == .invalidCheckpoint(path: url.path, reason: corruption.reason))
        #expect(error?.description == "cannot restore '\(url.path)' as a checkpoint: \(corruption.reason)")
        #expect(Snapshot(saved.run.model, saved.adam, saved.schedule, saved.batches) == before)
    }

    @Test func aMissingOrForeignFileIsAFileError() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let saved = try SavedRun()
        let missing = #expect(throws: PerceptronError.self) { try saved.parts.restore(from: url) }
        #expect(missing == .fileError(path: url.path, operation: "open", reason: "No such file or directory (errno 2)"))
        try Data("not a checkpoint".utf8).write(to: url)
        let foreign = #expect(throws: PerceptronError.self) { try saved.parts.restore(from: url) }
        guard case .invalidSafeTensors(let path, _) = foreign else {
            Issue.record("expected invalidSafeTensors, got \(String(describing: foreign))")
            return
        }
        #expect(path == url.path)
    }

    // MARK: What a save refuses

    final class Halving: Optimizer {
        var learningRate: Float = 1
        func step(_ model: some Layer<Float>) throws(PerceptronError) {}
    }

    final class Constant: LearningRateSchedule {
        let stepCount = 0
        let learningRate: Float = 1
        func step() {}
    }

    @Test func aSaveRefusesWhatACheckpointCannotHold() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let run = try Classifier<Float>()
        let adam = Adam<Float>()
        let optimizer = #expect(throws: PerceptronError.self) { try Checkpoint.save(model: run.model, optimizer: Halving(), to: url) }
        #expect(optimizer?.description == "optimizer must be SGD or Adam, whose state a checkpoint saves, but is Halving")
        let schedule = #expect(throws: PerceptronError.self) {
            try Checkpoint.save(model: run.model, optimizer: adam, schedule: Constant(), to: url)
        }
        #expect(schedule?.description
            == "schedule must be StepLR, CosineAnnealingLR or LinearWarmup, whose position a checkpoint saves, but is Constant")
        let other = #expect(throws: PerceptronError.self) {
            try Checkpoint.save(model: run.model, optimizer: adam, schedule: StepLR(Adam<Float>(), stepSize: 1), to: url)
        }
        #expect(other?.description == "schedule must be the schedule of the optimizer given, but is a schedule driving another optimizer")

        var generator = SeededRandomNumberGenerator(seed: 1)
        let small = Linear<Float>(inputFeatures: 4, outputFeatures: 2, using: &generator)
        _ = try small(run.x)
        _ = try small.backward(Tensor(shape: [12, 2], repeating: 1))
        try adam.step(small)
        let stepped = #expect(throws: PerceptronError.self) { try Checkpoint.save(model: run.model, optimizer: adam, to: url) }
        #expect(stepped?.description == "optimizer must be the model's optimizer (one that has stepped this model instance, "
            + "or none yet), but is an optimizer that has stepped another model instance")
        #expect(try otherFiles(beside: url).isEmpty && !FileManager.default.fileExists(atPath: url.path))
    }

    // MARK: Writes that fail

    @Test func aWriteThatFailsMidwayLeavesThePreviousCheckpoint() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        let saved = try SavedRun()
        try saved.save(to: url)
        let expected = Snapshot(saved.run.model, saved.adam, saved.schedule, saved.batches)

        // Two more steps, then a save whose writes stop with a full disk after half the file.
        var iterator = saved.batches.makeIterator()
        for _ in 0..<2 {
            _ = iterator.next()
            try saved.run.step(saved.adam)
        }
        var written = 0
        let size = try saved.parts.file(state: [:]).safeTensorsData().count
        let error = #expect(throws: PerceptronError.self) {
            try saved.parts.save(state: ["epoch": "1"], to: url) { descriptor, bytes, count in
                guard written < size / 2 else {
                    errno = ENOSPC
                    return -1
                }
                // Short writes on the way, which the writer continues.
                let result = write(descriptor, bytes, min(count, 100))
                written += result
                return result
            }
        }
        #expect(written >= size / 2)
        #expect(error == .fileError(path: url.path, operation: "write", reason: "No space left on device (errno 28)"))
        #expect(error?.description == "could not write '\(url.path)': No space left on device (errno 28)")
        #expect(try otherFiles(beside: url).isEmpty, "the temporary file is removed")

        // The previous checkpoint is whole: it restores the run as it was then.
        let fresh = try Classifier<Float>(initSeed: 5, dropoutSeed: 50)
        let adam = Adam<Float>(learningRate: 0.01)
        let schedule = try StepLR(adam, stepSize: 2, gamma: 0.5)
        let batches = try MiniBatches(features: fresh.x, labels: fresh.labels, batchSize: 4, seed: 9)
        let state = try Checkpoint.restore(model: fresh.model, optimizer: adam, schedule: schedule, batches: batches, from: url)
        #expect(state == ["epoch": "0"])
        #expect(Snapshot(fresh.model, adam, schedule, batches) == expected)
    }

    @Test func aTargetThatIsADirectoryIsRefusedAtTheRename() throws {
        let url = try temporaryCheckpoint()
        defer { cleanUp(url) }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        let saved = try SavedRun()
        let error = #expect(throws: PerceptronError.self) { try saved.save(to: url) }
        #expect(error?.description == "could not rename the temporary file over '\(url.path)': Is a directory (errno 21)")
        #expect(try otherFiles(beside: url).isEmpty, "the temporary file is removed")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue)
    }
}
