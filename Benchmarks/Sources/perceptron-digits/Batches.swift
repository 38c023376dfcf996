import Perceptron

/// Mini-batches copied into tensors and label arrays that are reused from
/// batch to batch, so that a training step allocates nothing once the first
/// epoch has run.
///
/// Two of each are used in turn: the first layer keeps its last input, and the
/// loss its last labels, for the backward pass, so the previous batch's buffers
/// are still referenced while the next batch is filled, and writing to them
/// would make copy-on-write copy them. The ones from the batch before that
/// nobody holds any more, and are written in place.
struct Batches {
    private var full: Slot
    /// The shorter last batch of an epoch, when the batch size does not divide the data.
    private var remainder: Slot?

    /// Batches of `batchSize` rows (the last one of an epoch may be shorter).
    init(batchSize: Int) {
        full = Slot(rows: batchSize)
    }

    /// Copies the samples of `data` at `indices`, and their labels, into reused buffers.
    mutating func fill(from data: DigitsDataset, indices: ArraySlice<Int>) -> (inputs: Tensor<Float>, labels: [Int]) {
        if indices.count == full.rows { return full.fill(from: data, indices: indices) }
        if remainder?.rows != indices.count { remainder = Slot(rows: indices.count) }
        return remainder!.fill(from: data, indices: indices)
    }

    /// The two sets of buffers of one batch size, used in turn.
    private struct Slot {
        let rows: Int
        var inputs: [Tensor<Float>]
        var labels: [[Int]]
        var turn = 0

        init(rows: Int) {
            self.rows = rows
            // Two separate buffers each: a copy of one would share it until written.
            inputs = (0..<2).map { _ in Tensor<Float>(shape: [rows, DigitsDataset.featureCount]) }
            labels = (0..<2).map { _ in [Int](repeating: 0, count: rows) }
        }

        mutating func fill(from data: DigitsDataset, indices: ArraySlice<Int>) -> (inputs: Tensor<Float>, labels: [Int]) {
            turn ^= 1
            let width = DigitsDataset.featureCount
            data.features.withUnsafeBufferPointer { source in
                inputs[turn].withUnsafeMutableBufferPointer { batch in
                    for (row, index) in indices.enumerated() {
                        (batch.baseAddress! + row * width).update(from: source.baseAddress! + index * width, count: width)
                    }
                }
            }
            for (row, index) in indices.enumerated() { labels[turn][row] = data.labels[index] }
            return (inputs[turn], labels[turn])
        }
    }
}
