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
// directly, except Float NT, and TT, which OpenBLAS's own rule never sends
// there (no layer computes one). Two more conditions come from the kernels'
// source: the NN kernel allocates a scratch buffer for a remainder of columns
// of C (row-major) that is not a multiple of its vector width, so NN products
// go there only when n is a multiple of 16 (Float) or 8 (Double), keeping a
// training step free of allocations; and each kernel computes every entry of C
// as one straight sum over k, so its results are as accurate as the packed
// path's (the rounding bound is the same) but may differ from them in the
// last bits.
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
    static let smallKernels = Atomic<Bool>(false)

    /// The stored ``smallKernelLimit``.
    @usableFromInline
    static let smallLimit = Atomic<Int>(1 << 23)

    /// Products with at most this many multiply-adds (`m·n·k`) go straight to
    /// OpenBLAS's small-matrix kernels, which skip packing, where the running
    /// kernel has them (``Configuration/smallMatrixKernels``).
    ///
    /// The default, 2²³ = 8,388,608 (a 128 × 256 × 256 product), is where
    /// they stopped paying on the project's machine; 0 sends every product
    /// through `cblas_?gemm` as usual. Setting it affects the whole process;
    /// values below 0 are treated as 0.
    public static var smallKernelLimit: Int {
        get { smallLimit.load(ordering: .relaxed) }
        set { smallLimit.store(max(0, newValue), ordering: .relaxed) }
    }

    /// Whether an `m × n × k` product (row-major, with these transposes)
    /// should run on the small-matrix kernels.
    @inlinable
    static func prefersSmallKernel<Scalar: BLASScalar>(
        _: Scalar.Type, transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32
    ) -> Bool {
        let isFloat = Scalar.self == Float.self
        guard smallKernels.load(ordering: .relaxed), !(isFloat && transposeB), !(transposeA && transposeB) else {
            return false
        }
        if !transposeA && !transposeB, Int(n) % (isFloat ? 16 : 8) != 0 { return false }
        return Double(m) * Double(n) * Double(k) <= Double(smallLimit.load(ordering: .relaxed))
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
        smallKernels.store(true, ordering: .relaxed)
        return true
    }
}
