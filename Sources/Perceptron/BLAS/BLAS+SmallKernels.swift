import CPerceptronCPU
import Synchronization

// Small products without packing.
//
// OpenBLAS's GEMM copies ("packs") blocks of A and B into cache-friendly
// panels before it multiplies; for small products the copying is a large
// share of the work. Builds with SMALL_MATRIX_OPT (Debian's 0.3.21 among
// them) also carry kernels that multiply straight from the operands, but the
// CBLAS interface sends a product to them only up to 100³ = 10⁶ multiply-adds.
// Measured on the project's machine (SkylakeX kernels, one thread), they stay
// faster well beyond that:
//
//   product (row-major)   m × n × k          small-kernel time ÷ cblas time
//   NN (Z = XW)           32 × 256 × 256     0.61
//                         64 × 256 × 256     0.77     96 × 256 × 256  0.84
//   TN (∇W = XᵀG)         256 × 256 × 64     0.84     128 × 128 × 128 0.74
//   NT (∇X = GWᵀ)         64 × 256 × 256     0.88 Float, but 0.99–1.27 at most
//                         other Float shapes; 0.85–0.94 in Double
//   any                   at 2²⁴–2²⁶ multiply-adds: 0.9–1.7, mostly worse
//
// So products of at most `smallKernelLimit` (2²³) multiply-adds call them
// directly, except Float NT, Double NT with k < 32 (OpenBLAS's own rule keeps
// that kernel from a short k), and TT, which OpenBLAS's own rule never sends
// there (no layer computes one).
//
// One more condition comes from the kernels' source: the NN kernel mallocs a
// scratch buffer for a remainder of C's columns (row-major) that does not
// fill a vector of 16 Floats or 8 Doubles. OpenBLAS itself sends NN products
// of up to 10⁶ multiply-adds there, so even before Perceptron called these
// kernels, a small layer with, say, 100 outputs allocated on every forward
// pass. Such products now run in two parts, neither of which allocates: the
// columns that fill whole vectors on the kernel (or CBLAS, with the limit at
// 0), and the remaining few with one GEMV each.
//
// The kernels split each sum over k into vector lanes and blocks, so their
// results are as accurate as the packed path's (the rounding bound is the
// same) but may differ from them, and between different splits of the rows,
// in the last bits.
//
// The kernels are internal OpenBLAS symbols, found with dlsym for the running
// kernel (`sgemm_small_kernel_nn_SKYLAKEX` and fifteen more) during the
// one-time set-up. They are used only if OpenBLAS itself uses that core's
// small-matrix kernels (every core exports some, most of them plain C loops
// that OpenBLAS's own permit function never allows), all sixteen are present,
// and a self-check of every variant against plain loops passes.

extension BLAS {
    /// Whether the small-matrix kernels were found and passed their self-check.
    @usableFromInline
    static let smallKernelsInUse = Atomic<Bool>(false)

    /// The stored ``smallKernelLimit``.
    @usableFromInline
    static let smallLimit = Atomic<Int>(1 << 23)

    /// Products with at most this many multiply-adds (`m·n·k`) go straight to
    /// OpenBLAS's small-matrix kernels, which skip packing, where the running
    /// kernel has them (``Configuration/usesSmallMatrixKernels``).
    ///
    /// The default, 2²³ = 8,388,608 (a 128 × 256 × 256 product), is where
    /// they stopped paying on the project's machine (`perceptron-bench
    /// --small-kernels`); 0 sends every product through `cblas_?gemm` as
    /// usual. Setting it affects the whole process, and can change results
    /// in the last bits; values below 0 are treated as 0.
    @_spi(Benchmarking) public static var smallKernelLimit: Int {
        get { smallLimit.load(ordering: .relaxed) }
        set { smallLimit.store(max(0, newValue), ordering: .relaxed) }
    }

