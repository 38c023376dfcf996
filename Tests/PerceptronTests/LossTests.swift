import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

@Suite("Losses")
struct LossTests {
    static let step = 1e-6

    /// Central differences of `loss` in each element of `x`.
    func numericGradient(_ x: Tensor<Double>, _ loss: (Tensor<Double>) throws -> Double) rethrows -> [Double] {
        var x = x
        return try (0..<x.count).map { position in
            let original = x.scalars[position]
            x.withUnsafeMutableBufferPointer { $0[position] = original + Self.step }
            let plus = try loss(x)
            x.withUnsafeMutableBufferPointer { $0[position] = original - Self.step }
            let minus = try loss(x)
            x.withUnsafeMutableBufferPointer { $0[position] = original }
            return (plus - minus) / (2 * Self.step)
        }
    }

    @Test(arguments: [[1], [5, 3], [2, 3, 4]] as [[Int]])
    func meanSquaredErrorValueAndGradient(shape: [Int]) throws {
        var generator = SeededRandomNumberGenerator(seed: 7)
        let prediction = Tensor<Double>(shape: shape, randomIn: -2...2, using: &generator)
        let target = Tensor<Double>(shape: shape, randomIn: -2...2, using: &generator)
        let loss = MeanSquaredError<Double>()
        let value = try loss.forward(prediction, target: target)
        let expected = zip(prediction.scalars, target.scalars).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(prediction.count)
        #expect(abs(value - expected) <= 1e-14)
        let analytic = try loss.backward().scalars
        let numeric = try numericGradient(prediction) { try MeanSquaredError<Double>().forward($0, target: target) }
        for (a, n) in zip(analytic, numeric) { #expect(abs(a - n) <= 1e-8) }
    }

    @Test(arguments: [(1, 2), (5, 3), (7, 10)])
    func crossEntropyValueAndGradient(rows: Int, classes: Int) throws {
        var generator = SeededRandomNumberGenerator(seed: UInt64(rows * classes))
        let logits = Tensor<Double>(shape: [rows, classes], randomIn: -3...3, using: &generator)
        let labels = (0..<rows).map { _ in Int.random(in: 0..<classes, using: &generator) }
        let loss = SoftmaxCrossEntropy<Double>()
        let value = try loss.forward(logits, labels: labels)
        var expected = 0.0
        for row in 0..<rows {
            let z = (0..<classes).map { logits[row, $0] }
            expected += Foundation.log(z.map { Foundation.exp($0) }.reduce(0, +)) - z[labels[row]]
        }
        #expect(abs(value - expected / Double(rows)) <= 1e-13)
        let analytic = try loss.backward().scalars
        let numeric = try numericGradient(logits) { try SoftmaxCrossEntropy<Double>().forward($0, labels: labels) }
        for (a, n) in zip(analytic, numeric) { #expect(abs(a - n) <= 1e-8) }
    }

    @Test func crossEntropyIsStableForHugeLogits() throws {
        let logits = try Tensor<Float>([[1e4, -1e4, 0], [-1e4, 1e4, 1e4]])
        let loss = SoftmaxCrossEntropy<Float>()
        let value = try loss.forward(logits, labels: [1, 0])
        // Row 0: label's logit is 2·10⁴ below the max; row 1: 2·10⁴ below two maxima.
        #expect(value.isFinite)
        #expect(abs(value - (2e4 + (2e4 + Float(Foundation.log(2.0))) ) / 2) <= 1)
        let g = try loss.backward()
        #expect(g.scalars.allSatisfy { $0.isFinite })
        #expect(abs(g[0, 0] - 0.5) <= 1e-6 && abs(g[0, 1] + 0.5) <= 1e-6)
    }

    @Test func errorsNameExpectedAndActual() throws {
        let loss = SoftmaxCrossEntropy<Float>()
        let logits = Tensor<Float>(shape: [2, 3])
        let outOfRange = #expect(throws: PerceptronError.self) { try loss.forward(logits, labels: [0, 3]) }
        #expect(outOfRange == .labelOutOfRange(index: 1, label: 3, classes: 3))
        #expect(outOfRange?.description == "label 3 at position 1 is out of range 0..<3")
        #expect(throws: PerceptronError.labelOutOfRange(index: 0, label: -1, classes: 3)) {
            try loss.forward(logits, labels: [-1, 0])
        }
        let count = #expect(throws: PerceptronError.self) { try loss.forward(logits, labels: [0]) }
        #expect(count?.description == "the number of labels (one per row of logits [2, 3]) must be 2, but is 1")
        #expect(throws: PerceptronError.rankMismatch(
            what: "SoftmaxCrossEntropy logits", expected: "a matrix [samples, classes]", shape: [3])) {
            try loss.forward(Tensor(shape: [3]), labels: [0])
        }
        #expect(throws: PerceptronError.backwardBeforeForward(layer: "SoftmaxCrossEntropy")) {
            try SoftmaxCrossEntropy<Float>().backward()
        }
        #expect(throws: PerceptronError.shapeMismatch(what: "MeanSquaredError target", expected: [2, 3], actual: [3, 2])) {
            try MeanSquaredError<Float>().forward(logits, target: Tensor(shape: [3, 2]))
        }
        #expect(throws: PerceptronError.backwardBeforeForward(layer: "MeanSquaredError")) {
            try MeanSquaredError<Float>().backward()
        }
    }
}
