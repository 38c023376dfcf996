@_spi(Benchmarking) import Perceptron
import Testing

@Suite("Tensor")
struct TensorTests {
    @Test func shapesAndCounts() throws {
        #expect(Tensor<Float>(shape: []).count == 1)
        #expect(Tensor<Float>(shape: [0]).count == 0)
        #expect(Tensor<Float>(shape: [3, 0, 5]).count == 0)
        let t = Tensor<Double>(shape: [2, 3, 4], repeating: 1.5)
        #expect(t.count == 24 && t.rank == 3)
        #expect(t.scalars == [Double](repeating: 1.5, count: 24))
    }

    @Test func rowMajorLayoutAndSubscript() throws {
        var t = try Tensor<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        #expect(t[0, 2] == 2 && t[1, 0] == 3)
        t[1, 2] = 50
        #expect(t.scalars == [0, 1, 2, 3, 4, 50])
        let rows = try Tensor<Float>([[0, 1, 2], [3, 4, 50]])
        #expect(rows == t)
        #expect(try Tensor<Float>([]).shape == [0, 0])
        #expect(try Tensor<Float>([[]]).shape == [1, 0])
        var scalar = Tensor<Double>(shape: [])
        scalar[] = 7
        #expect(scalar.scalars == [7])
    }

    @Test func copyOnWrite() throws {
        let original = try Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 4])
        var copy = original
        copy[0, 0] = 100
        #expect(original.scalars == [1, 2, 3, 4])
        #expect(copy.scalars == [100, 2, 3, 4])

        var another = original
        another.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] *= 10 }
        }
        #expect(original.scalars == [1, 2, 3, 4])
        #expect(another.scalars == [10, 20, 30, 40])
    }

    @Test func buffersAre64ByteAligned() {
        for count in [0, 1, 3, 17, 1000] {
            Tensor<Float>(shape: [count]).withUnsafeBufferPointer { buffer in
                #expect(Int(bitPattern: buffer.baseAddress) % 64 == 0)
            }
        }
    }

    @Test func reshapedSharesScalars() throws {
        let t = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let r = try t.reshaped(to: [3, 2])
        #expect(r.shape == [3, 2] && r.scalars == t.scalars)
        #expect(throws: PerceptronError.scalarCountMismatch(shape: [4, 2], expected: 8, actual: 6)) {
            try t.reshaped(to: [4, 2])
        }
    }

    @Test func equalityFollowsIEEE() throws {
        let a = try Tensor<Float>(shape: [2], scalars: [1, .nan])
        #expect(a != a)
        #expect(try Tensor<Float>(shape: [2], scalars: [0, 1]) == Tensor(shape: [2], scalars: [-0.0, 1]))
        #expect(try Tensor<Float>(shape: [1, 2], scalars: [0, 1]) != Tensor(shape: [2], scalars: [0, 1]))
    }

    @Test func description() throws {
        let t = try Tensor<Float>([[1, 2], [3, 4]])
        #expect(t.description == "Tensor<Float>(shape: [2, 2], [[1.0, 2.0], [3.0, 4.0]])")
        #expect(Tensor<Double>(shape: []).description == "Tensor<Double>(shape: [], 0.0)")
        let big = Tensor<Float>(shape: [2000])
        #expect(big.description == "Tensor<Float>(shape: [2000], [0.0, 0.0, 0.0, ..., 0.0, 0.0, 0.0])")
    }

    @Test func errorsNameExpectedAndActual() throws {
        let count = #expect(throws: PerceptronError.self) { try Tensor<Float>(shape: [2, 3], scalars: [1, 2]) }
        #expect(count == .scalarCountMismatch(shape: [2, 3], expected: 6, actual: 2))
        #expect(count?.description == "shape [2, 3] needs 6 scalars, not 2")

        let negative = #expect(throws: PerceptronError.self) { try Tensor<Float>(shape: [2, -1], scalars: []) }
        #expect(negative == .negativeDimension(shape: [2, -1], axis: 1))
        #expect(negative?.description == "shape [2, -1] has a negative dimension -1 at axis 1; dimensions must be ≥ 0")
        #expect(throws: PerceptronError.negativeDimension(shape: [-3], axis: 0)) {
            try Tensor<Double>(validatingShape: [-3])
        }

        let overflow = #expect(throws: PerceptronError.self) { try Tensor<Float>(shape: [Int.max, 2], scalars: []) }
        #expect(overflow == .shapeOverflow(shape: [Int.max, 2]))
        // The byte count overflows before the scalar count does.
        #expect(throws: PerceptronError.shapeOverflow(shape: [Int.max / 4])) {
            try Tensor<Double>(validatingShape: [Int.max / 4])
        }
        // A zero elsewhere does not excuse an overflowing product of the rest.
        #expect(throws: PerceptronError.shapeOverflow(shape: [Int.max, 0, 2])) {
            try Tensor<Float>(validatingShape: [Int.max, 0, 2])
        }

        let ragged = #expect(throws: PerceptronError.self) { try Tensor<Float>([[1, 2], [3]]) }
        #expect(ragged == .raggedRows(row: 1, expected: 2, actual: 1))
        #expect(ragged?.description == "rows must all have 2 scalars (the length of row 0), but row 1 has 1")
    }

    @Test func isFinite() throws {
        #expect(Tensor<Float>(shape: [0]).isFinite)
        #expect(Tensor<Double>(shape: [3, 5], repeating: .greatestFiniteMagnitude).isFinite)
        for bad in [Float.nan, .infinity, -.infinity, .signalingNaN] {
            for position in [0, 6, 16] {
                var values = [Float](repeating: 1, count: 17)
                values[position] = bad
                #expect(!(try Tensor(shape: [17], scalars: values)).isFinite, "\(bad) at \(position)")
            }
        }
    }

    @Test func seededGeneratorIsReproducible() {
        var a = SeededRandomNumberGenerator(seed: 123)
        var b = SeededRandomNumberGenerator(seed: 123)
        var c = SeededRandomNumberGenerator(seed: 124)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
        #expect(Set(first).count == 8)
    }
}
