import CPerceptronCPU
import Synchronization

// Small products without packing.
//
// OpenBLAS's GEMM copies ("packs") blocks of A and B into cache-friendly
// panels before it multiplies; for small products the copying is a large
// share of the work. Builds with SMALL_MATRIX_OPT (Debian's 0.3.21 among
// them) also carry kernels that multiply straight from the operands, but the
// CBLAS interface sends a product to them only up to 100³ = 10⁶ multiply-adds,
// while they stay faster well beyond that (`perceptron-bench small-kernels`
// measures where). So products of at most `limit` multiply-adds call them
// directly, except:
//
//   - Float NT (∇X = GWᵀ): measured no faster than CBLAS;
//   - Double NT with k < 32, and TT: OpenBLAS's own rule never sends those
//     there (no layer computes TT).
//
// One more condition comes from the kernels' source: the NN kernel mallocs a
// scratch buffer for a remainder of C's columns (row-major) that does not
// fill a vector of 16 Floats or 8 Doubles, and OpenBLAS itself sends NN
// products of up to 10⁶ multiply-adds there. Such products run in two parts,
// neither of which allocates: the columns that fill whole vectors on the
// kernel (or CBLAS), and the remaining few with one GEMV each.
//
// The kernels split each sum over k into vector lanes and blocks, so their
// results are as accurate as the packed path's (the rounding bound is the
// same) but may differ from it, and between different splits of the rows, in
// the last bits.
//
// They are internal OpenBLAS symbols, found with dlsym for the running kernel
// (`sgemm_small_kernel_nn_SKYLAKEX` and fifteen more) during the one-time
// set-up, and used only if OpenBLAS itself uses that core's small-matrix
// kernels (every core exports some, most of them plain C loops that
// OpenBLAS's own permit function never allows), all sixteen are present, and
// a self-check of every variant against plain loops passes.

/// Which products run on OpenBLAS's small-matrix kernels.
enum SmallKernels {
    /// Whether the kernels were found and passed their self-check; set once, by the set-up.
    static let inUse = Atomic<Bool>(false)

    /// Products of at most this many multiply-adds use the kernels; 0 sends
    /// every product through CBLAS. 2²³ (a 128 × 256 × 256 product) is about
    /// where they stop paying.
    static let limit = Atomic<Int>(1 << 23)

    /// How one row-major product runs.
    enum Route: Equatable, Sendable {
        /// Through `cblas_?gemm`.
        case cblas
        /// On the small-matrix kernel.
        case smallKernel
        /// An NN product whose rows of C do not fill whole vectors: its first
        /// `columns` columns on the small-matrix kernel (or through CBLAS, when
        /// `smallKernel` is false), each of the rest with one GEMV.
        case columnsThenGEMVs(columns: Int32, smallKernel: Bool)
    }

    /// How `p` runs.
    static func route<Scalar: BLASScalar>(_ p: MatrixProduct<Scalar>) -> Route {
        route(Scalar.self, transposeA: p.transposeA, transposeB: p.transposeB, m: p.m, n: p.n, k: p.k)
    }

    /// How an `m × n × k` product of `Scalar`s with these transposes runs.
    static func route<Scalar: BLASScalar>(
        _: Scalar.Type, transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32
    ) -> Route {
        guard inUse.load(ordering: .relaxed) else { return .cblas }
        let isFloat = Scalar.self == Float.self
        let multiplyAdds = Double(m) * Double(n) * Double(k)
        let small = multiplyAdds <= Double(limit.load(ordering: .relaxed))
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

    /// Finds the running kernel's small-matrix kernels and checks them; part
    /// of the one-time set-up. Returns whether they are in use.
    static func load(core: String) -> Bool {
        guard perceptron_small_kernels_load(core) else { return false }
        guard KernelSelector.selfCheck(Float.self, small: true), KernelSelector.selfCheck(Double.self, small: true) else {
            perceptron_small_kernels_unload()
            return false
        }
        inUse.store(true, ordering: .relaxed)
        return true
    }
}
