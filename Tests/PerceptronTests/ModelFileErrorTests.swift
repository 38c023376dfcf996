import Foundation
@testable import Perceptron
import Testing

/// A file in `directory` holding `tensors`, with `"format": "pt"` and, when
/// given, `architecture` as the recorded architecture: as PyTorch writes a
/// file (without one), or as a hostile or careless writer might (with one).
func modelFile(
    in directory: URL, _ tensors: [String: Tensor<Float>], architecture: String? = nil
) throws -> URL {
    let url = directory.appendingPathComponent("model-\(UUID().uuidString).safetensors")
    var metadata = ["format": "pt"]
    if let architecture { metadata["perceptron.architecture"] = architecture }
    try SafeTensors(tensors: tensors, metadata: metadata).write(to: url)
    return url
}

/// A Linear(3 → 2)'s tensors in PyTorch's layout, under `prefix`.
func linearTensors(_ prefix: String = "0.", inputs: Int = 3, outputs: Int = 2) -> [String: Tensor<Float>] {
    [prefix + "weight": Tensor(shape: [outputs, inputs], repeating: 0.5), prefix + "bias": Tensor(shape: [outputs], repeating: 0.25)]
}

/// One case of a file whose architecture is not the model's.
struct MismatchCase: Sendable, CustomTestStringConvertible {
    var name: String
    /// The model saved to the file, and the one it is loaded into.
    var saved: @Sendable () throws -> any Layer<Float>
    var loaded: @Sendable () throws -> any Layer<Float>
    var difference: String

    var testDescription: String { name }

    static func linear(_ f: Int, _ m: Int, bias: Bool = true) -> Linear<Float> {
        Linear(inputFeatures: f, outputFeatures: m, bias: bias)
    }

