import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

@Suite("Training")
struct TrainingTests {
    /// XOR is not linearly separable: a hidden layer must learn it.
    @Test(arguments: ["SGD", "Adam"])
    func learnsXOR(optimizerName: String) throws {
        var generator = SeededRandomNumberGenerator(seed: 11)
        let model = Sequential<Double>([
            Linear(inputFeatures: 2, outputFeatures: 8, using: &generator), Tanh(),
            Linear(inputFeatures: 8, outputFeatures: 1, using: &generator),
        ])
        let x = try Tensor<Double>([[0, 0], [0, 1], [1, 0], [1, 1]])
        let y = try Tensor<Double>([[0], [1], [1], [0]])
        let loss = MeanSquaredError<Double>()
        let sgd = SGD<Double>(learningRate: 0.1, momentum: 0.9)
        let adam = Adam<Double>(learningRate: 0.02)
        var last = Double.infinity
        for _ in 0..<2000 {
            last = try loss.forward(model(x), target: y)
            _ = try model.backward(loss.backward())
            if optimizerName == "SGD" { try sgd.step(model) } else { try adam.step(model) }
        }
        #expect(last < 1e-4, "final loss \(last)")
        let prediction = try model(x).scalars
        #expect(zip(prediction, [0.0, 1, 1, 0]).allSatisfy { abs($0 - $1) < 0.05 }, "\(prediction)")
    }

    /// Two interleaved spirals, classified with softmax cross-entropy.
    @Test func separatesTwoSpirals() throws {
        var generator = SeededRandomNumberGenerator(seed: 12)
        let pointsPerClass = 100
        var points: [Float] = []
        var labels: [Int] = []
        for label in 0..<2 {
            for i in 0..<pointsPerClass {
                let t = Float(i) / Float(pointsPerClass) * 3 * .pi
                let r = t / (3 * .pi) + 0.1
                let angle = t + Float(label) * .pi
                points += [r * cos(angle), r * sin(angle)]
                labels.append(label)
            }
        }
        let x = try Tensor<Float>(shape: [2 * pointsPerClass, 2], scalars: points)
        let model = Sequential<Float>([
            Linear(inputFeatures: 2, outputFeatures: 64, using: &generator), Tanh(),
            Linear(inputFeatures: 64, outputFeatures: 64, using: &generator), Tanh(),
            Linear(inputFeatures: 64, outputFeatures: 2, using: &generator),
        ])
        let loss = SoftmaxCrossEntropy<Float>()
        let adam = Adam<Float>(learningRate: 0.01)
        var last: Float = .infinity
        for _ in 0..<1500 {
            last = try loss.forward(model(x), labels: labels)
            _ = try model.backward(loss.backward())
            try adam.step(model)
        }
        let probabilities = try #require(loss.lastProbabilities)
        let correct = (0..<labels.count).filter { (probabilities[$0, 1] > 0.5 ? 1 : 0) == labels[$0] }.count
        #expect(last < 0.05, "final loss \(last)")
        #expect(correct == labels.count)
    }
}

