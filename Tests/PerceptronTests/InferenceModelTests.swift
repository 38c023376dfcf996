import Foundation
@testable import Perceptron
import Testing

// InferenceModel on one task: the model's predict, bit for bit, for every
// layer type it takes, nested and not, in both precisions and at every input
// rank; the model's errors for bad input; refusals naming the layer; and a
// snapshot that later changes to the model do not reach. The concurrent half
// is InferenceModelConcurrencyTests.

/// The architectures the snapshot is compared on, each with the input shapes it is fed.
enum Architecture: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// The digits example's 64-64-10 ReLU network.
    case digits
    /// Every layer type in one sequence: LeakyReLU, LayerNorm, GELU, Dropout, a Linear
    /// without bias, SiLU, Sigmoid, Tanh and Softmax.
    case everyLayer
    /// Sequentials inside Sequentials, an empty one, and a LayerNorm without affine parameters.
    case nested
    /// 256-256-10 at batches whose first product is over the parallel threshold, so split
    /// across threads: its bits depend on ``BLAS/threadCount``, so only the suites that keep
    /// that setting put (InferenceModelConcurrencyTests) compare them.
    case wide
    /// Single layers, not in a Sequential.
    case bareLinear, bareLayerNorm, bareSoftmax

    var testDescription: String { rawValue }

    /// The model, with parameters drawn from `seed` (LayerNorm's too, so that they matter),
    /// and the shapes to feed it.
    func make<S: BLASScalar>(_: S.Type, seed: UInt64) throws -> (model: any Layer<S>, inputs: [[Int]]) {
        var g = SeededRandomNumberGenerator(seed: seed)
        let model: any Layer<S>
        let features: Int
        switch self {
        case .digits:
            model = Sequential<S>([
                Linear(inputFeatures: 64, outputFeatures: 64, using: &g), ReLU(),
                Linear(inputFeatures: 64, outputFeatures: 10, using: &g),
            ])
            features = 64
        case .everyLayer:
            model = Sequential<S>([
                Linear(inputFeatures: 8, outputFeatures: 16, using: &g), LeakyReLU(slope: 0.2),
                LayerNorm(features: 16, epsilon: 1e-3), GELU(), try Dropout(probability: 0.3, seed: seed),
                Linear(inputFeatures: 16, outputFeatures: 12, bias: false, using: &g), SiLU(), Sigmoid(), Tanh(),
                Linear(inputFeatures: 12, outputFeatures: 5, using: &g), Softmax(),
            ])
            features = 8
        case .nested:
            model = Sequential<S>([
                Sequential([Linear(inputFeatures: 6, outputFeatures: 9, using: &g), Tanh()]),
                LayerNorm(features: 9, affine: false),
                Sequential([]),
                Sequential([Sequential([ReLU(), Linear(inputFeatures: 9, outputFeatures: 3, using: &g)]), Softmax()]),
            ])
            features = 6
        case .wide:
            model = Sequential<S>([
                Linear(inputFeatures: 256, outputFeatures: 256, using: &g), ReLU(),
                Linear(inputFeatures: 256, outputFeatures: 10, using: &g),
            ])
            features = 256
        case .bareLinear:
            model = Linear<S>(inputFeatures: 7, outputFeatures: 33, using: &g)
            features = 7
        case .bareLayerNorm:
            model = LayerNorm<S>(features: 20)
            features = 20
        case .bareSoftmax:
            model = Softmax<S>()
            features = 13
        }
        // LayerNorm's start as ones and zeros: random, so that they matter (Linear's biases too).
        try model.forEachParameter { _, value, _ in
            if value.rank == 1 { value = Tensor(shape: value.shape, randomIn: -2...2, using: &g) }
        }
        let inputs = self == .wide
            ? [[64, 256], [3, 40, 256], [1, 256], [256]]
            : [[5, features], [features], [2, 3, features], [0, features], [1, features], [32, features]]
        return (model, inputs)
    }
}

@Suite("InferenceModel: a model's predict, from a snapshot")
struct InferenceModelTests {
    /// Tensors and snapshots cross tasks; this compiles only while InferenceModel is `Sendable`.
    @Test func isSendable() {
        requiresSendable(InferenceModel<Float>.self)
        requiresSendable(InferenceModel<Double>.self)
    }

    /// Every architecture but `.wide`, whose bits depend on the thread count that other suites change.
    @Test(arguments: Architecture.allCases.filter { $0 != .wide }, [false, true])
    func givesPredictBitForBit(architecture: Architecture, double: Bool) throws {
        if double { try check(Double.self, architecture) } else { try check(Float.self, architecture) }
    }

