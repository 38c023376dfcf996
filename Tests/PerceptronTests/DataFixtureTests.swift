import Foundation
@testable import Perceptron
import Testing

/// The files `Fixtures/data/make_data_fixtures.py` writes with numpy.
enum DataFixtures {
    static func url(_ name: String, _ ext: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures/data"))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ name: String) -> T? {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/data"),
              let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }
}

/// One case of `standardizer.json`: scikit-learn's `StandardScaler` statistics by its formulas.
struct StandardizerFixture: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var dtype: String
    var shape: [Int]
    var x: [Double], mean: [Double], scale: [Double], transformed: [Double]
    var testDescription: String { name }

    static let all: [StandardizerFixture] = {
        struct Document: Decodable { var cases: [StandardizerFixture] }
        return DataFixtures.decode(Document.self, "standardizer")?.cases ?? []
    }()
}

/// One case of `orders.json`: the first row orders of a seed, computed in Python.
struct OrderFixture: Decodable, Sendable, CustomTestStringConvertible {
    var seed: UInt64
    var rows: Int
    var orders: [[Int]]
    var testDescription: String { "seed \(seed), \(rows) rows" }

    static let all: [OrderFixture] = {
        struct Document: Decodable { var cases: [OrderFixture] }
        return DataFixtures.decode(Document.self, "orders")?.cases ?? []
    }()
}

/// One entry of `labels.json`: a label file and the values numpy wrote to it.
struct LabelFixture: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var descr: String
    var values: [Int]
    var testDescription: String { "\(name) ('\(descr)')" }

    static let all: [LabelFixture] = {
        struct Document: Decodable { var files: [LabelFixture] }
        return DataFixtures.decode(Document.self, "labels")?.files ?? []
    }()
}

@Suite("Data against numpy fixtures")
struct DataFixtureTests {
    @Test func fixturesArePresent() {
        // Guards the parameterised tests below from passing vacuously.
        let files = Bundle.module.urls(forResourcesWithExtension: "npy", subdirectory: "Fixtures/data") ?? []
        #expect(files.count == 23)
        #expect(StandardizerFixture.all.count == 10)
        #expect(OrderFixture.all.count == 5)
        #expect(LabelFixture.all.count == 9)
    }

    // MARK: MiniBatches

    @Test(arguments: OrderFixture.all)
    func shuffledOrdersMatchAnIndependentImplementation(_ fixture: OrderFixture) throws {
        let features = try Tensor<Float>(shape: [fixture.rows, 1], scalars: (0..<fixture.rows).map(Float.init))
        let batches = try MiniBatches(
            features: features, labels: Array(0..<fixture.rows), batchSize: 7, seed: fixture.seed)
        for expected in fixture.orders {
            let order = batches.flatMap(\.labels)
            #expect(order == expected)
        }
    }

    // MARK: Standardizer

    @Test(arguments: StandardizerFixture.all)
    func standardizerMatchesStandardScaler(_ fixture: StandardizerFixture) throws {
        switch fixture.dtype {
        case "float32": try check(Float.self, fixture)
        case "float64": try check(Double.self, fixture)
        default: Issue.record("unknown dtype \(fixture.dtype)")
        }
    }

