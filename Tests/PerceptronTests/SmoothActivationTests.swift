import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

@Suite("GELU and SiLU")
struct SmoothActivationTests {
    static let shapes: [[Int]] = [[11], [7, 3], [2, 3, 4]]

    @Test(arguments: shapes)
    func geluBackwardMatchesCentralDifferences(shape: [Int]) throws {
        var generator = SeededRandomNumberGenerator(seed: 41)
        let input = Tensor<Double>(shape: shape, randomIn: -4...4, using: &generator)
        let result = try GradientCheck.check(GELU<Double>(), input: input)
        #expect(result.maximumError < 1e-6, "\(result)")
    }

    @Test(arguments: shapes)
    func siluBackwardMatchesCentralDifferences(shape: [Int]) throws {
        var generator = SeededRandomNumberGenerator(seed: 42)
        let input = Tensor<Double>(shape: shape, randomIn: -6...6, using: &generator)
        let result = try GradientCheck.check(SiLU<Double>(), input: input)
        #expect(result.maximumError < 1e-6, "\(result)")
    }

    @Test(arguments: shapes)
    func theLayerContractHolds(shape: [Int]) throws {
        try checkLayerContract("GELU", { GELU<Float>() }, shape: shape)
        try checkLayerContract("GELU", { GELU<Double>() }, shape: shape)
        try checkLayerContract("SiLU", { SiLU<Float>() }, shape: shape)
        try checkLayerContract("SiLU", { SiLU<Double>() }, shape: shape)
    }

    @Test func valuesAtZeroAndInTheTails() throws {
        let x = try Tensor<Float>(shape: [5], scalars: [0, 1e4, -1e4, 40, -40])
        let ones = Tensor<Float>(shape: [5], repeating: 1)

        let gelu = GELU<Float>()
        let y = try gelu.forward(x)
        // erf saturates to ±1: GELU(x) is x for large x and −0 for very negative x.
        #expect(y.scalars == [0, 1e4, 0, 40, 0])
        #expect(y[2].sign == .minus && y[4].sign == .minus)
        // Φ(x) + x·φ(x): ½ at 0, 1 and 0 in the tails (x·φ(x) underflows, no NaN).
        #expect(try gelu.backward(ones).scalars == [0.5, 1, 0, 1, 0])

        let silu = SiLU<Float>()
        let s = try silu.forward(x)
        #expect(s.scalars[0..<4] == [0, 1e4, 0, 40])
        #expect(s[2].sign == .minus)
        // −40·σ(−40) = −40·e⁻⁴⁰/(1 + e⁻⁴⁰): tiny, but not flushed to zero.
        #expect(abs(Double(s[4]) + 40 * Foundation.exp(-40.0)) <= 1e-6 * 40 * Foundation.exp(-40.0))
        // σ(x)(1 + x(1 − σ(x))): ½ at 0, 1 for large x, 0 for very negative x.
        #expect(try silu.backward(ones).scalars[0..<3] == [0.5, 1, 0])
    }

    @Test func oneKnownValueEach() throws {
        // GELU(1) = Φ(1) = 0.841344746068543 (the normal distribution at 1);
        // SiLU(1) = 1/(1 + 1/e) = 0.7310585786300049.
        let one = try Tensor<Double>(shape: [1], scalars: [1])
        #expect(abs(try GELU<Double>().forward(one)[0] - 0.841_344_746_068_543) <= 1e-15)
        #expect(abs(try SiLU<Double>().forward(one)[0] - 0.731_058_578_630_004_9) <= 1e-15)
    }

    @Test func nanPropagates() throws {
        let nan = try Tensor<Float>(shape: [1], scalars: [.nan])
        for layer in [GELU(), SiLU()] as [any Layer<Float>] {
            #expect(try layer.forward(nan)[0].isNaN, "\(type(of: layer))")
            #expect(try layer.backward(Tensor(shape: [1], repeating: 1), accumulate: false)[0].isNaN, "\(type(of: layer))")
        }
    }

    @Test func backwardErrorsNameExpectedAndActual() throws {
        for (name, layer) in [("GELU", GELU()), ("SiLU", SiLU())] as [(String, any Layer<Float>)] {
            let early = #expect(throws: PerceptronError.self) { try layer.backward(Tensor(shape: [2]), accumulate: false) }
            #expect(early == .backwardBeforeForward(layer: name))
            #expect(early?.description == "\(name).backward needs a forward pass first (none has run since it was created or its caches were released)")
        }
    }

    @Test func rankZeroAndEmptyInputs() throws {
        let scalar = try Tensor<Double>(shape: [], scalars: [0.5])
        #expect(try GELU<Double>().forward(scalar).shape == [])
        #expect(try SiLU<Double>().forward(Tensor(shape: [0, 3])).shape == [0, 3])
    }
}
