import Foundation
@testable import Perceptron
import Testing

/// A layer of the tests' own, not the library's: `y = x·M` with a matrix `M`
/// named `matrix`, which PyTorch knows nothing of, so a model file keeps it
/// as the layer holds it.
final class MatrixLayer<Scalar: BLASScalar>: Layer {
    var matrix: Tensor<Scalar>
    private var matrixGradient: Tensor<Scalar>
    private var input: Tensor<Scalar>?

    init(rows: Int, columns: Int, using generator: inout SeededRandomNumberGenerator) {
        matrix = Tensor(shape: [rows, columns], randomIn: -1...1, using: &generator)
        matrixGradient = Tensor(shape: [rows, columns])
    }

    func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        self.input = input
        return try matmul(input, matrix)
    }

    func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try matmul(input, matrix)
    }

    func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool) throws(PerceptronError) -> Tensor<Scalar> {
        guard let input else { throw .backwardBeforeForward(layer: "MatrixLayer") }
        matrixGradient = try matmul(input.transposedMatrix(), outputGradient)
        return try matmul(outputGradient, matrix.transposedMatrix())
    }

    func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: inout Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        try body("matrix", &matrix, &matrixGradient)
    }
}

/// Every parameter of a model, by name, as raw bits.
func parameterBits<Scalar: BLASScalar>(_ layer: some Layer<Scalar>) -> [String: [UInt64]] {
    layer.namedParameters.mapValues { bits($0) }
}

