import Foundation
#if canImport(Glibc)
import Glibc
#endif
@_spi(Benchmarking) @testable import Perceptron
import Testing

/// One array that `Fixtures/npy/make_npy_fixtures.py` writes with numpy, in
/// both float32 and float64.
struct NPYFixture: Sendable, CustomTestStringConvertible {
    var label: String
    var shape: [Int]

    var testDescription: String { "\(label) \(shape)" }

    static let all = [
        NPYFixture(label: "rank0", shape: []),
        NPYFixture(label: "rank1", shape: [5]),
        NPYFixture(label: "rank2", shape: [2, 3]),
        NPYFixture(label: "rank3", shape: [2, 3, 4]),
        NPYFixture(label: "empty", shape: [0, 3]),
        NPYFixture(label: "aligned", shape: [3, 1, 10, 10] + Array(repeating: 1, count: 10)),
    ]

    /// The URL of `Fixtures/npy/<name>.npy`.
    static func url(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: "npy", subdirectory: "Fixtures/npy"))
    }

    /// The fixture script's formula, value(i) = (i · 0.5 − 1) / 3 at flat index
    /// i, computed in Double and rounded once to `Scalar`, as numpy's
    /// `astype` does.
    static func values<Scalar: BLASScalar>(_ count: Int, as _: Scalar.Type = Scalar.self) -> [Scalar] {
        (0..<count).map { Scalar((Double($0) * 0.5 - 1) / 3) }
    }
}

extension Tensor {
    /// The scalars' bytes, so that comparisons are bitwise: `-0.0` differs
    /// from `0.0`, and a NaN equals itself.
    var scalarBytes: [UInt8] { withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) } }
}

/// A fresh, empty directory, removed after `body` returns or throws.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("npy-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// The bytes of a `.npy` file with `header` as its header text, the length
/// field filled in (unless `headerLength` says otherwise), and `payload` after it.
func npyBytes(
    _ header: String, major: UInt8 = 1, headerLength: Int? = nil, payload: [UInt8] = Array(repeating: 0, count: 24)
) -> Data {
    npyBytes(Array(header.utf8), major: major, headerLength: headerLength, payload: payload)
}

/// As above, with the header given as raw bytes (for encodings other than UTF-8).
func npyBytes(
    _ header: [UInt8], major: UInt8 = 1, headerLength: Int? = nil, payload: [UInt8] = Array(repeating: 0, count: 24)
) -> Data {
    let length = headerLength ?? header.count
    let lengthSize = major == 1 ? 2 : 4
    var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, 0])
    data.append(contentsOf: (0..<lengthSize).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) })
    data.append(contentsOf: header)
    data.append(contentsOf: payload)
    return data
}

/// A well-formed header of a (2, 3) float32 array.
let validHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n"

/// Expects reading `data` as a `Tensor<Scalar>` to fail with exactly `reason`.
func expectInvalid<Scalar: BLASScalar>(
    _ data: Data, as _: Scalar.Type = Float.self, _ reason: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(throws: PerceptronError.invalidNPY(path: "<data>", reason: reason), sourceLocation: sourceLocation) {
        try Tensor<Scalar>(npyData: data)
    }
}

@Suite("NPY: reading numpy's files")
struct NPYFixtureTests {
    @Test func fixturesArePresent() throws {
        // Guards the parameterised tests below from passing vacuously.
        let files = Bundle.module.urls(forResourcesWithExtension: "npy", subdirectory: "Fixtures/npy") ?? []
        #expect(files.count == 17)
    }

    @Test(arguments: NPYFixture.all)
    func readsFloat32(_ fixture: NPYFixture) throws {
        try check(Float.self, fixture)
    }

    @Test(arguments: NPYFixture.all)
    func readsFloat64(_ fixture: NPYFixture) throws {
        try check(Double.self, fixture)
    }

