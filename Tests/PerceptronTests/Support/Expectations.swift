@_spi(Benchmarking) import Perceptron
import Testing

extension Tensor {
    /// The scalars widened to Double (exactly: Float → Double is lossless).
    var doubles: [Double] { scalars.map { Double($0) } }
}

/// The worst normalised error of `got` against `reference`: the largest
/// `|got − value| / magnitude`, in units of the bound `(terms + 2)·ε` that
/// floating-point summation guarantees. At most 1 means within rounding.
func normalisedError<Scalar: BLASScalar>(_ got: [Scalar], _ reference: Reference) -> Double {
    let bound = Double(reference.terms + 2) * Double(Scalar.ulpOfOne)
    var worst = 0.0
    for (value, (expected, magnitude)) in zip(got, zip(reference.values, reference.magnitudes)) {
        let error = abs(Double(value) - expected)
        if error == 0 { continue }
        // A nonzero error against an exact zero (no terms) is infinitely wrong.
        worst = max(worst, magnitude == 0 ? .infinity : error / (bound * magnitude))
    }
    return worst
}

/// Expects `got` to have the reference's element count and to match it
/// within floating-point rounding, in the normalised sense above.
func expectMatches<Scalar: BLASScalar>(
    _ got: Tensor<Scalar>, _ reference: Reference, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(got.count == reference.values.count, "\(what): element count", sourceLocation: sourceLocation)
    let error = normalisedError(got.scalars, reference)
    #expect(error <= 1, "\(what): normalised error \(error) exceeds the rounding bound", sourceLocation: sourceLocation)
}

/// Random scalars in -1...1 from a seeded generator.
func randomScalars<Scalar: BLASScalar>(
    _ count: Int, as: Scalar.Type = Scalar.self, using generator: inout SeededRandomNumberGenerator
) -> [Scalar] {
    (0..<count).map { _ in Scalar.random(in: -1...1, using: &generator) }
}
