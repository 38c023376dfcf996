import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

/// `Fixtures/layers/layers.json`, written by `make_layer_fixtures.py` with numpy
/// from PyTorch's documented formulas, in float64.
struct LayerFixtures: Decodable, Sendable {
    struct LayerNormCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String, dtype: String, shape: [Int], affine: Bool, epsilon: Double
        var x: [Double], weight: [Double]?, bias: [Double]?, g: [Double]
        var y: [Double], y_magnitude: [Double]
        var dx: [Double], dx_magnitude: [Double]
        var dweight: [Double]?, dweight_magnitude: [Double]
        var dbias: [Double]?, dbias_magnitude: [Double]
        var testDescription: String { "\(name) \(shape) (\(dtype))" }
    }

    struct ElementwiseCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String, dtype: String, shape: [Int]
        var x: [Double], g: [Double]
        var y: [Double], y_magnitude: [Double]
        var dx: [Double], dx_magnitude: [Double]
        var testDescription: String { "\(name) \(shape) (\(dtype))" }
    }

    struct BCECase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String, dtype: String, shape: [Int]
        var z: [Double], t: [Double]
        var loss: Double, loss_magnitude: Double
        var dz: [Double], dz_magnitude: [Double]
        var testDescription: String { "\(name) \(shape) (\(dtype))" }
    }

    var layer_norm: [LayerNormCase]
    var gelu: [ElementwiseCase]
    var silu: [ElementwiseCase]
    var bce_with_logits: [BCECase]

    /// The fixtures, or nil when the file is missing or does not decode (which `fixturesArePresent` reports).
    static let document: LayerFixtures? = {
        guard let url = Bundle.module.url(forResource: "layers", withExtension: "json", subdirectory: "Fixtures/layers"),
              let data = try? Data(contentsOf: url)
        else { return nil }
        return try? JSONDecoder().decode(LayerFixtures.self, from: data)
    }()
}

/// The fixture's values as a tensor of `Scalar`: they were rounded to the case's
/// dtype before the reference was computed, so this conversion is exact.
private func tensor<Scalar: BLASScalar>(_ values: [Double], _ shape: [Int]) throws -> Tensor<Scalar> {
    try Tensor(shape: shape, scalars: values.map { Scalar($0) })
}

/// Tolerances. Each fixture value comes with a magnitude `M`, a first-order
/// bound on the rounding error of the computation as the library orders it:
/// the sum over its intermediate values `v` of `|∂result/∂v|·|v|` (see the
/// script). A correctly rounded operation perturbs `v` by at most `ε/2`
/// relative, glibc's `erf`, `exp` and `log1p` (and their `f` versions) by at
/// most about one ulp, `ε`; so a correct implementation is within `ε·M`, and
/// the tests allow `(terms + 2)·ε·M` (``expectMatches``):
///
/// - elementwise results (GELU, SiLU, the BCE gradient): `terms = 2`, `4ε·M`,
///   four times the bound, as room for a libm call a little worse than one ulp;
/// - LayerNorm: `terms = n` (features) for `y` and `∂E/∂x`, whose row mean,
///   variance and dot products each sum `n` terms, and `n + rows` for
///   `∂E/∂weight` and `∂E/∂bias`, which add one term per row to values already
///   carrying `x̂`'s error;
/// - the BCE loss: `terms = N + 3`, the `N` terms of the sum after the three
///   roundings of each term.
private enum Terms {
    static let elementwise = 2
}

@Suite("LayerNorm, GELU, SiLU and BCEWithLogits against numpy fixtures")
struct LayerFixtureTests {
    @Test func fixturesArePresent() throws {
        // Guards the parameterised tests below from passing vacuously on a missing or unreadable file.
        let document = try #require(LayerFixtures.document, "layers.json is missing or does not decode")
        #expect(document.layer_norm.count == 9)
        #expect(document.gelu.count == 3)
        #expect(document.silu.count == 3)
        #expect(document.bce_with_logits.count == 4)
        #expect(document.layer_norm.contains { !$0.affine } && document.layer_norm.contains { $0.shape.count == 3 })
        #expect(document.bce_with_logits.contains { $0.z.contains(1e4) && $0.z.contains(-1e4) })
    }

    @Test(arguments: LayerFixtures.document?.layer_norm ?? [])
    func layerNormMatchesNumpy(_ c: LayerFixtures.LayerNormCase) throws {
        switch c.dtype {
        case "float32": try checkLayerNorm(Float.self, c)
        case "float64": try checkLayerNorm(Double.self, c)
        default: Issue.record("unknown dtype \(c.dtype)")
        }
    }

