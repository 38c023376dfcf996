// Mini-batches for a training loop: the rows of a data set in a new random
// order on every pass, copied into buffers that are reused from batch to
// batch.
//
// The buffers. A layer keeps its last input until its next forward pass (for
// its backward passes), so when the next batch is made, the batch handed out
// last is still referenced by the first layer. Each batch size therefore has
// two feature tensors (a `ForwardBuffers`, as layers use for their outputs)
// and two label or target buffers, written in turn: the one written is the
// one handed out the time before last, which by then nobody holds. If a
// caller does still hold it, copy-on-write uniqueness says so and a new
// buffer is made instead (tensors) or the old one is copied before it is
// written (arrays): a batch once handed out never changes.
//
// The final short batch of a pass has a size of its own, so it has buffers
// of its own: alternating it with full batches in one pair would let neither
// be reused.

/// Shuffled mini-batches of features and integer class labels, for a
/// classifier's training loop: PyTorch's `DataLoader(TensorDataset(x, y),
/// batch_size:, shuffle:, drop_last:)`.
///
/// Each pass (each `for` loop over it) visits every row of `features` exactly
/// once, in batches of `batchSize` rows; the last batch is shorter when
/// `batchSize` does not divide the number of rows, unless `dropLast` drops
/// it. With `shuffle`, every pass uses a new random order: pass *k* takes the
/// *k*-th permutation drawn (Fisher–Yates) from one
/// ``SeededRandomNumberGenerator`` seeded with `seed`, so the same seed gives
/// the same sequence of orders, on every platform and run.
///
/// ```swift
/// let batches = try MiniBatches(features: x, labels: y, batchSize: 32, seed: 7)
/// for epoch in 1...epochs {
///     for (features, labels) in batches {
///         _ = try loss.forward(model(features), labels: labels)
///         _ = try model.backward(loss.backward())
///         try optimizer.step(model)
///     }
/// }
/// ```
///
/// A batch is a copy of its rows, and a value like any tensor and array:
/// nothing the sequence does later changes a batch already handed out. Its
/// buffers are still reused: once each batch size has been seen twice, making
/// a batch allocates nothing while the caller keeps at most the last one (as
/// a model's first layer does, until its next forward pass).
///
/// For data-parallel training, `shard: r, of: k` gives process `r` of `k`
/// its part of every batch: the batch's rows cut into `k` consecutive parts
/// of `batchSize / k` rows (the first `batchSize % k` one row longer), and
/// the `r`-th of them. With one seed, the `k` sequences together take
/// exactly the batches a single sequence would, each row once, and all have
/// the same ``batchCount``, so that every process steps once per batch (a
/// part is empty when a batch has fewer than `k` rows).
///
/// A ``Checkpoint`` saves the generator and how far the pass under way has
/// come; after a restore, the next `for` loop continues that pass where it
/// stopped, and later passes draw the orders they would have drawn. The
/// `k` shards draw the same orders, so a checkpoint saved from one of them
/// restores into any shard of `k` (each going on with its own part), and
/// into no other number of shards.
///
/// Iterating is not thread-safe: iterate one sequence from one task at a time.
public final class MiniBatches<Scalar: BLASScalar>: Sequence {
    /// One batch: `features` of shape `[rows] + features.shape.dropFirst()`
    /// and the `rows` labels of the same rows, in the same order.
    public typealias Element = (features: Tensor<Scalar>, labels: [Int])

    private let features: Tensor<Scalar>
    private let labels: [Int]
    /// Internal, not private: a ``Checkpoint`` saves and restores it.
    var order: BatchOrder
    private var featureBuffers: RowBuffers<Scalar>
    private var labelBuffers: LabelBuffers
    /// Internal, not private: a ``Checkpoint`` records its count.
    let shard: BatchShard

