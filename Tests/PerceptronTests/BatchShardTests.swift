import Perceptron
import Testing

/// Data-parallel sharding: `shard: r, of: k` takes part `r` of `k` of every
/// batch, and the `k` sequences together take exactly the batches of one.
@Suite("Sharded batches")
struct BatchShardTests {
    static let cases = [
        BatchingCase(rows: 10, batchSize: 3, dropLast: false, sizes: [3, 3, 3, 1]),
        BatchingCase(rows: 10, batchSize: 3, dropLast: true, sizes: [3, 3, 3]),
        BatchingCase(rows: 41, batchSize: 12, dropLast: false, sizes: [12, 12, 12, 5]),
        BatchingCase(rows: 5, batchSize: 8, dropLast: false, sizes: [5]),
        BatchingCase(rows: 0, batchSize: 2, dropLast: false, sizes: []),
    ]

    /// The documented cut: `n / k` rows each, the first `n % k` parts one longer.
    static func partSizes(of rows: Int, into parts: Int) -> [Int] {
        (0..<parts).map { rows / parts + ($0 < rows % parts ? 1 : 0) }
    }

    @Test(arguments: cases, [1, 2, 3, 5])
    func theShardsTogetherAreTheBatchesOfOneSequence(_ c: BatchingCase, shards: Int) throws {
        let x = try encodedRows(c.rows)
        let labels = Array(0..<c.rows)
        let whole = try MiniBatches(features: x, labels: labels, batchSize: c.batchSize, dropLast: c.dropLast, seed: 9)
        let parts = try (0..<shards).map { shard in
            try MiniBatches(
                features: x, labels: labels, batchSize: c.batchSize, dropLast: c.dropLast, seed: 9,
                shard: shard, of: shards)
        }
        for batches in parts { #expect(batches.batchCount == whole.batchCount) }
        for _ in 0..<3 {
            let expected = pass(whole)
            // pass() checks that each part's features are the rows its labels name.
            let got = parts.map { pass($0) }
            for batch in expected.indices {
                let pieces = got.map { $0[batch] }
                #expect(pieces.map(\.count) == Self.partSizes(of: expected[batch].count, into: shards))
                #expect(pieces.flatMap { $0 } == expected[batch], "batch \(batch): the parts in rank order are the batch")
            }
            for part in got { #expect(part.count == expected.count) }
        }
    }

    @Test func regressionShardsAreTheirFeaturesRowsToo() throws {
        let x = try encodedRows(41)
        let whole = try RegressionBatches(features: x, targets: x, batchSize: 12, seed: 5)
        let parts = try (0..<3).map { try RegressionBatches(features: x, targets: x, batchSize: 12, seed: 5, shard: $0, of: 3) }
        for _ in 0..<2 {
            let expected = whole.map { decodedRows($0.features) }
            let got = parts.map { batches in
                batches.map { features, targets in
                    #expect(targets.scalars == features.scalars)
                    return decodedRows(features)
                }
            }
            for batch in expected.indices {
                #expect(got.flatMap { $0[batch] } == expected[batch])
                #expect(got.map { $0[batch].count } == Self.partSizes(of: expected[batch].count, into: 3))
            }
        }
    }

    @Test func partsOfABatchSmallerThanTheShardCountAreEmpty() throws {
        // 7 rows in batches of 2: the last batch has 1 row, so shard 1 of 2 gets none of it.
        let x = try encodedRows(7)
        let batches = try MiniBatches(features: x, labels: Array(0..<7), batchSize: 2, shuffle: false, shard: 1, of: 2)
        let shapes = batches.map { $0.features.shape }
        #expect(shapes == [[1, 3], [1, 3], [1, 3], [0, 3]])
        #expect(pass(batches) == [[1], [3], [5], []])
    }

    @Test func badShardsThrowNamingExpectedAndActual() throws {
        let x = try encodedRows(5)
        let outside = #expect(throws: PerceptronError.self) {
            try MiniBatches(features: x, labels: Array(0..<5), batchSize: 2, shard: 3, of: 3)
        }
        #expect(outside?.description == "shard must be in 0..<3, one per shard, but is 3")
        let negative = #expect(throws: PerceptronError.self) {
            try RegressionBatches(features: x, targets: x, batchSize: 2, shard: -1, of: 2)
        }
        #expect(negative?.description == "shard must be in 0..<2, one per shard, but is -1")
        let none = #expect(throws: PerceptronError.self) {
            try MiniBatches(features: x, labels: Array(0..<5), batchSize: 2, shard: 0, of: 0)
        }
        #expect(none?.description == "the number of shards must be at least 1, but is 0")
    }
}