    func check<Scalar: BLASScalar>(_: Scalar.Type, _ fixture: NPYFixture) throws {
        let url = try NPYFixture.url("\(Tensor<Scalar>.npyTypeName)_\(fixture.label)")
        let tensor = try Tensor<Scalar>(contentsOfNPY: url)
        #expect(tensor.shape == fixture.shape)
        let expected = try Tensor<Scalar>(shape: fixture.shape, scalars: NPYFixture.values(tensor.count))
        #expect(tensor.scalarBytes == expected.scalarBytes)
        // What we write is what np.save wrote, byte for byte.
        #expect(expected.npyData() == (try Data(contentsOf: url)))
    }

    @Test func readsFormats2And3() throws {
        let v2 = try Tensor<Float>(contentsOfNPY: NPYFixture.url("float32_v2"))
        #expect(v2.shape == [2, 3] && v2.scalars == NPYFixture.values(6))
        let v3 = try Tensor<Double>(contentsOfNPY: NPYFixture.url("float64_v3"))
        #expect(v3.shape == [2, 3] && v3.scalars == NPYFixture.values(6))
    }

    @Test func readsFortranOrderAsRowMajor() throws {
        // np.asfortranarray of the (2, 3) fixture: the same array, column-major on disk.
        let tensor = try Tensor<Float>(contentsOfNPY: NPYFixture.url("fortran_order"))
        #expect(tensor.shape == [2, 3] && tensor.scalars == NPYFixture.values(6))
    }

    @Test func refusesWhatATensorCannotHold() throws {
        func expectRefused<Scalar: BLASScalar>(_ name: String, as _: Scalar.Type, _ reason: String) throws {
            let url = try NPYFixture.url(name)
            #expect(throws: PerceptronError.invalidNPY(path: url.path, reason: reason)) {
                try Tensor<Scalar>(contentsOfNPY: url)
            }
        }
        try expectRefused("float64_rank2", as: Float.self, "file holds float64 ('<f8') but Tensor<Float> was requested")
        try expectRefused("float32_rank2", as: Double.self, "file holds float32 ('<f4') but Tensor<Double> was requested")
        try expectRefused(
            "big_endian", as: Float.self, "dtype '>f4' (big-endian) is not supported; expected '<f4' for Tensor<Float>")
        try expectRefused("int64", as: Double.self, "dtype '<i8' is not supported; expected '<f8' for Tensor<Double>")

        let error = #expect(throws: PerceptronError.self) {
            try Tensor<Float>(contentsOfNPY: NPYFixture.url("int64"))
        }
        #expect(error?.description.hasPrefix("cannot read '") == true)
        #expect(error?.description.hasSuffix("int64.npy' as .npy: dtype '<i8' is not supported; expected '<f4' for Tensor<Float>") == true)
    }
}

@Suite("NPY: round trips")
struct NPYRoundTripTests {
    static let shapes: [[Int]] = [[], [0], [1], [7], [2, 3], [0, 3], [3, 0], [2, 0, 4], [2, 3, 4], [2, 3, 4, 5], [1, 1, 1, 1]]

    @Test(arguments: shapes)
    func float32(_ shape: [Int]) throws { try roundTrip(Float.self, shape) }

    @Test(arguments: shapes)
    func float64(_ shape: [Int]) throws { try roundTrip(Double.self, shape) }

