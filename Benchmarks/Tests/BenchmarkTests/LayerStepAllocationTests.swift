@_spi(Benchmarking) import Perceptron
import Testing

@Suite("Heap allocations of LayerNorm, GELU, Dropout, SiLU and BCEWithLogits")
struct LayerStepAllocationTests {
    @Test(.needsAllocationCounter, arguments: [false, true])
    func steadyTrainingStepAllocatesNothing(double: Bool) throws {
        if double { try check(Double.self) } else { try check(Float.self) }
    }

    func check<Scalar: BLASScalar>(_: Scalar.Type) throws {
        var generator = SeededRandomNumberGenerator(seed: 61)
        let norm = LayerNorm<Scalar>(features: 24)
        let gelu = GELU<Scalar>()
        let dropout = try Dropout<Scalar>(probability: 0.25, seed: 62)
        let silu = SiLU<Scalar>()
        let loss = BinaryCrossEntropyWithLogits<Scalar>()
        let x = Tensor<Scalar>(shape: [8, 3, 24], randomIn: -2...2, using: &generator)
        let targets = Tensor<Scalar>(shape: [8, 3, 24], randomIn: 0...1, using: &generator)
        var checksum: Scalar = 0

        func step() throws {
            let value = try loss.forward(silu.forward(dropout.forward(gelu.forward(norm.forward(x)))), targets: targets)
            let dx = try norm.backward(gelu.backward(dropout.backward(silu.backward(loss.backward()))))
            checksum += value + first(dx)
        }
        // Two steps to warm up: every layer's forward results are double-buffered.
        try step()
        try step()
        let count = try allocations { for _ in 0..<10 { try step() } }
        #expect(count == 0, "\(count) allocations in 10 steady steps")
        #expect(checksum.isFinite)
    }
}