    static let all: [MismatchCase] = [
        MismatchCase(
            name: "a Linear's outputs",
            saved: { Sequential([linear(64, 64), ReLU(), linear(64, 10)]) },
            loaded: { Sequential([linear(64, 64), ReLU(), linear(64, 32)]) },
            difference: "layer 2: the file has Linear(64 → 10), the model has Linear(64 → 32)"),
        MismatchCase(
            name: "a Linear's inputs",
            saved: { Sequential([linear(4, 8)]) }, loaded: { Sequential([linear(5, 8)]) },
            difference: "layer 0: the file has Linear(4 → 8), the model has Linear(5 → 8)"),
        MismatchCase(
            name: "a bias",
            saved: { Sequential([linear(4, 8)]) }, loaded: { Sequential([linear(4, 8, bias: false)]) },
            difference: "layer 0: the file has Linear(4 → 8), the model has Linear(4 → 8, no bias)"),
        MismatchCase(
            name: "an activation",
            saved: { Sequential([linear(4, 8), ReLU()]) }, loaded: { Sequential([linear(4, 8), Tanh()]) },
            difference: "layer 1: the file has ReLU, the model has Tanh"),
        MismatchCase(
            name: "a slope",
            saved: { Sequential([LeakyReLU(slope: 0.01)]) }, loaded: { Sequential([LeakyReLU(slope: 0.02)]) },
            difference: "layer 0: the file has LeakyReLU(slope 0.01), the model has LeakyReLU(slope 0.02)"),
        MismatchCase(
            name: "an epsilon",
            saved: { Sequential([LayerNorm(features: 4)]) }, loaded: { Sequential([LayerNorm(features: 4, epsilon: 1e-6)]) },
            difference: "layer 0: the file has LayerNorm(4, epsilon 1e-05), the model has LayerNorm(4, epsilon 1e-06)"),
        MismatchCase(
            name: "affine parameters",
            saved: { Sequential([LayerNorm(features: 4)]) }, loaded: { Sequential([LayerNorm(features: 4, affine: false)]) },
            difference: "layer 0: the file has LayerNorm(4, epsilon 1e-05), the model has LayerNorm(4, epsilon 1e-05, no affine)"),
        MismatchCase(
            name: "features",
            saved: { Sequential([LayerNorm(features: 4)]) }, loaded: { Sequential([LayerNorm(features: 5)]) },
            difference: "layer 0: the file has LayerNorm(4, epsilon 1e-05), the model has LayerNorm(5, epsilon 1e-05)"),
        MismatchCase(
            name: "a dropout probability",
            saved: { Sequential([try Dropout(probability: 0.1, seed: 0)]) },
            loaded: { Sequential([try Dropout(probability: 0.2, seed: 0)]) },
            difference: "layer 0: the file has Dropout(probability 0.1), the model has Dropout(probability 0.2)"),
        MismatchCase(
            name: "a layer more in the file",
            saved: { Sequential([linear(4, 8), ReLU(), linear(8, 3), Softmax()]) },
            loaded: { Sequential([linear(4, 8), ReLU(), linear(8, 3)]) },
            difference: "layer 3: the file has Softmax, the model has none (3 layers in all)"),
        MismatchCase(
            name: "a layer more in the model",
            saved: { Sequential([linear(4, 8), ReLU(), linear(8, 3)]) },
            loaded: { Sequential([linear(4, 8), ReLU(), linear(8, 3), Softmax()]) },
            difference: "layer 3: the file has none (3 layers in all), the model has Softmax"),
        MismatchCase(
            name: "inside a nested Sequential",
            saved: { Sequential([linear(4, 8), Sequential([linear(8, 8), Tanh()])]) },
            loaded: { Sequential([linear(4, 8), Sequential([linear(8, 8), Sigmoid()])]) },
            difference: "layer 1.1: the file has Tanh, the model has Sigmoid"),
        MismatchCase(
            name: "a layer more in a nested Sequential",
            saved: { Sequential([linear(4, 8), Sequential([linear(8, 8), Tanh()])]) },
            loaded: { Sequential([linear(4, 8), Sequential([linear(8, 8), Tanh(), ReLU()])]) },
            difference: "layer 1.2: the file has none (2 layers in layer 1), the model has ReLU"),
        MismatchCase(
            name: "a Sequential for a layer",
            saved: { Sequential([linear(4, 8), Sequential([linear(8, 8), Tanh()])]) },
            loaded: { Sequential([linear(4, 8), linear(8, 8)]) },
            difference: "layer 1: the file has Sequential(2 layers), the model has Linear(8 → 8)"),
        MismatchCase(
            name: "the model itself",
            saved: { linear(4, 8) }, loaded: { Sequential([linear(4, 8)]) },
            difference: "the file has Linear(4 → 8), the model has Sequential(1 layer)"),
        MismatchCase(
            name: "a layer of the user's own",
            saved: {
                var generator = SeededRandomNumberGenerator(seed: 1)
                return Sequential([MatrixLayer(rows: 4, columns: 3, using: &generator)])
            },
            loaded: { Sequential([linear(4, 3)]) },
            difference: "layer 0: the file has PerceptronTests.MatrixLayer, the model has Linear(4 → 3)"),
    ]
}