    /// Creates the batches of `features` (one sample per row of the leading
    /// dimension, any rank of 1 or more) and their `labels`.
    ///
    /// - Parameters:
    ///   - features: the samples, `[n, …]`.
    ///   - labels: one label per sample, `n` in all.
    ///   - batchSize: rows per batch, at least 1; larger than `n` gives one
    ///     batch of all rows per pass (none with `dropLast`).
    ///   - shuffle: whether each pass visits the rows in a new random order
    ///     (the default); otherwise every pass keeps the rows' own order.
    ///   - dropLast: whether to leave out a final batch shorter than
    ///     `batchSize` (by default it is kept).
    ///   - seed: the seed of the generator that draws the orders, 0 by default.
    ///   - shard: which part of every batch to take, `0..<shardCount`: a
    ///     process's rank in data-parallel training.
    ///   - shardCount: how many parts every batch is cut into: the number of
    ///     processes; 1, the default, takes whole batches.
    /// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` for
    ///   rank-0 features, ``PerceptronError/countMismatch(what:expected:actual:)``
    ///   when there is not one label per row, and
    ///   ``PerceptronError/invalidArgument(name:expected:actual:)`` for a
    ///   batch size below 1, or a shard outside `0..<shardCount`.
    public init(
        features: Tensor<Scalar>, labels: [Int], batchSize: Int,
        shuffle: Bool = true, dropLast: Bool = false, seed: UInt64 = 0,
        shard: Int = 0, of shardCount: Int = 1
    ) throws(PerceptronError) {
        order = try BatchOrder(features: features, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, seed: seed)
        guard labels.count == order.rowCount else {
            throw .countMismatch(
                what: "the number of labels (one per row of features \(features.shape))",
                expected: order.rowCount, actual: labels.count)
        }
        self.shard = try BatchShard(index: shard, count: shardCount)
        self.features = features
        self.labels = labels
        featureBuffers = RowBuffers(of: features, batchSize: batchSize, shard: self.shard)
        labelBuffers = LabelBuffers(batchSize: batchSize, shard: self.shard)
    }

    /// The number of batches in each pass.
    public var batchCount: Int { order.batchCount }

    /// The number of batches the next pass hands out: ``batchCount``, or
    /// fewer when it continues a pass that a ``Checkpoint`` restored.
    public var underestimatedCount: Int { order.batchesInNextPass }

    /// Starts a pass over the data, drawing its order (with `shuffle`) from
    /// the sequence's generator: each call starts a new pass in a new order.
    public func makeIterator() -> Iterator {
        Iterator(batches: self, pass: order.nextPass())
    }

    /// One pass over the data, batch by batch.
    public struct Iterator: IteratorProtocol {
        private let batches: MiniBatches
        private var pass: BatchOrder.Pass

        fileprivate init(batches: MiniBatches, pass: BatchOrder.Pass) {
            self.batches = batches
            self.pass = pass
        }

        /// The next batch of the pass, or `nil` once every row has been visited.
        public mutating func next() -> Element? {
            guard let rows = batches.order.next(in: &pass) else { return nil }
            return batches.batch(of: rows)
        }
    }

    private func batch(of batchRows: ArraySlice<Int>) -> Element {
        let rows = shard.part(of: batchRows)
        return (featureBuffers.gather(rows, of: features), labelBuffers.gather(rows, of: labels))
    }
}

/// Shuffled mini-batches of features and regression targets (or any second
/// tensor with one row per sample): ``MiniBatches`` with a tensor of targets
/// in place of the labels.
///
/// Everything ``MiniBatches`` says holds here too: every row exactly once per
/// pass, a new seeded order per pass, `dropLast`, value semantics, and no
/// allocation per batch once warm. The targets of a batch are the same rows
/// of `targets` as its features are of `features`, and `shard: r, of: k`
/// takes part `r` of `k` of every batch, as there.
///
/// ```swift
/// let batches = try RegressionBatches(features: x, targets: y, batchSize: 64)
/// for (features, targets) in batches {
///     _ = try loss.forward(model(features), target: targets)
///     _ = try model.backward(loss.backward())
///     try optimizer.step(model)
/// }
/// ```
///
/// Iterating is not thread-safe: iterate one sequence from one task at a time.
public final class RegressionBatches<Scalar: BLASScalar>: Sequence {
    /// One batch: `features` of shape `[rows] + features.shape.dropFirst()`
    /// and `targets` of shape `[rows] + targets.shape.dropFirst()`, the same rows in the same order.
    public typealias Element = (features: Tensor<Scalar>, targets: Tensor<Scalar>)

    private let features: Tensor<Scalar>
    private let targets: Tensor<Scalar>
    /// Internal, not private: a ``Checkpoint`` saves and restores it.
    var order: BatchOrder
    private var featureBuffers: RowBuffers<Scalar>
    private var targetBuffers: RowBuffers<Scalar>
    /// Internal, not private: a ``Checkpoint`` records its count.
    let shard: BatchShard

