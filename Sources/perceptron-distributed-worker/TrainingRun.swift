import Foundation
import Perceptron
import PerceptronDistributed

/// `train`: a data-parallel run of the scenario's MLP with SGD, each rank on
/// its shard of every batch. Every rank starts from a model of its own seed
/// (`--seed` plus its rank), so that the run shows that rank 0's parameters
/// reach every process. Rank 0 writes one safetensors file (`--output`)
/// holding the data, and for every step `t` the parameters before it
/// (`step<t>.<name>`) and the averaged gradient it applied
/// (`step<t>.gradient.<name>`), then the final parameters.
///
/// Options: `--epochs` (1), `--seed` (model, 1), `--data-seed` (2),
/// `--shuffle-seed` (3), `--bucket-capacity` (bytes, the default), `--output`.
struct TrainingRun {
    let options: Options
    let world: Communicator

    func run() throws(PerceptronError) {
        guard let output = options.string("output") else { fail("train needs --output") }
        let (x, y) = Scenario.data(seed: UInt64(options.int("data-seed") ?? 2))
        let seed = UInt64(options.int("seed") ?? 1) + UInt64(world.rank)
        let model = try DataParallel(
            Scenario.model(seed: seed), communicator: world,
            bucketCapacity: options.int("bucket-capacity") ?? 1 << 20, checksReplicas: true)
        let batches = try RegressionBatches(
            features: x, targets: y, batchSize: Scenario.batchSize, seed: UInt64(options.int("shuffle-seed") ?? 3),
            shard: world.rank, of: world.size)
        let loss = MeanSquaredError<Float>()
        let optimizer = SGD<Float>(learningRate: Scenario.learningRate)

        var record: [String: Tensor<Float>] = ["x": x, "y": y]
        var step = 0
        for _ in 0..<(options.int("epochs") ?? 1) {
            for (features, targets) in batches {
                for (name, value) in model.namedParameters { record["step\(step).\(name)"] = value }
                _ = try loss.forward(model(features), target: targets)
                _ = try model.backward(loss.backward())
                try model.forEachParameter { name, _, gradient in record["step\(step).gradient.\(name)"] = gradient }
                try optimizer.step(model)
                step += 1
            }
        }
        for (name, value) in model.namedParameters { record["step\(step).\(name)"] = value }
        try model.checkReplicasAgree()
        let metadata = ["steps": "\(step)", "ranks": "\(world.size)"]
        try world.runOnRankZero { () throws(PerceptronError) in
            try SafeTensors(tensors: record, metadata: metadata).write(to: URL(fileURLWithPath: output))
        }
        print("rank \(world.rank): trained \(step) steps on \(world.size) processes")
    }
}
