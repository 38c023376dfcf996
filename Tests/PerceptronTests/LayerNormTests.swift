import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

/// A LayerNorm shape and parameter configuration.
struct LayerNormCase: Sendable, CustomTestStringConvertible {
    var shape: [Int]
    var affine = true
    var epsilon = 1e-5
    var testDescription: String { "\(shape)\(affine ? "" : " without affine"), ε \(epsilon)" }

    static let all: [LayerNormCase] = [
        LayerNormCase(shape: [5]), LayerNormCase(shape: [4, 6]), LayerNormCase(shape: [2, 3, 5]),
        LayerNormCase(shape: [3, 4], affine: false), LayerNormCase(shape: [2, 2, 3], affine: false),
        LayerNormCase(shape: [4, 1]), LayerNormCase(shape: [3, 7], epsilon: 0.1),
    ]

    /// A layer whose parameters are random, not ones and zeros, so that the weight takes part in every gradient.
    func make<Scalar: BLASScalar>(_: Scalar.Type = Scalar.self) -> LayerNorm<Scalar> {
        let n = shape.last!
        let layer = LayerNorm<Scalar>(features: n, epsilon: Scalar(epsilon), affine: affine)
        if affine {
            var generator = SeededRandomNumberGenerator(seed: UInt64(n))
            layer.weight = Tensor(shape: [n], randomIn: 0.5...1.5, using: &generator)
            layer.bias = Tensor(shape: [n], randomIn: -1...1, using: &generator)
        }
        return layer
    }
}

@Suite("LayerNorm")
struct LayerNormTests {
    @Test(arguments: LayerNormCase.all)
    func backwardMatchesCentralDifferences(_ c: LayerNormCase) throws {
        var generator = SeededRandomNumberGenerator(seed: 31)
        let input = Tensor<Double>(shape: c.shape, randomIn: -2...2, using: &generator)
        let layer: LayerNorm<Double> = c.make()
        let result = try GradientCheck.check(layer, input: input)
        #expect(result.maximumError < 1e-6, "\(result)")
        #expect(Set(result.parameterErrors.keys) == (c.affine ? ["weight", "bias"] : []))
    }

    @Test(arguments: LayerNormCase.all)
    func theLayerContractHolds(_ c: LayerNormCase) throws {
        try checkLayerContract("LayerNorm", { c.make(Float.self) }, shape: c.shape)
        try checkLayerContract("LayerNorm", { c.make(Double.self) }, shape: c.shape)
    }

    @Test func rowsHaveMeanZeroAndBiasedVarianceOne() throws {
        var generator = SeededRandomNumberGenerator(seed: 32)
        let x = Tensor<Double>(shape: [3, 2, 10], randomIn: -5...5, using: &generator)
        let y = try LayerNorm<Double>(features: 10, epsilon: 0).forward(x).scalars
        for row in 0..<6 {
            let values = y[(row * 10)..<(row * 10 + 10)]
            let mean = values.reduce(0, +) / 10
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 10   // biased, as PyTorch
            #expect(abs(mean) <= 1e-15)
            #expect(abs(variance - 1) <= 1e-14)
        }
    }

    @Test func aRowOfEqualValuesGivesTheBias() throws {
        let layer = LayerNorm<Float>(features: 3)
        layer.bias = try Tensor(shape: [3], scalars: [1, 2, 3])
        let y = try layer.forward(Tensor(shape: [2, 3], repeating: 7))
        #expect(y.scalars == [1, 2, 3, 1, 2, 3])
    }

    @Test func parametersAreNamedAndInitialisedAsInPyTorch() throws {
        let layer = LayerNorm<Float>(features: 4)
        var visited: [(String, [Float], [Int])] = []
        try layer.forEachParameter { name, value, gradient in visited.append((name, value.scalars, gradient.shape)) }
        #expect(visited.map(\.0) == ["weight", "bias"])
        #expect(visited[0].1 == [1, 1, 1, 1] && visited[1].1 == [0, 0, 0, 0])
        #expect(visited.allSatisfy { $0.2 == [4] })
        #expect(layer.parameterCount == 8)
        #expect(layer.weightGradient?.scalars == [0, 0, 0, 0] && layer.biasGradient?.scalars == [0, 0, 0, 0])

        let plain = LayerNorm<Float>(features: 4, affine: false)
        var count = 0
        try plain.forEachParameter { _, _, _ in count += 1 }
        #expect(count == 0 && plain.weight == nil && plain.bias == nil && plain.weightGradient == nil)
    }

    @Test(arguments: [false, true])
    func accumulatingTwiceGivesTwiceTheParameterGradients(double: Bool) throws {
        if double { try checkAccumulation(Double.self) } else { try checkAccumulation(Float.self) }
    }

