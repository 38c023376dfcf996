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

    @Test func moonsExample() throws {
        var printed: [Double] = []
        func print(_ value: Double) { printed.append(value) }

        // BEGIN README EXAMPLE moons
        // Two moons, like scikit-learn's make_moons with uniform noise: label 0 above, 1 below.
        var generator = SeededRandomNumberGenerator(seed: 1)
        func noise() -> Float { .random(in: -0.2...0.2, using: &generator) }
        let labels = (0..<300).map { $0 % 2 }
        let x = try Tensor<Float>(labels.map { moon in
            let t = Float.random(in: 0...Float.pi, using: &generator)
            return moon == 0 ? [cos(t) + noise(), sin(t) + noise()] : [1 - cos(t) + noise(), 0.5 - sin(t) + noise()]
        })
        let y = try Tensor<Float>(shape: [300, 1], scalars: labels.map(Float.init))
        let (train, targets, heldOut) = (try x.rows(0..<200), try y.rows(0..<200), try x.rows(200..<300))

        let model = Sequential<Float>([Linear(inputFeatures: 2, outputFeatures: 32, using: &generator), ReLU(),
                                       Linear(inputFeatures: 32, outputFeatures: 1, using: &generator)])  // one logit z
        let (loss, optimizer) = (BinaryCrossEntropyWithLogits<Float>(), Adam<Float>(learningRate: 0.01))
        for _ in 1...500 {
            _ = try loss.forward(model(train), targets: targets)   // cross-entropy of σ(z), fused and stable
            _ = try model.backward(loss.backward())
            try optimizer.step(model)
        }
        print(try accuracy(logits: model.predict(heldOut), labels: Array(labels[200...])))   // 1.0: class 1 where z > 0
        // END README EXAMPLE moons

        // The points are where the comment says: within the noise of their moon's half circle.
        for i in 0..<300 {
            let (px, py) = (Double(x[i, 0]), Double(x[i, 1]))
            let (cx, cy) = labels[i] == 0 ? (0.0, 0.0) : (1.0, 0.5)
            let radius = ((px - cx) * (px - cx) + (py - cy) * (py - cy)).squareRoot()
            #expect(abs(radius - 1) <= 0.2 * 2.squareRoot() + 1e-6, "point \(i): radius \(radius)")
        }
        #expect(labels.filter { $0 == 1 }.count == 150)
        // Held-out accuracy, counted here from the logits; the README shows what this seed gives.
        let z = try model.predict(heldOut)
        let correct = (0..<100).filter { (z[$0, 0] > 0 ? 1 : 0) == labels[200 + $0] }.count
        #expect(printed == [Double(correct) / 100])
        #expect(correct >= 97, "\(correct) of the 100 held-out points")
        // A straight line cannot separate the moons: the hidden layer is doing the work.
        let linear = Linear<Float>(inputFeatures: 2, outputFeatures: 1, using: &generator)
        let linearOptimizer = Adam<Float>(learningRate: 0.01)
        for _ in 1...500 {
            _ = try loss.forward(linear(train), targets: targets)
            _ = try linear.backward(loss.backward())
            try linearOptimizer.step(linear)
        }
        let linearZ = try linear.predict(heldOut)
        let linearCorrect = (0..<100).filter { (linearZ[$0, 0] > 0 ? 1 : 0) == labels[200 + $0] }.count
        #expect(linearCorrect < 95, "a straight boundary classified \(linearCorrect) of 100")
    }

    @Test(arguments: ["layer", "training", "tour", "moons"])
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
