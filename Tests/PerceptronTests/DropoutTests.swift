import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

@Suite("Dropout")
struct DropoutTests {
    /// The layer's last mask, read through its backward pass: `∂E/∂x` for `∂E/∂y = 1` is the mask itself.
    func mask<Scalar: BLASScalar>(_ layer: Dropout<Scalar>, shape: [Int]) throws -> [Scalar] {
        try layer.backward(Tensor(shape: shape, repeating: 1)).scalars
    }

    @Test(arguments: [0.1, 0.5, 0.9] as [Double])
    func forwardIsTheInputTimesAMaskOfZerosAndOneOverOneMinusP(p: Double) throws {
        try check(Float.self, p)
        try check(Double.self, p)
    }

    func check<Scalar: BLASScalar>(_: Scalar.Type, _ p: Double) throws {
        var generator = SeededRandomNumberGenerator(seed: 1)
        let shape = [64, 33]
        let x = Tensor<Scalar>(shape: shape, randomIn: 1...2, using: &generator)
        let layer = try Dropout<Scalar>(probability: Scalar(p), seed: 5)
        let y = try layer.forward(x)
        let m = try mask(layer, shape: shape)
        let scale = 1 / (1 - Scalar(p))
        #expect(m.allSatisfy { $0 == 0 || $0 == scale }, "every mask entry is 0 or 1/(1 − p) exactly")
        #expect(m.contains(0) && m.contains(scale))
        #expect(y.shape == shape)
        #expect(y.scalars.map(\.bitPattern) == zip(x.scalars, m).map { ($0 * $1).bitPattern })
    }

    @Test(arguments: [0.1, 0.5, 0.8] as [Double])
    func theFractionOfZerosIsWithinABinomialBound(p: Double) throws {
        // 4 forward passes of 50 000 elements: the count of zeros in each is
        // Binomial(50 000, p); 6 standard deviations bound it with probability
        // 1 − 2·10⁻⁹, and the seed makes the draw the same on every run.
        let layer = try Dropout<Float>(probability: Float(p), seed: 2024)
        let x = Tensor<Float>(shape: [500, 100], repeating: 1)
        let n = Double(x.count)
        var masks: [[Float]] = []
        for _ in 0..<4 {
            let zeros = Double(try layer.forward(x).scalars.lazy.filter { $0 == 0 }.count)
            let bound = 6 * (n * p * (1 - p)).squareRoot()
            #expect(abs(zeros - n * p) <= bound, "\(zeros) zeros of \(n), expected \(n * p) ± \(bound)")
            masks.append(try mask(layer, shape: x.shape))
        }
        // The generator's sequence continues from one forward pass to the next.
        #expect(Set(masks.map { $0.map(\.bitPattern) }).count == 4)
    }

    @Test func backwardIsTheGradientTimesTheSameMaskEveryTime() throws {
        var generator = SeededRandomNumberGenerator(seed: 3)
        let shape = [9, 17]
        let x = Tensor<Double>(shape: shape, randomIn: -1...1, using: &generator)
        let layer = try Dropout<Double>(probability: 0.3, seed: 8)
        _ = try layer.forward(x)
        let m = try mask(layer, shape: shape)
        for _ in 0..<3 {
            let g = Tensor<Double>(shape: shape, randomIn: -1...1, using: &generator)
            let dx = try layer.backward(g)
            #expect(dx.scalars.map(\.bitPattern) == zip(g.scalars, m).map { ($0 * $1).bitPattern })
        }
        // And the mask is still the first one.
        #expect(try mask(layer, shape: shape) == m)
    }

    @Test func backwardMatchesCentralDifferencesWithTheSeedsMask() throws {
        // A fresh layer with the same seed draws the same first mask, so
        // E(x) = Σ c ⊙ Dropout(seed).forward(x) is a fixed function to difference.
        var generator = SeededRandomNumberGenerator(seed: 4)
        let shape = [6, 7]
        let x = Tensor<Double>(shape: shape, randomIn: -2...2, using: &generator)
        let c = Tensor<Double>(shape: shape, randomIn: -1...1, using: &generator)
        func energy(_ x: Tensor<Double>) throws -> Double {
            let y = try Dropout<Double>(probability: 0.4, seed: 77).forward(x)
            return zip(y.scalars, c.scalars).map(*).reduce(0, +)
        }
        let layer = try Dropout<Double>(probability: 0.4, seed: 77)
        _ = try layer.forward(x)
        let analytic = try layer.backward(c).scalars
        let step = 1e-6
        var probe = x
        for position in 0..<x.count {
            let original = x.scalars[position]
            probe.withUnsafeMutableBufferPointer { $0[position] = original + step }
            let plus = try energy(probe)
            probe.withUnsafeMutableBufferPointer { $0[position] = original - step }
            let minus = try energy(probe)
            probe.withUnsafeMutableBufferPointer { $0[position] = original }
            let numeric = (plus - minus) / (2 * step)
            #expect(abs(analytic[position] - numeric) <= 1e-8 * max(1, abs(numeric)), "at \(position)")
        }
    }

