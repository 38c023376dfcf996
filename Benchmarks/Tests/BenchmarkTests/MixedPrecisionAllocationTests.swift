#if OneDNN
@_spi(Benchmarking) import Perceptron
import Testing

/// A layer in bfloat16 whose products are too small for bfloat16 to pay runs
/// them in float32 (``Linear/precision``), and then allocates no more than a
/// float32 layer does: nothing in a steady step. What a product sent to
/// oneDNN allocates is oneDNN's own (every `dnnl_primitive_execute` call
/// allocates), so that route is not counted here.
@Suite("Heap allocations of a bfloat16 layer on the float32 route", .serialized)
struct MixedPrecisionAllocationTests {
    @Test(.needsAllocationCounter, arguments: [(32, 64, 64), (64, 256, 256), (8, 64, 36)], [1, 2])
    func steadyStepAllocatesNothing(shape: (Int, Int, Int), threads: Int) throws {
        let (n, f, m) = shape
        let savedThreads = BLAS.threadCount
        let savedThreshold = BLAS.mixedPrecisionThreshold
        defer {
            BLAS.threadCount = savedThreads
            BLAS.mixedPrecisionThreshold = savedThreshold
        }
        BLAS.threadCount = threads
        // Every product under the threshold, whatever this CPU's is.
        BLAS.mixedPrecisionThreshold = .max

        var generator = SeededRandomNumberGenerator(seed: 17)
        let layer = Linear<Float>(inputFeatures: f, outputFeatures: m, using: &generator)
        layer.precision = .bfloat16
        let x = Tensor<Float>(shape: [n, f], randomIn: -1...1, using: &generator)
        let g = Tensor<Float>(shape: [n, m], randomIn: -1...1, using: &generator)
        var checksum: Float = 0

        func step() throws {
            let z = try layer(x)
            let dx = try layer.backward(g)
            checksum += first(z) + first(dx) + first(layer.weightGradient)
        }
        try step()   // the first step allocates the layer's buffers
        try step()
        let count = try allocations {
            for _ in 0..<20 { try step() }
        }
        #expect(count == 0, "\(count) allocations in 20 steady steps")
        #expect(checksum.isFinite)
    }
}
#endif