@Suite("Model files: files that do not fit the model")
struct ModelFileMismatchTests {
    @Test(arguments: MismatchCase.all)
    func theFirstDifferenceIsNamed(_ c: MismatchCase) throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try c.saved().save(to: url)
            let model = try c.loaded()
            let before = parameterBits(model)
            #expect(throws: PerceptronError.modelMismatch(path: url.path, difference: c.difference)) {
                try model.load(from: url)
            }
            #expect(parameterBits(model) == before, "the model changed")
        }
    }

    @Test func theDescriptionOfTheError() {
        #expect(PerceptronError.modelMismatch(path: "/m.safetensors", difference: "layer 2: the file has ReLU, the model has Tanh")
            .description == "'/m.safetensors' does not fit the model: layer 2: the file has ReLU, the model has Tanh")
        #expect(PerceptronError.invalidModelFile(path: "/m.safetensors", reason: "it is empty").description
            == "cannot load a model from '/m.safetensors': it is empty")
    }

    /// Files without an architecture, as PyTorch writes them, checked by names and shapes.
    @Test(arguments: [
        ("a missing tensor", ["0.weight": Tensor<Float>(shape: [2, 3])],
         "it has no tensor \"0.bias\" for the parameter 0.bias of Linear(3 → 2), of shape [2]"),
        ("a tensor too many", linearTensors().merging(["1.weight": Tensor(shape: [2])]) { $1 },
         "it has a tensor that no parameter of the model takes: \"1.weight\""),
        ("tensors too many", linearTensors().merging(linearTensors("1.")) { $1 }.merging(["x": Tensor(shape: [1])]) { $1 },
         "it has 3 tensors that no parameter of the model takes: \"1.bias\", \"1.weight\", \"x\""),
        ("a bias of the wrong shape", linearTensors().merging(["0.bias": Tensor(shape: [3])]) { $1 },
         "tensor \"0.bias\" has shape [3], but the parameter 0.bias of Linear(3 → 2) needs [2]"),
        ("a weight of the wrong shape", linearTensors().merging(["0.weight": Tensor(shape: [2, 4])]) { $1 },
         "tensor \"0.weight\" has shape [2, 4], but the parameter 0.weight of Linear(3 → 2) needs [2, 3], PyTorch's [out, in]"),
        ("a weight in Perceptron's layout", linearTensors().merging(["0.weight": Tensor(shape: [3, 2])]) { $1 },
         "tensor \"0.weight\" has shape [3, 2], but the parameter 0.weight of Linear(3 → 2) needs [2, 3], PyTorch's [out, in] "
            + "(the file holds it as [in, out], Perceptron's layout: read such a file with SafeTensors and loadParameters(_:))"),
    ] as [(String, [String: Tensor<Float>], String)])
    func aFileWithoutArchitectureIsCheckedByNamesAndShapes(_ name: String, _ tensors: [String: Tensor<Float>], _ difference: String) throws {
        try withTemporaryDirectory { directory in
            let url = try modelFile(in: directory, tensors)
            let model = Sequential<Float>([Linear(inputFeatures: 3, outputFeatures: 2)])
            let before = parameterBits(model)
            #expect(throws: PerceptronError.modelMismatch(path: url.path, difference: difference)) { try model.load(from: url) }
            #expect(parameterBits(model) == before, "the model changed")
        }
    }

    /// `namedParameters` written with `SafeTensors` is Perceptron's layout, not
    /// PyTorch's: `load(from:)` refuses it (the weight is not square).
    @Test func aFileInPerceptronsLayoutIsRefused() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("perceptron-layout.safetensors")
            let model = Sequential<Float>([Linear(inputFeatures: 4, outputFeatures: 3), Tanh()])
            try SafeTensors(tensors: model.namedParameters).write(to: url)
            #expect(throws: PerceptronError.modelMismatch(
                path: url.path,
                difference: "tensor \"0.weight\" has shape [4, 3], but the parameter 0.weight of Linear(4 → 3) needs [3, 4], "
                    + "PyTorch's [out, in] (the file holds it as [in, out], Perceptron's layout: "
                    + "read such a file with SafeTensors and loadParameters(_:))")) {
                try model.load(from: url)
            }
            try model.loadParameters(SafeTensors<Float>(contentsOf: url).tensors)   // where it belongs
        }
    }

    @Test func aParameterOfTheUsersOwnIsCheckedAsTheLayerHoldsIt() throws {
        try withTemporaryDirectory { directory in
            let url = try modelFile(in: directory, ["0.matrix": Tensor(shape: [3, 4])])
            var generator = SeededRandomNumberGenerator(seed: 1)
            let model = Sequential<Float>([MatrixLayer(rows: 4, columns: 3, using: &generator)])
            #expect(throws: PerceptronError.modelMismatch(
                path: url.path, difference: "tensor \"0.matrix\" has shape [3, 4], but the parameter 0.matrix needs [4, 3]")) {
                try model.load(from: url)
            }
        }
    }
}

@Suite("Model files: malformed, hostile and inconsistent architectures")
struct ModelFileArchitectureTests {
    static let prefix = "its architecture (\"perceptron.architecture\" in the metadata) is invalid: "

    /// `{"version":1,"model":` + `model` + `}`.
    static func document(_ model: String) -> String { "{\"version\":1,\"model\":\(model)}" }

    /// A one-layer Sequential around `layer`.
    static func wrapping(_ layer: String) -> String { document("{\"type\":\"Sequential\",\"layers\":[\(layer)]}") }

    /// The byte offset of the first `needle` in `text`, for messages that name a position.
    static func offset(of needle: String, in text: String) -> Int {
        text.utf8.count - text[text.range(of: needle)!.lowerBound...].utf8.count
    }

    static let linear = "{\"type\":\"Linear\",\"in_features\":3,\"out_features\":2,\"bias\":true}"