    @Test func predictIsTheIdentityAndDrawsNothing() throws {
        var generator = SeededRandomNumberGenerator(seed: 6)
        let shape = [8, 5]
        let x = Tensor<Float>(shape: shape, randomIn: -1...1, using: &generator)
        let layer = try Dropout<Float>(probability: 0.5, seed: 9)
        let twin = try Dropout<Float>(probability: 0.5, seed: 9)
        let p = try layer.predict(x)
        #expect(x.withUnsafeBufferPointer { a in p.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } },
                "predict returns its input itself, not a copy")
        // predict before a forward pass consumed no random numbers: the twin, which
        // never predicted, draws the same mask.
        _ = try layer.forward(x)
        _ = try twin.forward(x)
        #expect(try mask(layer, shape: shape) == mask(twin, shape: shape))
        try checkLayerContract("Dropout", { try! Dropout<Float>(probability: 0.5, seed: 9) }, shape: shape,
                               predictIsIdentity: true)
        try checkLayerContract("Dropout", { try! Dropout<Double>(probability: 0.25, seed: 10) }, shape: [3, 2, 4],
                               predictIsIdentity: true)
    }

    @Test func theSameSeedGivesTheSameMasksAndAnotherSeedOthers() throws {
        let x = Tensor<Double>(shape: [40, 25], repeating: 1)
        let a = try Dropout<Double>(probability: 0.5, seed: 123)
        let b = try Dropout<Double>(probability: 0.5, seed: 123)
        let c = try Dropout<Double>(probability: 0.5, seed: 124)
        for _ in 0..<3 {
            let (ya, yb, yc) = (try a.forward(x), try b.forward(x), try c.forward(x))
            #expect(ya == yb)
            #expect(ya != yc)
        }
    }

    @Test func probabilityZeroIsTheIdentity() throws {
        var generator = SeededRandomNumberGenerator(seed: 12)
        let x = Tensor<Float>(shape: [7, 3], randomIn: -5...5, using: &generator)
        let g = Tensor<Float>(shape: [7, 3], randomIn: -1...1, using: &generator)
        let layer = try Dropout<Float>(probability: 0, seed: 1)
        #expect(try layer.forward(x).scalars.map(\.bitPattern) == x.scalars.map(\.bitPattern))
        #expect(try layer.backward(g).scalars.map(\.bitPattern) == g.scalars.map(\.bitPattern))
    }

    @Test(arguments: [-0.1, 1, 1.5, .nan, .infinity, -.infinity] as [Float])
    func aProbabilityOutsideZeroToOneThrows(p: Float) throws {
        let error = #expect(throws: PerceptronError.self) { try Dropout<Float>(probability: p, seed: 0) }
        #expect(error == .invalidArgument(name: "probability", expected: "in 0..<1", actual: "\(p)"))
        #expect(error?.description == "probability must be in 0..<1, but is \(p)")
    }

    @Test func theMessageForOneNamesExpectedAndActual() {
        let error = #expect(throws: PerceptronError.self) { try Dropout<Double>(probability: 1, seed: 0) }
        #expect(error?.description == "probability must be in 0..<1, but is 1.0")
    }

    @Test func backwardNeedsAForwardPassAndAGradientOfItsShape() throws {
        let layer = try Dropout<Float>(probability: 0.2, seed: 3)
        let early = #expect(throws: PerceptronError.self) { try layer.backward(Tensor(shape: [2, 3])) }
        #expect(early == .backwardBeforeForward(layer: "Dropout"))
        _ = try layer.forward(Tensor(shape: [2, 3]))
        let wrong = #expect(throws: PerceptronError.self) { try layer.backward(Tensor(shape: [3, 2])) }
        #expect(wrong?.description == "Dropout output gradient must have shape [2, 3], but has shape [3, 2]")
        layer.releaseCaches()
        #expect(throws: PerceptronError.backwardBeforeForward(layer: "Dropout")) { try layer.backward(Tensor(shape: [2, 3])) }
    }

    @Test func anyShapeIsAccepted() throws {
        let layer = try Dropout<Double>(probability: 0.5, seed: 1)
        #expect(try layer.forward(Tensor(shape: [], repeating: 2)).shape == [])
        #expect(try layer.forward(Tensor(shape: [0, 4])).shape == [0, 4])
        #expect(try layer.backward(Tensor(shape: [0, 4])).shape == [0, 4])
        #expect(layer.parameterCount == 0)
    }
}
