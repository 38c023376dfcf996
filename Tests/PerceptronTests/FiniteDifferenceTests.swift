@_spi(Benchmarking) import Perceptron
import Testing

/// The gradients checked against central finite differences of a scalar loss
/// through the layer, in Double: `E = ½ Σ Z²`, so `G = ∂E/∂Z = Z`.
@Suite("Linear finite differences")
struct FiniteDifferenceTests {
    static let step = 1e-6

    func loss(_ layer: Linear<Double>, _ x: Tensor<Double>) throws -> Double {
        try layer(x).scalars.reduce(0) { $0 + $1 * $1 / 2 }
    }

    /// Central difference of the loss in one scalar, changed through `set`.
    func derivative(_ evaluate: (Double) throws -> Double, at value: Double) rethrows -> Double {
        (try evaluate(value + Self.step) - evaluate(value - Self.step)) / (2 * Self.step)
    }

    @Test(arguments: [[5], [3, 2], [1]] as [[Int]])
    func gradientsMatchFiniteDifferences(batch: [Int]) throws {
        var generator = SeededRandomNumberGenerator(seed: 77)
        let (f, m) = (4, 3)
        let layer = Linear<Double>(inputFeatures: f, outputFeatures: m, using: &generator)
        var x = Tensor<Double>(shape: batch + [f], randomIn: -1...1, using: &generator)

        let z = try layer(x)
        let dx = try layer.backward(z)
        let (dw, db) = (layer.weightGradient, try #require(layer.biasGradient))

        func expectClose(_ analytic: Double, _ numeric: Double, _ what: String) {
            #expect(abs(analytic - numeric) <= 1e-7 * max(1, abs(numeric)), "\(what): \(analytic) vs \(numeric)")
        }
        for i in 0..<f {
            for j in 0..<m {
                let original = layer.weight[i, j]
                let numeric = try derivative({ value in
                    layer.weight[i, j] = value
                    return try loss(layer, x)
                }, at: original)
                layer.weight[i, j] = original
                expectClose(dw[i, j], numeric, "∂E/∂W[\(i), \(j)]")
            }
        }
        for j in 0..<m {
            let original = layer.bias![j]
            let numeric = try derivative({ value in
                layer.bias![j] = value
                return try loss(layer, x)
            }, at: original)
            layer.bias![j] = original
            expectClose(db[j], numeric, "∂E/∂b[\(j)]")
        }
        let flat = dx.scalars
        for position in 0..<x.count {
            let original = x.scalars[position]
            let numeric = try derivative({ value in
                x.withUnsafeMutableBufferPointer { $0[position] = value }
                return try loss(layer, x)
            }, at: original)
            x.withUnsafeMutableBufferPointer { $0[position] = original }
            expectClose(flat[position], numeric, "∂E/∂X[\(position)]")
        }
    }
}
