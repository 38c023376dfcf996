import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import Perceptron
import Testing

// MARK: - Fixtures

/// What `Fixtures/safetensors/expected.json` says one fixture file holds:
/// its metadata, and each tensor's dtype, shape and values in float64.
struct ExpectedSafeTensorsFile: Decodable, Sendable {
    struct Tensor: Decodable, Sendable {
        var dtype: String
        var shape: [Int]
        var values: [ExpectedValue]
    }

    var metadata: [String: String]
    var tensors: [String: Tensor]
}

/// A float64 value of the expected file: a JSON number, or one of the
/// strings "inf", "-inf" and "nan", which JSON has no numbers for.
struct ExpectedValue: Decodable, Sendable {
    var value: Double

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            value = number
            return
        }
        switch try container.decode(String.self) {
        case "inf": value = .infinity
        case "-inf": value = -.infinity
        case "nan": value = .nan
        case let other:
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unexpected value \(other)")
        }
    }
}

/// One file that `Fixtures/safetensors/make_safetensors_fixtures.py` writes
/// with the `safetensors` package.
struct SafeTensorsFixture: Sendable, CustomTestStringConvertible {
    var file: String

    var testDescription: String { file }

    static let all = [
        "float32", "float64", "float16", "bfloat16", "mixed", "no_tensors",
    ].map { SafeTensorsFixture(file: "\($0).safetensors") }

    static func url(_ file: String) throws -> URL {
        let name = (file as NSString).deletingPathExtension
        let ext = (file as NSString).pathExtension
        return try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures/safetensors"))
    }

    /// The decoded `expected.json`, by file name.
    static func expectations() throws -> [String: ExpectedSafeTensorsFile] {
        try JSONDecoder().decode([String: ExpectedSafeTensorsFile].self, from: Data(contentsOf: url("expected.json")))
    }

    var url: URL { get throws { try Self.url(file) } }

    var expected: ExpectedSafeTensorsFile {
        get throws { try #require(try Self.expectations()[file], "expected.json has no entry for \(file)") }
    }
}

/// Whether `a` and `b` are the same scalar bit for bit, or both NaN (whose
/// payload a conversion need not keep).
func sameScalar<Scalar: BLASScalar>(_ a: Scalar, _ b: Scalar) -> Bool {
    (a.isNaN && b.isNaN) || (a == b && a.sign == b.sign)
}

@Suite("safetensors: reading the safetensors package's files")
struct SafeTensorsFixtureTests {
    @Test func fixturesArePresent() throws {
        // Guards the parameterised tests below from passing vacuously.
        let files = Bundle.module.urls(forResourcesWithExtension: "safetensors", subdirectory: "Fixtures/safetensors") ?? []
        #expect(files.count == SafeTensorsFixture.all.count)
        let expected = try SafeTensorsFixture.expectations()
        #expect(Set(expected.keys) == Set(SafeTensorsFixture.all.map(\.file)))
        // Six tensors in each of the four one-dtype files, three in the mixed one.
        let tensorCount: Int = expected.values.map(\.tensors.count).reduce(0, +)
        #expect(tensorCount == 27)
        // 1 + 5 + 6 + 24 + 12 values in each of those four, 2 + 3 + 4 in the mixed one.
        let valueCount: Int = expected.values.flatMap(\.tensors.values).map(\.values.count).reduce(0, +)
        #expect(valueCount == 201)
    }

    /// Every dtype read as `Double` is exact: F16, BF16 and F32 widen without
    /// rounding, and F64 is F64.
    @Test(arguments: SafeTensorsFixture.all)
    func readsAsDouble(_ fixture: SafeTensorsFixture) throws {
        let expected = try fixture.expected
        let file = try SafeTensors<Double>(contentsOf: fixture.url)
        try check(file, expected) { $0 }
    }

