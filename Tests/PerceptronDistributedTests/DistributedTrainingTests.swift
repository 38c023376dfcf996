import Foundation
import Perceptron
@testable import perceptron_distributed_worker
import Testing

/// Every test that starts `mpirun`, one at a time: several jobs at once on
/// two cores would only slow each other down.
@Suite("Distributed", .serialized)
struct DistributedTests {}

extension DistributedTests {
    /// Data-parallel training against one process: the worker's `train` mode
    /// (the scenario's 6-16-16-3 ReLU MLP, SGD, one pass of 41 samples in
    /// batches of 12, so that the last batch of 5 is shared unevenly) on
    /// K = 1, 2 and 3 processes, over shared memory and over TCP.
    @Suite("Training on several processes")
    struct TrainingTests {
        struct Run: Sendable, CustomTestStringConvertible {
            var processes: Int?
            var transport: String?
            /// Bytes per bucket: 64 puts every parameter in a bucket of its
            /// own, so that buckets leave one by one as the backward pass goes.
            var bucketCapacity: Int?
            var testDescription: String {
                let launch = processes.map { "mpirun -np \($0)" } ?? "no mpirun"
                return launch + (transport.map { " over \($0)" } ?? "") + (bucketCapacity.map { ", buckets of \($0) B" } ?? "")
            }
        }

        static let runs = [
            Run(processes: nil), Run(processes: 1),
            Run(processes: 2, bucketCapacity: 64), Run(processes: 3, bucketCapacity: 64),
            Run(processes: 2, transport: "tcp"), Run(processes: 3, transport: "tcp", bucketCapacity: 64),
        ]

        /// What a run recorded: the data, and every step's parameters and gradients.
        struct Record {
            var tensors: [String: Tensor<Float>]
            var steps: Int

            init(_ url: URL) throws {
                let file = try SafeTensors<Float>(contentsOf: url)
                tensors = file.tensors
                steps = try #require(file.metadata["steps"].flatMap(Int.init))
            }

            func parameters(at step: Int) -> [String: Tensor<Float>] {
                tensors.filter { $0.key.hasPrefix("step\(step).") && !$0.key.hasPrefix("step\(step).gradient.") }
                    .reduce(into: [:]) { $0[String($1.key.dropFirst("step\(step).".count))] = $1.value }
            }

            func gradients(at step: Int) -> [String: Tensor<Float>] {
                tensors.filter { $0.key.hasPrefix("step\(step).gradient.") }
                    .reduce(into: [:]) { $0[String($1.key.dropFirst("step\(step).gradient.".count))] = $1.value }
            }
        }

        /// Trains once with the worker and returns what rank 0 recorded.
        static func train(_ run: Run, in directory: URL, name: String) throws -> Record {
            let file = directory.appendingPathComponent(name + ".safetensors")
            var arguments = ["train", "--output", file.path]
            if let capacity = run.bucketCapacity { arguments += ["--bucket-capacity", "\(capacity)"] }
            let outcome = try MPIRun.run(arguments, processes: run.processes, transport: run.transport)
            #expect(outcome.status == 0, "the run failed: \(outcome.errors)")
            let processes = run.processes ?? 1
            for rank in 0..<processes {
                #expect(outcome.lines(of: rank) == ["trained 4 steps on \(processes) processes"])
            }
            return try Record(file)
        }

        /// The same training in this process: one model, whole batches.
        static func trainAlone(from start: [String: Tensor<Float>], x: Tensor<Float>, y: Tensor<Float>) throws -> [[String: Tensor<Float>]] {
            let model = Scenario.model(seed: 0)
            try model.loadParameters(start)
            let batches = try RegressionBatches(features: x, targets: y, batchSize: Scenario.batchSize, seed: 3)
            let loss = MeanSquaredError<Float>()
            let optimizer = SGD<Float>(learningRate: Scenario.learningRate)
            var trajectory = [model.namedParameters]
            for (features, targets) in batches {
                _ = try loss.forward(model(features), target: targets)
                _ = try model.backward(loss.backward())
                try optimizer.step(model)
                trajectory.append(model.namedParameters)
            }
            return trajectory
        }

