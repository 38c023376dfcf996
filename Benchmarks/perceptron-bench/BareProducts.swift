@preconcurrency import COpenBLAS
@_spi(Benchmarking) import Perceptron

/// The three GEMMs of a layer step with `f` inputs and `m` outputs on a batch
/// of `n`, called bare on buffers of their own: what calling CBLAS directly
/// gives, with OpenBLAS's own threading (`threads`).
///
/// Perceptron runs OpenBLAS single-threaded and splits large products itself,
/// so `withOpenBLASThreads` hands OpenBLAS its threads back for the duration.
final class BareProducts<Scalar: BLASScalar> {
    let n: Int32, f: Int32, m: Int32
    private let x: UnsafeMutablePointer<Scalar>, w: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>
    private let z: UnsafeMutablePointer<Scalar>, dw: UnsafeMutablePointer<Scalar>, dx: UnsafeMutablePointer<Scalar>

    init(n: Int, f: Int, m: Int, using generator: inout SeededRandomNumberGenerator) {
        (self.n, self.f, self.m) = (Int32(n), Int32(f), Int32(m))
        func buffer(_ count: Int, random: Bool, _ generator: inout SeededRandomNumberGenerator) -> UnsafeMutablePointer<Scalar> {
            let pointer = UnsafeMutablePointer<Scalar>.allocate(capacity: count)
            for index in 0..<count { pointer[index] = random ? Scalar.random(in: -1...1, using: &generator) : 0 }
            return pointer
        }
        x = buffer(n * f, random: true, &generator)
        w = buffer(f * m, random: true, &generator)
        g = buffer(n * m, random: true, &generator)
        z = buffer(n * m, random: false, &generator)
        dw = buffer(f * m, random: false, &generator)
        dx = buffer(n * f, random: false, &generator)
    }

    deinit {
        for pointer in [x, w, g, z, dw, dx] { pointer.deallocate() }
    }

    /// Multiply-adds times two in each product: all three have the same.
    var productFLOPs: Double { 2 * Double(n) * Double(f) * Double(m) }

    /// `Z ← XW + Z`: the forward product, over a bias already in `Z` (NN).
    func forward() {
        Self.gemm(false, false, m: n, n: m, k: f, x, lda: f, w, ldb: m, beta: 1, z, ldc: m)
    }

    /// `∇W ← XᵀG` (TN).
    func weightGradient() {
        Self.gemm(true, false, m: f, n: m, k: n, x, lda: f, g, ldb: m, beta: 0, dw, ldc: m)
    }

    /// `∇X ← GWᵀ` (NT).
    func inputGradient() {
        Self.gemm(false, true, m: n, n: f, k: m, g, lda: m, w, ldb: m, beta: 0, dx, ldc: f)
    }

    /// Row-major `cblas_sgemm` or `cblas_dgemm`, chosen by `Scalar`, with α = 1.
    private static func gemm(
        _ transposeA: Bool, _ transposeB: Bool, m: Int32, n: Int32, k: Int32,
        _ a: UnsafePointer<Scalar>, lda: Int32, _ b: UnsafePointer<Scalar>, ldb: Int32,
        beta: Scalar, _ c: UnsafeMutablePointer<Scalar>, ldc: Int32
    ) {
        let (ta, tb) = (transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans)
        if Scalar.self == Float.self {
            cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1, rebound(a), lda, rebound(b), ldb,
                        Float(beta), rebound(c), ldc)
        } else {
            cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1, rebound(a), lda, rebound(b), ldb,
                        Double(beta), rebound(c), ldc)
        }
    }

    /// `pointer` as a pointer to `T`, the type `Scalar` was just compared equal to.
    private static func rebound<T>(_ pointer: UnsafePointer<Scalar>) -> UnsafePointer<T> {
        UnsafeRawPointer(pointer).assumingMemoryBound(to: T.self)
    }

    /// `pointer` as a mutable pointer to `T`, the type `Scalar` was just compared equal to.
    private static func rebound<T>(_ pointer: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<T> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: T.self)
    }

    /// Runs `body` with OpenBLAS's own threading at `threads`, then single-threaded again.
    func withOpenBLASThreads<Result>(_ threads: Int, _ body: () -> Result) -> Result {
        Self.setOpenBLASThreads(threads)
        defer { Self.setOpenBLASThreads(1) }
        return body()
    }

    /// Sets OpenBLAS's own thread count (1 is how Perceptron runs it).
    static func setOpenBLASThreads(_ threads: Int) {
        openblas_set_num_threads(Int32(clamping: threads))
    }
}
