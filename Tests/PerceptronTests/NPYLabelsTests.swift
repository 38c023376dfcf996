import Foundation
@testable import Perceptron
import Testing

/// The little-endian bytes of `values` as `T`.
func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

/// A header for `descr` and `shape`.
func labelHeader(_ descr: String, _ shape: String, fortran: Bool = false) -> String {
    "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }\n"
}

/// Expects reading `data` as labels to fail with exactly `reason`.
func expectInvalidLabels(_ data: Data, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(throws: PerceptronError.invalidNPY(path: "<data>", reason: reason), sourceLocation: sourceLocation) {
        try [Int](npyData: data)
    }
}

@Suite("NPY: integer labels")
struct NPYLabelsTests {
    @Test func everyDtypeAndItsExtremes() throws {
        func check<T: FixedWidthInteger>(_ descr: String, _ values: [T]) throws {
            let data = npyBytes(labelHeader(descr, "(\(values.count),)"), payload: littleEndianBytes(values))
            #expect(try [Int](npyData: data) == values.map { Int($0) }, "\(descr)")
        }
        try check("<i8", [0, 5, -1, .min, .max] as [Int64])
        try check("<i4", [0, 5, -1, .min, .max] as [Int32])
        try check("<i2", [0, 5, -1, .min, .max] as [Int16])
        try check("|i1", [0, 5, -1, .min, .max] as [Int8])
        try check("|u1", [0, 5, 200, .max] as [UInt8])
        try check("<u2", [0, 5, 40_000, .max] as [UInt16])
        try check("<u4", [0, 5, 3_000_000_000, .max] as [UInt32])
        try check("<u8", [0, 5, UInt64(Int.max)] as [UInt64])
    }

    @Test func shapesAndOrders() throws {
        let payload = littleEndianBytes([4, 1, 3] as [Int64])
        #expect(try [Int](npyData: npyBytes(labelHeader("<i8", "(3, 1)"), payload: payload)) == [4, 1, 3])
        // For a vector or a column, Fortran order lays the data out as C order does.
        #expect(try [Int](npyData: npyBytes(labelHeader("<i8", "(3,)", fortran: true), payload: payload)) == [4, 1, 3])
        #expect(try [Int](npyData: npyBytes(labelHeader("<i8", "(3, 1)", fortran: true), payload: payload)) == [4, 1, 3])
        #expect(try [Int](npyData: npyBytes(labelHeader("|u1", "(0,)"), payload: [])) == [])
        #expect(try [Int](npyData: npyBytes(labelHeader("<i4", "(0, 1)"), payload: [])) == [])
        let shapeReason = "labels must be a vector (n,) or a column (n, 1), but the shape is"
        expectInvalidLabels(npyBytes(labelHeader("<i8", "()"), payload: littleEndianBytes([7] as [Int64])), "\(shapeReason) ()")
        expectInvalidLabels(npyBytes(labelHeader("<i8", "(1, 3)"), payload: payload), "\(shapeReason) (1, 3)")
        expectInvalidLabels(npyBytes(labelHeader("<i8", "(3, 1, 1)"), payload: payload), "\(shapeReason) (3, 1, 1)")
    }

    @Test func refusedDtypesNameExpectedAndActual() {
        let expected = "expected a little-endian integer dtype: '<i8', '<i4', '<i2', '|i1', '|u1', '<u2', '<u4' or '<u8'"
        for (descr, note) in [(">i8", " (big-endian)"), (">u2", " (big-endian)"), ("<f8", " (float64)"), ("<f4", " (float32)"),
                              ("<f2", " (float16)"), ("|b1", " (bool)"), ("<i16", ""), ("|u2", ""), ("<U3", ""), ("O", "")] {
            expectInvalidLabels(
                npyBytes(labelHeader(descr, "(3,)")),
                "dtype '\(descr)'\(note) is not supported for labels; \(expected)")
        }
    }

    @Test func overflowingValuesAreRefusedNotWrapped() {
        let data = npyBytes(labelHeader("<u8", "(3,)"), payload: littleEndianBytes([1, UInt64(Int.max) + 1, .max] as [UInt64]))
        expectInvalidLabels(
            data, "value 9223372036854775808 at index 1 of the uint64 labels does not fit in Int (at most 9223372036854775807)")
    }

    @Test func lengthsAreCheckedBeforeAllocating() {
        expectInvalidLabels(
            npyBytes(labelHeader("<i4", "(3,)"), payload: Array(repeating: 0, count: 11)),
            "shape (3,) of int32 needs exactly 12 bytes of data after the header, but the file has 11")
        expectInvalidLabels(
            npyBytes(labelHeader("|u1", "(3,)"), payload: Array(repeating: 0, count: 4)),
            "shape (3,) of uint8 needs exactly 3 bytes of data after the header, but the file has 4")
        expectInvalidLabels(
            npyBytes(labelHeader("<i8", "(1000000000000000000,)"), payload: []),
            "shape (1000000000000000000,) of int64 needs exactly 8000000000000000000 bytes of data after the header, but the file has 0")
        expectInvalidLabels(
            npyBytes(labelHeader("<i8", "(4611686018427387904, 1)"), payload: []),
            "shape (4611686018427387904, 1) of int64 is too large: its byte count does not fit in Int")
        expectInvalidLabels(
            npyBytes(labelHeader("<i8", "(-2,)"), payload: []),
            "'shape' (-2,) has a negative dimension -2 at axis 0; dimensions must be ≥ 0")
        expectInvalidLabels(Data([0x93, 0x4E]), "the file ends after 2 bytes, inside the 6-byte magic string")
    }

