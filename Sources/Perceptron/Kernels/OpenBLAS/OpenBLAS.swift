import COpenBLAS
import CPerceptronCPU

/// The default backend: OpenBLAS, through CBLAS and its small-matrix kernels.
enum OpenBLAS: ComputeBackend {
    /// What the one-time set-up found.
    struct State: Sendable {
        /// How the running kernel was chosen.
        var kernelSelection: BLAS.KernelSelection
        /// Whether the small-matrix kernels were found and passed their self-check.
        var usesSmallKernels: Bool
    }

    /// The one-time set-up, run by the first product (or the first read of
    /// ``BLAS/configuration``); Swift runs a static initializer exactly once,
    /// thread-safely. In order:
    ///
    /// 1. the kernel selection, which may switch OpenBLAS to a stronger kernel
    ///    (`KernelSelector`), and must happen before any other BLAS call;
    /// 2. the small-matrix kernels of the kernel now running (`SmallKernels`);
    /// 3. the threads: OpenBLAS's own count becomes ``BLAS/threadCount``, and
    ///    OpenBLAS runs single-threaded from then on (`ProductSplit`).
    static let state: State = {
        let selection = KernelSelector.run()
        let small = perceptron_openblas_core_name().map { SmallKernels.load(core: String(cString: $0)) } ?? false
        ProductSplit.threads.store(max(1, Int(openblas_get_num_threads())), ordering: .relaxed)
        openblas_set_num_threads(1)
        return State(kernelSelection: selection, usesSmallKernels: small)
    }()

    /// Ensures the one-time set-up has run; cheap after the first call.
    @inline(__always)
    static func setUp() {
        _ = state
    }

    /// Computes `p` on the route ``SmallKernels/route(_:)`` picks for it.
    static func multiply<Scalar: BLASScalar>(_ p: MatrixProduct<Scalar>) {
        precondition(p.bias == nil, "OpenBLAS: a product with a bias reached OpenBLAS, which has none")
        switch SmallKernels.route(p) {
        case .cblas:
            gemm(p, small: false)
        case .smallKernel:
            gemm(p, small: true)
        case let .columnsThenGEMVs(columns, small):
            multiplyWithColumnGEMVs(p, columns: columns, small: small)
        }
    }

    /// Computes `p` with `?gemv`.
    static func multiply<Scalar: BLASScalar>(_ p: MatrixVectorProduct<Scalar>) {
        if Scalar.self == Float.self {
            CBLAS.gemv(p.reinterpreted(as: Float.self))
        } else if Scalar.self == Double.self {
            CBLAS.gemv(p.reinterpreted(as: Double.self))
        } else {
            unsupported(Scalar.self)
        }
    }

    /// Computes `p` through `cblas_?gemm`, or on the small-matrix kernel when `small`.
    static func gemm<Scalar: BLASScalar>(_ p: MatrixProduct<Scalar>, small: Bool) {
        if Scalar.self == Float.self {
            let p = p.reinterpreted(as: Float.self)
            if small { CBLAS.gemmSmall(p) } else { CBLAS.gemm(p) }
        } else if Scalar.self == Double.self {
            let p = p.reinterpreted(as: Double.self)
            if small { CBLAS.gemmSmall(p) } else { CBLAS.gemm(p) }
        } else {
            unsupported(Scalar.self)
        }
    }

    /// `C ← α·A·B + β·C` (no transposes) in two parts, neither of which
    /// allocates: the first `columns` columns of C with one GEMM (on the
    /// small-matrix kernel if `small`), then each remaining column with one
    /// GEMV, `C[:, j] ← α·A·B[:, j] + β·C[:, j]`.
    static func multiplyWithColumnGEMVs<Scalar: BLASScalar>(_ p: MatrixProduct<Scalar>, columns: Int32, small: Bool) {
        if columns > 0 {
            gemm(p.leadingColumns(columns), small: small)
        }
        for column in Int(columns)..<Int(p.n) {
            let y = p.c + column
            if p.beta == 0 {
                // β = 0 must not read C (it may hold NaN): clear the column and add.
                for row in 0..<Int(p.m) { y[row * Int(p.ldc)] = 0 }
            }
            multiply(MatrixVectorProduct(
                transpose: false, m: p.m, n: p.k, alpha: p.alpha, a: p.a, lda: p.lda,
                x: p.b + column, incx: p.ldb, beta: p.beta == 0 ? 1 : p.beta, y: y, incy: p.ldc))
        }
    }

    /// The one scalar type outside Float and Double that generic code could
    /// bring here: ``BLASScalar`` is conformed by those two only.
    static func unsupported(_ type: Any.Type) -> Never {
        fatalError("Perceptron computes in Float or Double only; \(type) conforms to BLASScalar, which is not supported")
    }
}
