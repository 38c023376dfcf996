/// A floating-point type that OpenBLAS computes with: `Float` (the `s` routines)
/// or `Double` (the `d` routines).
///
/// Perceptron conforms exactly these two types, in `Float+BLAS.swift` and
/// `Double+BLAS.swift`. The requirements whose names start with an underscore
/// are thin, unchecked wrappers over the C routines; they exist so that generic
/// code specialises to a direct call, and are not meant to be called from
/// outside the library. Conforming another type is not supported.
public protocol BLASScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable, CustomStringConvertible
where RawSignificand: FixedWidthInteger {
    /// Row-major `C ← α·op(A)·op(B) + β·C`, where `op(A)` is `m × k` and `op(B)` is `k × n`.
    ///
    /// Unchecked: every size must already be validated (see `BLAS.Dimension`)
    /// and every leading dimension be at least 1.
    static func _gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int32, n: Int32, k: Int32,
        alpha: Self, a: UnsafePointer<Self>, lda: Int32,
        b: UnsafePointer<Self>, ldb: Int32,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int32)

    /// The same product on OpenBLAS's small-matrix kernels, which skip packing
    /// (see `BLAS+SmallKernels.swift`).
    ///
    /// Unchecked, like ``_gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
    /// Only valid after Perceptron's one-time set-up has found and checked
    /// those kernels (``BLAS/Configuration/usesSmallMatrixKernels``): before,
    /// or without them, it calls a null function pointer.
    static func _gemmSmall(
        transposeA: Bool, transposeB: Bool,
        m: Int32, n: Int32, k: Int32,
        alpha: Self, a: UnsafePointer<Self>, lda: Int32,
        b: UnsafePointer<Self>, ldb: Int32,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int32)

    /// Row-major `y ← α·op(A)·x + β·y` for an `m × n` matrix `A`, with `x`
    /// and `y` read and written every `incx` and `incy` elements.
    ///
    /// Unchecked, like ``_gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
    static func _gemv(
        transpose: Bool, m: Int32, n: Int32,
        alpha: Self, a: UnsafePointer<Self>, lda: Int32,
        x: UnsafePointer<Self>, incx: Int32, beta: Self, y: UnsafeMutablePointer<Self>, incy: Int32)

    /// `eˣ`, from the C library (`expf` or `exp`).
    static func _exp(_ x: Self) -> Self

    /// The natural logarithm, from the C library (`logf` or `log`).
    static func _log(_ x: Self) -> Self

    /// The hyperbolic tangent, from the C library (`tanhf` or `tanh`).
    static func _tanh(_ x: Self) -> Self
}
