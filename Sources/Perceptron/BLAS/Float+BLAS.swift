import COpenBLAS
import CPerceptronCPU

// Float computes with OpenBLAS's single-letter "s" routines. Each wrapper is
// @_transparent so that a generic caller specialised for Float compiles to the
// bare CBLAS call, with nothing in between.
extension Float: BLASScalar {
    /// Calls `cblas_sgemm` in row-major order; see ``BLASScalar/_gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
    @_transparent
    public static func _gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int32, n: Int32, k: Int32,
        alpha: Float, a: UnsafePointer<Float>, lda: Int32,
        b: UnsafePointer<Float>, ldb: Int32,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int32
    ) {
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Calls OpenBLAS's `sgemm_small_kernel` for the running kernel; see ``BLASScalar/_gemmSmall(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
    @_transparent
    public static func _gemmSmall(
        transposeA: Bool, transposeB: Bool,
        m: Int32, n: Int32, k: Int32,
        alpha: Float, a: UnsafePointer<Float>, lda: Int32,
        b: UnsafePointer<Float>, ldb: Int32,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int32
    ) {
        perceptron_sgemm_small(
            transposeA, transposeB, Int(m), Int(n), Int(k),
            alpha, a, Int(lda), b, Int(ldb), beta, c, Int(ldc))
    }

    /// Calls `cblas_sgemv` in row-major order; see ``BLASScalar/_gemv(transpose:m:n:alpha:a:lda:x:incx:beta:y:incy:)``.
    @_transparent
    public static func _gemv(
        transpose: Bool, m: Int32, n: Int32,
        alpha: Float, a: UnsafePointer<Float>, lda: Int32,
        x: UnsafePointer<Float>, incx: Int32, beta: Float, y: UnsafeMutablePointer<Float>, incy: Int32
    ) {
        cblas_sgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans,
            m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
}
