import Foundation
import Perceptron
import PerceptronDistributed

/// `collectives`: every communicator call on matching, mismatched and empty
/// tensors, then replicas that differ and checkpoints that cannot be saved
/// or restored, in a fixed order. Each case prints `rank R: <case>: <outcome>`,
/// the outcome being the result's scalars or `error: <message>`; the tests
/// hold every rank's line to what the documentation promises. The last
/// cases check that the processes are still in step after the errors.
struct CollectiveCases {
    let world: Communicator

    func run() throws(PerceptronError) {
        let rank = world.rank
        let last = world.size - 1
        let others = rank == 0 ? 0 : 1

        report("sum") { () throws(PerceptronError) in
            var t = try Tensor<Float>(shape: [2], scalars: [Float(rank + 1), Float(2 * (rank + 1))])
            try world.allReduce(&t)
            return t.scalars
        }
        report("maximum") { () throws(PerceptronError) in
            var t = try Tensor<Double>(shape: [2], scalars: [Double(rank), Double(-rank)])
            try world.allReduce(&t, operation: .maximum)
            return t.scalars.map(Float.init)
        }
        report("minimum") { () throws(PerceptronError) in
            var t = try Tensor<Float>(shape: [2], scalars: [Float(rank), Float(-rank)])
            try world.allReduce(&t, operation: .minimum)
            return t.scalars
        }
        report("broadcast") { () throws(PerceptronError) in
            var t = try Tensor<Float>(shape: [3], scalars: (0..<3).map { Float(10 * rank + $0) })
            try world.broadcast(&t, from: last)
            return t.scalars
        }
        report("non-blocking") { () throws(PerceptronError) in
            let t = try Tensor<Float>(shape: [1], scalars: [Float(rank + 1)])
            let pending = world.startAllReduce(t)
            let sum = try pending.wait()
            return sum.scalars + t.scalars
        }
        report("empty") { () throws(PerceptronError) in
            var t = Tensor<Float>(shape: [2, 0])
            try world.allReduce(&t)
            return t.scalars
        }
        report("empty-and-not") { () throws(PerceptronError) in
            var t = Tensor<Float>(shape: [rank == 0 ? 0 : 3])
            try world.allReduce(&t)
            return t.scalars
        }
        report("shapes") { () throws(PerceptronError) in
            var t = Tensor<Float>(shape: [rank + 1])
            try world.allReduce(&t)
            return t.scalars
        }
        report("same-count") { () throws(PerceptronError) in
            var t = Tensor<Float>(shape: rank == 0 ? [2, 3] : [3, 2])
            try world.allReduce(&t)
            return t.scalars
        }
        report("scalar-types") { () throws(PerceptronError) in
            if rank == 0 {
                var t = Tensor<Float>(shape: [2])
                try world.allReduce(&t)
            } else {
                var t = Tensor<Double>(shape: [2])
                try world.allReduce(&t)
            }
            return []
        }
        report("operations") { () throws(PerceptronError) in
            var t = Tensor<Float>(shape: [2])
            if rank == 0 { try world.allReduce(&t) } else { try world.broadcast(&t, from: 0) }
            return t.scalars
        }
        report("reductions") { () throws(PerceptronError) in
            var t = Tensor<Float>(shape: [2])
            try world.allReduce(&t, operation: rank == 0 ? .sum : .maximum)
            return t.scalars
        }
        report("roots") { () throws(PerceptronError) in
            var t = Tensor<Float>(shape: [2])
            try world.broadcast(&t, from: others)
            return t.scalars
        }
        report("root-out-of-range") { () throws(PerceptronError) in
            var t = Tensor<Float>(shape: [2])
            try world.broadcast(&t, from: world.size)
            return t.scalars
        }
        report("barrier-against-sum") { () throws(PerceptronError) in
            if rank == 0 {
                try world.barrier()
            } else {
                var t = Tensor<Float>(shape: [1])
                try world.allReduce(&t)
            }
            return []
        }
        report("work-on-rank-zero") { () throws(PerceptronError) in
            try world.runOnRankZero { () throws(PerceptronError) in
                throw PerceptronError.fileError(path: "/checkpoints/step-8", operation: "write", reason: "no space left")
            }
            return []
        }
        report("work-on-every-rank") { () throws(PerceptronError) in
            try world.runOnEveryRank { () throws(PerceptronError) in
                if rank == last { throw .invalidArgument(name: "step", expected: "8", actual: "7") }
            }
            return []
        }
        report("models") { () throws(PerceptronError) in
            var generator = SeededRandomNumberGenerator(seed: 1)
            let width = rank == 0 ? 4 : 5
            _ = try DataParallel(Linear<Float>(inputFeatures: 2, outputFeatures: width, using: &generator), communicator: world)
            return []
        }
        report("replicas-differ") { () throws(PerceptronError) in
            let model = try DataParallel(Scenario.model(seed: 1), communicator: world)
            if rank == last { try model.forEachParameter { name, value, _ in if name == "4.bias" { value[0] += 1 } } }
            try model.checkReplicasAgree()
            return []
        }
        // A path in no folder there is: the first two checkpoint cases fail
        // before they reach it, the last two on it.
        let nowhere = URL(fileURLWithPath: "/nonexistent/checkpoint")
        report("checkpoint-differs") { () throws(PerceptronError) in
            let model = try DataParallel(Scenario.classifier(seed: 1, dropoutSeed: 5), communicator: world)
            let optimizer = Adam<Float>(learningRate: rank == last ? 0.02 : 0.01)
            try Checkpoint.save(model: model, optimizer: optimizer, to: nowhere)
            return []
        }
        report("generators-differ") { () throws(PerceptronError) in
            var layers = try Scenario.classifier(seed: 1, dropoutSeed: 5).layers
            if rank == last { layers[2] = ReLU<Float>() }
            let model = try DataParallel(Sequential(layers), communicator: world)
            try Checkpoint.save(model: model, optimizer: Adam<Float>(learningRate: 0.01), to: nowhere)
            return []
        }
        report("checkpoint-unwritable") { () throws(PerceptronError) in
            let model = try DataParallel(Scenario.classifier(seed: 1, dropoutSeed: 5), communicator: world)
            try Checkpoint.save(model: model, optimizer: Adam<Float>(learningRate: 0.01), to: nowhere)
            return []
        }
        report("checkpoint-missing") { () throws(PerceptronError) in
            let model = try DataParallel(Scenario.classifier(seed: 1, dropoutSeed: 5), communicator: world)
            try Checkpoint.restore(model: model, optimizer: Adam<Float>(learningRate: 0.01), from: nowhere)
            return []
        }
        report("still-in-step") { () throws(PerceptronError) in
            var t = try Tensor<Float>(shape: [1], scalars: [1])
            try world.allReduce(&t)
            try world.barrier()
            return t.scalars
        }
    }

    /// Runs one case and prints its outcome.
    private func report(_ name: String, _ body: () throws(PerceptronError) -> [Float]) {
        do {
            let scalars = try body()
            print("rank \(world.rank): \(name): \(scalars.map { "\($0)" }.joined(separator: " "))")
        } catch {
            print("rank \(world.rank): \(name): error: \(error)")
        }
    }
}
