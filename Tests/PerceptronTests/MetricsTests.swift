import Perceptron
import Testing

/// The reference argmax of each last-axis row, by a loop over `scalars`:
/// the first NaN, or else the first largest.
func referenceArgmax<Scalar: BLASScalar>(_ x: Tensor<Scalar>) -> [Int] {
    let columns = x.shape.last ?? 1
    let scalars = x.scalars
    return stride(from: 0, to: scalars.count, by: max(columns, 1)).map { start in
        let row = Array(scalars[start..<(start + columns)])
        if let nan = row.firstIndex(where: \.isNaN) { return nan }
        var best = 0
        for (index, value) in row.enumerated() where value > row[best] { best = index }
        return best
    }
}

@Suite("Metrics: argmax and accuracy")
struct MetricsTests {
    @Test(arguments: [[6, 4], [1, 9], [3, 2, 5], [2, 2, 2, 3], [7], [5, 1], [0, 4], [3, 0, 2]])
    func argmaxMatchesALoop(_ shape: [Int]) throws {
        var generator = SeededRandomNumberGenerator(seed: 9)
        // Few distinct values, so that ties are common.
        let count = shape.reduce(1, *)
        let scalars = (0..<count).map { _ in Float(Int.random(in: -2...2, using: &generator)) }
        let x = try Tensor<Float>(shape: shape, scalars: scalars)
        #expect(x.argmax() == referenceArgmax(x))
        #expect(x.argmax().count == shape.dropLast().reduce(1, *))
        let d = try Tensor<Double>(shape: shape, scalars: scalars.map(Double.init))
        #expect(d.argmax() == x.argmax())
    }

    @Test func tiesNaNAndSpecialValues() throws {
        let x = try Tensor<Float>([
            [1, 3, 3, 2],                       // a tie: the first wins
            [-.infinity, -.infinity, -.infinity, -.infinity],
            [0, -0.0, 0, 0],                   // −0 equals 0: the first wins
            [1, .nan, 5, .nan],                // NaN wins, the first one
            [.nan, 1, 2, 3],
            [-1, .infinity, .nan, 2],          // NaN beats +∞, as in numpy
            [-5, -4, -7, -4.5],
        ])
        #expect(x.argmax() == [1, 0, 0, 1, 0, 2, 1])
        #expect(Tensor<Double>(shape: [], repeating: 4).argmax() == [0])
        #expect(try Tensor<Double>(shape: [4], scalars: [1, 9, 9, 0]).argmax() == [1])
        #expect(Tensor<Float>(shape: [0, 3]).argmax() == [])
    }

    @Test func accuracyMatchesALoop() throws {
        var generator = SeededRandomNumberGenerator(seed: 5)
        for (n, classes) in [(1, 1), (10, 3), (37, 10), (100, 2)] {
            let logits = Tensor<Double>(shape: [n, classes], randomIn: -1...1, using: &generator)
            let labels = (0..<n).map { _ in Int.random(in: 0..<classes, using: &generator) }
            let predicted = referenceArgmax(logits)
            let correct = zip(predicted, labels).filter { $0 == $1 }.count
            #expect(try accuracy(logits: logits, labels: labels) == Double(correct) / Double(n))
        }
        let logits = try Tensor<Float>([[0, 1], [1, 0], [2, 2], [.nan, 0]])
        #expect(try accuracy(logits: logits, labels: [1, 0, 0, 0]) == 1)
        #expect(try accuracy(logits: logits, labels: [0, 1, 1, 1]) == 0)
        #expect(try accuracy(logits: logits, labels: [1, 1, 1, 0]) == 0.5)
    }

    @Test func accuracyRefusesBadInputNamingExpectedAndActual() throws {
        let logits = try Tensor<Float>([[0, 1, 2], [2, 1, 0]])
        let count = #expect(throws: PerceptronError.self) { try accuracy(logits: logits, labels: [0]) }
        #expect(count?.description == "the number of labels (one per row of logits [2, 3]) must be 2, but is 1")
        let label = #expect(throws: PerceptronError.self) { try accuracy(logits: logits, labels: [0, 3]) }
        #expect(label?.description == "label 3 at position 1 is out of range 0..<3")
        #expect(throws: PerceptronError.labelOutOfRange(index: 0, label: -1, classes: 3)) {
            try accuracy(logits: logits, labels: [-1, 0])
        }
        let rank = #expect(throws: PerceptronError.self) { try accuracy(logits: Tensor<Float>(shape: [3]), labels: [0, 0, 0]) }
        #expect(rank?.description == "accuracy logits must be a matrix [samples, classes], but has shape [3]")
        let empty = #expect(throws: PerceptronError.self) { try accuracy(logits: Tensor<Float>(shape: [0, 3]), labels: []) }
        #expect(empty?.description == "accuracy logits must be of at least one row and one class, but is of shape [0, 3]")
        #expect(throws: PerceptronError.invalidArgument(name: "accuracy logits", expected: "of at least one row and one class", actual: "of shape [2, 0]")) {
            try accuracy(logits: Tensor<Float>(shape: [2, 0]), labels: [0, 0])
        }
    }

    /// One logit per row is a binary classifier's: class 1 where it is positive.
    @Test func accuracyOfASingleLogitColumnIsBinary() throws {
        var generator = SeededRandomNumberGenerator(seed: 31)
        let logits = Tensor<Double>(shape: [50, 1], randomIn: -3...3, using: &generator)
        let labels = (0..<50).map { $0 % 2 }
        // The reference: a loop that thresholds each logit at 0.
        let expected = Double(zip(logits.scalars, labels).filter { ($0 > 0 ? 1 : 0) == $1 }.count) / 50
        #expect(try accuracy(logits: logits, labels: labels) == expected)
        #expect(expected > 0 && expected < 1, "the case has both right and wrong predictions")
        let special = try Tensor<Float>([[0], [-0.0], [.nan], [1e-30], [.infinity]])
        #expect(try accuracy(logits: special, labels: [0, 0, 0, 1, 1]) == 1, "0, −0 and NaN predict 0")
        #expect(throws: PerceptronError.labelOutOfRange(index: 1, label: 2, classes: 2)) {
            try accuracy(logits: special, labels: [0, 2, 0, 1, 1])
        }
    }
}