    /// Each architecture text and the reason it is refused for.
    static let malformed: [(String, String)] = [
        ("", "expected a JSON value at byte 0 of the architecture, found the end of the architecture"),
        ("{", "expected a key in double quotes at byte 1 of the architecture, found the end of the architecture"),
        ("[]", "the architecture must be an object, found an array"),
        ("{\"version\":1}", "the architecture has no \"model\""),
        ("{\"model\":{\"type\":\"ReLU\"}}", "the architecture has no \"version\""),
        ("{\"version\":2,\"model\":{}}", "the architecture has version 2, but this version of Perceptron reads version 1 only"),
        ("{\"version\":\"1\",\"model\":{}}", "\"version\" of the architecture must be an integer, found the string \"1\""),
        ("{\"version\":1.0,\"model\":{}}", "\"version\" of the architecture must be an integer, found the number 1.0"),
        (document("{\"type\":\"ReLU\"}").dropLast() + ",\"x\":0}",
         "the architecture has the unknown field \"x\"; expected \"version\", \"model\""),
        ("{\"version\":1,\"version\":1,\"model\":{}}",
         "the key \"version\" at byte 13 of the architecture appears more than once in its object"),
        { let text = document("{\"type\":\"ReLU\"}") + " x"
          return (text, "expected only whitespace after the value at byte \(offset(of: "x", in: text)) of the architecture, found 'x'") }(),
        (document("3"), "the model must be an object with a \"type\", found the number 3"),
        (document("{}"), "the model has no \"type\""),
        (document("{\"type\":3}"), "the \"type\" of the model must be a type name, found the number 3"),
        (document("{\"type\":\"\"}"), "the \"type\" of the model must be a type name, found the string \"\""),
        (document("{\"type\":\"Sequential\"}"), "the model (Sequential) has no \"layers\""),
        (document("{\"type\":\"Sequential\",\"layers\":{}}"),
         "the model (Sequential): \"layers\" must be an array of layers, found an object"),
        (wrapping("{\"type\":\"Linear\",\"in_features\":3,\"out_features\":2}"), "layer 0 (Linear) has no \"bias\""),
        (wrapping("{\"type\":\"Linear\",\"in_features\":-3,\"out_features\":2,\"bias\":true}"),
         "layer 0 (Linear): \"in_features\" must be an integer ≥ 0, found the number -3"),
        (wrapping("{\"type\":\"Linear\",\"in_features\":3.5,\"out_features\":2,\"bias\":true}"),
         "layer 0 (Linear): \"in_features\" must be an integer ≥ 0, found the number 3.5"),
        (wrapping("{\"type\":\"Linear\",\"in_features\":\"3\",\"out_features\":2,\"bias\":true}"),
         "layer 0 (Linear): \"in_features\" must be an integer ≥ 0, found the string \"3\""),
        (wrapping("{\"type\":\"Linear\",\"in_features\":3,\"out_features\":99999999999999999999,\"bias\":true}"),
         "layer 0 (Linear): \"out_features\" must be an integer ≥ 0, found the number 99999999999999999999"),
        (wrapping("{\"type\":\"Linear\",\"in_features\":3,\"out_features\":2,\"bias\":1}"),
         "layer 0 (Linear): \"bias\" must be a boolean, found the number 1"),
        (wrapping("{\"type\":\"Linear\",\"in_features\":3,\"out_features\":2,\"bias\":true,\"init\":null}"),
         "layer 0 (Linear) has the unknown field \"init\"; expected \"in_features\", \"out_features\", \"bias\""),
        (wrapping("{\"type\":\"ReLU\",\"inplace\":false}"),
         "layer 0 (ReLU) has the unknown field \"inplace\"; expected none but \"type\""),
        (wrapping("{\"type\":\"LeakyReLU\",\"negative_slope\":\"0.1\"}"),
         "layer 0 (LeakyReLU): \"negative_slope\" must be a finite number, found the string \"0.1\""),
        (wrapping("{\"type\":\"LeakyReLU\",\"negative_slope\":1e999}"),
         "layer 0 (LeakyReLU): \"negative_slope\" must be a finite number, found the number 1e999"),
        { let text = wrapping("{\"type\":\"LeakyReLU\",\"negative_slope\":NaN}")
          return (text, "expected a JSON value at byte \(offset(of: "NaN", in: text)) of the architecture, found 'NaN'") }(),
        { let text = wrapping("{\"type\":\"LeakyReLU\",\"negative_slope\":01}")
          return (text, "'01' at byte \(offset(of: "01", in: text)) of the architecture is not a JSON number") }(),
        (wrapping("{\"type\":\"Softmax\",\"dim\":1}"),
         "layer 0 (Softmax): Perceptron's Softmax is over the last dimension, \"dim\" -1, but \"dim\" is 1"),
        (wrapping("{\"type\":\"GELU\",\"approximate\":\"tanh\"}"),
         "layer 0 (GELU): Perceptron's GELU is the exact form, \"approximate\" \"none\", but \"approximate\" is \"tanh\""),
        (wrapping("{\"type\":\"LayerNorm\",\"normalized_shape\":[2,3],\"eps\":1e-5,\"elementwise_affine\":true}"),
         "layer 0 (LayerNorm): \"normalized_shape\" must be one integer ≥ 0 in an array, such as [64] "
            + "(Perceptron's LayerNorm is over the last dimension only), found [2, 3]"),
        (wrapping("{\"type\":\"LayerNorm\",\"normalized_shape\":4,\"eps\":1e-5,\"elementwise_affine\":true}"),
         "layer 0 (LayerNorm): \"normalized_shape\" must be one integer ≥ 0 in an array, such as [64] "
            + "(Perceptron's LayerNorm is over the last dimension only), found the number 4"),
        (wrapping("{\"type\":\"Dropout\",\"p\":1}"), "layer 0 (Dropout): \"p\" must be in 0..<1, but is 1.0"),
        (wrapping("{\"type\":\"Dropout\",\"p\":-0.5}"), "layer 0 (Dropout): \"p\" must be in 0..<1, but is -0.5"),
        (wrapping("{\"type\":\"Sequential\",\"layers\":[\(linear),7]}"),
         "layer 0.1 must be an object with a \"type\", found the number 7"),
        { let text = wrapping("\"\\ud800\"")
          return (text, "the escape \\uD800 at byte \(offset(of: "\\", in: text)) of the architecture is half of a UTF-16 "
            + "surrogate pair without its other half, which encodes no character") }(),
    ]