    /// How one row-major product runs.
    @usableFromInline
    enum GEMMRoute: Equatable, Sendable {
        /// Through `cblas_?gemm`.
        case cblas
        /// On the small-matrix kernel.
        case smallKernel
        /// An NN product whose rows of C do not fill whole vectors: its first
        /// `columns` columns on the small-matrix kernel (or through CBLAS, when
        /// `smallKernel` is false), each of the rest with one GEMV.
        case columnsThenGEMVs(columns: Int32, smallKernel: Bool)
    }

    /// How an `m × n × k` product (row-major, with these transposes) runs.
    @inlinable
    static func route<Scalar: BLASScalar>(
        _: Scalar.Type, transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32
    ) -> GEMMRoute {
        guard smallKernelsInUse.load(ordering: .relaxed) else { return .cblas }
        let isFloat = Scalar.self == Float.self
        let multiplyAdds = Double(m) * Double(n) * Double(k)
        let small = multiplyAdds <= Double(smallLimit.load(ordering: .relaxed))
        switch (transposeA, transposeB) {
        case (false, false):
            let width = Int32(isFloat ? 16 : 8)
            let remainder = n % width
            // Up to 10⁶ multiply-adds, OpenBLAS itself would take the kernel's allocating path.
            if remainder != 0 && (small || multiplyAdds <= 1e6) {
                return .columnsThenGEMVs(columns: n - remainder, smallKernel: small)
            }
            return small ? .smallKernel : .cblas
        case (true, false):
            return small ? .smallKernel : .cblas
        case (false, true):
            return small && !isFloat && k >= 32 ? .smallKernel : .cblas
        case (true, true):
            return .cblas
        }
    }

    /// `C ← α·A·B + β·C` (no transposes) in two parts, neither of which
    /// allocates: the first `columns` columns of C with one GEMM (on the
    /// small-matrix kernel if `smallKernel`), then each remaining column with
    /// one GEMV, `C[:, j] ← α·A·B[:, j] + β·C[:, j]`.
    @inlinable
    static func gemmWithColumnGEMVs<Scalar: BLASScalar>(
        m: Int32, n: Int32, k: Int32, columns: Int32, smallKernel: Bool,
        alpha: Scalar, _ a: UnsafePointer<Scalar>, lda: Int32,
        _ b: UnsafePointer<Scalar>, beta: Scalar, _ c: UnsafeMutablePointer<Scalar>
    ) {
        if columns > 0 {
            // The leading columns of B and C, with their full row lengths as leading dimensions.
            if smallKernel {
                Scalar._gemmSmall(transposeA: false, transposeB: false, m: m, n: columns, k: k,
                                  alpha: alpha, a: a, lda: lda, b: b, ldb: n, beta: beta, c: c, ldc: n)
            } else {
                Scalar._gemm(transposeA: false, transposeB: false, m: m, n: columns, k: k,
                             alpha: alpha, a: a, lda: lda, b: b, ldb: n, beta: beta, c: c, ldc: n)
            }
        }
        for column in Int(columns)..<Int(n) {
            let y = c + column
            if beta == 0 {
                // β = 0 must not read C (it may hold NaN): clear the column and add.
                for row in 0..<Int(m) { y[row * Int(n)] = 0 }
            }
            Scalar._gemv(transpose: false, m: m, n: k, alpha: alpha, a: a, lda: lda,
                         x: b + column, incx: n, beta: beta == 0 ? 1 : beta, y: y, incy: n)
        }
    }

    /// Finds the running kernel's small-matrix kernels and checks them; part
    /// of the one-time set-up. Returns whether they are in use.
    static func loadSmallKernels(core: String) -> Bool {
        guard perceptron_small_kernels_load(core) else { return false }
        guard Perceptron.KernelSelection.selfCheck(Float.self, small: true),
              Perceptron.KernelSelection.selfCheck(Double.self, small: true)
        else {
            perceptron_small_kernels_unload()
            return false
        }
        smallKernelsInUse.store(true, ordering: .relaxed)
        return true
    }
}