        /// K processes train as one would, up to the order of summation, and
        /// bit for bit the same from run to run.
        ///
        /// What is checked, for every step t of the run:
        /// - the averaged gradient each process applied equals the exact
        ///   gradient of the mean loss over the whole global batch, at the
        ///   run's parameters θ_t, within the rounding bound of
        ///   `BoundedReference.swift`, which holds whatever the order of
        ///   summation, for one process or K: γ_N · magnitude per element, N
        ///   the roundings on the longest path (≈ 80 here, γ_N ≈ 5·10⁻⁶);
        /// - θ_{t+1} is exactly Float's θ_t − η·g_t, SGD's step.
        ///
        /// So the final parameters are those of single-process SGD on the same
        /// global batches in which each step's gradient differs from the
        /// exact one by at most the bound of the summation-order change. (A
        /// forward bound on the final parameters themselves would compound
        /// each step's error through every later one, about five times a step
        /// for three layers, and no forward bound survives a ReLU whose input
        /// a rounding can move across 0; the backward statement above is
        /// exact.) With one process the run is bit for bit the single-process
        /// library run, and a second run with the same K gives the same bits.
        @Test(arguments: runs)
        func matchesOneProcessWithinTheSummationBound(_ run: Run) throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let record = try Self.train(run, in: directory, name: "first")
            let again = try Self.train(run, in: directory, name: "second")
            #expect(again.tensors == record.tensors, "two runs with the same processes differ")
            #expect(record.steps == 4)

            let x = try #require(record.tensors["x"])
            let y = try #require(record.tensors["y"])
            // Every process starts from rank 0's model, whatever its own seed.
            let start = record.parameters(at: 0)
            #expect(start == Scenario.model(seed: 1).namedParameters)

            let alone = try Self.trainAlone(from: start, x: x, y: y)
            if (run.processes ?? 1) == 1 {
                for step in 0...record.steps {
                    #expect(record.parameters(at: step) == alone[step], "step \(step): one process differs from the library alone")
                }
            }

            let processes = run.processes ?? 1
            let batches = try RegressionBatches(features: x, targets: y, batchSize: Scenario.batchSize, seed: 3)
            for (step, (features, targets)) in batches.enumerated() {
                let rows = features.shape[0]
                let parts = (0..<processes).map { rows / processes + ($0 < rows % processes ? 1 : 0) }
                let parameters = record.parameters(at: step)
                let reference = BoundedMLP(parameters: try ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"].map { name in
                    let tensor = try #require(parameters[name])
                    return (name, tensor.rank == 2 ? tensor.shape[0] : 1, tensor.shape.last!, tensor.scalars.map(Double.init))
                })
                let exact = try reference.gradient(
                    x: features.scalars.map(Double.init), y: targets.scalars.map(Double.init), rows: rows, parts: parts)
                let gradients = record.gradients(at: step)
                let next = record.parameters(at: step + 1)
                for (name, bound) in exact {
                    let gradient = try #require(gradients[name])
                    #expect(gradient.count == bound.value.count)
                    var worst = 0.0
                    for i in bound.value.indices {
                        let error = abs(Double(gradient.scalars[i]) - bound.value[i])
                        if error > 0 { worst = max(worst, bound.magnitude[i] == 0 ? .infinity : error / (bound.tolerance * bound.magnitude[i])) }
                    }
                    #expect(worst <= 1, "step \(step), \(name): \(worst) times the rounding bound (depth \(bound.depth))")
                    // SGD's step, in Float, from the gradient the processes agreed on.
                    let value = try #require(parameters[name]).scalars
                    let updated = zip(value, gradient.scalars).map { $0 - Scenario.learningRate * $1 }
                    #expect(next[name]?.scalars == updated, "step \(step), \(name): the update is not SGD's")
                }
            }
        }

        /// The reference bound holds for the library alone too, a check of the
        /// reference itself: one process's gradient on the same batches.
        @Test func theBoundHoldsForOneProcessWithoutMPI() throws {
            let (x, y) = Scenario.data(seed: 2)
            let model = Scenario.model(seed: 1)
            let batches = try RegressionBatches(features: x, targets: y, batchSize: Scenario.batchSize, seed: 3)
            let loss = MeanSquaredError<Float>()
            let optimizer = SGD<Float>(learningRate: Scenario.learningRate)
            for (features, targets) in batches {
                let parameters = model.namedParameters
                let reference = BoundedMLP(parameters: try ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"].map { name in
                    let tensor = try #require(parameters[name])
                    return (name, tensor.rank == 2 ? tensor.shape[0] : 1, tensor.shape.last!, tensor.scalars.map(Double.init))
                })
                let exact = try reference.gradient(
                    x: features.scalars.map(Double.init), y: targets.scalars.map(Double.init),
                    rows: features.shape[0], parts: [features.shape[0]])
                _ = try loss.forward(model(features), target: targets)
                _ = try model.backward(loss.backward())
                try model.forEachParameter { name, _, gradient in
                    let bound = exact[name]!
                    for (i, g) in gradient.scalars.enumerated() {
                        #expect(abs(Double(g) - bound.value[i]) <= bound.tolerance * bound.magnitude[i], "\(name)[\(i)]")
                    }
                }
                try optimizer.step(model)
            }
        }
    }
}
