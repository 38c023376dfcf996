import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

/// One case of `Fixtures/linear.json`, written by `make_linear_fixtures.py` with numpy.
struct LinearFixture: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var dtype: String
    var input_shape: [Int]
    var output_shape: [Int]
    var x: [Double], w: [Double], b: [Double]?, g: [Double]
    var z: [Double], z_magnitude: [Double]
    var dw: [Double], dw_magnitude: [Double]
    var db: [Double], db_magnitude: [Double]
    var dx: [Double], dx_magnitude: [Double]

    var testDescription: String { "\(name) (\(dtype))" }
    var f: Int { input_shape.last! }
    var m: Int { output_shape.last! }
    var rows: Int { x.count / max(f, 1) }

    static let all: [LinearFixture] = {
        struct Document: Decodable { var cases: [LinearFixture] }
        guard let url = Bundle.module.url(forResource: "linear", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url),
              let document = try? JSONDecoder().decode(Document.self, from: data)
        else { return [] }
        return document.cases
    }()
}

@Suite("Linear against numpy fixtures")
struct FixtureTests {
    @Test func fixturesArePresent() {
        // Guards the parameterised test below from passing vacuously.
        #expect(LinearFixture.all.count == 9)
    }

    @Test(arguments: LinearFixture.all)
    func matchesNumpy(_ fixture: LinearFixture) throws {
        switch fixture.dtype {
        case "float32": try check(Float.self, fixture)
        case "float64": try check(Double.self, fixture)
        default: Issue.record("unknown dtype \(fixture.dtype)")
        }
    }

    func check<Scalar: BLASScalar>(_: Scalar.Type, _ c: LinearFixture) throws {
        func tensor(_ values: [Double], _ shape: [Int]) throws -> Tensor<Scalar> {
            // The fixture's values are exact in its dtype, so this conversion is exact.
            try Tensor(shape: shape, scalars: values.map { Scalar($0) })
        }
        let layer = try Linear(weight: tensor(c.w, [c.f, c.m]), bias: c.b.map { try tensor($0, [c.m]) })
        let z = try layer(tensor(c.x, c.input_shape))
        #expect(z.shape == c.output_shape)
        expectMatches(z, Reference(shape: c.output_shape, values: c.z, magnitudes: c.z_magnitude, terms: c.f + 1), "Z")

        let dx = try layer.backward(tensor(c.g, c.output_shape))
        #expect(dx.shape == c.input_shape)
        expectMatches(dx, Reference(shape: c.input_shape, values: c.dx, magnitudes: c.dx_magnitude, terms: c.m), "∇X")
        expectMatches(
            layer.weightGradient,
            Reference(shape: [c.f, c.m], values: c.dw, magnitudes: c.dw_magnitude, terms: c.rows), "∇W")
        if c.b != nil {
            expectMatches(
                try #require(layer.biasGradient),
                Reference(shape: [c.m], values: c.db, magnitudes: c.db_magnitude, terms: c.rows), "∇b")
        }
    }
}
