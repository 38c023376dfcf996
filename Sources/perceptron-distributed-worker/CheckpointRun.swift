@preconcurrency import Glibc
import Foundation
import Perceptron
import PerceptronDistributed

/// `checkpoints`: trains the scenario's MLP data-parallel for `--epochs`
/// passes, pausing `--pause` milliseconds a step (so that a test can kill a
/// rank mid-training), and rank 0 writes the parameters after every pass to
/// `--output` (a safetensors file, replaced atomically, with the pass in its
/// metadata), printing `rank 0: checkpoint <epoch>`. Every rank prints its
/// process id first.
///
/// With `--resume yes`, every rank first reads `--output` and continues from
/// the pass it records: SGD without momentum keeps no state, and the shuffles
/// of the passes done are drawn again, so the run ends as an uninterrupted
/// one would. `--final` names a file rank 0 writes the last parameters to.
struct CheckpointRun {
    let options: Options
    let world: Communicator

    func run() throws(PerceptronError) {
        guard let output = options.string("output").map({ URL(fileURLWithPath: $0) }) else {
            fail("checkpoints needs --output")
        }
        print("rank \(world.rank): pid \(getpid())")
        let (x, y) = Scenario.data(seed: 2)
        let model = try DataParallel(Scenario.model(seed: 1), communicator: world)
        let batches = try RegressionBatches(
            features: x, targets: y, batchSize: Scenario.batchSize, seed: 3, shard: world.rank, of: world.size)
        let loss = MeanSquaredError<Float>()
        let optimizer = SGD<Float>(learningRate: Scenario.learningRate)

        var start = 0
        if options.string("resume") == "yes" {
            start = try world.runOnEveryRank { () throws(PerceptronError) in
                let file = try SafeTensors<Float>(contentsOf: output)
                try model.loadParameters(file.tensors)
                guard let epoch = file.metadata["epoch"].flatMap(Int.init) else {
                    throw .invalidArgument(name: "the checkpoint's epoch", expected: "a whole number", actual: "none")
                }
                return epoch
            }
            try model.checkReplicasAgree()
            // The orders of the passes already trained on, drawn again.
            for _ in 0..<start { for _ in batches {} }
            print("rank \(world.rank): resumed after epoch \(start)")
        }
        let pause = UInt32(options.int("pause") ?? 0) * 1000
        for epoch in start..<(options.int("epochs") ?? 1) {
            for (features, targets) in batches {
                _ = try loss.forward(model(features), target: targets)
                _ = try model.backward(loss.backward())
                try optimizer.step(model)
                if pause > 0 { usleep(pause) }
            }
            let parameters = model.namedParameters
            try world.runOnRankZero { () throws(PerceptronError) in
                try SafeTensors(tensors: parameters, metadata: ["epoch": "\(epoch + 1)"]).write(to: output)
            }
            if world.rank == 0 { print("rank 0: checkpoint \(epoch + 1)") }
        }
        if let final = options.string("final") {
            let parameters = model.namedParameters
            try world.runOnRankZero { () throws(PerceptronError) in try SafeTensors(tensors: parameters).write(to: URL(fileURLWithPath: final)) }
        }
        print("rank \(world.rank): done")
    }
}
