import Foundation
@testable import Perceptron
import Testing

/// `Fixtures/models/expected.json`, written by `make_model_fixtures.py` beside
/// the model files it saved with the `safetensors` package in PyTorch's layout.
struct ModelFixture: Decodable, Sendable, CustomTestStringConvertible {
    struct Values: Decodable, Sendable {
        var shape: [Int]
        var values: [Double]
        /// Per element, a first-order rounding bound in units of ε (see `numpy_models.py`).
        var bound: [Double]?
    }

    var file: String
    var x: Values
    var y: Values

    var testDescription: String { file }

    /// Both fixtures, by name.
    static func all() throws -> [String: ModelFixture] {
        let url = try #require(Bundle.module.url(forResource: "expected", withExtension: "json", subdirectory: "Fixtures/models"))
        return try JSONDecoder().decode([String: ModelFixture].self, from: Data(contentsOf: url))
    }

    static func named(_ name: String) throws -> ModelFixture {
        try #require(try all()[name], "expected.json has no \(name)")
    }

    var url: URL {
        get throws {
            try #require(Bundle.module.url(
                forResource: (file as NSString).deletingPathExtension, withExtension: "safetensors", subdirectory: "Fixtures/models"))
        }
    }

    /// The input as a tensor: its values are float32 numbers, exact in either precision.
    func input<Scalar: BLASScalar>(_: Scalar.Type) throws -> Tensor<Scalar> {
        try Tensor(shape: x.shape, scalars: x.values.map { Scalar($0) })
    }

    /// Expects `got` to be numpy's output within the rounding bound. The
    /// reference is float64, so for `Double` it carries rounding of the same
    /// order as the library's: then twice the bound is allowed.
    func expectOutput<Scalar: BLASScalar>(_ got: Tensor<Scalar>, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(got.shape == y.shape, sourceLocation: sourceLocation)
        let bound = try #require(y.bound)
        let factor: Double = Scalar.self == Double.self ? 2 : 1
        var worst = 0.0
        for (value, (expected, limit)) in zip(got.scalars, zip(y.values, bound)) {
            let error = abs(Double(value) - expected)
            worst = max(worst, error / (factor * Double(Scalar.ulpOfOne) * limit))
        }
        #expect(worst <= 1, "\(file): the worst error is \(worst) of the rounding bound", sourceLocation: sourceLocation)
    }
}

@Suite("Model files: PyTorch's layout, from files the safetensors package wrote")
struct ModelFileFixtureTests {
    /// The architecture of `mlp.safetensors`, built in code (with weights of its own, to be replaced).
    static func mlp<Scalar: BLASScalar>(_: Scalar.Type) -> Sequential<Scalar> {
        var generator = SeededRandomNumberGenerator(seed: 3)
        return Sequential<Scalar>([
            Linear(inputFeatures: 4, outputFeatures: 6, using: &generator), ReLU(),
            Linear(inputFeatures: 6, outputFeatures: 6, using: &generator),
            LayerNorm(features: 6), Tanh(),
            Linear(inputFeatures: 6, outputFeatures: 3, using: &generator),
        ])
    }

    /// The architecture of `nested.safetensors`, built in code.
    static func nested<Scalar: BLASScalar>(_: Scalar.Type) throws -> Sequential<Scalar> {
        var generator = SeededRandomNumberGenerator(seed: 4)
        return Sequential<Scalar>([
            Linear(inputFeatures: 5, outputFeatures: 4, bias: false, using: &generator), GELU(),
            Sequential([Linear(inputFeatures: 4, outputFeatures: 4, using: &generator), LayerNorm(features: 4, epsilon: 1e-3), SiLU()]),
            LeakyReLU(slope: 0.1), try Dropout(probability: 0.25, seed: 1),
            Linear(inputFeatures: 4, outputFeatures: 2, using: &generator),
        ])
    }