    /// Read as `Float`, F16, BF16 and F32 are exact, and F64 rounds to
    /// nearest: each value is `Float(value)`.
    @Test(arguments: SafeTensorsFixture.all)
    func readsAsFloat(_ fixture: SafeTensorsFixture) throws {
        let expected = try fixture.expected
        let file = try SafeTensors<Float>(contentsOf: fixture.url)
        try check(file, expected) { Float($0) }
    }

    func check<Scalar: BLASScalar>(
        _ file: SafeTensors<Scalar>, _ expected: ExpectedSafeTensorsFile, _ convert: (Double) -> Scalar
    ) throws {
        #expect(file.metadata == expected.metadata)
        #expect(Set(file.tensors.keys) == Set(expected.tensors.keys))
        for (name, tensor) in expected.tensors {
            let read = try #require(file.tensors[name], "missing tensor \(name)")
            #expect(read.shape == tensor.shape, "\(name)")
            let values = tensor.values.map { convert($0.value) }
            #expect(read.count == values.count, "\(name)")
            for (index, (got, want)) in zip(read.scalars, values).enumerated() {
                #expect(sameScalar(got, want), "\(name)[\(index)] (\(tensor.dtype)): \(got) instead of \(want)")
            }
        }
    }

    @Test func f64ReadAsFloatRoundsToNearest() throws {
        let file = try SafeTensors<Float>(contentsOf: SafeTensorsFixture.url("float64.safetensors"))
        let specials = try #require(file.tensors["specials"]).scalars
        // The largest Double overflows to infinity, its subnormals to zero (of their sign).
        #expect(specials[5] == .infinity)
        #expect(specials[7] == 0 && specials[7].sign == .plus && specials[9] == 0 && specials[9].sign == .minus)
        #expect(specials[10] == Float(-1.0 / 3.0))
        #expect(Double(specials[10]) != -1.0 / 3.0)
    }

    @Test func readsMetadata() throws {
        let f32 = try SafeTensors<Float>(contentsOf: SafeTensorsFixture.url("float32.safetensors"))
        #expect(f32.metadata == ["note": "ünïcödé \"quoted\" back\\slash\n\ttab/slash\u{01}\u{1F}\u{7F} 😀"])
        let f16 = try SafeTensors<Float>(contentsOf: SafeTensorsFixture.url("float16.safetensors"))
        #expect(f16.metadata == ["format": "np", "producer": "make_safetensors_fixtures.py", "empty": ""])
        let none = try SafeTensors<Double>(contentsOf: SafeTensorsFixture.url("no_tensors.safetensors"))
        #expect(none.metadata.isEmpty && none.tensors.isEmpty)
    }

    @Test func readReturnsTheTensors() throws {
        let tensors = try SafeTensors<Float>.read(from: SafeTensorsFixture.url("mixed.safetensors"))
        #expect(tensors.keys.sorted() == ["a_f16", "m_f32", "z_f64"])
        #expect(tensors["a_f16"]?.shape == [2, 2])
        #expect(tensors["a_f16"]?.scalars == [0.333251953125, -2.5, 5.9604645e-08, 65504])
    }

    /// What we write is what the safetensors package wrote, byte for byte:
    /// the same JSON (escapes included), order, padding and data.
    @Test(arguments: ["float32.safetensors", "float64.safetensors", "no_tensors.safetensors"])
    func writesTheReferenceBytes(_ name: String) throws {
        let url = try SafeTensorsFixture.url(name)
        let original = try Data(contentsOf: url)
        if name.hasPrefix("float64") {
            #expect(try SafeTensors<Double>(contentsOf: url).safeTensorsData() == original)
        } else {
            #expect(try SafeTensors<Float>(contentsOf: url).safeTensorsData() == original)
        }
    }
}

// MARK: - Round trips

@Suite("safetensors: round trips")
struct SafeTensorsRoundTripTests {
    static let shapes: [[Int]] = [[], [0], [1], [7], [2, 3], [0, 3], [3, 0], [2, 0, 4], [2, 3, 4], [2, 3, 4, 5], [1, 1, 1, 1]]

