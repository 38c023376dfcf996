@preconcurrency import Glibc
import Foundation
import Perceptron
import PerceptronDistributed

/// `checkpoints`: trains the scenario's classifier data-parallel (Dropout
/// seeded per rank, Adam, StepLR stepped every pass, shuffled MiniBatches
/// sharded by rank: 4 batches a pass) for `--epochs` passes, pausing
/// `--pause` milliseconds a step (so that a test can kill a rank
/// mid-training). Every `--save-every` steps (3 unless set) but at the end
/// of a pass, so that every checkpoint stands in the middle of one, every
/// rank takes part in `Checkpoint.save` to `--output`, and prints
/// `rank R: checkpoint <step>` once it has returned.
/// Every rank prints its process id first.
///
/// With `--resume yes` and a file at `--output`, every rank first restores
/// it, prints `rank R: resumed at step <step>`, and checks that the replicas
/// agree. `--final` names a file rank 0 writes the last parameters to.
struct CheckpointRun {
    let options: Options
    let world: Communicator

    func run() throws(PerceptronError) {
        guard let output = options.string("output").map({ URL(fileURLWithPath: $0) }) else {
            fail("checkpoints needs --output")
        }
        print("rank \(world.rank): pid \(getpid())")
        let (x, y) = Scenario.data(seed: 2)
        let model = try DataParallel(
            Scenario.classifier(seed: 1, dropoutSeed: 10 + 2 * UInt64(world.rank)), communicator: world)
        let loss = SoftmaxCrossEntropy<Float>()
        let optimizer = Adam<Float>(learningRate: 0.01)
        let schedule = try StepLR(optimizer, stepSize: 2, gamma: 0.5)
        let batches = try MiniBatches(
            features: x, labels: Scenario.labels(of: y), batchSize: Scenario.batchSize, seed: 3,
            shard: world.rank, of: world.size)

        var (epoch, step) = (0, 0)
        if options.string("resume") == "yes" && FileManager.default.fileExists(atPath: output.path) {
            let state = try Checkpoint.restore(
                model: model, optimizer: optimizer, schedule: schedule, batches: batches, from: output)
            (epoch, step) = (Int(state["epoch"]!)!, Int(state["step"]!)!)
            print("rank \(world.rank): resumed at step \(step)")
            try model.checkReplicasAgree()
            print("rank \(world.rank): replicas agree")
        }
        let pause = UInt32(options.int("pause") ?? 0) * 1000
        let (epochs, saveEvery) = (options.int("epochs") ?? 1, options.int("save-every") ?? 3)
        while epoch < epochs {
            for (features, labels) in batches {
                _ = try loss.forward(model(features), labels: labels)
                _ = try model.backward(loss.backward())
                try optimizer.step(model)
                step += 1
                if step % saveEvery == 0 && step % batches.batchCount != 0 {
                    try Checkpoint.save(
                        model: model, optimizer: optimizer, schedule: schedule, batches: batches,
                        state: ["epoch": "\(epoch)", "step": "\(step)"], to: output)
                    print("rank \(world.rank): checkpoint \(step)")
                }
                if pause > 0 { usleep(pause) }
            }
            schedule.step()
            epoch += 1
        }
        if let final = options.string("final") {
            let parameters = model.namedParameters
            try world.runOnRankZero { () throws(PerceptronError) in
                try SafeTensors(tensors: parameters, metadata: ["steps": "\(step)"]).write(to: URL(fileURLWithPath: final))
            }
        }
        print("rank \(world.rank): done")
    }
}
