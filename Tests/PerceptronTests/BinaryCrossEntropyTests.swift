import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

@Suite("BinaryCrossEntropyWithLogits")
struct BinaryCrossEntropyTests {
    /// PyTorch's definition, literally, in Double: −[t log σ(z) + (1 − t) log(1 − σ(z))], averaged.
    func definition(_ z: [Double], _ t: [Double]) -> Double {
        zip(z, t).map { z, t in
            let s = 1 / (1 + Foundation.exp(-z))
            return -(t * Foundation.log(s) + (1 - t) * Foundation.log(1 - s))
        }.reduce(0, +) / Double(z.count)
    }

    @Test(arguments: [[1], [5, 3], [2, 3, 4]] as [[Int]])
    func valueAndGradientMatchTheDefinitionAndCentralDifferences(shape: [Int]) throws {
        var generator = SeededRandomNumberGenerator(seed: 51)
        let z = Tensor<Double>(shape: shape, randomIn: -4...4, using: &generator)
        var t = Tensor<Double>(shape: shape, randomIn: 0...1, using: &generator)
        t.withUnsafeMutableBufferPointer { t in
            // Hard targets as well as soft ones.
            for i in stride(from: 0, to: t.count, by: 3) { t[i] = Double(i % 2) }
        }
        let loss = BinaryCrossEntropyWithLogits<Double>()
        let value = try loss.forward(z, targets: t)
        #expect(abs(value - definition(z.scalars, t.scalars)) <= 1e-14)
        let analytic = try loss.backward().scalars

        let step = 1e-6
        var probe = z
        for position in 0..<z.count {
            let original = z.scalars[position]
            probe.withUnsafeMutableBufferPointer { $0[position] = original + step }
            let plus = try BinaryCrossEntropyWithLogits<Double>().forward(probe, targets: t)
            probe.withUnsafeMutableBufferPointer { $0[position] = original - step }
            let minus = try BinaryCrossEntropyWithLogits<Double>().forward(probe, targets: t)
            probe.withUnsafeMutableBufferPointer { $0[position] = original }
            #expect(abs(analytic[position] - (plus - minus) / (2 * step)) <= 1e-8, "at \(position)")
        }
    }

    @Test func hugeLogitsGiveFiniteExactValues() throws {
        let z = try Tensor<Float>(shape: [2, 3], scalars: [1e4, 1e4, 1e4, -1e4, -1e4, -1e4])
        let t = try Tensor<Float>(shape: [2, 3], scalars: [0, 0.3, 1, 0, 0.3, 1])
        let loss = BinaryCrossEntropyWithLogits<Float>()
        let value = try loss.forward(z, targets: t)
        // Terms: 10⁴, 0.7·10⁴, 0; 0, 0.3·10⁴, 10⁴ (each exp(−10⁴) underflows to 0 exactly).
        let t3: Float = 0.3
        let terms: [Float] = [1e4, 1e4 - 1e4 * t3, 0, 0, 1e4 * t3, 1e4]
        let expected = terms.reduce(0, +) / 6
        #expect(value.isFinite)
        #expect(abs(value - expected) <= 4 * Float.ulpOfOne * expected)
        let g = try loss.backward()
        // (σ(z) − t)/N with σ exactly 1 or 0, scaled by 1/N as the loss does.
        let scale: Float = 1 / 6
        let expectedGradient: [Float] = [scale * 1, scale * (1 - t3), 0, 0, scale * -t3, scale * -1]
        #expect(g.scalars == expectedGradient)
    }

    @Test func theLossProtocolEntryPointIsTheSame() throws {
        var generator = SeededRandomNumberGenerator(seed: 52)
        let z = Tensor<Float>(shape: [4, 2], randomIn: -3...3, using: &generator)
        let t = Tensor<Float>(shape: [4, 2], randomIn: 0...1, using: &generator)
        func viaProtocol<L: Loss<Float>>(_ loss: L, _ target: L.Target) throws -> (Float, Tensor<Float>) {
            (try loss.forward(z, target: target), try loss.backward())
        }
        let direct = BinaryCrossEntropyWithLogits<Float>()
        let value = try direct.forward(z, targets: t)
        let (protocolValue, protocolGradient) = try viaProtocol(BinaryCrossEntropyWithLogits<Float>(), t)
        #expect(value.bitPattern == protocolValue.bitPattern)
        #expect(bits(try direct.backward()) == bits(protocolGradient))
    }

    @Test func backwardIsRepeatableAndNeedsAForwardPass() throws {
        let loss = BinaryCrossEntropyWithLogits<Double>()
        let early = #expect(throws: PerceptronError.self) { try loss.backward() }
        #expect(early == .backwardBeforeForward(layer: "BinaryCrossEntropyWithLogits"))
        #expect(early?.description == "BinaryCrossEntropyWithLogits.backward needs a forward pass first (none has run since it was created or its caches were released)")
        _ = try loss.forward(Tensor(shape: [3], repeating: 0.5), targets: Tensor(shape: [3], repeating: 1))
        let first = bits(try loss.backward())
        #expect(bits(try loss.backward()) == first)
    }

    @Test func targetsOfAnotherShapeThrow() throws {
        let loss = BinaryCrossEntropyWithLogits<Float>()
        let error = #expect(throws: PerceptronError.self) {
            try loss.forward(Tensor(shape: [2, 3]), targets: Tensor(shape: [3, 2]))
        }
        #expect(error == .shapeMismatch(what: "BinaryCrossEntropyWithLogits targets", expected: [2, 3], actual: [3, 2]))
        #expect(error?.description == "BinaryCrossEntropyWithLogits targets must have shape [2, 3], but has shape [3, 2]")
    }

    @Test(arguments: [(-0.5, "-0.5"), (1.25, "1.25"), (.nan, "nan"), (.infinity, "inf")] as [(Float, String)])
    func targetsOutsideZeroToOneThrow(bad: Float, printed: String) throws {
        let loss = BinaryCrossEntropyWithLogits<Float>()
        _ = try loss.forward(Tensor(shape: [2], repeating: 1), targets: Tensor(shape: [2], repeating: 1))
        let before = bits(try loss.backward())
        let targets = try Tensor<Float>(shape: [2, 2], scalars: [0, 1, bad, 0.5])
        let error = #expect(throws: PerceptronError.self) { try loss.forward(Tensor(shape: [2, 2]), targets: targets) }
        #expect(error == .invalidArgument(name: "targets", expected: "in 0...1", actual: "\(printed) at position 2"))
        #expect(error?.description == "targets must be in 0...1, but is \(printed) at position 2")
        // A refused call leaves the last forward pass as it was.
        #expect(bits(try loss.backward()) == before)
    }

    @Test func nanLogitsGiveNaN() throws {
        let loss = BinaryCrossEntropyWithLogits<Double>()
        let value = try loss.forward(Tensor(shape: [2], scalars: [.nan, 0]), targets: Tensor(shape: [2], scalars: [0, 1]))
        #expect(value.isNaN)
        #expect(try loss.backward()[0].isNaN)
    }
}