    static func tensors<Scalar: BLASScalar>(_: Scalar.Type) throws -> [String: Tensor<Scalar>] {
        let specials: [Scalar] = [
            -0.0, 0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .leastNormalMagnitude,
            .greatestFiniteMagnitude, -1 / 3, .pi, -.leastNonzeroMagnitude,
        ]
        var tensors: [String: Tensor<Scalar>] = [:]
        for (index, shape) in shapes.enumerated() {
            let count = try Tensor<Scalar>.validatedCount(of: shape)
            let scalars = (0..<count).map { specials[($0 + index) % specials.count] }
            tensors["t\(index)"] = try Tensor<Scalar>(shape: shape, scalars: scalars)
        }
        // Names that need JSON escapes, non-ASCII, and the empty name.
        tensors["layer.0.weight"] = try Tensor<Scalar>(shape: [2], scalars: [1, 2])
        tensors["quote\"back\\slash\n\t\u{01}/"] = try Tensor<Scalar>(shape: [1], scalars: [3])
        tensors["ünï😀"] = try Tensor<Scalar>(shape: [], scalars: [4])
        tensors[""] = try Tensor<Scalar>(shape: [0], scalars: [])
        return tensors
    }

    static let metadata = ["format": "pt", "": "empty key", "note": "ü \"q\" \\ \n\u{00}\u{1F}\u{7F}", "empty": ""]

    @Test func float32() throws { try roundTrip(Float.self) }

    @Test func float64() throws { try roundTrip(Double.self) }

    func roundTrip<Scalar: BLASScalar>(_: Scalar.Type) throws {
        let original = SafeTensors(tensors: try Self.tensors(Scalar.self), metadata: Self.metadata)
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("x.safetensors")
            try original.write(to: url)
            let read = try SafeTensors<Scalar>(contentsOf: url)
            #expect(read.metadata == original.metadata)
            #expect(Set(read.tensors.keys) == Set(original.tensors.keys))
            for (name, tensor) in original.tensors {
                #expect(read.tensors[name]?.shape == tensor.shape, "\(name)")
                #expect(read.tensors[name]?.scalarBytes == tensor.scalarBytes, "\(name)")
            }
            // Aligned as the reference aligns: the header is padded to a multiple of 8.
            let data = try Data(contentsOf: url)
            let headerLength = data.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
            #expect(headerLength % 8 == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["x.safetensors"])
        }
    }

