@_spi(Benchmarking) import Perceptron
import Testing

extension AllocationTests {
    /// A training loop's batches: once warm, a pass over `MiniBatches` makes
    /// no batch-sized allocation, even while the last batch is still held.
    @Suite("Mini-batches")
    struct MiniBatchAllocations {
        @Test(.needsAllocationCounter) func warmPassesAllocateNoBatchSizedBuffers() throws {
            let features = Tensor<Float>(shape: [64, 32], repeating: 1)
            let batches = try MiniBatches(features: features, labels: Array(0..<64), batchSize: 16, seed: 2)
            var held: (features: Tensor<Float>, labels: [Int])?
            func run() {
                var iterator = batches.makeIterator()
                while let batch = iterator.next() { held = batch }
            }
            run()
            run()
            let count = allocations { for _ in 0..<5 { run() } }
            #expect(held?.labels.count == 16)
            // A pass allocates its iterator's state at most; never a batch (20 batches ran).
            #expect(count <= 5 * 2, "\(count) allocations in 5 warm passes")
        }
    }
}
