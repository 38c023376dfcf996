import Foundation
import Perceptron
import PerceptronDistributed
@testable import perceptron_distributed_worker
import Testing

extension DistributedTests {
    /// Every communicator call on matching, mismatched and empty tensors,
    /// and the checks of replicas and checkpoints (the worker's
    /// `collectives` mode), behaves as documented on every process: results
    /// where the calls agree, the same error everywhere where they do not
    /// (a failed write or read as `runOnRankZero` and `runOnEveryRank`
    /// report one), and still in step after the errors.
    @Suite("Collective operations")
    struct CollectiveTests {
        static let rule = "every process must make the same collective calls, in the same order"

        /// What rank `rank` of `k` must print for each case, in order.
        static func expected(rank: Int, of k: Int) -> [String] {
            func values(_ scalars: [Float]) -> String { scalars.map { "\($0)" }.joined(separator: " ") }
            let sum = Float(k * (k + 1) / 2)
            let shapes = "the tensor of rank 1 in an all-reduce (every process's must have the shape of rank 0's) must have shape"
            let writeError = "could not write '/checkpoints/step-8': no space left"
            let stepError = "step must be 8, but is 7"
            let other = k - 1
            let nowhere = "'/nonexistent/checkpoint': No such file or directory (errno 2)"
            let unwritable = "could not create a temporary file to write \(nowhere)"
            return [
                "sum: " + values([sum, 2 * sum]),
                "maximum: " + values([Float(k - 1), 0]),
                "minimum: " + values([0, -Float(k - 1)]),
                "broadcast: " + values((0..<3).map { Float(10 * (k - 1) + $0) }),
                "non-blocking: " + values([sum, Float(rank + 1)]),
                "empty: ",
                "empty-and-not: error: \(shapes) [0], but has shape [3]",
                "shapes: error: \(shapes) [1], but has shape [2]",
                "same-count: error: \(shapes) [2, 3], but has shape [3, 2]",
                "scalar-types: error: all-reduce (sum) of a \(rank == 0 ? "Float" : "Double") tensor of shape [2] failed: "
                    + "rank 0 sends Float scalars and rank 1 Double: \(rule)",
                "operations: error: \(rank == 0 ? "all-reduce (sum)" : "broadcast from rank 0") of a Float tensor of shape [2] "
                    + "failed: the processes made different calls, rank 0 an all-reduce and rank 1 a broadcast: \(rule)",
                "reductions: error: all-reduce (\(rank == 0 ? "sum" : "maximum")) of a Float tensor of shape [2] failed: "
                    + "rank 0 asks for the sum and rank 1 for the maximum: \(rule)",
                "roots: error: broadcast from rank \(rank == 0 ? 0 : 1) of a Float tensor of shape [2] failed: "
                    + "rank 0 broadcasts from rank 0 and rank 1 from rank 1: \(rule)",
                "root-out-of-range: error: root must be a rank in 0..<\(k), but is \(k)",
                "barrier-against-sum: error: \(rank == 0 ? "barrier" : "all-reduce (sum) of a Float tensor of shape [1]") "
                    + "failed: the processes made different calls, rank 0 a barrier and rank 1 an all-reduce: \(rule)",
                "work-on-rank-zero: error: " + (rank == 0 ? writeError : "work on rank 0 failed: on rank 0: \(writeError)"),
                "work-on-every-rank: error: "
                    + (rank == k - 1 ? stepError : "work on every rank failed: on rank \(k - 1): \(stepError)"),
                "models: error: creating DataParallel failed: rank 1's model has other parameters than rank 0's "
                    + "(2 tensors of 12 scalars on rank 0, 2 of 15 on rank 1, or other names or shapes): "
                    + "every process must wrap the same model",
                "replicas-differ: error: checking that every replica holds the same parameters failed: rank \(other)'s "
                    + "parameters differ from rank 0's (their checksums differ): the replicas are no longer the same model",
                "checkpoint-differs: error: checking that every process saves or restores the same checkpoint failed: "
                    + "rank \(other)'s checkpoint differs from rank 0's (the parameters, optimizer, schedule or batches it "
                    + "saves, or the file it restores): every process must save the same training run and restore the same file",
                "generators-differ: error: gathering every replica's random generators for a checkpoint failed: rank "
                    + "\(other)'s model has other random generators than rank 0's (2 on rank 0, 1 on rank \(other), or in "
                    + "other layers): every process must wrap the same model",
                "checkpoint-unwritable: error: " + (rank == 0 ? unwritable : "work on rank 0 failed: on rank 0: \(unwritable)"),
                "checkpoint-missing: error: could not open \(nowhere)",
                "still-in-step: " + values([Float(k)]),
            ]
        }

        @Test(arguments: [2, 3])
        func matchingCallsGiveResultsAndMismatchesTheSameErrorEverywhere(processes: Int) throws {
            let outcome = try MPIRun.run(["collectives"], processes: processes)
            #expect(outcome.status == 0, "the run failed: \(outcome.errors)")
            for rank in 0..<processes {
                let lines = outcome.lines(of: rank)
                let expected = Self.expected(rank: rank, of: processes)
                #expect(lines.count == expected.count)
                for (line, wanted) in zip(lines, expected) { #expect(line == wanted, "rank \(rank)") }
            }
        }
    }

