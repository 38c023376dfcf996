import COpenBLAS
import CPerceptronCPU

// Double computes with OpenBLAS's single-letter "d" routines. Each wrapper is
// @_transparent so that a generic caller specialised for Double compiles to the
// bare CBLAS call, with nothing in between.
extension Double: BLASScalar {
    /// Calls `cblas_dgemm` in row-major order; see ``BLASScalar/_gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
    @_transparent
    public static func _gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int32, n: Int32, k: Int32,
        alpha: Double, a: UnsafePointer<Double>, lda: Int32,
        b: UnsafePointer<Double>, ldb: Int32,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int32
    ) {
        cblas_dgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Calls OpenBLAS's `dgemm_small_kernel` for the running kernel; see ``BLASScalar/_gemmSmall(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
    @_transparent
    public static func _gemmSmall(
        transposeA: Bool, transposeB: Bool,
        m: Int32, n: Int32, k: Int32,
        alpha: Double, a: UnsafePointer<Double>, lda: Int32,
        b: UnsafePointer<Double>, ldb: Int32,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int32
    ) {
        perceptron_dgemm_small(
            transposeA, transposeB, Int(m), Int(n), Int(k),
            alpha, a, Int(lda), b, Int(ldb), beta, c, Int(ldc))
    }

    /// Calls `cblas_dgemv` in row-major order; see ``BLASScalar/_gemv(transpose:m:n:alpha:a:lda:x:incx:beta:y:incy:)``.
    @_transparent
    public static func _gemv(
        transpose: Bool, m: Int32, n: Int32,
        alpha: Double, a: UnsafePointer<Double>, lda: Int32,
        x: UnsafePointer<Double>, incx: Int32, beta: Double, y: UnsafeMutablePointer<Double>, incy: Int32
    ) {
        cblas_dgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans,
            m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
}