    func roundTrip<Scalar: BLASScalar>(_: Scalar.Type, _ shape: [Int]) throws {
        let specials: [Scalar] = [
            -0.0, 0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -1 / 3, .pi,
        ]
        let count = try Tensor<Scalar>.validatedCount(of: shape)
        let scalars = (0..<count).map { specials[$0 % specials.count] }
        let original = try Tensor<Scalar>(shape: shape, scalars: scalars)
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("x.npy")
            try original.writeNPY(to: url)
            let read = try Tensor<Scalar>(contentsOfNPY: url)
            #expect(read.shape == shape)
            #expect(read.scalarBytes == original.scalarBytes)
            // Aligned as numpy aligns: the data starts at a multiple of 64.
            let size = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
            #expect((size - count * MemoryLayout<Scalar>.size) % 64 == 0)
        }
    }

    @Test func headerOver64KiBUsesFormat2() throws {
        // 30 000 axes of 1 make a header of about 90 000 bytes, too long for a 2-byte length.
        let original = try Tensor<Double>(shape: Array(repeating: 1, count: 30_000), scalars: [-0.0])
        let data = original.npyData()
        #expect(data[6] == 2 && data[7] == 0)
        #expect((data.count - 8) % 64 == 0)
        let read = try Tensor<Double>(npyData: data)
        #expect(read.shape == original.shape && read.scalarBytes == original.scalarBytes)
    }

    @Test func acceptsHeaderVariantsPythonAccepts() throws {
        let variants = [
            "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}",
            "{'descr':'<f4','fortran_order':False,'shape':(2,3)}",
            " {\n\t'descr' : '<f4' ,\n 'fortran_order' : False ,\r\n 'shape' : ( 2 , 3 , ) ,\n}\u{0C}   \n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (+2, 3), }",
        ]
        for header in variants {
            let tensor = try Tensor<Float>(npyData: npyBytes(header))
            #expect(tensor.shape == [2, 3], "\(header)")
        }
        let oneTuple = try Tensor<Float>(npyData: npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6, ), }"))
        #expect(oneTuple.shape == [6])
        let scalar = try Tensor<Float>(
            npyData: npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", payload: [0, 0, 0x80, 0x3F]))
        #expect(scalar.shape == [] && scalar.scalars == [1])
        // Data that is a slice of a larger buffer (a nonzero startIndex) reads the same.
        let slice = (Data([1, 2, 3]) + npyBytes(validHeader)).dropFirst(3)
        #expect(try Tensor<Float>(npyData: slice).scalars == Array(repeating: 0, count: 6))
    }
}

@Suite("NPY: malformed input")
struct NPYMalformedTests {
    @Test func preamble() {
        expectInvalid(
            Data("\u{7F}ELF\u{2}\u{1}\u{1}\u{0}".utf8),
            "expected the magic string \\x93NUMPY (93 4E 55 4D 50 59) at the start, found 7F 45 4C 46 02 01")
        var wrongMagic = npyBytes(validHeader)
        wrongMagic[5] = UInt8(ascii: "X")
        expectInvalid(
            wrongMagic, "expected the magic string \\x93NUMPY (93 4E 55 4D 50 59) at the start, found 93 4E 55 4D 50 58")
        expectInvalid(Data(), "the file ends after 0 bytes, inside the 6-byte magic string")
        expectInvalid(Data([0x93, 0x4E, 0x55]), "the file ends after 3 bytes, inside the 6-byte magic string")
        expectInvalid(npyBytes(validHeader).prefix(7), "the file ends after 7 bytes, before the 2-byte format version")
        expectInvalid(
            npyBytes(validHeader).prefix(9), "the file ends after 9 bytes, inside the 2-byte header length of format 1.0")
        expectInvalid(
            npyBytes(validHeader, major: 2).prefix(11),
            "the file ends after 11 bytes, inside the 4-byte header length of format 2.0")
    }

    @Test func unsupportedVersions() {
        expectInvalid(
            npyBytes(validHeader, major: 4), "format version 4.0 is not supported; expected 1.0, 2.0 or 3.0")
        var minor = npyBytes(validHeader)
        minor[7] = 1
        expectInvalid(minor, "format version 1.1 is not supported; expected 1.0, 2.0 or 3.0")
        expectInvalid(npyBytes(validHeader, major: 0), "format version 0.0 is not supported; expected 1.0, 2.0 or 3.0")
    }

