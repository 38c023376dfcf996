import COpenBLAS
import CPerceptronCPU

// The C routines, wrapped once. Each wrapper takes a product described for
// its own scalar type and is @_transparent, so that a caller specialised for
// Float or Double compiles to the bare C call. Generic code reaches them
// through `OpenBLAS.multiply`, which compares the scalar type and
// reinterprets the product; nothing here checks sizes (Kernels did).

/// Thin wrappers over CBLAS and OpenBLAS's small-matrix kernels, in row-major order.
enum CBLAS {
    /// The CBLAS transpose flag for `transposed`.
    @_transparent
    static func flag(_ transposed: Bool) -> CBLAS_TRANSPOSE {
        transposed ? CblasTrans : CblasNoTrans
    }

    /// `cblas_sgemm`.
    @_transparent
    static func gemm(_ p: MatrixProduct<Float>) {
        cblas_sgemm(CblasRowMajor, flag(p.transposeA), flag(p.transposeB), p.m, p.n, p.k,
                    p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc)
    }

    /// `cblas_dgemm`.
    @_transparent
    static func gemm(_ p: MatrixProduct<Double>) {
        cblas_dgemm(CblasRowMajor, flag(p.transposeA), flag(p.transposeB), p.m, p.n, p.k,
                    p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc)
    }

    /// OpenBLAS's single-precision small-matrix kernel; only once ``SmallKernels`` has loaded them.
    @_transparent
    static func gemmSmall(_ p: MatrixProduct<Float>) {
        perceptron_sgemm_small(p.transposeA, p.transposeB, Int(p.m), Int(p.n), Int(p.k),
                               p.alpha, p.a, Int(p.lda), p.b, Int(p.ldb), p.beta, p.c, Int(p.ldc))
    }

    /// OpenBLAS's double-precision small-matrix kernel; only once ``SmallKernels`` has loaded them.
    @_transparent
    static func gemmSmall(_ p: MatrixProduct<Double>) {
        perceptron_dgemm_small(p.transposeA, p.transposeB, Int(p.m), Int(p.n), Int(p.k),
                               p.alpha, p.a, Int(p.lda), p.b, Int(p.ldb), p.beta, p.c, Int(p.ldc))
    }

    /// `cblas_sgemv`.
    @_transparent
    static func gemv(_ p: MatrixVectorProduct<Float>) {
        cblas_sgemv(CblasRowMajor, flag(p.transpose), p.m, p.n, p.alpha, p.a, p.lda, p.x, p.incx, p.beta, p.y, p.incy)
    }

    /// `cblas_dgemv`.
    @_transparent
    static func gemv(_ p: MatrixVectorProduct<Double>) {
        cblas_dgemv(CblasRowMajor, flag(p.transpose), p.m, p.n, p.alpha, p.a, p.lda, p.x, p.incx, p.beta, p.y, p.incy)
    }
}