    private func check<S: BLASScalar>(_: S.Type, _ architecture: Architecture) throws {
        let (model, shapes) = try architecture.make(S.self, seed: 42)
        let server = try InferenceModel(model)
        var g = SeededRandomNumberGenerator(seed: 7)
        for shape in shapes {
            var x = Tensor<S>(shape: shape, randomIn: -3...3, using: &g)
            let expected = bits(try model.predict(x))
            #expect(bits(try server(x)) == expected, "\(S.self) \(architecture) input \(shape)")
            #expect(bits(try server(x)) == expected, "\(S.self) \(architecture) input \(shape), a second call")
            // NaN and infinity go the same way through both.
            if x.count > 2 {
                x.withUnsafeMutableBufferPointer { $0[0] = .nan; $0[$0.count - 1] = -.infinity }
                #expect(bits(try server(x)) == bits(try model.predict(x)), "\(S.self) \(architecture) input \(shape) with NaN")
            }
        }
        // A training pass in between (dropout draws a mask, layers keep their caches) changes nothing.
        let x = Tensor<S>(shape: shapes[0], randomIn: -1...1, using: &g)
        let before = bits(try server(x))
        _ = try model.forward(x)
        #expect(bits(try server(x)) == before, "\(S.self) \(architecture): a forward pass on the model changed the snapshot's output")
        #expect(bits(try model.predict(x)) == before)
    }

    /// The bits above are the model's; here, independently, they are `XW + b`: plain
    /// loops in Double, within the rounding bound.
    @Test func aLinearSnapshotComputesXWPlusB() throws {
        var g = SeededRandomNumberGenerator(seed: 3)
        let (n, f, m) = (9, 17, 11)
        let layer = Linear<Float>(inputFeatures: f, outputFeatures: m, using: &g)
        let x = Tensor<Float>(shape: [n, f], randomIn: -1...1, using: &g)
        let reference = NaiveLinear.forward(
            x: x.doubles, w: layer.weight.doubles, b: layer.bias!.doubles, n: n, f: f, m: m)
        let z = try InferenceModel(layer)(x)
        #expect(z.shape == [n, m])
        expectMatches(z, reference, "InferenceModel(Linear)")
    }

