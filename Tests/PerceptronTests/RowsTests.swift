import Perceptron
import Testing

/// The reference: the rows at `indices`, by loops over `scalars`.
func referenceRows<Scalar: BLASScalar>(_ x: Tensor<Scalar>, _ indices: [Int]) -> [Scalar] {
    let width = x.shape.dropFirst().reduce(1, *)
    let scalars = x.scalars
    var result: [Scalar] = []
    for index in indices {
        for offset in 0..<width { result.append(scalars[index * width + offset]) }
    }
    return result
}

/// A tensor whose scalars are their own flat index.
func iota<Scalar: BLASScalar>(_ shape: [Int], as _: Scalar.Type = Float.self) throws -> Tensor<Scalar> {
    let count = shape.reduce(1, *)
    return try Tensor(shape: shape, scalars: (0..<count).map { Scalar($0) })
}

struct GatherCase: Sendable, CustomTestStringConvertible {
    var shape: [Int]
    var indices: [Int]
    var testDescription: String { "\(shape) at \(indices)" }
}

@Suite("Rows: gatheringRows and rows")
struct RowsTests {
    static let cases = [
        GatherCase(shape: [5], indices: [4, 0, 2]),
        GatherCase(shape: [5], indices: []),
        GatherCase(shape: [4, 3], indices: [3, 3, 0, 1, 3]),
        GatherCase(shape: [4, 3], indices: [0, 1, 2, 3]),
        GatherCase(shape: [4, 3], indices: []),
        GatherCase(shape: [3, 2, 4], indices: [2, 0, 2]),
        GatherCase(shape: [3, 0], indices: [1, 1]),
        GatherCase(shape: [0, 3], indices: []),
        GatherCase(shape: [1, 1, 1, 7], indices: [0, 0, 0]),
    ]

    @Test(arguments: cases)
    func gatheringRowsMatchesLoops(_ c: GatherCase) throws {
        try check(Float.self, c)
        try check(Double.self, c)
    }

    func check<Scalar: BLASScalar>(_: Scalar.Type, _ c: GatherCase) throws {
        let x = try iota(c.shape, as: Scalar.self)
        let y = try x.gatheringRows(c.indices)
        #expect(y.shape == [c.indices.count] + c.shape.dropFirst())
        #expect(y.scalars == referenceRows(x, c.indices))
    }

    @Test(arguments: [[5], [4, 3], [3, 2, 4], [0, 2], [6, 0]])
    func rowsMatchLoops(_ shape: [Int]) throws {
        let x = try iota(shape)
        for lower in 0...shape[0] {
            for upper in lower...shape[0] {
                let y = try x.rows(lower..<upper)
                #expect(y.shape == [upper - lower] + shape.dropFirst())
                #expect(y.scalars == referenceRows(x, Array(lower..<upper)))
            }
        }
    }

    @Test func resultsAreCopies() throws {
        let x = try iota([3, 2])
        var y = try x.gatheringRows([1])
        var z = try x.rows(0..<2)
        y[0, 0] = -1
        z[0, 0] = -1
        #expect(x.scalars == [0, 1, 2, 3, 4, 5])
    }

    @Test func outOfRangeIndicesThrowNamingIndexPositionAndRange() throws {
        let x = try iota([5, 2])
        let error = #expect(throws: PerceptronError.self) { try x.gatheringRows([0, 1, 4, 7, 9]) }
        #expect(error == .indexOutOfRange(what: "row index", index: 7, position: 3, range: 0..<5))
        #expect(error?.description == "row index 7 at position 3 is out of range 0..<5")
        #expect(throws: PerceptronError.indexOutOfRange(what: "row index", index: -1, position: 0, range: 0..<5)) {
            try x.gatheringRows([-1])
        }
        let empty = try iota([0, 2])
        let none = #expect(throws: PerceptronError.self) { try empty.gatheringRows([0]) }
        #expect(none?.description == "row index 0 at position 0 is out of range 0..<0")
    }

    @Test func badRangesAndRankZeroThrow() throws {
        let x = try iota([5, 2])
        for range in [3..<6, -1..<2, 5..<7] {
            let error = #expect(throws: PerceptronError.self) { try x.rows(range) }
            #expect(error?.description
                == "row range must be within 0..<5 (the rows of shape [5, 2]), but is \(range.lowerBound)..<\(range.upperBound)")
        }
        let scalar = Tensor<Float>(shape: [], repeating: 3)
        let gather = #expect(throws: PerceptronError.self) { try scalar.gatheringRows([0]) }
        #expect(gather?.description == "the tensor passed to gatheringRows must be of rank 1 or more, but has shape []")
        #expect(throws: PerceptronError.rankMismatch(what: "the tensor passed to rows(_:)", expected: "of rank 1 or more", shape: [])) {
            try scalar.rows(0..<0)
        }
    }
}
