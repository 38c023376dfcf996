import CAllocationCounter
import Perceptron
import Testing

/// Counts the heap allocations `body` makes on this thread.
func allocations(_ body: () throws -> Void) rethrows -> UInt64 {
    allocation_counter_start_thread()
    defer { _ = allocation_counter_stop_thread() }
    try body()
    return allocation_counter_stop_thread()
}

extension Trait where Self == ConditionTrait {
    /// Runs a test only where allocations can be counted: not under ASan or
    /// TSan, whose runtimes own malloc (`make test-sanitize`). There the test is
    /// skipped with this reason rather than failed; the plain `make test` runs it.
    static var needsAllocationCounter: Self {
        .enabled(if: allocation_counter_is_available(), "malloc is owned by a sanitizer in this build")
    }
}

/// The first scalar, read without allocating (generic collection algorithms
/// allocate in an unoptimised build).
func first(_ tensor: Tensor<Float>) -> Float {
    tensor.withUnsafeBufferPointer { $0.count > 0 ? $0[0] : 0 }
}

@Suite("Heap allocations")
struct AllocationTests {
    @Test(.needsAllocationCounter) func counterSeesAllocations() throws {
        // The counter must see what it is meant to catch, or a 0 below means nothing.
        let count = allocations {
            let t = Tensor<Float>(shape: [3, 5])
            #expect(t.count == 15)
        }
        #expect(count >= 2, "a new tensor allocates its storage object and buffer")
    }

    @Test(.needsAllocationCounter, arguments: [
        (32, 64, 64, true), (7, 13, 5, false), (64, 256, 10, true),
        // Every product on OpenBLAS's small-matrix kernels or CBLAS, split across threads.
        (64, 256, 256, true), (96, 200, 160, false),
    ])
    func steadyTrainingStepAllocatesNothing(n: Int, f: Int, m: Int, bias: Bool) throws {
        var generator = SeededRandomNumberGenerator(seed: 3)
        let layer = Linear<Float>(inputFeatures: f, outputFeatures: m, bias: bias, using: &generator)
        let x = Tensor<Float>(shape: [n, f], randomIn: -1...1, using: &generator)
        var g = Tensor<Float>(shape: [n, m])
        var checksum: Float = 0

        func step() throws {
            let z = try layer(x)
            // The output gradient, written into a buffer the caller keeps (here, of E = ½‖Z‖²).
            g.withUnsafeMutableBufferPointer { g in
                z.withUnsafeBufferPointer { z in
                    for i in 0..<g.count { g[i] = z[i] }
                }
            }
            let dx = try layer.backward(g)
            // Read the results (the variadic subscript would allocate its index array).
            checksum += first(dx) + first(layer.weightGradient)
            if let biasGradient = layer.biasGradient { checksum += first(biasGradient) }
        }
        try step()   // the first step allocates the layer's buffers
        let count = try allocations {
            for _ in 0..<20 { try step() }
        }
        #expect(count == 0, "\(count) allocations in 20 steady steps")
        #expect(checksum.isFinite)
    }
}