    @Test(arguments: [false, true])
    func aFileWithoutArchitectureLoadsIntoAModelBuiltInCode(double: Bool) throws {
        let fixture = try ModelFixture.named("mlp")
        func check<Scalar: BLASScalar>(_: Scalar.Type) throws {
            let model = Self.mlp(Scalar.self)
            try model.load(from: fixture.url)
            try fixture.expectOutput(model.predict(fixture.input(Scalar.self)))
        }
        if double { try check(Double.self) } else { try check(Float.self) }
    }

    @Test func everyWeightIsTheTransposeOfTheFilesAndTheRestAsInTheFile() throws {
        let fixture = try ModelFixture.named("mlp")
        let raw = try SafeTensors<Float>(contentsOf: fixture.url).tensors
        let model = Self.mlp(Float.self)
        try model.load(from: fixture.url)
        for index in [0, 2, 5] {
            let linear = try #require(model.layers[index] as? Linear<Float>)
            let stored = try #require(raw["\(index).weight"])
            #expect(stored.shape == [linear.outputFeatures, linear.inputFeatures])
            for i in 0..<linear.inputFeatures {
                for j in 0..<linear.outputFeatures {
                    #expect(linear.weight[i, j] == stored[j, i], "layer \(index) weight [\(i), \(j)]")
                }
            }
            #expect(linear.bias == raw["\(index).bias"])
        }
        let norm = try #require(model.layers[3] as? LayerNorm<Float>)
        #expect(norm.weight == raw["3.weight"] && norm.bias == raw["3.bias"])
    }

    /// Linear(6, 6) is square: loaded as it is stored, untransposed, it would
    /// fit every shape and give another output. The fixture's output tells.
    @Test func theSquareWeightIsNotLoadedAsItsTranspose() throws {
        let fixture = try ModelFixture.named("mlp")
        let model = Self.mlp(Float.self)
        try model.load(from: fixture.url)
        try fixture.expectOutput(model.predict(fixture.input(Float.self)))

        // The same parameters with the square weight transposed once more give another output.
        let square = try #require(model.layers[2] as? Linear<Float>)
        #expect(square.weight != square.weight.transposedMatrix(), "the fixture's square weight is symmetric")
        square.weight = square.weight.transposedMatrix()
        let wrong = try model.predict(fixture.input(Float.self))
        let distance = zip(wrong.scalars, fixture.y.values).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(distance > 1e-3, "a transposed square weight went unnoticed by the output check")
    }

    @Test(arguments: [false, true])
    func aFileWithTheArchitectureRebuildsTheModel(double: Bool) throws {
        let fixture = try ModelFixture.named("nested")
        func check<Scalar: BLASScalar>(_: Scalar.Type) throws {
            let model = try Sequential<Scalar>(contentsOf: fixture.url)
            #expect(LayerDescription(describing: model) == LayerDescription(describing: try Self.nested(Scalar.self)))
            try fixture.expectOutput(model.predict(fixture.input(Scalar.self)))
        }
        if double { try check(Double.self) } else { try check(Float.self) }
    }

    @Test func aFileWithTheArchitectureLoadsIntoTheModelBuiltInCode() throws {
        let fixture = try ModelFixture.named("nested")
        let model = try Self.nested(Float.self)
        try model.load(from: fixture.url)
        try fixture.expectOutput(model.predict(fixture.input(Float.self)))
        let raw = try SafeTensors<Float>(contentsOf: fixture.url).tensors
        let inner = try #require((model.layers[2] as? Sequential<Float>)?.layers[0] as? Linear<Float>)
        #expect(inner.weight == raw["2.0.weight"]?.transposedMatrix())
    }

    @Test func theFileWithoutArchitectureCannotRebuildAModel() throws {
        let fixture = try ModelFixture.named("mlp")
        let path = try fixture.url.path
        #expect(throws: PerceptronError.invalidModelFile(
            path: path,
            reason: "it records no architecture (no \"perceptron.architecture\" in its metadata; files written by "
                + "PyTorch have none): build the model in code and load the file with load(from:)")) {
            try Sequential<Float>(contentsOf: fixture.url)
        }
    }
}