    /// Dropout is the identity at inference: the input itself comes back, not a copy.
    @Test func dropoutPassesItsInputOn() throws {
        var g = SeededRandomNumberGenerator(seed: 5)
        let x = Tensor<Double>(shape: [4, 3], randomIn: -1...1, using: &g)
        let y = try InferenceModel(Sequential([try Dropout<Double>(probability: 0.5, seed: 1)]))(x)
        let same = x.withUnsafeBufferPointer { a in y.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
        #expect(same && bits(y) == bits(x))
    }

    // MARK: Errors

    /// Bad input: the snapshot throws exactly what the model's predict throws, located the same way.
    @Test func badInputThrowsTheModelsErrors() throws {
        var g = SeededRandomNumberGenerator(seed: 9)
        let model = Sequential<Float>([
            Linear(inputFeatures: 4, outputFeatures: 8, using: &g), ReLU(),
            Sequential([LayerNorm(features: 8), Linear(inputFeatures: 8, outputFeatures: 3, using: &g)]),
            Softmax(),
        ])
        let server = try InferenceModel(model)
        let cases: [(Tensor<Float>, PerceptronError, String)] = [
            (Tensor(shape: [3, 5]),
             .inLayer(index: 0, type: "Linear", error: .featureMismatch(expected: 4, actual: 5, shape: [3, 5])),
             "layer 0 (Linear): input must have 4 features in its last dimension, but has shape [3, 5] (last dimension 5)"),
            (Tensor(shape: []),
             .inLayer(index: 0, type: "Linear", error: .rankMismatch(
                what: "Linear input", expected: "of rank 1 or more, with 4 features last", shape: [])),
             "layer 0 (Linear): Linear input must be of rank 1 or more, with 4 features last, but has shape []"),
            (Tensor(shape: [0, 7]),
             .inLayer(index: 0, type: "Linear", error: .featureMismatch(expected: 4, actual: 7, shape: [0, 7])),
             "layer 0 (Linear): input must have 4 features in its last dimension, but has shape [0, 7] (last dimension 7)"),
        ]
        for (input, error, message) in cases {
            #expect(throws: error) { try model.predict(input) }
            let thrown = #expect(throws: PerceptronError.self) { try server(input) }
            #expect(thrown == error)
            #expect(thrown?.description == message)
        }

        // Errors from inside a nested Sequential, and from an activation, name every level.
        let norm = try InferenceModel(Sequential<Double>([Tanh(), Sequential([LayerNorm(features: 3)])]))
        let expected = PerceptronError.inLayer(index: 1, type: "Sequential", error: .inLayer(
            index: 0, type: "LayerNorm", error: .featureMismatch(expected: 3, actual: 2, shape: [4, 2])))
        #expect(throws: expected) { try norm(Tensor(shape: [4, 2])) }
        #expect(expected.description == "layer 1 (Sequential): layer 0 (LayerNorm): input must have 3 features in its last dimension, but has shape [4, 2] (last dimension 2)")
        #expect(throws: PerceptronError.rankMismatch(what: "Softmax input", expected: "of rank 1 or more", shape: [])) {
            try InferenceModel(Softmax<Float>())(Tensor(shape: []))
        }
        #expect(throws: PerceptronError.rankMismatch(
            what: "LayerNorm input", expected: "of rank 1 or more, with 3 features last", shape: [])) {
            try InferenceModel(LayerNorm<Float>(features: 3))(Tensor(shape: []))
        }

        // A batch too large for OpenBLAS's 32-bit sizes, refused before anything is computed.
        let empty = Linear<Float>(inputFeatures: 0, outputFeatures: 3)
        let huge = Tensor<Float>(shape: [1 << 31, 0])
        let tooLarge = PerceptronError.dimensionTooLarge(
            what: "Linear batch size (rows of X)", value: 1 << 31, limit: Int(Int32.max))
        #expect(throws: tooLarge) { try empty.predict(huge) }
        let refused = #expect(throws: PerceptronError.self) { try InferenceModel(empty)(huge) }
        #expect(refused == tooLarge)
        #expect(refused?.description == "Linear batch size (rows of X) is 2147483648, but OpenBLAS accepts sizes up to 2147483647 (32-bit BLAS integers)")
    }

    /// A layer type the snapshot does not know, alone or at any depth, is refused by name and position.
    @Test func unknownLayerTypesThrowNamingThem() throws {
        let supported = "Linear, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, GELU, SiLU, LayerNorm, Dropout and Sequential"
        let refusal = { (type: String) in
            PerceptronError.unsupportedLayer(type: type, operation: "InferenceModel", supported: [
                "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "GELU", "SiLU", "LayerNorm", "Dropout", "Sequential",
            ])
        }
        let alone = #expect(throws: PerceptronError.self) { try InferenceModel(Doubling<Float>()) }
        #expect(alone == refusal("Doubling"))
        #expect(alone?.description == "InferenceModel cannot take a layer of type Doubling; it takes \(supported)")

        let nested = Sequential<Float>([
            Linear(inputFeatures: 2, outputFeatures: 2), ReLU(),
            Sequential([Tanh(), Offset()]),
        ])
        let error = #expect(throws: PerceptronError.self) { try InferenceModel(nested) }
        #expect(error == .inLayer(index: 2, type: "Sequential", error: .inLayer(index: 1, type: "Offset", error: refusal("Offset"))))
        #expect(error?.description
                == "layer 2 (Sequential): layer 1 (Offset): InferenceModel cannot take a layer of type Offset; it takes \(supported)")
    }

    /// A parameter replaced by a tensor of the wrong shape is refused when the
    /// snapshot is made, with the error the layer's own passes throw.
    @Test func aWronglyShapedParameterIsRefusedAtOnce() throws {
        let linear = Linear<Float>(inputFeatures: 3, outputFeatures: 2)
        linear.weight = Tensor(shape: [2, 3])
        let model = Sequential<Float>([ReLU(), linear])
        let expected = PerceptronError.inLayer(index: 1, type: "Linear", error: .shapeMismatch(
            what: "Linear weight", expected: [3, 2], actual: [2, 3]))
        #expect(throws: expected) { try model.predict(Tensor(shape: [1, 3])) }
        #expect(throws: expected) { try InferenceModel(model) }

        let norm = LayerNorm<Double>(features: 4)
        norm.bias = Tensor(shape: [5])
        #expect(throws: PerceptronError.shapeMismatch(what: "LayerNorm bias", expected: [4], actual: [5])) {
            try InferenceModel(norm)
        }
    }

    // MARK: A snapshot

    /// After the snapshot, the model changes in every way a program changes one:
    /// a training step, an assignment, a write through a subscript, a load. The
    /// snapshot gives what it gave before each, while the model's own output moves.
    @Test func laterChangesToTheModelDoNotReachTheSnapshot() throws {
        var g = SeededRandomNumberGenerator(seed: 21)
        let first = Linear<Float>(inputFeatures: 5, outputFeatures: 6, using: &g)
        let norm = LayerNorm<Float>(features: 6)
        let last = Linear<Float>(inputFeatures: 6, outputFeatures: 3, using: &g)
        let model = Sequential<Float>([first, Tanh(), norm, last])
        let x = Tensor<Float>(shape: [4, 5], randomIn: -1...1, using: &g)
        let server = try InferenceModel(model)
        let original = bits(try model.predict(x))
        #expect(bits(try server(x)) == original)

        // The snapshot shares the parameters' buffers: taking it copied nothing.
        guard case let .sequential(layers) = server.root, case let .linear(weight, _, _, _, _) = layers[0] else {
            Issue.record("the snapshot of a Sequential is a sequence starting with a Linear")
            return
        }
        #expect(address(of: weight) == address(of: first.weight))

        var previous = original
        func expectOnlyTheModelChanged(_ what: String) throws {
            let now = bits(try model.predict(x))
            #expect(now != previous, "\(what) did not change the model, so the test shows nothing")
            #expect(bits(try server(x)) == original, "\(what) reached the snapshot")
            previous = now
        }

        // A training step: Adam writes every parameter in place.
        let adam = Adam<Float>(learningRate: 0.1)
        _ = try model(x)
        _ = try model.backward(Tensor(shape: [4, 3], repeating: 1))
        try adam.step(model)
        try expectOnlyTheModelChanged("an Adam step")
        // The model's write copied the buffer the snapshot holds; the snapshot kept the old one.
        #expect(address(of: weight) != address(of: first.weight))

        first.weight[0, 0] += 1
        try expectOnlyTheModelChanged("a subscript write")
        last.bias = Tensor(shape: [3], repeating: 5)
        try expectOnlyTheModelChanged("an assignment")
        norm.weight!.withUnsafeMutableBufferPointer { $0[0] = -3 }
        try expectOnlyTheModelChanged("a write through a buffer pointer")
        var parameters = model.namedParameters
        parameters["3.weight"] = Tensor(shape: [6, 3], repeating: 0.25)
        try model.loadParameters(parameters)
        try expectOnlyTheModelChanged("loadParameters")

        // And a copy of the snapshot is the same snapshot.
        let copy = server
        #expect(bits(try copy(x)) == original)
    }

    private func address<S: BLASScalar>(of tensor: Tensor<S>) -> UnsafePointer<S>? {
        tensor.withUnsafeBufferPointer { $0.baseAddress }
    }
}