    @Test(arguments: malformed)
    func aMalformedArchitectureIsRefused(_ text: String, _ reason: String) throws {
        try withTemporaryDirectory { directory in
            let url = try modelFile(in: directory, [:], architecture: text)
            let expected = PerceptronError.invalidModelFile(path: url.path, reason: Self.prefix + reason)
            #expect(throws: expected) { try Sequential<Float>(contentsOf: url) }
            // Loading into a model reads the architecture first, the same way.
            #expect(throws: expected) { try Sequential<Float>([ReLU()]).load(from: url) }
        }
    }

    @Test func nestingDeeperThanTheLimitIsRefused() throws {
        let depth = 40   // Sequentials, each two levels of JSON: past the 64 allowed
        let text = "{\"version\":1,\"model\":" + String(repeating: "{\"type\":\"Sequential\",\"layers\":[", count: depth)
            + String(repeating: "]}", count: depth) + "}"
        // The first container past the limit: the 65th opening bracket (none closes before it).
        let offset = text.utf8.enumerated().filter { $0.element == UInt8(ascii: "{") || $0.element == UInt8(ascii: "[") }[64].offset
        try withTemporaryDirectory { directory in
            let url = try modelFile(in: directory, [:], architecture: text)
            #expect(throws: PerceptronError.invalidModelFile(
                path: url.path,
                reason: Self.prefix + "the architecture nests arrays and objects more than 64 deep (at byte \(offset)), "
                    + "more than this reader accepts")) {
                try Sequential<Float>(contentsOf: url)
            }
        }
    }

    @Test func nestingUpToTheLimitIsRead() throws {
        // 31 nested Sequentials reach depth 63, the deepest allowed, around a ReLU.
        let depth = 31
        let text = "{\"version\":1,\"model\":" + String(repeating: "{\"type\":\"Sequential\",\"layers\":[", count: depth)
            + "{\"type\":\"ReLU\"}" + String(repeating: "]}", count: depth) + "}"
        try withTemporaryDirectory { directory in
            let url = try modelFile(in: directory, [:], architecture: text)
            var layer: any Layer<Float> = try Sequential<Float>(contentsOf: url)
            for _ in 1..<depth { layer = try #require((layer as? Sequential<Float>)?.layers.first) }
            #expect((layer as? Sequential<Float>)?.layers.first is ReLU<Float>)
        }
    }

    @Test func anArchitectureLongerThanTheLimitIsRefused() throws {
        let text = Self.document("{\"type\":\"ReLU\"}")
        let long = text + String(repeating: " ", count: (1 << 20) + 1 - text.utf8.count)
        try withTemporaryDirectory { directory in
            let url = try modelFile(in: directory, [:], architecture: long)
            #expect(throws: PerceptronError.invalidModelFile(
                path: url.path,
                reason: Self.prefix + "the architecture is 1048577 bytes of JSON, more than the 1048576 this reader accepts")) {
                try Sequential<Float>(contentsOf: url)
            }
            // One byte less is read.
            let fits = try modelFile(in: directory, [:], architecture: String(long.dropLast()))
            #expect(throws: PerceptronError.invalidModelFile(path: fits.path, reason: "its model is a ReLU, not a Sequential")) {
                try Sequential<Float>(contentsOf: fits)
            }
        }
    }

    /// A type Perceptron does not know is read (a later version may add it),
    /// and named when the model is to be built.
    @Test(arguments: [
        ("{\"type\":\"Conv2d\",\"in_channels\":3,\"out_channels\":8,\"kernel_size\":[3,3]}", "Conv2d"),
        ("{\"type\":\"A\\u0000B\"}", "\"A\\u0000B\""),
    ])
    func anUnknownLayerTypeIsNamed(_ layer: String, _ shown: String) throws {
        try withTemporaryDirectory { directory in
            let url = try modelFile(in: directory, linearTensors(), architecture: Self.document(
                "{\"type\":\"Sequential\",\"layers\":[\(Self.linear),{\"type\":\"Sequential\",\"layers\":[\(layer)]}]}"))
            #expect(throws: PerceptronError.invalidModelFile(
                path: url.path,
                reason: "its layer 1.0 has the type \(shown), which Perceptron does not build (it builds Linear, ReLU, "
                    + "LeakyReLU, Tanh, Sigmoid, Softmax, GELU, SiLU, LayerNorm, Dropout, Sequential): "
                    + "build the model in code and load the file with load(from:)")) {
                try Sequential<Float>(contentsOf: url)
            }
            let model = Sequential<Float>([Linear(inputFeatures: 3, outputFeatures: 2), Sequential([ReLU()])])
            #expect(throws: PerceptronError.modelMismatch(
                path: url.path, difference: "layer 1.0: the file has \(shown), the model has ReLU")) {
                try model.load(from: url)
            }
        }
    }

    /// The architecture and the tensors of one file say different things.
    @Test(arguments: [
        (linearTensors().merging(["0.weight": Tensor(shape: [5, 3])]) { $1 },
         "tensor \"0.weight\" has shape [5, 3], but the parameter 0.weight of Linear(3 → 2) needs [2, 3], PyTorch's [out, in]"),
        (["0.weight": Tensor(shape: [2, 3])], "it has no tensor \"0.bias\" for the parameter 0.bias of Linear(3 → 2), of shape [2]"),
        (linearTensors().merging(["1.weight": Tensor(shape: [2])]) { $1 },
         "it has a tensor that no parameter of the model takes: \"1.weight\""),
    ] as [([String: Tensor<Float>], String)])
    func tensorsThatDisagreeWithTheArchitectureAreRefused(_ tensors: [String: Tensor<Float>], _ reason: String) throws {
        try withTemporaryDirectory { directory in
            let url = try modelFile(
                in: directory, tensors, architecture: Self.document("{\"type\":\"Sequential\",\"layers\":[\(Self.linear),{\"type\":\"ReLU\"}]}"))
            let expected = PerceptronError.invalidModelFile(path: url.path, reason: "its tensors disagree with its architecture: " + reason)
            #expect(throws: expected) { try Sequential<Float>(contentsOf: url) }
            let model = Sequential<Float>([Linear(inputFeatures: 3, outputFeatures: 2), ReLU()])
            #expect(throws: expected) { try model.load(from: url) }
        }
    }

    /// An architecture that claims layers of 2⁴⁰ × 2⁴⁰ is refused on the
    /// tensors' shapes, before any layer is built or allocated.
    @Test func claimedSizesAreCheckedAgainstTheTensorsBeforeAnythingIsBuilt() throws {
        try withTemporaryDirectory { directory in
            let huge = 1 << 40
            let url = try modelFile(in: directory, linearTensors(), architecture: Self.wrapping(
                "{\"type\":\"Linear\",\"in_features\":\(huge),\"out_features\":\(huge),\"bias\":true}"))
            #expect(throws: PerceptronError.invalidModelFile(
                path: url.path,
                reason: "its tensors disagree with its architecture: tensor \"0.weight\" has shape [2, 3], but the parameter "
                    + "0.weight of Linear(\(huge) → \(huge)) needs [\(huge), \(huge)], PyTorch's [out, in]")) {
                try Sequential<Float>(contentsOf: url)
            }
        }
    }

    @Test func aDropoutProbabilityThatRoundsToOneInFloatIsRefused() throws {
        try withTemporaryDirectory { directory in
            let url = try modelFile(in: directory, [:], architecture: Self.wrapping("{\"type\":\"Dropout\",\"p\":0.99999999999}"))
            #expect(throws: PerceptronError.invalidModelFile(
                path: url.path, reason: "its layer 0 cannot be built: probability must be in 0..<1, but is 1.0")) {
                try Sequential<Float>(contentsOf: url)
            }
            #expect(try Sequential<Double>(contentsOf: url).layers.first is Dropout<Double>)
        }
    }
}

