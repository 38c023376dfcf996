import Foundation
@testable import Perceptron
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The training run the resume test kills: an ordinary loop as a user writes
/// it (a small MLP with two Dropout layers, one in a nested Sequential; Adam
/// with decoupled weight decay; a cosine schedule stepped per epoch; shuffled
/// MiniBatches with a short last batch), which restores its last checkpoint
/// if there is one and saves one every few steps, mid-epoch too.
struct InterruptibleRun {
    static let epochs = 8
    /// 46 rows in batches of 8: 6 batches a pass, the last of 6 rows.
    static let batchesPerEpoch = 6
    static var totalSteps: Int { epochs * batchesPerEpoch }
    static let checkpointEvery = 5

    /// How a run ends.
    enum Stop {
        /// It trains to the end and returns.
        case never
        /// Once it has taken `step` steps (or at once, if it resumes past
        /// them), a timer sends it SIGKILL `delay` microseconds later, at
        /// whatever point of the loop, the restore or a save it has reached;
        /// after the last step it waits for the signal.
        case killAfter(step: Int, delay: Int)
        /// Its `number`-th save sends it SIGKILL in the middle of writing
        /// the file, half of the bytes written; a run that ends before it
        /// exits with status 3 (rather than wait for a signal that never comes).
        case killInsideSave(number: Int)
    }

    /// The folder of the checkpoint and of the log.
    let directory: String
    var checkpoint: URL { URL(fileURLWithPath: directory).appendingPathComponent("run.checkpoint") }

    /// Trains from the last checkpoint (if any) to the end and returns the
    /// parameters, unless `stop` kills the process first. Each run appends
    /// the step it starts from to the log.
    func train(saving: Bool, stop: Stop) throws -> [String: Tensor<Float>] {
        var generator = SeededRandomNumberGenerator(seed: 2024)
        let x = Tensor<Float>(shape: [46, 6], randomIn: -1...1, using: &generator)
        let labels = (0..<46).map { _ in Int(generator.next() % 3) }
        let model = Sequential<Float>([
            Linear(inputFeatures: 6, outputFeatures: 16, using: &generator), ReLU(), try Dropout(probability: 0.2, seed: 5),
            Sequential([Linear(inputFeatures: 16, outputFeatures: 16, using: &generator), Tanh(), try Dropout(probability: 0.1, seed: 6)]),
            Linear(inputFeatures: 16, outputFeatures: 3, using: &generator),
        ])
        let loss = SoftmaxCrossEntropy<Float>()
        let optimizer = Adam<Float>(learningRate: 0.01, weightDecay: 0.01, decoupledWeightDecay: true)
        let schedule = try CosineAnnealingLR(optimizer, periodLength: Self.epochs, minimumLearningRate: 0.001)
        let batches = try MiniBatches(features: x, labels: labels, batchSize: 8, seed: 7)

        var (epoch, step) = (0, 0)
        if FileManager.default.fileExists(atPath: checkpoint.path) {
            let state = try Checkpoint.restore(model: model, optimizer: optimizer, schedule: schedule, batches: batches, from: checkpoint)
            (epoch, step) = (Int(state["epoch"]!)!, Int(state["step"]!)!)
        }
        if saving { log("start \(step)") }
        var armed = false
        func armTheTimerIfDue() {
            guard case let .killAfter(killStep, delay) = stop, !armed, step >= killStep else { return }
            armed = true
            Thread.detachNewThread {
                usleep(UInt32(delay))
                kill(getpid(), SIGKILL)
            }
        }
        armTheTimerIfDue()

        var saves = 0
        while epoch < Self.epochs {
            for (features, labels) in batches {
                _ = try loss.forward(model(features), labels: labels)
                _ = try model.backward(loss.backward())
                try optimizer.step(model)
                step += 1
                if saving && step % Self.checkpointEvery == 0 {
                    saves += 1
                    let state = ["epoch": "\(epoch)", "step": "\(step)"]
                    if case let .killInsideSave(number) = stop, number == saves {
                        try CheckpointParts(model: model, optimizer: optimizer, schedule: schedule, batches: batches)
                            .save(state: state, to: checkpoint, using: Self.writeHalfAndDie)
                    }
                    try Checkpoint.save(
                        model: model, optimizer: optimizer, schedule: schedule, batches: batches, state: state, to: checkpoint)
                }
                armTheTimerIfDue()
            }
            schedule.step()
            epoch += 1
        }
        switch stop {
        case .never: return model.namedParameters
        case .killInsideSave: exit(3)
        case .killAfter: break
        }
        step = .max
        armTheTimerIfDue()
        while true { pause() }
    }