/// The header of the safetensors file at `url`, parsed by Foundation's JSON
/// reader (not the library's): each tensor's dtype and shape, and the metadata.
func rawHeader(_ url: URL) throws -> (tensors: [String: (dtype: String, shape: [Int])], metadata: [String: String]) {
    let data = try Data(contentsOf: url)
    let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    let json = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
    var tensors: [String: (dtype: String, shape: [Int])] = [:]
    var metadata: [String: String] = [:]
    for (key, value) in json {
        let entry = try #require(value as? [String: Any])
        if key == "__metadata__" {
            metadata = try #require(entry as? [String: String])
        } else {
            tensors[key] = (try #require(entry["dtype"] as? String), try #require(entry["shape"] as? [Int]))
        }
    }
    return (tensors, metadata)
}

@Suite("Model files: saving and loading in PyTorch's layout")
struct ModelFileTests {
    /// A model with every layer type of the library, a nested `Sequential`
    /// and a square `Linear`; the same architecture for every seed.
    static func everyLayer<Scalar: BLASScalar>(_: Scalar.Type, seed: UInt64) throws -> Sequential<Scalar> {
        var generator = SeededRandomNumberGenerator(seed: seed)
        let norm = LayerNorm<Scalar>(features: 5, epsilon: 1e-4)
        norm.weight = Tensor(shape: [5], randomIn: 0.5...1.5, using: &generator)
        norm.bias = Tensor(shape: [5], randomIn: -1...1, using: &generator)
        return Sequential<Scalar>([
            Linear(inputFeatures: 3, outputFeatures: 5, using: &generator), LeakyReLU(slope: 0.2),
            Sequential([
                Linear(inputFeatures: 5, outputFeatures: 5, using: &generator), norm, Tanh(),
                Sequential([Linear(inputFeatures: 5, outputFeatures: 4, bias: false, using: &generator), GELU()]),
            ]),
            SiLU(), try Dropout(probability: 0.3, seed: seed), LayerNorm(features: 4, affine: false), Sigmoid(), ReLU(),
            Linear(inputFeatures: 4, outputFeatures: 2, using: &generator), Softmax(),
        ])
    }

    /// `everyLayer`'s state_dict keys and shapes, as PyTorch names and shapes them.
    static let everyLayerStateDict: [String: [Int]] = [
        "0.weight": [5, 3], "0.bias": [5],
        "2.0.weight": [5, 5], "2.0.bias": [5], "2.1.weight": [5], "2.1.bias": [5],
        "2.3.0.weight": [4, 5],
        "8.weight": [2, 4], "8.bias": [2],
    ]

    @Test(arguments: [false, true])
    func savingAndLoadingRestoresEveryParameterBitForBit(double: Bool) throws {
        func check<Scalar: BLASScalar>(_: Scalar.Type) throws {
            try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("model.safetensors")
                let model = try Self.everyLayer(Scalar.self, seed: 1)
                try model.save(to: url)
                let other = try Self.everyLayer(Scalar.self, seed: 2)
                #expect(parameterBits(other) != parameterBits(model))
                try other.load(from: url)
                #expect(parameterBits(other) == parameterBits(model))
                var generator = SeededRandomNumberGenerator(seed: 9)
                let x = Tensor<Scalar>(shape: [4, 3], randomIn: -2...2, using: &generator)
                #expect(bits(try other.predict(x)) == bits(try model.predict(x)))
            }
        }
        if double { try check(Double.self) } else { try check(Float.self) }
    }

    @Test(arguments: [false, true])
    func theFileIsPyTorchsStateDictWithEachWeightTransposed(double: Bool) throws {
        func check<Scalar: BLASScalar>(_: Scalar.Type, dtype: String) throws {
            try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("model.safetensors")
                let model = try Self.everyLayer(Scalar.self, seed: 1)
                try model.save(to: url)

                let header = try rawHeader(url)
                #expect(header.tensors.mapValues(\.shape) == Self.everyLayerStateDict)
                #expect(header.tensors.values.allSatisfy { $0.dtype == dtype })
                #expect(header.metadata["format"] == "pt")

                let stored = try SafeTensors<Scalar>(contentsOf: url).tensors
                var linears = 0
                for (name, value) in model.namedParameters {
                    let tensor = try #require(stored[name])
                    if name.hasSuffix("weight") && value.rank == 2 {
                        linears += 1
                        for i in 0..<value.shape[0] {
                            for j in 0..<value.shape[1] where tensor[j, i].bitPattern != value[i, j].bitPattern {
                                Issue.record("\(name) [\(j), \(i)] in the file is not the weight's [\(i), \(j)]")
                            }
                        }
                    } else {
                        #expect(bits(tensor) == bits(value), "\(name)")
                    }
                }
                #expect(linears == 4)
            }
        }
        if double { try check(Double.self, dtype: "F64") } else { try check(Float.self, dtype: "F32") }
    }

    /// The architecture, read back with Foundation's JSON reader: the format
    /// the documentation describes, layer by layer.
    @Test func theArchitectureIsTheDocumentedJSON() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            var generator = SeededRandomNumberGenerator(seed: 1)
            try Sequential<Double>([
                Linear(inputFeatures: 3, outputFeatures: 4, using: &generator), LeakyReLU(slope: 0.25),
                Sequential([LayerNorm(features: 4, epsilon: 1e-3, affine: false), try Dropout(probability: 0.5, seed: 0)]),
                GELU(), Softmax(), Linear(inputFeatures: 4, outputFeatures: 1, bias: false, using: &generator),
            ]).save(to: url)
            let text = try #require(try rawHeader(url).metadata["perceptron.architecture"])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary)
            let expected: NSDictionary = [
                "version": 1,
                "model": [
                    "type": "Sequential",
                    "layers": [
                        ["type": "Linear", "in_features": 3, "out_features": 4, "bias": true],
                        ["type": "LeakyReLU", "negative_slope": 0.25],
                        ["type": "Sequential", "layers": [
                            ["type": "LayerNorm", "normalized_shape": [4], "eps": 1e-3, "elementwise_affine": false],
                            ["type": "Dropout", "p": 0.5],
                        ]],
                        ["type": "GELU", "approximate": "none"],
                        ["type": "Softmax", "dim": -1],
                        ["type": "Linear", "in_features": 4, "out_features": 1, "bias": false],
                    ],
                ],
            ]
            #expect(json == expected, "\(text)")
        }
    }

    @Test(arguments: [false, true])
    func theFileAloneRebuildsTheModel(double: Bool) throws {
        func check<Scalar: BLASScalar>(_: Scalar.Type) throws {
            try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("model.safetensors")
                let model = try Self.everyLayer(Scalar.self, seed: 5)
                try model.save(to: url)
                let rebuilt = try Sequential<Scalar>(contentsOf: url)
                #expect(LayerDescription(describing: rebuilt) == LayerDescription(describing: model))
                #expect(parameterBits(rebuilt) == parameterBits(model))
                var generator = SeededRandomNumberGenerator(seed: 9)
                let x = Tensor<Scalar>(shape: [4, 3], randomIn: -2...2, using: &generator)
                #expect(bits(try rebuilt.predict(x)) == bits(try model.predict(x)))
                // Trainable as built: a forward and backward pass run.
                _ = try rebuilt.backward(rebuilt.forward(x))
            }
        }
        if double { try check(Double.self) } else { try check(Float.self) }
    }

    @Test func aRebuiltModelsDropoutLayersDrawMasksOfTheirOwn() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try Sequential<Float>([try Dropout(probability: 0.5, seed: 1), try Dropout(probability: 0.5, seed: 1)]).save(to: url)
            let rebuilt = try Sequential<Float>(contentsOf: url)
            let ones = Tensor<Float>(shape: [64], repeating: 1)
            let first = try rebuilt.layers[0].forward(ones), second = try rebuilt.layers[1].forward(ones)
            #expect(first != second)
        }
    }

    @Test func aFloatFileLoadsIntoADoubleModelAndBack() throws {
        try withTemporaryDirectory { directory in
            let floatURL = directory.appendingPathComponent("float.safetensors")
            let doubleURL = directory.appendingPathComponent("double.safetensors")
            let floats = try Self.everyLayer(Float.self, seed: 1)
            try floats.save(to: floatURL)
            let doubles = try Self.everyLayer(Double.self, seed: 2)
            try doubles.load(from: floatURL)
            #expect(doubles.namedParameters.mapValues(\.scalars) == floats.namedParameters.mapValues { $0.scalars.map(Double.init) })

            // Double to Float rounds each parameter to the nearest Float, and the
            // hyperparameters (0.2, 1e-4, 0.3) compare in Float.
            let fine = try Self.everyLayer(Double.self, seed: 3)
            try fine.save(to: doubleURL)
            try floats.load(from: doubleURL)
            #expect(floats.namedParameters.mapValues(\.scalars) == fine.namedParameters.mapValues { $0.scalars.map { Float($0) } })
        }
    }

    @Test func aSingleLayerIsSavedUnderItsOwnNames() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("linear.safetensors")
            var generator = SeededRandomNumberGenerator(seed: 1)
            let layer = Linear<Float>(inputFeatures: 3, outputFeatures: 2, using: &generator)
            try layer.save(to: url)
            #expect(try rawHeader(url).tensors.mapValues(\.shape) == ["weight": [2, 3], "bias": [2]])
            let other = Linear<Float>(inputFeatures: 3, outputFeatures: 2, using: &generator)
            try other.load(from: url)
            #expect(parameterBits(other) == parameterBits(layer))
            #expect(throws: PerceptronError.invalidModelFile(path: url.path, reason: "its model is a Linear(3 → 2), not a Sequential")) {
                try Sequential<Float>(contentsOf: url)
            }
        }
    }

    /// A square weight written by hand in PyTorch's layout, `[out, in]`: the
    /// layer holds its transpose, element by element.
    @Test func aSquareWeightInPyTorchsLayoutLoadsAsItsTranspose() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("square.safetensors")
            let pyTorchWeight = try Tensor<Float>([[1, 2, 3], [4, 5, 6], [7, 8, 9]])   // row o: the weights of output o
            try SafeTensors(tensors: ["0.weight": pyTorchWeight, "0.bias": Tensor(shape: [3], scalars: [0.5, 0, -0.5])],
                            metadata: ["format": "pt"]).write(to: url)
            let model = Sequential<Float>([Linear(inputFeatures: 3, outputFeatures: 3)])
            try model.load(from: url)
            let linear = try #require(model.layers[0] as? Linear<Float>)
            for i in 0..<3 {
                for j in 0..<3 { #expect(linear.weight[i, j] == pyTorchWeight[j, i]) }
            }
            // Output o is row o of the PyTorch weight times x, plus its bias: x @ W.T + b.
            let z = try model.predict(Tensor([[1, 0, 0], [0, 1, 0], [1, 1, 1]]))
            #expect(z == (try Tensor([[1.5, 4, 6.5], [2.5, 5, 7.5], [6.5, 15, 23.5]])))

            // Saved again, the file holds the PyTorch weight as it was.
            let again = directory.appendingPathComponent("again.safetensors")
            try model.save(to: again)
            #expect(try SafeTensors<Float>(contentsOf: again).tensors["0.weight"] == pyTorchWeight)
        }
    }

    @Test func aLayerOfTheUsersOwnIsSavedAsItHoldsItsParameters() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            var generator = SeededRandomNumberGenerator(seed: 1)
            let custom = MatrixLayer<Float>(rows: 4, columns: 3, using: &generator)
            let model = Sequential<Float>([Linear(inputFeatures: 2, outputFeatures: 4, using: &generator), Tanh(), custom])
            try model.save(to: url)

            let header = try rawHeader(url)
            #expect(header.tensors.mapValues(\.shape) == ["0.weight": [4, 2], "0.bias": [4], "2.matrix": [4, 3]])
            #expect(try SafeTensors<Float>(contentsOf: url).tensors["2.matrix"].map(bits) == bits(custom.matrix))
            let architecture = try #require(header.metadata["perceptron.architecture"])
            #expect(architecture.contains("{\"type\":\"PerceptronTests.MatrixLayer\"}"), "\(architecture)")

            var otherGenerator = SeededRandomNumberGenerator(seed: 2)
            let other = Sequential<Float>([
                Linear(inputFeatures: 2, outputFeatures: 4, using: &otherGenerator), Tanh(),
                MatrixLayer(rows: 4, columns: 3, using: &otherGenerator),
            ])
            try other.load(from: url)
            #expect(parameterBits(other) == parameterBits(model))

            #expect(throws: PerceptronError.invalidModelFile(
                path: url.path,
                reason: "its layer 2 has the type PerceptronTests.MatrixLayer, which Perceptron does not build (it builds "
                    + "Linear, ReLU, LeakyReLU, Tanh, Sigmoid, Softmax, GELU, SiLU, LayerNorm, Dropout, Sequential): "
                    + "build the model in code and load the file with load(from:)")) {
                try Sequential<Float>(contentsOf: url)
            }
        }
    }

    @Test func savingReplacesTheFileAtomically() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            let first = try Self.everyLayer(Float.self, seed: 1)
            try first.save(to: url)
            let firstBytes = try Data(contentsOf: url)

            // A save that fails leaves the file as it was, and no temporary file beside it.
            let unsavable = Sequential<Float>([Linear(inputFeatures: 3, outputFeatures: 5), LeakyReLU(slope: .nan)])
            #expect(throws: PerceptronError.self) { try unsavable.save(to: url) }
            #expect(try Data(contentsOf: url) == firstBytes)

            try Self.everyLayer(Float.self, seed: 2).save(to: url)
            let loaded = try Self.everyLayer(Float.self, seed: 3)
            try loaded.load(from: url)
            #expect(parameterBits(loaded) == parameterBits(try Self.everyLayer(Float.self, seed: 2)))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])

            let missing = directory.appendingPathComponent("no-such-folder/model.safetensors")
            #expect(throws: PerceptronError.self) { try first.save(to: missing) }
            #expect(!FileManager.default.fileExists(atPath: missing.path))
        }
    }

    /// Writes what `Fixtures/models/check_saved_model.py` checks with numpy and
    /// the `safetensors` package: into `$PERCEPTRON_MODEL_CHECK_DIR` when set,
    /// else into a temporary directory (so the test runs either way):
    ///
    ///     PERCEPTRON_MODEL_CHECK_DIR=/tmp/models swift test --filter writesModelsForThePythonCheck
    ///     python3 Tests/PerceptronTests/Fixtures/models/check_saved_model.py /tmp/models
    @Test func writesModelsForThePythonCheck() throws {
        func write<Scalar: BLASScalar>(_: Scalar.Type, _ name: String, into directory: URL) throws {
            let model = try Self.everyLayer(Scalar.self, seed: 11)
            var generator = SeededRandomNumberGenerator(seed: 12)
            let x = Tensor<Scalar>(shape: [6, 3], randomIn: -2...2, using: &generator)
            try model.save(to: directory.appendingPathComponent("\(name).safetensors"))
            try x.writeNPY(to: directory.appendingPathComponent("\(name)_input.npy"))
            try model.predict(x).writeNPY(to: directory.appendingPathComponent("\(name)_output.npy"))
        }
        func writeAll(into directory: URL) throws {
            try write(Float.self, "model_float32", into: directory)
            try write(Double.self, "model_float64", into: directory)
            #expect(try rawHeader(directory.appendingPathComponent("model_float32.safetensors")).tensors.count == 9)
        }
        if let path = ProcessInfo.processInfo.environment["PERCEPTRON_MODEL_CHECK_DIR"] {
            let directory = URL(fileURLWithPath: path, isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try writeAll(into: directory)
        } else {
            try withTemporaryDirectory { try writeAll(into: $0) }
        }
    }
}