    @Test func lengthsThatDoNotMatchTheFile() {
        // Cut inside the header: the declared length runs past the end.
        expectInvalid(
            npyBytes(validHeader).prefix(50),
            "header length 60 runs past the end of the 50-byte file (the header would end at byte 70)")
        expectInvalid(
            npyBytes(validHeader, headerLength: 4096, payload: []).prefix(120),
            "header length 4096 runs past the end of the 70-byte file (the header would end at byte 4106)")
        expectInvalid(
            npyBytes(validHeader, major: 2, headerLength: Int(UInt32.max)),
            "header length 4294967295 runs past the end of the 96-byte file (the header would end at byte 4294967307)")
        expectInvalid(
            npyBytes(validHeader, payload: Array(repeating: 0, count: 20)),
            "shape (2, 3) of float32 needs exactly 24 bytes of data after the header, but the file has 20")
        expectInvalid(
            npyBytes(validHeader, payload: Array(repeating: 0, count: 28)),
            "shape (2, 3) of float32 needs exactly 24 bytes of data after the header, but the file has 28")
        expectInvalid(
            npyBytes(validHeader.replacingOccurrences(of: "f4", with: "f8")), as: Double.self,
            "shape (2, 3) of float64 needs exactly 48 bytes of data after the header, but the file has 24")
    }

