@preconcurrency import Glibc
import Perceptron
import PerceptronDistributed

/// `fail`: trains the scenario's MLP data-parallel until step `--step`, where
/// rank `--rank` fails as `--failure` says:
///
/// - `throw`: its backward pass gets a gradient of the wrong shape, which the
///   model refuses before anything is sent; the error reaches the top of the
///   program, which exits with status 1;
/// - `hang`: it stops taking part and sleeps;
/// - `exit`: it exits with status 0 without the collectives the others wait in.
///
/// The other ranks carry on into the step's all-reduce. Every rank prints
/// `rank R: step S` before each step.
struct FailureRun {
    let options: Options
    let world: Communicator

    func run() throws(PerceptronError) {
        let failing = options.int("rank") ?? 1
        let failingStep = options.int("step") ?? 3
        let failure = options.string("failure") ?? "throw"
        let (x, y) = Scenario.data(seed: 2)
        let model = try DataParallel(Scenario.model(seed: 1), communicator: world)
        let batches = try RegressionBatches(
            features: x, targets: y, batchSize: Scenario.batchSize, seed: 3, shard: world.rank, of: world.size)
        let loss = MeanSquaredError<Float>()
        let optimizer = SGD<Float>(learningRate: Scenario.learningRate)
        var step = 0
        for _ in 0..<1000 {
            for (features, targets) in batches {
                print("rank \(world.rank): step \(step)")
                let prediction = try model(features)
                _ = try loss.forward(prediction, target: targets)
                var gradient = try loss.backward()
                if world.rank == failing && step == failingStep {
                    switch failure {
                    case "hang": while true { sleep(1000) }
                    case "exit": exit(0)
                    default: gradient = Tensor(shape: [prediction.shape[0], Scenario.targets + 1])
                    }
                }
                _ = try model.backward(gradient)
                try optimizer.step(model)
                step += 1
            }
        }
    }
}