    func checkLayerNorm<Scalar: BLASScalar>(_: Scalar.Type, _ c: LayerFixtures.LayerNormCase) throws {
        let n = c.shape.last!
        let rows = c.x.count / n
        let layer = LayerNorm<Scalar>(features: n, epsilon: Scalar(c.epsilon), affine: c.affine)
        if c.affine {
            layer.weight = try tensor(try #require(c.weight), [n])
            layer.bias = try tensor(try #require(c.bias), [n])
        }
        let y: Tensor<Scalar> = try layer.forward(tensor(c.x, c.shape))
        #expect(y.shape == c.shape)
        expectMatches(y, Reference(shape: c.shape, values: c.y, magnitudes: c.y_magnitude, terms: n), "y")
        let dx = try layer.backward(tensor(c.g, c.shape))
        #expect(dx.shape == c.shape)
        expectMatches(dx, Reference(shape: c.shape, values: c.dx, magnitudes: c.dx_magnitude, terms: n), "∂E/∂x")
        if c.affine {
            let dw = try #require(layer.weightGradient), db = try #require(layer.biasGradient)
            expectMatches(dw, Reference(shape: [n], values: try #require(c.dweight), magnitudes: c.dweight_magnitude,
                                        terms: n + rows), "∂E/∂weight")
            expectMatches(db, Reference(shape: [n], values: try #require(c.dbias), magnitudes: c.dbias_magnitude,
                                        terms: rows), "∂E/∂bias")
        } else {
            #expect(layer.weightGradient == nil && layer.biasGradient == nil)
        }
    }

    @Test(arguments: LayerFixtures.document?.gelu ?? [])
    func geluMatchesNumpy(_ c: LayerFixtures.ElementwiseCase) throws {
        switch c.dtype {
        case "float32": try checkElementwise(GELU<Float>(), c)
        case "float64": try checkElementwise(GELU<Double>(), c)
        default: Issue.record("unknown dtype \(c.dtype)")
        }
    }

    @Test(arguments: LayerFixtures.document?.silu ?? [])
    func siluMatchesNumpy(_ c: LayerFixtures.ElementwiseCase) throws {
        switch c.dtype {
        case "float32": try checkElementwise(SiLU<Float>(), c)
        case "float64": try checkElementwise(SiLU<Double>(), c)
        default: Issue.record("unknown dtype \(c.dtype)")
        }
    }

    func checkElementwise<Scalar: BLASScalar>(_ layer: some Layer<Scalar>, _ c: LayerFixtures.ElementwiseCase) throws {
        let y = try layer.forward(tensor(c.x, c.shape))
        #expect(y.shape == c.shape)
        expectMatches(y, Reference(shape: c.shape, values: c.y, magnitudes: c.y_magnitude, terms: Terms.elementwise), "y")
        let dx = try layer.backward(tensor(c.g, c.shape))
        expectMatches(dx, Reference(shape: c.shape, values: c.dx, magnitudes: c.dx_magnitude, terms: Terms.elementwise),
                      "∂E/∂x")
    }

    @Test(arguments: LayerFixtures.document?.bce_with_logits ?? [])
    func binaryCrossEntropyMatchesNumpy(_ c: LayerFixtures.BCECase) throws {
        switch c.dtype {
        case "float32": try checkBCE(Float.self, c)
        case "float64": try checkBCE(Double.self, c)
        default: Issue.record("unknown dtype \(c.dtype)")
        }
    }

    func checkBCE<Scalar: BLASScalar>(_: Scalar.Type, _ c: LayerFixtures.BCECase) throws {
        let loss = BinaryCrossEntropyWithLogits<Scalar>()
        let value = try loss.forward(tensor(c.z, c.shape), targets: tensor(c.t, c.shape))
        #expect(value.isFinite)
        expectMatches(try Tensor(shape: [1], scalars: [value]),
                      Reference(shape: [1], values: [c.loss], magnitudes: [c.loss_magnitude], terms: c.z.count + 3), "loss")
        let dz = try loss.backward()
        #expect(dz.shape == c.shape)
        expectMatches(dz, Reference(shape: c.shape, values: c.dz, magnitudes: c.dz_magnitude, terms: Terms.elementwise),
                      "∂E/∂z")
    }
}
