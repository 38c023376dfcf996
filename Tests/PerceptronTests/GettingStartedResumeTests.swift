import Foundation
import Perceptron
import Testing

extension ProcessWideBLASSettings {
    /// The "Resuming training" example of GettingStarted.md, as printed there:
    /// a run stopped and called again resumes from its last checkpoint and
    /// ends as a run never stopped. Serialized with the suites that change
    /// BLAS.threadCount, which must stay put for bits to be compared.
    @Suite("Getting started: resuming training")
    struct GettingStartedResumeTests {
        func train(_ x: Tensor<Float>, _ labels: [Int], epochs: Int, checkpoint url: URL) throws -> Sequential<Float> {
            var generator = SeededRandomNumberGenerator(seed: 7)
            let model = Sequential<Float>([
                Linear(inputFeatures: 64, outputFeatures: 64, using: &generator), ReLU(),
                try Dropout(probability: 0.2, seed: 8),
                Linear(inputFeatures: 64, outputFeatures: 10, using: &generator),
            ])
            let loss = SoftmaxCrossEntropy<Float>()
            let optimizer = Adam<Float>(learningRate: 0.001)
            let schedule = try StepLR(optimizer, stepSize: 10, gamma: 0.5)
            let batches = try MiniBatches(features: x, labels: labels, batchSize: 32, seed: 1)

            var (epoch, step) = (0, 0)
            if FileManager.default.fileExists(atPath: url.path) {
                let state = try Checkpoint.restore(
                    model: model, optimizer: optimizer, schedule: schedule, batches: batches, from: url)
                (epoch, step) = (Int(state["epoch"]!)!, Int(state["step"]!)!)
            }
            while epoch < epochs {
                for (features, labels) in batches {           // after a restore: the rest of its pass
                    _ = try loss.forward(model(features), labels: labels)
                    _ = try model.backward(loss.backward())
                    try optimizer.step(model)
                    step += 1
                    if step % 50 == 0 {
                        try Checkpoint.save(
                            model: model, optimizer: optimizer, schedule: schedule, batches: batches,
                            state: ["epoch": "\(epoch)", "step": "\(step)"], to: url)
                    }
                }
                schedule.step()
                epoch += 1
            }
            return model
        }

        @Test func aStoppedRunCalledAgainEndsAsARunNeverStopped() throws {
            // 1000 rows: 32 batches a pass, so the last checkpoint of a
            // 3-epoch run (step 50) is in the middle of the second pass.
            var generator = SeededRandomNumberGenerator(seed: 3)
            let x = Tensor<Float>(shape: [1000, 64], randomIn: -1...1, using: &generator)
            let labels = (0..<1000).map { _ in Int(generator.next() % 10) }
            let (stopped, whole) = (try temporaryCheckpoint(), try temporaryCheckpoint())
            defer { cleanUp(stopped); cleanUp(whole) }

            let first = try train(x, labels, epochs: 3, checkpoint: stopped)
            let steps = try SafeTensors<Float>(contentsOf: stopped).metadata["state.step"]
            #expect(steps == "50")
            let resumed = try train(x, labels, epochs: 5, checkpoint: stopped)
            let uninterrupted = try train(x, labels, epochs: 5, checkpoint: whole)
            #expect(parameterBits(resumed) == parameterBits(uninterrupted))
            #expect(parameterBits(first) != parameterBits(uninterrupted))
        }
    }
}