    @Test func hugeShapesFailBeforeAllocating() {
        expectInvalid(
            npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"),
            "shape (4611686018427387904, 4) of float32 is too large: its byte count does not fit in Int")
        // 4·10¹⁸ bytes fits in Int: only the check against the file stops the allocation.
        expectInvalid(
            npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }", payload: []),
            "shape (1000000000, 1000000000) of float32 needs exactly 4000000000000000000 bytes of data "
                + "after the header, but the file has 0")
        expectInvalid(
            npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }"), as: Double.self,
            "integer 99999999999999999999 at byte 51 of the header does not fit in Int")
    }

    @Test func headerEncodings() {
        // Format 3.0 headers are UTF-8; 0xFF never occurs in UTF-8.
        var bytes = Array(validHeader.utf8)
        bytes[12] = 0xFF
        expectInvalid(npyBytes(bytes, major: 3), "the header is not valid UTF-8, which format 3.0 requires")
        // Formats 1.0 and 2.0 are Latin-1: the same byte is 'ÿ', read and reported as such.
        expectInvalid(
            npyBytes(bytes, major: 1), "dtype '<ÿ4' is not supported; expected '<f4' for Tensor<Float>")
        let accented = Array("{'descr': '<f4é', 'fortran_order': False, 'shape': (2, 3), }".utf8)
        expectInvalid(
            npyBytes(accented, major: 3), "dtype '<f4é' is not supported; expected '<f4' for Tensor<Float>")
    }

    @Test func malformedDictionaries() {
        func header(_ shape: String, descr: String = "'<f4'", order: String = "False") -> Data {
            npyBytes("{'descr': \(descr), 'fortran_order': \(order), 'shape': \(shape), }")
        }
        let keys = "expected exactly 'descr', 'fortran_order' and 'shape'"
        expectInvalid(npyBytes("{'descr': '<f4', 'shape': (2, 3), }"), "missing key 'fortran_order'; \(keys)")
        expectInvalid(
            npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': True}"),
            "unexpected key 'extra'; \(keys)")
        expectInvalid(
            npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'shape': (6,)}"),
            "key 'shape' appears more than once; \(keys)")
        expectInvalid(
            header("(2, -3)"), "'shape' (2, -3) has a negative dimension -3 at axis 1; dimensions must be ≥ 0")
        expectInvalid(header("(a,)"), "expected a decimal integer at byte 51 of the header, found 'a'")
        expectInvalid(header("(2, 3.0)"), "expected a decimal integer at byte 54 of the header, found '3.0'")
        expectInvalid(header("(2, 0x3)"), "expected a decimal integer at byte 54 of the header, found '0x3'")
        expectInvalid(
            header("(6)"),
            "expected ',' after the only entry of a 1-tuple (Python writes (6,)) at byte 52 of the header, found ')'")
        expectInvalid(header("(,)"), "expected a decimal integer at byte 51 of the header, found ','")
        expectInvalid(
            npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}"),
            "expected ',' or ')' in a tuple at byte 55 of the header, found '}'")
        expectInvalid(header("[2, 3]"), "expected a value (a quoted string, True, False or a tuple of integers) at byte 50 of the header, found '['")
        expectInvalid(header("True"), "'shape' must be a tuple of integers, but is True")
        expectInvalid(header("(2, 3)", descr: "(4,)"), "'descr' must be a dtype string such as '<f4', but is (4,)")
        expectInvalid(header("(2, 3)", order: "'no'"), "'fortran_order' must be True or False, but is 'no'")
        expectInvalid(header("(2, 3)", order: "Falsey"), "expected True or False at byte 34 of the header, found 'Falsey'")
        expectInvalid(header("(2, 3)", order: "0"), "expected a value (a quoted string, True, False or a tuple of integers) at byte 34 of the header, found '0'")
        expectInvalid(
            npyBytes("{'descr': '<f4}"),
            "the string that starts at byte 10 of the header has no closing quote before the end of the header")
        expectInvalid(
            npyBytes("{'descr': '<f4\n', 'fortran_order': False, 'shape': (2, 3), }"),
            "the string that starts at byte 10 of the header has no closing quote before byte 0xA")
        expectInvalid(
            header("(2, 3)", descr: "'<\\x66\\x34'"),
            "expected a plain string (escape sequences are not supported in headers) at byte 12 of the header, found '\\'")
        expectInvalid(
            npyBytes(validHeader + "x"), "expected only spaces and a newline after the closing '}' at byte 60 of the header, found 'x'")
        expectInvalid(npyBytes("{'descr': '<f4' 'fortran_order': False}"), "expected ',' or '}' after the value of 'descr' at byte 16 of the header, found '''")
        expectInvalid(npyBytes(""), "expected '{' opening the header dictionary at byte 0 of the header, found the end of the header")
        expectInvalid(npyBytes("[1]"), "expected '{' opening the header dictionary at byte 0 of the header, found '['")
        expectInvalid(npyBytes("{descr: '<f4'}"), "expected a quoted key or '}' at byte 1 of the header, found 'descr'")
    }

    @Test func descriptionNamesTheSource() {
        let error = PerceptronError.invalidNPY(path: "<data>", reason: "format version 4.0 is not supported; expected 1.0, 2.0 or 3.0")
        #expect(error.description == "cannot read '<data>' as .npy: format version 4.0 is not supported; expected 1.0, 2.0 or 3.0")
    }

    /// Every prefix of a valid file, and thousands of corrupted copies, either
    /// read or throw `.invalidNPY`: no byte sequence may crash the reader.
    @Test func arbitraryBytesNeverCrash() throws {
        let valid = try Tensor<Float>(shape: [2, 3], scalars: NPYFixture.values(6)).npyData()
        for length in 0..<valid.count {
            #expect(throws: PerceptronError.self) { try Tensor<Float>(npyData: valid.prefix(length)) }
        }
        var generator = SeededRandomNumberGenerator(seed: 7)
        var decoded = 0
        for _ in 0..<5_000 {
            var corrupted = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                // Mostly inside the preamble, where the structure is.
                let position = Int.random(in: 0..<(Bool.random(using: &generator) ? 80 : corrupted.count), using: &generator)
                corrupted[position] = UInt8.random(in: .min ... .max, using: &generator)
            }
            do {
                _ = try Tensor<Float>(npyData: corrupted)
                decoded += 1
            } catch {
                guard case .invalidNPY(path: "<data>", _) = error else {
                    Issue.record("unexpected error \(error)")
                    continue
                }
            }
        }
        // Some corruptions (of data bytes or padding) leave a valid file; most do not.
        #expect(decoded > 0 && decoded < 5_000)
    }
}