    /// The writer sorts tensors by name (their UTF-8 bytes) and lays their
    /// data out contiguously in that order, F32 for Float and F64 for Double.
    @Test func writesSortedContiguousF32AndF64() throws {
        let tensors: [String: Tensor<Double>] = [
            "b": try Tensor(shape: [2], scalars: [1, 2]), "a": try Tensor(shape: [1], scalars: [3]),
            "é": try Tensor(shape: [0], scalars: []), "B": try Tensor(shape: [], scalars: [4]),
        ]
        let data = try SafeTensors(tensors: tensors).safeTensorsData()
        let header = String(decoding: data.dropFirst(8).prefix(data.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }), as: UTF8.self)
        #expect(header == """
            {"B":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"a":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},\
            "b":{"dtype":"F64","shape":[2],"data_offsets":[16,32]},"é":{"dtype":"F64","shape":[0],"data_offsets":[32,32]}}\
            \(String(repeating: " ", count: 6))
            """)
        let asFloat = try SafeTensors(tensors: ["x": try Tensor<Float>(shape: [1], scalars: [1])], metadata: ["k": "v"])
            .safeTensorsData()
        let expected = "{\"__metadata__\":{\"k\":\"v\"},\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
        // 79 bytes of JSON, padded with 1 space to 80.
        #expect(asFloat.count == 8 + 80 + 4)
        #expect(asFloat.prefix(8) == Data([80, 0, 0, 0, 0, 0, 0, 0]))
        #expect(String(decoding: asFloat.dropFirst(8).prefix(expected.utf8.count), as: UTF8.self) == expected)
        #expect(Array(asFloat.suffix(4)) == [0, 0, 0x80, 0x3F])
    }

    @Test func writeRefusesATensorNamedMetadata() throws {
        let file = SafeTensors(tensors: ["__metadata__": try Tensor<Float>(shape: [1], scalars: [1])])
        let error = #expect(throws: PerceptronError.self) { try file.safeTensorsData() }
        #expect(error?.description
            == "a tensor name must be other than \"__metadata__\", the key safetensors reserves for metadata, but is \"__metadata__\"")
    }

    /// Writes, for `check_written.py` (run by hand, see below), files with
    /// values the script recomputes: into `$PERCEPTRON_SAFETENSORS_CHECK_DIR`
    /// when it is set, else into a temporary directory, where this test only
    /// reads them back.
    ///
    ///     PERCEPTRON_SAFETENSORS_CHECK_DIR=/tmp/st swift test --filter writesFilesForThePythonCheck
    ///     python3 Tests/PerceptronTests/Fixtures/safetensors/check_written.py /tmp/st
    @Test func writesFilesForThePythonCheck() throws {
        func write(into directory: URL) throws {
            try SafeTensors(tensors: try Self.formulaTensors(Float.self), metadata: ["format": "pt"])
                .write(to: directory.appendingPathComponent("written_float32.safetensors"))
            try SafeTensors(tensors: try Self.formulaTensors(Double.self), metadata: ["format": "pt"])
                .write(to: directory.appendingPathComponent("written_float64.safetensors"))
            try SafeTensors(tensors: try Self.tensors(Float.self), metadata: Self.metadata)
                .write(to: directory.appendingPathComponent("written_names.safetensors"))
            let read = try SafeTensors<Float>(contentsOf: directory.appendingPathComponent("written_float32.safetensors"))
            #expect(read.tensors.count == 6 && read.metadata == ["format": "pt"])
        }
        if let path = ProcessInfo.processInfo.environment["PERCEPTRON_SAFETENSORS_CHECK_DIR"] {
            let directory = URL(fileURLWithPath: path, isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try write(into: directory)
        } else {
            try withTemporaryDirectory { try write(into: $0) }
        }
    }

    /// The tensors of the fixture script's formula and specials, as
    /// `check_written.py` recomputes them with numpy.
    static func formulaTensors<Scalar: BLASScalar>(_: Scalar.Type) throws -> [String: Tensor<Scalar>] {
        let shapes = ["rank0": [], "rank1": [5], "rank2": [2, 3], "rank3": [2, 3, 4], "empty": [0, 3]]
        var tensors: [String: Tensor<Scalar>] = [:]
        for (name, shape) in shapes {
            let count = try Tensor<Scalar>.validatedCount(of: shape)
            tensors[name] = try Tensor(shape: shape, scalars: NPYFixture.values(count))
        }
        tensors["specials"] = try Tensor(shape: [10], scalars: [
            .infinity, -.infinity, .nan, -0.0, 0, .greatestFiniteMagnitude, .leastNormalMagnitude,
            .leastNonzeroMagnitude, Scalar(-1.0 / 3.0), Scalar(Double.pi),
        ])
        return tensors
    }
}

// MARK: - Files and atomic writes

@Suite("safetensors: files and atomic writes")
struct SafeTensorsFileTests {
    /// A small file's contents, written before a write that fails.
    static var previous: SafeTensors<Float> {
        SafeTensors(tensors: ["w": Tensor<Float>(shape: [3], repeating: 2)])
    }

    @Test func fileErrorsNameThePath() throws {
        try withTemporaryDirectory { directory in
            let missing = directory.appendingPathComponent("missing.safetensors")
            #expect(throws: PerceptronError.fileError(path: missing.path, operation: "open", reason: "No such file or directory (errno 2)")) {
                try SafeTensors<Float>(contentsOf: missing)
            }
            let web = try #require(URL(string: "https://example.com/x.safetensors"))
            #expect(throws: PerceptronError.fileError(path: web.absoluteString, operation: "open", reason: "it is not a file URL")) {
                try SafeTensors<Float>.read(from: web)
            }
            // A malformed file names its path.
            let bad = directory.appendingPathComponent("bad.safetensors")
            try Data([1, 2, 3]).write(to: bad)
            let error = #expect(throws: PerceptronError.self) { try SafeTensors<Float>(contentsOf: bad) }
            #expect(error == .invalidSafeTensors(path: bad.path, reason: "the file ends after 3 bytes, inside the 8-byte header length"))
            #expect(error?.description == "cannot read '\(bad.path)' as safetensors: the file ends after 3 bytes, inside the 8-byte header length")
        }
    }

    /// A write that fails midway (a short write, then a full disk) leaves
    /// the previous file as it was, and no temporary file behind.
    @Test func failedWriteKeepsThePreviousFile() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try Self.previous.write(to: url)
            let before = try Data(contentsOf: url)
            let replacement = SafeTensors(tensors: ["w": Tensor<Float>(shape: [1000], repeating: 7)])
            var calls = 0
            let error = #expect(throws: PerceptronError.self) {
                // write(to:) is exactly this, with the system's write(2).
                try writeAtomically(replacement.safeTensorsData(), to: url) { descriptor, bytes, count in
                    calls += 1
                    if calls == 1 { return write(descriptor, bytes, min(count, 100)) }
                    errno = ENOSPC
                    return -1
                }
            }
            #expect(error == .fileError(path: url.path, operation: "write", reason: "No space left on device (errno 28)"))
            #expect(try Data(contentsOf: url) == before)
            #expect(try SafeTensors<Float>(contentsOf: url).tensors["w"]?.scalars == [2, 2, 2])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
        }
    }

    @Test func writingIntoAMissingDirectoryFails() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("no-such-folder/model.safetensors")
            #expect(throws: PerceptronError.fileError(
                path: url.path, operation: "create a temporary file to write", reason: "No such file or directory (errno 2)")) {
                try Self.previous.write(to: url)
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(left.isEmpty)
        }
    }

    /// A directory where the file should go, and a name longer than the file
    /// system allows: the rename fails, and what was there stays.
    @Test func failedRenameLeavesEverythingAsItWas() throws {
        try withTemporaryDirectory { directory in
            let taken = directory.appendingPathComponent("taken")
            try FileManager.default.createDirectory(at: taken, withIntermediateDirectories: false)
            try Data("inside".utf8).write(to: taken.appendingPathComponent("file"))
            #expect(throws: PerceptronError.fileError(
                path: taken.path, operation: "rename the temporary file over", reason: "Is a directory (errno 21)")) {
                try Self.previous.write(to: taken)
            }
            #expect(try Data(contentsOf: taken.appendingPathComponent("file")) == Data("inside".utf8))

            let long = directory.appendingPathComponent(String(repeating: "n", count: 300) + ".safetensors")
            #expect(throws: PerceptronError.fileError(
                path: long.path, operation: "rename the temporary file over", reason: "File name too long (errno 36)")) {
                try Self.previous.write(to: long)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["taken"])
        }
    }

    /// Permissions stop everyone but root, who is refused nothing: skipped then.
    @Test(.enabled(if: geteuid() != 0, "root may write into a read-only directory"))
    func writingIntoAReadOnlyDirectoryKeepsThePreviousFile() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try Self.previous.write(to: url)
            let before = try Data(contentsOf: url)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: directory.path)
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path) }
            #expect(throws: PerceptronError.fileError(
                path: url.path, operation: "create a temporary file to write", reason: "Permission denied (errno 13)")) {
                try SafeTensors(tensors: ["w": Tensor<Float>(shape: [2])]).write(to: url)
            }
            #expect(try Data(contentsOf: url) == before)
        }
    }
}
