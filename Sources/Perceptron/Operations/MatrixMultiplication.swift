/// Returns the matrix product `a · b` of an `m × k` and a `k × n` matrix, computed by one GEMM.
///
/// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` when an
///   operand is not a matrix, ``PerceptronError/shapeMismatch(what:expected:actual:)``
///   when the inner dimensions differ, and
///   ``PerceptronError/dimensionTooLarge(what:value:limit:)`` for sizes OpenBLAS cannot take.
public func matmul<Scalar: BLASScalar>(
    _ a: Tensor<Scalar>, _ b: Tensor<Scalar>
) throws(PerceptronError) -> Tensor<Scalar> {
    let (m, _, n) = try productShape(a, b)
    var result = try Tensor<Scalar>(uninitializedShape: [m, n])
    try matmul(a, b, into: &result)
    return result
}

/// Computes `result ← a · b`, or `result ← result + a · b` when `accumulate`
/// is `true`, writing into `result`'s buffer (copied first only if shared).
///
/// - Throws: the errors of ``matmul(_:_:)``, and
///   ``PerceptronError/shapeMismatch(what:expected:actual:)`` when `result` is not `m × n`.
public func matmul<Scalar: BLASScalar>(
    _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, into result: inout Tensor<Scalar>, accumulate: Bool = false
) throws(PerceptronError) {
    let (m, k, n) = try productShape(a, b)
    guard result.rank == 2, result.shape[0] == m, result.shape[1] == n else {
        throw .shapeMismatch(what: "matmul result", expected: [m, n], actual: result.shape)
    }
    // `productShape` has checked each size against BLAS's 32-bit limit.
    let beta: Scalar = accumulate ? 1 : 0
    a.withUnsafeScalars { a in
        b.withUnsafeScalars { b in
            result.withUnsafeMutableScalars { c in
                Kernels.multiply(MatrixProduct(
                    m: Int32(truncatingIfNeeded: m), n: Int32(truncatingIfNeeded: n), k: Int32(truncatingIfNeeded: k),
                    a, b, beta: beta, c))
            }
        }
    }
}

/// The sizes `(m, k, n)` of `a · b`, or the error that says why there is no such product.
///
/// The sizes are checked against OpenBLAS's 32-bit limit here, before
/// ``matmul(_:_:)`` allocates its result: empty operands can have huge
/// dimensions (`[2³³, 0] · [0, 1]`), and the `m × n` result of such a product
/// would otherwise be allocated (gigabytes, or a crash) only to be refused.
private func productShape<Scalar>(
    _ a: Tensor<Scalar>, _ b: Tensor<Scalar>
) throws(PerceptronError) -> (Int, Int, Int) {
    guard a.rank == 2 else { throw .rankMismatch(what: "matmul left operand", expected: "a matrix", shape: a.shape) }
    guard b.rank == 2 else { throw .rankMismatch(what: "matmul right operand", expected: "a matrix", shape: b.shape) }
    guard a.shape[1] == b.shape[0] else {
        throw .shapeMismatch(what: "matmul right operand", expected: [a.shape[1], b.shape[1]], actual: b.shape)
    }
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    _ = try Kernels.checkedDimension(m, "matmul rows of a")
    _ = try Kernels.checkedDimension(k, "matmul columns of a")
    _ = try Kernels.checkedDimension(n, "matmul columns of b")
    return (m, k, n)
}
