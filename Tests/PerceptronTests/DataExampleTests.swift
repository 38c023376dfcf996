import Foundation
@testable import Perceptron
import Testing

/// The "Batches and data" example of GettingStarted.md, on files written here.
@Suite("Data: the documented training loop")
struct DataExampleTests {
    @Test func batchesAndDataExampleRuns() throws {
        try withTemporaryDirectory { folder in
            // Ten well-separated classes in 64 features, far from zero mean and unit scale.
            var source = SeededRandomNumberGenerator(seed: 3)
            func split(_ n: Int) throws -> (Tensor<Float>, [Int]) {
                let labels = (0..<n).map { _ in Int.random(in: 0..<10, using: &source) }
                let scalars = labels.flatMap { label in
                    (0..<64).map { feature in 50 + 20 * Float(feature % 10 == label ? 1 : 0) + Float.random(in: -1...1, using: &source) }
                }
                return (try Tensor(shape: [n, 64], scalars: scalars), labels)
            }
            let (trainX, trainY) = try split(300)
            let (testX, testY) = try split(100)
            try trainX.writeNPY(to: folder.appendingPathComponent("x_train.npy"))
            try testX.writeNPY(to: folder.appendingPathComponent("x_test.npy"))
            try trainY.npyData().write(to: folder.appendingPathComponent("y_train.npy"))
            try testY.npyData().write(to: folder.appendingPathComponent("y_test.npy"))

            let xTrain = try Tensor<Float>(contentsOfNPY: folder.appendingPathComponent("x_train.npy"))
            let yTrain = try [Int](contentsOfNPY: folder.appendingPathComponent("y_train.npy"))
            let xTest = try Tensor<Float>(contentsOfNPY: folder.appendingPathComponent("x_test.npy"))
            let yTest = try [Int](contentsOfNPY: folder.appendingPathComponent("y_test.npy"))

            let scaler = try Standardizer(fitting: xTrain)
            let batches = try MiniBatches(features: scaler.transform(xTrain), labels: yTrain, batchSize: 32, seed: 1)

            var generator = SeededRandomNumberGenerator(seed: 7)
            let model = Sequential<Float>([
                Linear(inputFeatures: 64, outputFeatures: 64, using: &generator), ReLU(),
                Linear(inputFeatures: 64, outputFeatures: 10, using: &generator),
            ])
            let loss = SoftmaxCrossEntropy<Float>()
            let optimizer = Adam<Float>(learningRate: 0.001)
            var test = 0.0
            for _ in 1...20 {
                for (features, labels) in batches {
                    _ = try loss.forward(model(features), labels: labels)
                    _ = try model.backward(loss.backward())
                    try optimizer.step(model)
                }
                test = try accuracy(logits: model.predict(scaler.transform(xTest)), labels: yTest)
            }
            #expect(test > 0.95, "test accuracy \(test)")

            let directory = folder.appendingPathComponent("digits-model")
            try model.saveParameters(to: directory)
            try scaler.save(to: directory)
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            #expect(names == ["0.bias.npy", "0.weight.npy", "2.bias.npy", "2.weight.npy", "mean.npy", "scale.npy"])
        }
    }
}