    /// Creates the batches of `features` and `targets`, each with one sample
    /// per row of its leading dimension (any rank of 1 or more).
    ///
    /// The parameters other than `targets` are those of
    /// ``MiniBatches/init(features:labels:batchSize:shuffle:dropLast:seed:shard:of:)``.
    ///
    /// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` for
    ///   rank-0 features or targets,
    ///   ``PerceptronError/countMismatch(what:expected:actual:)`` when
    ///   `targets` has not as many rows as `features`, and
    ///   ``PerceptronError/invalidArgument(name:expected:actual:)`` for a
    ///   batch size below 1, or a shard outside `0..<shardCount`.
    public init(
        features: Tensor<Scalar>, targets: Tensor<Scalar>, batchSize: Int,
        shuffle: Bool = true, dropLast: Bool = false, seed: UInt64 = 0,
        shard: Int = 0, of shardCount: Int = 1
    ) throws(PerceptronError) {
        order = try BatchOrder(features: features, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, seed: seed)
        guard let targetRows = targets.shape.first else {
            throw .rankMismatch(what: "targets", expected: "of rank 1 or more (one row per sample)", shape: targets.shape)
        }
        guard targetRows == order.rowCount else {
            throw .countMismatch(
                what: "the rows of targets \(targets.shape) (one per row of features \(features.shape))",
                expected: order.rowCount, actual: targetRows)
        }
        self.shard = try BatchShard(index: shard, count: shardCount)
        self.features = features
        self.targets = targets
        featureBuffers = RowBuffers(of: features, batchSize: batchSize, shard: self.shard)
        targetBuffers = RowBuffers(of: targets, batchSize: batchSize, shard: self.shard)
    }

    /// The number of batches in each pass.
    public var batchCount: Int { order.batchCount }

    /// The number of batches the next pass hands out: ``batchCount``, or
    /// fewer when it continues a pass that a ``Checkpoint`` restored.
    public var underestimatedCount: Int { order.batchesInNextPass }

    /// Starts a pass over the data, drawing its order (with `shuffle`) from
    /// the sequence's generator: each call starts a new pass in a new order.
    public func makeIterator() -> Iterator {
        Iterator(batches: self, pass: order.nextPass())
    }

    /// One pass over the data, batch by batch.
    public struct Iterator: IteratorProtocol {
        private let batches: RegressionBatches
        private var pass: BatchOrder.Pass

        fileprivate init(batches: RegressionBatches, pass: BatchOrder.Pass) {
            self.batches = batches
            self.pass = pass
        }

        /// The next batch of the pass, or `nil` once every row has been visited.
        public mutating func next() -> Element? {
            guard let rows = batches.order.next(in: &pass) else { return nil }
            return batches.batch(of: rows)
        }
    }

    private func batch(of batchRows: ArraySlice<Int>) -> Element {
        let rows = shard.part(of: batchRows)
        return (featureBuffers.gather(rows, of: features), targetBuffers.gather(rows, of: targets))
    }
}

// MARK: - The order of the rows

/// The order in which a pass visits the rows, and how it cuts them into
/// batches: shared by ``MiniBatches`` and ``RegressionBatches``.
struct BatchOrder {
    /// The number of rows of the data.
    let rowCount: Int
    let batchSize: Int
    let shuffle: Bool
    /// The rows a pass visits: all of them, or with `dropLast` only the full batches'.
    let visitedCount: Int
    private var generator: SeededRandomNumberGenerator
    /// The last pass's order, overwritten in place by the next one (a pass
    /// still under way keeps its own copy through copy-on-write).
    private var order: [Int]
    /// The number of passes begun (and restores), so that only the pass begun
    /// last reports its progress.
    private var passNumber = 0
    /// The pass begun last, until it is asked for a batch after its last one.
    private var passUnderWay: PassProgress?
    /// A pass a restore left under way, which the next ``nextPass()``
    /// continues instead of drawing a new order.
    private var resumption: PassProgress?

