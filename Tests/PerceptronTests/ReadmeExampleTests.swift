import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

/// Keeps the README's examples honest: the code between each pair of markers
/// below must be the README's example of the same name to the letter, and it
/// must run and do what the README says.
@Suite("README examples")
struct ReadmeExampleTests {
    @Test func layerExample() throws {
        // BEGIN README EXAMPLE layer
        var generator = SeededRandomNumberGenerator(seed: 42)
        let layer = Linear<Float>(inputFeatures: 3, outputFeatures: 2, using: &generator)

        // A batch of four samples, three features each (samples on rows).
        let x = try Tensor<Float>([[0.5, -1, 2], [1, 0, 0], [0, 1, 0], [-2, 0.25, 1]])
        let z = try layer(x)                       // Z = XW + b, shape [4, 2]

        // For E = ½‖Z‖², the gradient ∂E/∂Z is Z itself.
        let dx = try layer.backward(z)             // ∂E/∂X = GWᵀ, shape [4, 3]
        print(layer.weightGradient.shape)          // ∂E/∂W = XᵀG: [3, 2]
        print(layer.biasGradient!.shape)           // ∂E/∂b = column sums of G: [2]
        // END README EXAMPLE layer

        #expect(z.shape == [4, 2] && dx.shape == [4, 3])
        #expect(layer.weightGradient.shape == [3, 2] && layer.biasGradient?.shape == [2])
        expectMatches(z, NaiveLinear.forward(
            x: x.doubles, w: layer.weight.doubles, b: layer.bias?.doubles, n: 4, f: 3, m: 2), "Z")
    }

    @Test func trainingExample() throws {
        var losses: [Float] = []
        func print(_ line: String) { losses.append(Float(line.split(separator: " ").last!)!) }

        // BEGIN README EXAMPLE training
        var generator = SeededRandomNumberGenerator(seed: 7)
        let model = Sequential<Float>([
            Linear(inputFeatures: 2, outputFeatures: 16, using: &generator), Tanh(),
            Linear(inputFeatures: 16, outputFeatures: 2, using: &generator),
        ])
        let loss = SoftmaxCrossEntropy<Float>()
        let optimizer = Adam<Float>(learningRate: 0.01)

        // XOR: the class is 1 when exactly one input is 1.
        let x = try Tensor<Float>([[0, 0], [0, 1], [1, 0], [1, 1]])
        let labels = [0, 1, 1, 0]
        for epoch in 1...500 {
            let value = try loss.forward(model(x), labels: labels)   // forward pass and mean loss
            _ = try model.backward(loss.backward())                 // every parameter's gradient
            try optimizer.step(model)                                // update the parameters
            if epoch % 100 == 0 { print("epoch \(epoch): loss \(value)") }
        }

        // One safetensors file: PyTorch's state_dict (0.weight is [16, 2]) and the architecture.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("xor.safetensors")
        try model.save(to: file)
        let copy = try Sequential<Float>(contentsOf: file)      // the same model, from the file alone
        // END README EXAMPLE training

        defer { try? FileManager.default.removeItem(at: file) }
        #expect(losses.count == 5)
        #expect(losses.last! < 0.01, "\(losses)")
        let probabilities = try #require(loss.lastProbabilities)
        #expect((0..<4).allSatisfy { (probabilities[$0, 1] > 0.5 ? 1 : 0) == labels[$0] })
        #expect(try rawHeader(file).tensors.mapValues(\.shape) == ["0.weight": [16, 2], "0.bias": [16], "2.weight": [2, 16], "2.bias": [2]])
        #expect(copy.layers.count == 3 && copy.layers[1] is Tanh<Float>)
        #expect(bits(try copy.predict(x)) == bits(try model.predict(x)))
    }

    @Test func tourExample() throws {
        var printed: [String] = []
        func print(_ value: Any) { printed.append("\(value)") }

        // BEGIN README EXAMPLE tour
        let a = try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        var b = try a.reshaped(to: [3, 2])             // the same buffer, no copy
        b[0, 0] = 10                                   // b copies before it is written; a is unchanged
        let c = try matmul(a, b)                       // [[31, 28], [85, 64]], one GEMM

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("c.npy")
        try c.writeNPY(to: file)                       // np.load reads it
        print(try Tensor<Double>(contentsOfNPY: file) == c)                 // true

        var generator = SeededRandomNumberGenerator(seed: 1)
        let net = Sequential<Double>([Linear(inputFeatures: 3, outputFeatures: 4, using: &generator), Tanh()])
        let input = Tensor<Double>(shape: [5, 3], randomIn: -1...1, using: &generator)
        print(try GradientCheck.check(net, input: input).maximumError < 1e-6)   // true

        print(BLAS.configuration)   // OpenBLAS 0.3.21, kernel SkylakeX chosen by Perceptron (…), 2 threads, …
        // END README EXAMPLE tour

        defer { try? FileManager.default.removeItem(at: file) }
        #expect(a.scalars == [1, 2, 3, 4, 5, 6])
        #expect(b.scalars == [10, 2, 3, 4, 5, 6])
        #expect(c == (try Tensor<Double>([[31, 28], [85, 64]])))
        #expect(printed.count == 3)
        #expect(printed.prefix(2) == ["true", "true"])
        // Not compared with BLAS.configuration itself: suites running alongside
        // change BLAS.threadCount, which the description includes.
        #expect(printed.last?.hasPrefix("OpenBLAS ") == true && printed.last?.contains(" kernel ") == true)
    }

    @Test(arguments: ["layer", "training", "tour"])
    func readmeShowsTheExample(name: String) throws {
        let testFile = URL(fileURLWithPath: #filePath)
        let readme = testFile.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let example = try Self.lines(of: String(contentsOf: testFile, encoding: .utf8),
                                     from: "// BEGIN README EXAMPLE \(name)", to: "// END README EXAMPLE \(name)")
        let shown = try Self.lines(of: String(contentsOf: readme, encoding: .utf8),
                                   from: "<!-- BEGIN EXAMPLE \(name) -->", to: "<!-- END EXAMPLE \(name) -->")
        #expect(!example.isEmpty)
        // The README wraps the lines in a fence and imports.
        #expect(shown.filter { !$0.hasPrefix("```") && !$0.hasPrefix("import ") && !$0.isEmpty }
            == example.filter { !$0.isEmpty })
    }

    /// The trimmed lines strictly between two marker lines.
    static func lines(of text: String, from start: String, to end: String) throws -> [String] {
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let first = try #require(all.firstIndex(of: start))
        let last = try #require(all.firstIndex(of: end))
        return Array(all[(first + 1)..<last])
    }
}