@Suite("NPY: files and atomic writes")
struct NPYFileTests {
    @Test func fileErrorsNameThePath() throws {
        try withTemporaryDirectory { directory in
            let missing = directory.appendingPathComponent("missing.npy")
            let error = #expect(throws: PerceptronError.self) { try Tensor<Float>(contentsOfNPY: missing) }
            #expect(error == .fileError(path: missing.path, operation: "open", reason: "No such file or directory (errno 2)"))
            #expect(error?.description == "could not open '\(missing.path)': No such file or directory (errno 2)")

            #expect(throws: PerceptronError.fileError(path: directory.path, operation: "read", reason: "Is a directory (errno 21)")) {
                try Tensor<Float>(contentsOfNPY: directory)
            }
            let web = try #require(URL(string: "https://example.com/x.npy"))
            #expect(throws: PerceptronError.fileError(path: web.absoluteString, operation: "open", reason: "it is not a file URL")) {
                try Tensor<Float>(contentsOfNPY: web)
            }
        }
    }

    @Test func writingIntoAMissingDirectoryFails() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("no-such-folder/x.npy")
            let error = #expect(throws: PerceptronError.self) { try Tensor<Float>(shape: [2]).writeNPY(to: url) }
            #expect(error == .fileError(
                path: url.path, operation: "create a temporary file to write", reason: "No such file or directory (errno 2)"))
            #expect(error?.description == "could not create a temporary file to write '\(url.path)': No such file or directory (errno 2)")
        }
    }

    @Test func writeReplacesAndLeavesNothingBehind() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("weights.npy")
            try Tensor<Float>(shape: [1000], repeating: 1).writeNPY(to: url)
            let smaller = try Tensor<Float>(shape: [2], scalars: [3, 4])
            try smaller.writeNPY(to: url)
            #expect(try Tensor<Float>(contentsOfNPY: url).scalars == [3, 4])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["weights.npy"])
        }
    }

    @Test func failedWriteKeepsThePreviousFile() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("weights.npy")
            let previous = Data("previous contents".utf8)
            try previous.write(to: url)
            var calls = 0
            // A short write, an interruption, then a full disk.
            let error = #expect(throws: PerceptronError.self) {
                try writeAtomically(Data(repeating: 7, count: 1000), to: url) { descriptor, bytes, count in
                    calls += 1
                    switch calls {
                    case 1: return write(descriptor, bytes, min(count, 100))
                    case 2: errno = EINTR; return -1
                    default: errno = ENOSPC; return -1
                    }
                }
            }
            #expect(error == .fileError(path: url.path, operation: "write", reason: "No space left on device (errno 28)"))
            #expect(calls == 3)
            #expect(try Data(contentsOf: url) == previous)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["weights.npy"])
        }
    }

    @Test func shortWritesAndInterruptionsStillWriteEverything() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("x.bin")
            let data = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) })
            var calls = 0
            try writeAtomically(data, to: url) { descriptor, bytes, count in
                calls += 1
                if calls % 3 == 0 { errno = EINTR; return -1 }
                return write(descriptor, bytes, min(count, 37))
            }
            #expect(try Data(contentsOf: url) == data)
            #expect(calls > 27 * 3 / 2)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["x.bin"])
        }
    }

    @Test func writeThatMakesNoProgressFails() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("x.bin")
            #expect(throws: PerceptronError.fileError(
                path: url.path, operation: "write", reason: "write(2) reported 0 bytes written of 10 requested")) {
                try writeAtomically(Data(count: 10), to: url) { _, _, _ in 0 }
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(left.isEmpty)
        }
    }

    @Test func renameOverADirectoryFailsCleanly() throws {
        try withTemporaryDirectory { directory in
            let target = directory.appendingPathComponent("taken")
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
            #expect(throws: PerceptronError.fileError(
                path: target.path, operation: "rename the temporary file over", reason: "Is a directory (errno 21)")) {
                try Tensor<Double>(shape: [3]).writeNPY(to: target)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["taken"])
        }
    }
}
