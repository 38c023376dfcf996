extension Tensor {
    /// The transpose of a matrix, copied: shape `[r, c]` becomes `[c, r]`,
    /// and element `(i, j)` moves to `(j, i)`, bit for bit.
    ///
    /// For converting between layouts (PyTorch's `[out, in]` weights and
    /// Perceptron's `[in, out]`), not for computing: a product with a
    /// transpose passes a flag to GEMM instead. A tensor that is not a matrix
    /// is a programming error and traps.
    func transposedMatrix() -> Tensor {
        precondition(rank == 2, "transposedMatrix needs a matrix, got shape \(shape)")
        let (rows, columns) = (shape[0], shape[1])
        var result = Tensor(shape: [columns, rows])
        // Blocks of 32 × 32, so that both the rows read and the rows written
        // stay in cache while a block is copied.
        let block = 32
        withUnsafeScalars { source in
            result.withUnsafeMutableScalars { destination in
                for rowStart in stride(from: 0, to: rows, by: block) {
                    for columnStart in stride(from: 0, to: columns, by: block) {
                        for i in rowStart..<min(rowStart + block, rows) {
                            for j in columnStart..<min(columnStart + block, columns) {
                                destination[j * rows + i] = source[i * columns + j]
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
