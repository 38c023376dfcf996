// Sharding a batch: the part of every batch one of several processes takes,
// so that together they take each batch once.

/// One of `count` near-equal, consecutive parts of every batch: the rows that
/// process `index` of `count` trains on in data-parallel training.
///
/// A batch of `n` rows is cut into parts of `n / count` rows, the first
/// `n % count` parts one row longer, in the batch's order; part `index` is
/// the `index`-th. A part is empty when the batch has fewer rows than there
/// are parts, so that every process still steps once per batch.
struct BatchShard {
    /// Which part, `0..<count`.
    let index: Int
    /// How many parts.
    let count: Int

    /// Part `index` of `count`, checked.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)`` for
    ///   a count below 1 or an index outside `0..<count`.
    init(index: Int, count: Int) throws(PerceptronError) {
        guard count >= 1 else {
            throw .invalidArgument(name: "the number of shards", expected: "at least 1", actual: "\(count)")
        }
        guard (0..<count).contains(index) else {
            throw .invalidArgument(name: "shard", expected: "in 0..<\(count), one per shard", actual: "\(index)")
        }
        self.index = index
        self.count = count
    }

    /// The positions of this part within a batch of `rows` rows.
    func range(inBatchOf rows: Int) -> Range<Int> {
        let (quotient, remainder) = rows.quotientAndRemainder(dividingBy: count)
        let start = index * quotient + Swift.min(index, remainder)
        return start..<(start + quotient + (index < remainder ? 1 : 0))
    }

    /// The number of rows this part takes of a batch of `rows` rows.
    func rows(inBatchOf rows: Int) -> Int {
        range(inBatchOf: rows).count
    }

    /// This part of a batch's rows.
    func part(of rows: ArraySlice<Int>) -> ArraySlice<Int> {
        let range = range(inBatchOf: rows.count)
        return rows[(rows.startIndex + range.lowerBound)..<(rows.startIndex + range.upperBound)]
    }
}
