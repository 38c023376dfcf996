@_spi(Benchmarking) import Perceptron
import Testing

extension AllocationTests {
    /// A data-parallel process's batches: its shard of every batch is reused
    /// as the whole batches are, uneven parts and the short last batch included.
    @Suite("Sharded mini-batches")
    struct ShardedBatchAllocations {
        @Test(.needsAllocationCounter) func warmPassesAllocateNoBatchSizedBuffers() throws {
            // 70 rows in batches of 16, shard 1 of 3: parts of 5 rows, and 2 of the last 6.
            let features = Tensor<Float>(shape: [70, 32], repeating: 1)
            let batches = try MiniBatches(
                features: features, labels: Array(0..<70), batchSize: 16, seed: 2, shard: 1, of: 3)
            var held: (features: Tensor<Float>, labels: [Int])?
            func run() {
                var iterator = batches.makeIterator()
                while let batch = iterator.next() { held = batch }
            }
            run()
            run()
            let count = allocations { for _ in 0..<5 { run() } }
            #expect(held?.labels.count == 2)
            // A pass allocates its iterator's state at most; never a batch (25 batches ran).
            #expect(count <= 5 * 2, "\(count) allocations in 5 warm passes")
        }
    }
}