@Suite("Parameter files")
struct ParameterFileTests {
    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("perceptron-\(UUID().uuidString)")
    }

    func model(seed: UInt64) -> Sequential<Float> {
        var generator = SeededRandomNumberGenerator(seed: seed)
        return Sequential<Float>([
            Linear(inputFeatures: 3, outputFeatures: 4, using: &generator), ReLU(),
            Linear(inputFeatures: 4, outputFeatures: 2, using: &generator),
        ])
    }

    func parameters(_ layer: some Layer<Float>) -> [String: Tensor<Float>] {
        layer.namedParameters
    }

    @Test func namedParametersAreTheVisitedOnes() throws {
        let layer = model(seed: 4)
        var visited: [String: Tensor<Float>] = [:]
        try layer.forEachParameter { name, value, _ in visited[name] = value }
        #expect(layer.namedParameters == visited)
        #expect(layer.namedParameters.keys.sorted() == ["0.bias", "0.weight", "2.bias", "2.weight"])
    }

    @Test func loadingADictionaryRestoresEveryParameter() throws {
        let saved = model(seed: 1), loaded = model(seed: 2)
        #expect(loaded.namedParameters != saved.namedParameters)
        try loaded.loadParameters(saved.namedParameters)
        #expect(loaded.namedParameters == saved.namedParameters)
    }

    @Test func aSafeTensorsFileCarriesAModel() throws {
        let file = temporaryDirectory().appendingPathExtension("safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        let saved = model(seed: 1), loaded = model(seed: 2)
        try SafeTensors(tensors: saved.namedParameters).write(to: file)
        try loaded.loadParameters(SafeTensors<Float>(contentsOf: file).tensors)
        #expect(loaded.namedParameters == saved.namedParameters)
    }

    @Test func aDictionaryMustHoldExactlyTheParameters() throws {
        let target = model(seed: 3)
        let before = target.namedParameters
        var missing = model(seed: 1).namedParameters
        missing["2.bias"] = nil
        #expect(throws: PerceptronError.invalidArgument(name: "parameters", expected: "a tensor named 2.bias of shape [2]", actual: "none")) {
            try target.loadParameters(missing)
        }
        var extra = model(seed: 1).namedParameters
        extra["3.weight"] = Tensor(shape: [1])
        #expect(throws: PerceptronError.invalidArgument(
            name: "parameters", expected: "only the layer's parameters [\"0.bias\", \"0.weight\", \"2.bias\", \"2.weight\"]",
            actual: "also [\"3.weight\"]")) {
            try target.loadParameters(extra)
        }
        var wrong = model(seed: 1).namedParameters
        wrong["0.weight"] = Tensor(shape: [4, 3])
        #expect(throws: PerceptronError.shapeMismatch(what: "parameter 0.weight", expected: [3, 4], actual: [4, 3])) {
            try target.loadParameters(wrong)
        }
        #expect(target.namedParameters == before, "nothing may change when any tensor is wrong")
    }

    @Test func saveThenLoadRestoresEveryParameter() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let saved = model(seed: 1)
        try saved.saveParameters(to: directory)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(files == ["0.bias.npy", "0.weight.npy", "2.bias.npy", "2.weight.npy"])

        let loaded = model(seed: 2)
        #expect(parameters(loaded) != parameters(saved))
        try loaded.loadParameters(from: directory)
        #expect(parameters(loaded) == parameters(saved))
        #expect(try Tensor<Float>(contentsOfNPY: directory.appendingPathComponent("0.weight.npy")).shape == [3, 4])
    }

    @Test func aWrongShapeLeavesTheModelAsItWas() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try model(seed: 1).saveParameters(to: directory)
        try Tensor<Float>(shape: [5]).writeNPY(to: directory.appendingPathComponent("2.bias.npy"))
        let target = model(seed: 3)
        let before = parameters(target)
        let error = #expect(throws: PerceptronError.self) { try target.loadParameters(from: directory) }
        #expect(error == .shapeMismatch(
            what: "parameter 2.bias in \(directory.appendingPathComponent("2.bias.npy").path)", expected: [2], actual: [5]))
        #expect(parameters(target) == before, "nothing may change when any file is wrong")
    }

    @Test func aMissingFileIsAnError() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try model(seed: 1).saveParameters(to: directory)
        try FileManager.default.removeItem(at: directory.appendingPathComponent("0.bias.npy"))
        let error = #expect(throws: PerceptronError.self) { try model(seed: 3).loadParameters(from: directory) }
        guard case .fileError(let path, _, _) = error else {
            Issue.record("expected a file error, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("0.bias.npy"))
    }

    @Test func doublePrecisionFilesAreNotReadAsFloat() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = SeededRandomNumberGenerator(seed: 4)
        try Linear<Double>(inputFeatures: 2, outputFeatures: 2, using: &generator).saveParameters(to: directory)
        let error = #expect(throws: PerceptronError.self) {
            try Linear<Float>(inputFeatures: 2, outputFeatures: 2).loadParameters(from: directory)
        }
        guard case .invalidNPY = error else {
            Issue.record("expected invalidNPY, got \(String(describing: error))")
            return
        }
    }
}