    @Test func roundTripAndDataSlices() throws {
        let labels = [0, -3, Int.max, Int.min, 42]
        let data = labels.npyData()
        #expect(try [Int](npyData: data) == labels)
        #expect(try [Int](npyData: (Data([9]) + data).dropFirst()) == labels)
        // The payload after an odd offset: unaligned reads of every width.
        for descr in ["<i8", "<i4", "<i2", "<u2", "<u4", "<u8"] {
            let size = Int(String(descr.dropFirst(2)))!
            var bytes = Array(repeating: UInt8(0), count: 3 * size)
            bytes[0] = 7
            bytes[2 * size] = 9
            let file = npyBytes(labelHeader(descr, "(3,)"), payload: bytes)
            #expect(try [Int](npyData: (Data([1, 2, 3]) + file).dropFirst(3)) == [7, 0, 9], "\(descr)")
        }
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("y.npy")
            try labels.npyData().write(to: url)
            #expect(try [Int](contentsOfNPY: url) == labels)
            let missing = directory.appendingPathComponent("missing.npy")
            #expect(throws: PerceptronError.fileError(path: missing.path, operation: "open", reason: "No such file or directory (errno 2)")) {
                try [Int](contentsOfNPY: missing)
            }
        }
    }

    /// Every prefix of a valid file, and thousands of corrupted copies, either
    /// read or throw `.invalidNPY`.
    @Test func arbitraryBytesNeverCrash() throws {
        let valid = [3, 1, 4, 1, 5].npyData()
        for length in 0..<valid.count {
            #expect(throws: PerceptronError.self) { try [Int](npyData: valid.prefix(length)) }
        }
        var generator = SeededRandomNumberGenerator(seed: 17)
        var decoded = 0
        for _ in 0..<3_000 {
            var corrupted = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0..<(Bool.random(using: &generator) ? 80 : corrupted.count), using: &generator)
                corrupted[position] = UInt8.random(in: .min ... .max, using: &generator)
            }
            do {
                _ = try [Int](npyData: corrupted)
                decoded += 1
            } catch {
                guard case .invalidNPY(path: "<data>", _) = error else {
                    Issue.record("unexpected error \(error)")
                    continue
                }
            }
        }
        #expect(decoded > 0 && decoded < 3_000)
    }

    @Test(arguments: CorpusFile.npy)
    func fuzzCorpusReadsOrRefuses(_ file: CorpusFile) throws {
        let data = try Data(contentsOf: file.url)
        do {
            let labels = try [Int](npyData: data)
            #expect(try [Int](npyData: labels.npyData()) == labels)
        } catch {
            guard case let .invalidNPY(path: "<data>", reason) = error, !reason.isEmpty else {
                Issue.record("expected .invalidNPY with a reason, got \(error)")
                return
            }
        }
    }
}

@Suite("NPY: Fortran order")
struct NPYFortranOrderTests {
    /// The Fortran-order bytes of the row-major `tensor`: axis 0 fastest.
    func fortranBytes<Scalar: BLASScalar>(_ tensor: Tensor<Scalar>) -> [UInt8] {
        let shape = tensor.shape
        let scalars = tensor.scalars
        var rowMajorStrides = Array(repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) {
            rowMajorStrides[axis] = rowMajorStrides[axis + 1] * shape[axis + 1]
        }
        var result: [UInt8] = []
        for flat in 0..<tensor.count {
            // The index whose Fortran-order position is `flat`.
            var rest = flat
            var offset = 0
            for axis in 0..<shape.count {
                offset += (rest % shape[axis]) * rowMajorStrides[axis]
                rest /= shape[axis]
            }
            withUnsafeBytes(of: scalars[offset]) { result += $0 }
        }
        return result
    }

    @Test(arguments: [[2, 3], [3, 1], [1, 4], [2, 3, 4], [3, 1, 2, 2], [2, 2, 2, 2, 3], [4], [], [2, 0, 3], [0, 5]])
    func readsAsTheRowMajorArray(_ shape: [Int]) throws {
        try check(Float.self, shape)
        try check(Double.self, shape)
    }

    func check<Scalar: BLASScalar>(_: Scalar.Type, _ shape: [Int]) throws {
        let count = shape.reduce(1, *)
        let expected = try Tensor<Scalar>(shape: shape, scalars: NPYFixture.values(count))
        let header = labelHeader(Tensor<Scalar>.npyDescr, PythonLiteral.tupleRepr(shape), fortran: true)
        let file = npyBytes(header, payload: fortranBytes(expected))
        let tensor = try Tensor<Scalar>(npyData: file)
        #expect(tensor.shape == shape)
        #expect(tensor.scalarBytes == expected.scalarBytes)
        // From an odd offset too: the scalars are read unaligned.
        let shifted = try Tensor<Scalar>(npyData: (Data([1]) + file).dropFirst())
        #expect(shifted.scalarBytes == expected.scalarBytes)
    }

    @Test func lengthsAreStillChecked() {
        let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n"
        expectInvalid(
            npyBytes(header, payload: Array(repeating: 0, count: 20)),
            "shape (2, 3) of float32 needs exactly 24 bytes of data after the header, but the file has 20")
    }
}