    func check<Scalar: BLASScalar>(_: Scalar.Type, _ c: StandardizerFixture) throws {
        // The inputs are exact in their dtype.
        let x = try Tensor<Scalar>(shape: c.shape, scalars: c.x.map { Scalar($0) })
        let scaler = try Standardizer(fitting: x)
        #expect(scaler.mean.shape == [c.mean.count] && scaler.scale.shape == [c.scale.count])
        let epsilon = Double(Scalar.ulpOfOne)
        let rows = Double(c.x.count / c.mean.count)
        for (column, (got, expected)) in zip(scaler.mean.scalars, c.mean).enumerated() {
            // Rounded once to Scalar, after summing in a different order than numpy's pairwise sum.
            let spread = c.scale[column] + abs(expected)
            #expect(abs(Double(got) - expected) <= epsilon * abs(expected) + 4 * rows * Double.ulpOfOne * spread,
                    "mean[\(column)]: \(got) against \(expected)")
        }
        for (column, (got, expected)) in zip(scaler.scale.scalars, c.scale).enumerated() {
            if expected == 1 {
                #expect(got == 1, "scale[\(column)] of a constant column must be exactly 1, not \(got)")
            } else {
                let bound = epsilon * expected + 4 * rows * Double.ulpOfOne * expected
                #expect(abs(Double(got) - expected) <= bound, "scale[\(column)]: \(got) against \(expected)")
            }
        }
        let y = try scaler.transform(x)
        #expect(y.shape == c.shape)
        let columns = c.mean.count
        for (index, (got, expected)) in zip(y.scalars, c.transformed).enumerated() {
            let column = index % columns
            // One subtraction and one division in Scalar, from the statistics rounded to Scalar.
            let bound = 4 * epsilon * ((abs(c.x[index]) + abs(c.mean[column])) / c.scale[column] + abs(expected))
            #expect(abs(Double(got) - expected) <= bound, "x[\(index)]: \(got) against \(expected)")
        }
        let back = try scaler.inverseTransform(y)
        for (index, (got, original)) in zip(back.scalars, c.x).enumerated() {
            let column = index % columns
            let bound = 8 * epsilon * (abs(original) + abs(c.mean[column]))
            #expect(abs(Double(got) - original) <= bound, "inverse of x[\(index)]: \(got) against \(original)")
        }
    }

    // MARK: Integer labels

    @Test(arguments: LabelFixture.all)
    func readsLabelsOfEachDtype(_ fixture: LabelFixture) throws {
        let labels = try [Int](contentsOfNPY: DataFixtures.url(fixture.name, "npy"))
        #expect(labels == fixture.values)
    }

    @Test func refusesLabelFilesItCannotTakeNamingExpectedAndActual() throws {
        let integers = "'<i8', '<i4', '<i2', '|i1', '|u1', '<u2', '<u4' or '<u8'"
        let refusals = [
            ("labels_uint64_overflow", "value 9223372036854775808 at index 1 of the uint64 labels does not fit in Int (at most 9223372036854775807)"),
            ("labels_big_endian", "dtype '>i4' (big-endian) is not supported for labels; expected a little-endian integer dtype: \(integers)"),
            ("labels_float32", "dtype '<f4' (float32) is not supported for labels; expected a little-endian integer dtype: \(integers)"),
            ("labels_bool", "dtype '|b1' (bool) is not supported for labels; expected a little-endian integer dtype: \(integers)"),
            ("labels_rank0", "labels must be a vector (n,) or a column (n, 1), but the shape is ()"),
            ("labels_matrix", "labels must be a vector (n,) or a column (n, 1), but the shape is (2, 3)"),
        ]
        for (name, reason) in refusals {
            let url = try DataFixtures.url(name, "npy")
            let error = #expect(throws: PerceptronError.self) { try [Int](contentsOfNPY: url) }
            #expect(error == .invalidNPY(path: url.path, reason: reason))
            #expect(error?.description == "cannot read '\(url.path)' as .npy: \(reason)")
        }
    }

    // MARK: Fortran order

    @Test(arguments: ["float32_rank2", "float32_rank3", "float64_rank2", "float64_rank3"])
    func fortranOrderFilesEqualTheirCOrderTwins(_ name: String) throws {
        if name.hasPrefix("float32") { try compareTwins(Float.self, name) } else { try compareTwins(Double.self, name) }
    }

    func compareTwins<Scalar: BLASScalar>(_: Scalar.Type, _ name: String) throws {
        let fortranURL = try DataFixtures.url("fortran_\(name)", "npy")
        // The file really is column-major on disk.
        let head = try String(decoding: Data(contentsOf: fortranURL).prefix(128), as: UTF8.self)
        #expect(head.contains("'fortran_order': True"))
        let fortran = try Tensor<Scalar>(contentsOfNPY: fortranURL)
        let c = try Tensor<Scalar>(contentsOfNPY: DataFixtures.url("c_\(name)", "npy"))
        #expect(fortran.shape == c.shape)
        #expect(fortran.scalarBytes == c.scalarBytes)
        #expect(c.scalars == NPYFixture.values(c.count))
        // Written back, it is C order: byte for byte what np.save wrote for the twin.
        #expect(fortran.npyData() == (try Data(contentsOf: DataFixtures.url("c_\(name)", "npy"))))
    }
}
