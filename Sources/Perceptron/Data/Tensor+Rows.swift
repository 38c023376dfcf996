// Rows of the leading dimension: picking samples out of a data set.
//
// A "row" is everything below axis 0: of a [n, f] matrix, a vector of f
// scalars; of a [n, h, w] tensor, an h × w block. Rows are contiguous in the
// row-major buffer, so copying one is a single block copy.

extension Tensor {
    /// The rows of the leading dimension at `indices`, in that order, as a new
    /// tensor of shape `[indices.count] + shape.dropFirst()`.
    ///
    /// A row is everything below axis 0, so this works for any rank of 1 or
    /// more: on a `[n]` vector it picks scalars, on a `[n, f]` matrix it picks
    /// samples. Indices may repeat and come in any order; an empty list gives
    /// a tensor with no rows. It is numpy's `x[indices]` and PyTorch's
    /// `x.index_select(0, indices)`. Every index is checked before anything
    /// is allocated.
    ///
    /// ```swift
    /// let x = try Tensor<Float>([[0, 1], [10, 11], [20, 21]])
    /// let y = try x.gatheringRows([2, 0, 2])   // [[20, 21], [0, 1], [20, 21]]
    /// ```
    ///
    /// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` for a
    ///   rank-0 tensor, which has no rows, and
    ///   ``PerceptronError/indexOutOfRange(what:index:position:range:)``
    ///   naming the first index outside `0..<shape[0]` and its position in `indices`.
    public func gatheringRows(_ indices: [Int]) throws(PerceptronError) -> Tensor {
        let rowCount = try checkedRowCount(for: "gatheringRows")
        for (position, index) in indices.enumerated() where index < 0 || index >= rowCount {
            throw .indexOutOfRange(what: "row index", index: index, position: position, range: 0..<rowCount)
        }
        var result = try Tensor(uninitializedShape: shapeWithRows(indices.count))
        indices.withUnsafeBufferPointer { indices in
            result.withUnsafeMutableScalars { destination in copyRows(indices, to: destination) }
        }
        return result
    }

    /// A copy of the rows of the leading dimension in `range`, as a new tensor
    /// of shape `[range.count] + shape.dropFirst()`: numpy's `x[a:b].copy()`,
    /// PyTorch's `x[a:b].clone()`.
    ///
    /// Works for any rank of 1 or more; an empty range gives a tensor with no rows.
    ///
    /// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` for a
    ///   rank-0 tensor, and ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   when `range` does not lie within `0..<shape[0]`.
    public func rows(_ range: Range<Int>) throws(PerceptronError) -> Tensor {
        let rowCount = try checkedRowCount(for: "rows(_:)")
        guard range.lowerBound >= 0, range.upperBound <= rowCount else {
            throw .invalidArgument(
                name: "row range", expected: "within 0..<\(rowCount) (the rows of shape \(shape))",
                actual: "\(range.lowerBound)..<\(range.upperBound)")
        }
        var result = try Tensor(uninitializedShape: shapeWithRows(range.count))
        let width = rowWidth
        let count = range.count * width
        withUnsafeScalars { source in
            result.withUnsafeMutableScalars { destination in
                destination.initialize(from: source + range.lowerBound * width, count: count)
            }
        }
        return result
    }
}

// MARK: - Internal: the copy itself, shared with the batch sequences

extension Tensor {
    /// The number of scalars in one row of the leading dimension: the product
    /// of every dimension but the first (1 for a vector). Plain loop: no allocation.
    internal var rowWidth: Int {
        var product = 1
        for axis in 1..<Swift.max(shape.count, 1) { product &*= shape[axis] }
        return product
    }

    /// This shape with its leading dimension replaced by `rows`.
    internal func shapeWithRows(_ rows: Int) -> [Int] {
        var result = shape
        result[0] = rows
        return result
    }

    /// `shape[0]`, or the rank error of a rank-0 tensor, which has no rows.
    private func checkedRowCount(for operation: String) throws(PerceptronError) -> Int {
        guard let rows = shape.first else {
            throw .rankMismatch(what: "the tensor passed to \(operation)", expected: "of rank 1 or more", shape: shape)
        }
        return rows
    }

    /// Copies the rows at `indices`, in order, to consecutive rows at
    /// `destination`, which must have room for `indices.count` rows.
    ///
    /// Every index must already be known to be in `0..<shape[0]`. Allocates nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    internal func copyRows(_ indices: UnsafeBufferPointer<Int>, to destination: UnsafeMutablePointer<Scalar>) {
        let width = rowWidth
        withUnsafeScalars { source in
            var target = destination
            for index in indices {
                target.update(from: source + index * width, count: width)
                target += width
            }
        }
    }
}
