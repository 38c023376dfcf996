@_spi(Benchmarking) import Perceptron
import Testing

@Suite("matmul")
struct MatrixMultiplicationTests {
    @Test(arguments: [(1, 1, 1), (3, 5, 2), (17, 1, 9), (0, 4, 3), (4, 0, 3), (33, 47, 29)])
    func matchesNaiveReference(m: Int, k: Int, n: Int) throws {
        var generator = SeededRandomNumberGenerator(seed: UInt64(m * 10_000 + k * 100 + n))
        let a = Tensor<Float>(shape: [m, k], randomIn: -1...1, using: &generator)
        let b = Tensor<Float>(shape: [k, n], randomIn: -1...1, using: &generator)
        // X·W with no bias is exactly a matrix product.
        let reference = NaiveLinear.forward(x: a.doubles, w: b.doubles, b: nil, n: m, f: k, m: n)
        let c = try matmul(a, b)
        #expect(c.shape == [m, n])
        expectMatches(c, reference, "a·b")

        var accumulated = c
        try matmul(a, b, into: &accumulated, accumulate: true)
        var doubled = reference
        doubled.values = reference.values.map { 2 * $0 }
        doubled.magnitudes = reference.magnitudes.map { 2 * $0 }
        expectMatches(accumulated, doubled, "a·b accumulated onto a·b")
        #expect(c.scalars == (try matmul(a, b)).scalars, "accumulating into a copy leaves the original")
    }

    @Test func errors() {
        let a = Tensor<Double>(shape: [2, 3])
        #expect(throws: PerceptronError.rankMismatch(what: "matmul left operand", expected: "a matrix", shape: [3])) {
            try matmul(Tensor<Double>(shape: [3]), a)
        }
        #expect(throws: PerceptronError.shapeMismatch(what: "matmul right operand", expected: [3, 2], actual: [2, 2])) {
            try matmul(a, Tensor<Double>(shape: [2, 2]))
        }
        var wrong = Tensor<Double>(shape: [2, 5])
        #expect(throws: PerceptronError.shapeMismatch(what: "matmul result", expected: [2, 4], actual: [2, 5])) {
            try matmul(a, Tensor<Double>(shape: [3, 4]), into: &wrong)
        }
    }
}