/// A layer of the test's own, which the snapshot does not know: `y = 2x`.
final class Doubling<Scalar: BLASScalar>: ParameterlessLayer {
    func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> { try predict(input) }

    func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        var y = input
        y.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] *= 2 } }
        return y
    }

    func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool) throws(PerceptronError) -> Tensor<Scalar> {
        try predict(outputGradient)
    }
}

/// Another, with a parameter: `y = x + offset`.
final class Offset: Layer {
    var offset = Tensor<Float>(shape: [])
    var gradient = Tensor<Float>(shape: [])

    func forward(_ input: Tensor<Float>) throws(PerceptronError) -> Tensor<Float> { try predict(input) }

    func predict(_ input: Tensor<Float>) throws(PerceptronError) -> Tensor<Float> {
        var y = input
        let b = offset.scalars[0]
        y.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] += b } }
        return y
    }

    func backward(_ outputGradient: Tensor<Float>, accumulate: Bool) throws(PerceptronError) -> Tensor<Float> {
        outputGradient
    }

    func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Float>, _ gradient: inout Tensor<Float>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        try body("offset", &offset, &gradient)
    }
}

@Suite("InferenceModel: loaded from a model file")
struct InferenceModelFileTests {
    /// The architectures whose root is a Sequential, which is what a model file rebuilds.
    @Test(arguments: [Architecture.digits, .everyLayer, .nested], [false, true])
    func aSavedModelServesItsPredictBitForBit(architecture: Architecture, double: Bool) throws {
        func check<S: BLASScalar>(_: S.Type) throws {
            let (model, shapes) = try architecture.make(S.self, seed: 11)
            try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("model.safetensors")
                try model.save(to: url)
                let server = try InferenceModel<S>(contentsOf: url)
                var g = SeededRandomNumberGenerator(seed: 5)
                for shape in shapes {
                    let x = Tensor<S>(shape: shape, randomIn: -3...3, using: &g)
                    #expect(bits(try server(x)) == bits(try model.predict(x)), "\(S.self) \(architecture) input \(shape)")
                }
            }
        }
        if double { try check(Double.self) } else { try check(Float.self) }
    }

    /// A file as PyTorch writes it (a state_dict, no architecture) cannot be served alone:
    /// the error says what to do instead.
    @Test func aFileWithoutAnArchitectureIsRefusedSayingWhatToDo() throws {
        let url = try #require(Bundle.module.url(forResource: "mlp", withExtension: "safetensors", subdirectory: "Fixtures/models"))
        let error = try #require(throws: PerceptronError.self) { try InferenceModel<Float>(contentsOf: url) }
        guard case let .invalidModelFile(_, reason) = error else {
            Issue.record("expected invalidModelFile, got \(error)")
            return
        }
        #expect(reason.contains("records no architecture") && reason.contains("load(from:)"), "\(reason)")
    }
}