    /// A world of one, in this process (no launcher started it): no MPI, and
    /// every operation the identity, with the same checks of its arguments.
    @Suite("A world of one")
    struct WorldOfOneTests {
        @Test func collectivesAreTheIdentity() throws {
            let world = try Communicator.world()
            #expect(world.rank == 0 && world.size == 1)
            #expect(try Communicator.world() === world)
            let original = try Tensor<Float>([[1, -2], [3, 4]])
            for operation in [ReductionOperation.sum, .maximum, .minimum] {
                var t = original
                try world.allReduce(&t, operation: operation)
                #expect(t == original)
            }
            var t = original
            try world.broadcast(&t, from: 0)
            #expect(t == original)
            let outside = #expect(throws: PerceptronError.self) { try world.broadcast(&t, from: 1) }
            #expect(outside?.description == "root must be a rank in 0..<1, but is 1")
            try world.barrier()
            #expect(try world.startAllReduce(original).wait() == original)
        }

        @Test func workOnRankZeroAndEveryRankRunsHere() throws {
            let world = try Communicator.world()
            var ran = false
            try world.runOnRankZero { ran = true }
            #expect(ran)
            #expect(try world.runOnEveryRank { 42 } == 42)
            let failure = #expect(throws: PerceptronError.self) {
                try world.runOnRankZero { () throws(PerceptronError) in throw PerceptronError.invalidArgument(name: "x", expected: "1", actual: "2") }
            }
            #expect(failure?.description == "x must be 1, but is 2")
        }

        @Test func aWrappedModelIsTheModelItself() throws {
            let world = try Communicator.world()
            var generator = SeededRandomNumberGenerator(seed: 5)
            func model() -> Sequential<Float> {
                var copy = generator
                return Sequential([Linear(inputFeatures: 3, outputFeatures: 4, using: &copy), Tanh(),
                                   Linear(inputFeatures: 4, outputFeatures: 2, using: &copy)])
            }
            let plain = model()
            let wrapped = try DataParallel(model(), communicator: world, checksReplicas: true)
            let x = Tensor<Float>(shape: [5, 3], randomIn: -1...1, using: &generator)
            let g = Tensor<Float>(shape: [5, 2], randomIn: -1...1, using: &generator)
            #expect(try wrapped(x) == plain(x))
            #expect(try wrapped.predict(x) == plain.predict(x))
            #expect(try wrapped.backward(g) == plain.backward(g))
            #expect(wrapped.namedParameters.keys.sorted() == ["0.bias", "0.weight", "2.bias", "2.weight"])
            var gradients: [String: Tensor<Float>] = [:]
            try plain.forEachParameter { name, _, gradient in gradients[name] = gradient }
            try wrapped.forEachParameter { name, _, gradient in #expect(gradient == gradients[name], "\(name)") }
            try wrapped.checkReplicasAgree()

            let capacity = #expect(throws: PerceptronError.self) { try DataParallel(model(), communicator: world, bucketCapacity: 0) }
            #expect(capacity?.description == "bucketCapacity must be at least 1 byte, but is 0")
        }

        /// A checkpoint of a wrapped model, in a world of one, is the one the
        /// model itself gives, its Dropout generators included; restored into
        /// a fresh wrapped model, it goes on as the model does.
        @Test func aCheckpointOfAWrappedModelIsOneOfTheModel() throws {
            let world = try Communicator.world()
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let (x, y) = Scenario.data(seed: 2)
            let labels = Scenario.labels(of: y)
            let loss = SoftmaxCrossEntropy<Float>()
            func step(_ model: some Layer<Float>, _ optimizer: Adam<Float>) throws {
                _ = try loss.forward(model(x), labels: labels)
                _ = try model.backward(loss.backward())
                try optimizer.step(model)
            }
            func bits(_ tensors: [String: Tensor<Float>]) -> [String: [UInt32]] { tensors.mapValues { $0.scalars.map(\.bitPattern) } }

            let (plain, plainAdam) = (try Scenario.classifier(seed: 1, dropoutSeed: 10), Adam<Float>(learningRate: 0.01))
            let wrapped = try DataParallel(Scenario.classifier(seed: 1, dropoutSeed: 10), communicator: world)
            let wrappedAdam = Adam<Float>(learningRate: 0.01)
            for _ in 0..<3 {
                try step(plain, plainAdam)
                try step(wrapped, wrappedAdam)
            }
            let (plainURL, wrappedURL) = (directory.appendingPathComponent("plain"), directory.appendingPathComponent("wrapped"))
            try Checkpoint.save(model: plain, optimizer: plainAdam, state: ["step": "3"], to: plainURL)
            try Checkpoint.save(model: wrapped, optimizer: wrappedAdam, state: ["step": "3"], to: wrappedURL)
            let (plainFile, wrappedFile) = (try SafeTensors<Float>(contentsOf: plainURL), try SafeTensors<Float>(contentsOf: wrappedURL))
            #expect(wrappedFile.metadata == plainFile.metadata)
            #expect(bits(wrappedFile.tensors) == bits(plainFile.tensors))
            #expect(wrappedFile.metadata["model.2.layer"] == "Dropout(probability: 0.2)")
            #expect(wrappedFile.metadata["model.3.2.layer"] == "Dropout(probability: 0.1)")
            #expect(wrappedFile.metadata["model.replicas"] == nil)

            let fresh = try DataParallel(Scenario.classifier(seed: 5, dropoutSeed: 50), communicator: world)
            let freshAdam = Adam<Float>(learningRate: 0.01)
            #expect(try Checkpoint.restore(model: fresh, optimizer: freshAdam, from: wrappedURL) == ["step": "3"])
            try step(plain, plainAdam)
            try step(fresh, freshAdam)
            #expect(bits(fresh.namedParameters) == bits(plain.namedParameters))
        }
    }
}