    /// The order of the rows of `features`, checking the arguments.
    init<Scalar: BLASScalar>(
        features: Tensor<Scalar>, batchSize: Int, shuffle: Bool, dropLast: Bool, seed: UInt64
    ) throws(PerceptronError) {
        guard let rows = features.shape.first else {
            throw .rankMismatch(what: "features", expected: "of rank 1 or more (one row per sample)", shape: features.shape)
        }
        guard batchSize >= 1 else {
            throw .invalidArgument(name: "batchSize", expected: "at least 1", actual: "\(batchSize)")
        }
        rowCount = rows
        self.batchSize = batchSize
        self.shuffle = shuffle
        visitedCount = dropLast ? rows - rows % batchSize : rows
        generator = SeededRandomNumberGenerator(seed: seed)
        order = Array(0..<rows)
    }

    /// The number of batches in a pass.
    var batchCount: Int { (visitedCount + batchSize - 1) / batchSize }

    /// The number of batches the next pass hands out: fewer than
    /// ``batchCount`` when it continues a restored pass.
    var batchesInNextPass: Int { batchCount - (resumption?.batchesHandedOut ?? 0) }

    /// The next pass: with `shuffle`, a new permutation of the rows, drawn by
    /// Fisher–Yates from the generator; otherwise the rows in their order.
    ///
    /// After ``restore(generator:passUnderWay:)`` with a pass under way, the
    /// next pass is that one instead: its order drawn again from the
    /// generator as it was before it, from the batch it had reached.
    mutating func nextPass() -> Pass {
        passNumber &+= 1
        let progress: PassProgress
        if let resumed = resumption {
            // The generator is already past this pass: draw from a copy of its state before.
            var before = resumed.generatorBeforePass
            drawOrder(using: &before)
            (progress, resumption) = (resumed, nil)
        } else {
            progress = PassProgress(generatorBeforePass: generator, batchesHandedOut: 0)
            var generator = self.generator
            drawOrder(using: &generator)
            self.generator = generator
        }
        passUnderWay = progress
        let start = Swift.min(progress.batchesHandedOut * batchSize, visitedCount)
        return Pass(order: order, batchSize: batchSize, end: visitedCount, position: start, number: passNumber)
    }

    /// With `shuffle`, overwrites ``order`` with a new permutation drawn by
    /// Fisher–Yates from `generator`; otherwise leaves the rows in their order.
    private mutating func drawOrder(using generator: inout SeededRandomNumberGenerator) {
        guard shuffle else { return }
        order.withUnsafeMutableBufferPointer { order in
            for i in 0..<order.count { order[i] = i }
            var i = order.count - 1
            while i > 0 {
                order.swapAt(i, Self.uniform(below: i + 1, using: &generator))
                i -= 1
            }
        }
    }

    /// The rows of `pass`'s next batch, or `nil` at its end; for the pass
    /// begun last, also what ``passUnderWay`` records.
    mutating func next(in pass: inout Pass) -> ArraySlice<Int>? {
        let rows = pass.next()
        if pass.number == passNumber {
            if rows == nil { passUnderWay = nil } else { passUnderWay?.batchesHandedOut += 1 }
        }
        return rows
    }

    // MARK: Checkpoints

    /// Where a pass stands: enough to draw its order again and continue it.
    struct PassProgress {
        /// The generator as it was before the pass drew its order.
        var generatorBeforePass: SeededRandomNumberGenerator
        /// The batches the pass has handed out, from 0 to ``batchCount``.
        var batchesHandedOut: Int
    }

    /// What a ``Checkpoint`` saves: the generator that draws the next order,
    /// and the pass under way, if any (one a restore left to continue counts).
    var savedState: (generator: SeededRandomNumberGenerator, passUnderWay: PassProgress?) {
        (generator, resumption ?? passUnderWay)
    }

    /// Restores what ``savedState`` gave: `generator` draws the order after
    /// the pass under way, and the next ``nextPass()`` continues that pass
    /// (its `batchesHandedOut` at most ``batchCount``, checked by the caller).
    /// Iterators made before stop recording their progress.
    mutating func restore(generator: SeededRandomNumberGenerator, passUnderWay: PassProgress?) {
        self.generator = generator
        resumption = passUnderWay
        self.passUnderWay = nil
        passNumber &+= 1
    }

