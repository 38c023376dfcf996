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
    let (m32, k32, n32) = (
        try BLAS.dimension(m, "matmul rows of a"),
        try BLAS.dimension(k, "matmul columns of a"),
        try BLAS.dimension(n, "matmul columns of b"))
    result.makeUnique()
    BLAS.gemm(m: m32, n: n32, k: k32, a.base, b.base, beta: accumulate ? 1 : 0, result.mutableBase)
}

/// The sizes `(m, k, n)` of `a · b`, or the error that says why there is no such product.
private func productShape<Scalar>(
    _ a: Tensor<Scalar>, _ b: Tensor<Scalar>
) throws(PerceptronError) -> (Int, Int, Int) {
    guard a.rank == 2 else { throw .rankMismatch(what: "matmul left operand", expected: "a matrix", shape: a.shape) }
    guard b.rank == 2 else { throw .rankMismatch(what: "matmul right operand", expected: "a matrix", shape: b.shape) }
    guard a.shape[1] == b.shape[0] else {
        throw .shapeMismatch(what: "matmul right operand", expected: [a.shape[1], b.shape[1]], actual: b.shape)
    }
    return (a.shape[0], a.shape[1], b.shape[1])
}