    func checkAccumulation<Scalar: BLASScalar>(_: Scalar.Type) throws {
        var generator = SeededRandomNumberGenerator(seed: 33)
        let layer: LayerNorm<Scalar> = LayerNormCase(shape: [5, 3, 6]).make()
        let x = Tensor<Scalar>(shape: [5, 3, 6], randomIn: -2...2, using: &generator)
        let g = Tensor<Scalar>(shape: [5, 3, 6], randomIn: -1...1, using: &generator)
        _ = try layer.forward(x)
        let dx = try layer.backward(g)
        let once = gradientBits(layer)
        let (w, b) = (try #require(layer.weightGradient).scalars, try #require(layer.biasGradient).scalars)
        // ∂E/∂x does not accumulate: it is the same with accumulate as without.
        #expect(bits(try layer.backward(g, accumulate: true)) == bits(dx))
        // Each sum is added once, as a whole, so the result is exactly 2× (doubling is exact).
        #expect(try #require(layer.weightGradient).scalars == w.map { $0 + $0 })
        #expect(try #require(layer.biasGradient).scalars == b.map { $0 + $0 })
        // Without accumulate the gradients are replaced again.
        _ = try layer.backward(g)
        #expect(gradientBits(layer) == once)
        layer.zeroGradients()
        #expect(layer.weightGradient?.scalars.allSatisfy { $0 == 0 } == true)
    }

    @Test func inputErrorsNameExpectedAndActual() throws {
        let layer = LayerNorm<Float>(features: 4)
        for call in [layer.forward, layer.predict] as [(Tensor<Float>) throws(PerceptronError) -> Tensor<Float>] {
            let features = #expect(throws: PerceptronError.self) { try call(Tensor(shape: [2, 3])) }
            #expect(features == .featureMismatch(expected: 4, actual: 3, shape: [2, 3]))
            #expect(features?.description == "input must have 4 features in its last dimension, but has shape [2, 3] (last dimension 3)")
            let rank = #expect(throws: PerceptronError.self) { try call(Tensor(shape: [], repeating: 1)) }
            #expect(rank == .rankMismatch(what: "LayerNorm input", expected: "of rank 1 or more, with 4 features last", shape: []))
            #expect(rank?.description == "LayerNorm input must be of rank 1 or more, with 4 features last, but has shape []")
        }
    }

    @Test func replacedParametersOfTheWrongShapeThrow() throws {
        let layer = LayerNorm<Double>(features: 3)
        _ = try layer.forward(Tensor(shape: [2, 3]))
        layer.weight = Tensor(shape: [4])
        let error = #expect(throws: PerceptronError.self) { try layer.backward(Tensor(shape: [2, 3])) }
        #expect(error?.description == "LayerNorm weight must have shape [3], but has shape [4]")
        #expect(throws: PerceptronError.shapeMismatch(what: "LayerNorm weight", expected: [3], actual: [4])) {
            try layer.predict(Tensor(shape: [2, 3]))
        }
        layer.weight = Tensor(shape: [3])
        layer.bias = Tensor(shape: [1, 3])
        #expect(throws: PerceptronError.shapeMismatch(what: "LayerNorm bias", expected: [3], actual: [1, 3])) {
            try layer.forward(Tensor(shape: [2, 3]))
        }
    }

    @Test func backwardErrorsNameExpectedAndActual() throws {
        let layer = LayerNorm<Float>(features: 3)
        let early = #expect(throws: PerceptronError.self) { try layer.backward(Tensor(shape: [2, 3])) }
        #expect(early == .backwardBeforeForward(layer: "LayerNorm"))
        #expect(early?.description == "LayerNorm.backward needs a forward pass first (none has run since it was created or its caches were released)")
    }

    @Test func emptyBatchesAndZeroFeatures() throws {
        let layer = LayerNorm<Float>(features: 3)
        #expect(try layer.forward(Tensor(shape: [0, 3])).shape == [0, 3])
        #expect(try layer.backward(Tensor(shape: [0, 3])).shape == [0, 3])
        #expect(layer.weightGradient?.scalars == [0, 0, 0])
        let none = LayerNorm<Double>(features: 0)
        #expect(try none.forward(Tensor(shape: [4, 0])).shape == [4, 0])
        #expect(try none.backward(Tensor(shape: [4, 0])).shape == [4, 0])
    }

    @Test func aNegativeFeatureCountTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = LayerNorm<Float>(features: -3)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("LayerNorm: features must be ≥ 0, got -3"), "\(message)")
    }
}