    /// A uniform integer in `0..<bound` (bound ≥ 1), by Lemire's
    /// multiply-and-reject method. Written out rather than taken from the
    /// standard library, whose method may change between Swift versions: the
    /// orders a seed gives must not.
    static func uniform(below bound: Int, using generator: inout SeededRandomNumberGenerator) -> Int {
        let bound = UInt64(bound)
        var product = generator.next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = generator.next().multipliedFullWidth(by: bound)
            }
        }
        return Int(product.high)
    }

    /// One pass: consecutive slices of its order, `batchSize` rows each but
    /// perhaps the last.
    struct Pass {
        let order: [Int]
        let batchSize: Int
        let end: Int
        /// The row the next batch starts at.
        var position: Int
        /// Which pass of its ``BatchOrder`` this is.
        let number: Int

        /// The rows of the next batch, or `nil` at the end of the pass.
        mutating func next() -> ArraySlice<Int>? {
            guard position < end else { return nil }
            let upper = Swift.min(position + batchSize, end)
            defer { position = upper }
            return order[position..<upper]
        }
    }
}

// MARK: - Reused buffers

/// The feature (or target) tensors of the batches of one data tensor: a pair
/// of buffers, written in turn, for (a shard's part of) full batches and
/// another for the short last batch of a pass.
struct RowBuffers<Scalar: BLASScalar> {
    private let fullShape: [Int]
    private let shortShape: [Int]
    private var full = ForwardBuffers<Scalar>()
    private var short = ForwardBuffers<Scalar>()

    /// Buffers for `shard`'s part of batches of `batchSize` rows of `source`
    /// (and of one shorter batch).
    init(of source: Tensor<Scalar>, batchSize: Int, shard: BatchShard) {
        let rows = source.shape[0]
        fullShape = source.shapeWithRows(shard.rows(inBatchOf: batchSize))
        shortShape = source.shapeWithRows(shard.rows(inBatchOf: rows % batchSize))
    }

    /// The rows of `source` at `rows`, in order, in a buffer that nobody else holds.
    mutating func gather(_ rows: ArraySlice<Int>, of source: Tensor<Scalar>) -> Tensor<Scalar> {
        rows.count == fullShape[0]
            ? Self.gather(rows, of: source, shape: fullShape, into: &full)
            : Self.gather(rows, of: source, shape: shortShape, into: &short)
    }

    private static func gather(
        _ rows: ArraySlice<Int>, of source: Tensor<Scalar>, shape: [Int], into buffers: inout ForwardBuffers<Scalar>
    ) -> Tensor<Scalar> {
        var batch: Tensor<Scalar>
        do {
            batch = try buffers.next(shape: shape)
        } catch {
            // A batch has no more rows than the data, whose shape is valid.
            fatalError("MiniBatches: a batch of shape \(shape) is invalid: \(error)")
        }
        rows.withUnsafeBufferPointer { indices in
            batch.withUnsafeMutableScalars { destination in source.copyRows(indices, to: destination) }
        }
        buffers.keep(batch)
        return batch
    }
}

/// The label arrays of the batches: two per batch size, written in turn.
struct LabelBuffers {
    /// The rows of (the shard's part of) a full batch.
    private let fullRows: Int
    private var full = Pair()
    private var short = Pair()

    init(batchSize: Int, shard: BatchShard) {
        fullRows = shard.rows(inBatchOf: batchSize)
    }

    /// The labels at `rows`, in order.
    mutating func gather(_ rows: ArraySlice<Int>, of labels: [Int]) -> [Int] {
        rows.count == fullRows ? full.gather(rows, of: labels) : short.gather(rows, of: labels)
    }

    private struct Pair {
        var last: [Int] = []
        var spare: [Int] = []

        /// Writes into the array handed out the time before last, which is
        /// unique unless a caller still holds it; then writing copies it
        /// first (copy-on-write), and what the caller holds stays as it was.
        mutating func gather(_ rows: ArraySlice<Int>, of labels: [Int]) -> [Int] {
            var batch: [Int] = []
            swap(&batch, &spare)
            if batch.count != rows.count { batch = Array(repeating: 0, count: rows.count) }
            labels.withUnsafeBufferPointer { labels in
                rows.withUnsafeBufferPointer { rows in
                    batch.withUnsafeMutableBufferPointer { batch in
                        for i in 0..<rows.count { batch[i] = labels[rows[i]] }
                    }
                }
            }
            spare = last
            last = batch
            return batch
        }
    }
}