    /// A `write(2)` that writes half of what it is asked, then kills the process.
    static func writeHalfAndDie(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        _ = write(descriptor, bytes, count / 2)
        kill(getpid(), SIGKILL)
        while true { pause() }
    }

    /// Appends `line` to the log, with one `write(2)`.
    func log(_ line: String) {
        let descriptor = open(directory + "/log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return }
        _ = (line + "\n").withCString { write(descriptor, $0, strlen($0)) }
        close(descriptor)
    }

    /// The steps each run started from, in order.
    var starts: [Int] {
        let text = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { Int($0.dropFirst("start ".count)) }
    }

    /// The temporary files that writes cut short left beside the checkpoint.
    var temporaryFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(".run.checkpoint.tmp-") }
    }
}

@Suite("Checkpoints: resuming after SIGKILL")
struct CheckpointResumeTests {
    /// Every run is a process of its own (an exit test), the uninterrupted
    /// one too: each has the same default BLAS thread count, which no test
    /// running beside can change under it.
    @Test func aRunKilledAtSeededPointsAndResumedEndsBitForBitAsTheUninterruptedRun() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)").path
        let referenceDirectory = directory + "/reference"
        try FileManager.default.createDirectory(atPath: referenceDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // The uninterrupted run, which never saves.
        await #expect(processExitsWith: .success) { [referenceDirectory = referenceDirectory as String] in
            let parameters = try InterruptibleRun(directory: referenceDirectory).train(saving: false, stop: .never)
            try SafeTensors(tensors: parameters).write(to: URL(fileURLWithPath: referenceDirectory + "/parameters.safetensors"))
        }

        // One kill inside the second save of a run from the start, then
        // eight by a timer at seeded steps, half of them within 100 µs (in
        // the next step, mostly) and half within 4 ms (in a save, mostly:
        // flushing the file to disk takes most of a run's time).
        var generator = SeededRandomNumberGenerator(seed: 1202)
        let total = UInt64(InterruptibleRun.totalSteps)
        var stops: [InterruptibleRun.Stop] = (0..<8).map { _ in 1 + Int(generator.next() % (total - 1)) }.sorted()
            .enumerated().map { index, step in
                .killAfter(step: step, delay: Int(generator.next() % (index % 2 == 0 ? 100 : 4000)))
            }
        stops.insert(.killInsideSave(number: 2), at: 0)
        let run = InterruptibleRun(directory: directory)
        var cutWrites = 0
        for stop in stops {
            let before = run.temporaryFiles.count
            switch stop {
            case let .killAfter(step, delay):
                await #expect(processExitsWith: .signal(SIGKILL)) { [directory = directory as String, step = step as Int, delay = delay as Int] in
                    _ = try InterruptibleRun(directory: directory).train(saving: true, stop: .killAfter(step: step, delay: delay))
                }
            case let .killInsideSave(number):
                await #expect(processExitsWith: .signal(SIGKILL)) { [directory = directory as String, number = number as Int] in
                    _ = try InterruptibleRun(directory: directory).train(saving: true, stop: .killInsideSave(number: number))
                }
                // Its first save went through, its second was cut off midway:
                // the next run starts from the first.
                #expect(run.temporaryFiles.count == before + 1, "the killed write left its temporary file")
                #expect(run.starts == [0])
                let saved = try SafeTensors<Float>(contentsOf: run.checkpoint).metadata["state.step"]
                #expect(saved == "\(InterruptibleRun.checkpointEvery)")
            case .never: break
            }
            if run.temporaryFiles.count > before { cutWrites += 1 }
        }

        // The last run resumes and trains to the end.
        await #expect(processExitsWith: .success) { [directory = directory as String] in
            let parameters = try InterruptibleRun(directory: directory).train(saving: true, stop: .never)
            try SafeTensors(tensors: parameters).write(to: URL(fileURLWithPath: directory + "/parameters.safetensors"))
        }

        let reference = try SafeTensors<Float>(contentsOf: URL(fileURLWithPath: referenceDirectory + "/parameters.safetensors")).tensors
        let resumed = try SafeTensors<Float>(contentsOf: URL(fileURLWithPath: directory + "/parameters.safetensors")).tensors
        #expect(reference.count == 6)
        #expect(resumed.mapValues(bits) == reference.mapValues(bits))
        // Each run started where a checkpoint left off, never behind the one before.
        let starts = run.starts
        #expect(starts.count == stops.count + 1)
        #expect(starts.first == 0 && starts == starts.sorted())
        #expect(starts.allSatisfy { $0 % InterruptibleRun.checkpointEvery == 0 && $0 < InterruptibleRun.totalSteps })
        print("Resumed after \(stops.count) SIGKILLs from steps \(starts.dropFirst()); \(cutWrites) of them cut a checkpoint write short")
    }
}