@Suite("Model files: models that cannot be saved")
struct ModelFileSaveErrorTests {
    /// A layer that lists one parameter under `name`, `times` times.
    final class Listing: ParameterlessLayer {
        typealias Scalar = Float
        var value = Tensor<Float>(shape: [2])
        var gradient = Tensor<Float>(shape: [2])
        let name: String, times: Int
        init(name: String, times: Int) { (self.name, self.times) = (name, times) }
        func forward(_ input: Tensor<Float>) throws(PerceptronError) -> Tensor<Float> { input }
        func predict(_ input: Tensor<Float>) throws(PerceptronError) -> Tensor<Float> { input }
        func backward(_ outputGradient: Tensor<Float>, accumulate: Bool) throws(PerceptronError) -> Tensor<Float> { outputGradient }
        func forEachParameter(
            _ body: (_ name: String, _ value: inout Tensor<Float>, _ gradient: inout Tensor<Float>) throws(PerceptronError) -> Void
        ) throws(PerceptronError) {
            for _ in 0..<times { try body(name, &value, &gradient) }
        }
    }

    @Test func eachCaseThrowsAndWritesNothing() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            let linear = Linear<Float>(inputFeatures: 3, outputFeatures: 2)
            linear.weight = Tensor(shape: [2, 2])
            let norm = LayerNorm<Float>(features: 4)
            norm.weight = nil
            let cases: [(any Layer<Float>, PerceptronError)] = [
                (Sequential([Linear(inputFeatures: 3, outputFeatures: 2), LeakyReLU(slope: .nan)]),
                 .invalidArgument(name: "the slope of layer 1 (LeakyReLU)", expected: "finite, to be saved (JSON has no number for it)", actual: "nan")),
                (Sequential([LayerNorm(features: 4, epsilon: .infinity, affine: false)]),
                 .invalidArgument(name: "the epsilon of layer 0 (LayerNorm)", expected: "finite, to be saved (JSON has no number for it)", actual: "inf")),
                (Sequential([Listing(name: "w", times: 2)]),
                 .invalidArgument(name: "the parameter names", expected: "unique, to be saved as one file", actual: "0.w twice")),
                (Sequential([linear]), .shapeMismatch(what: "parameter 0.weight of Linear(3 → 2)", expected: [3, 2], actual: [2, 2])),
                (Sequential([norm]), .invalidArgument(name: "parameter 0.weight", expected: "present, as its LayerNorm(4) needs it", actual: "none")),
            ]
            for (model, error) in cases {
                #expect(throws: error) { try model.save(to: url) }
            }
            #expect(throws: PerceptronError.invalidArgument(
                name: "a tensor name", expected: "other than \"__metadata__\", the key safetensors reserves for metadata",
                actual: "\"__metadata__\"")) {
                try Listing(name: "__metadata__", times: 1).save(to: url)
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(left.isEmpty)
        }
    }
}
