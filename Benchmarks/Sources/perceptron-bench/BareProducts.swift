@preconcurrency import CBLASReference
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
        gemm(false, false, m: n, n: m, k: f, x, lda: f, w, ldb: m, beta: 1, z, ldc: m)
    }

    /// `∇W ← XᵀG` (TN).
    func weightGradient() {
        gemm(true, false, m: f, n: m, k: n, x, lda: f, g, ldb: m, beta: 0, dw, ldc: m)
    }

    /// `∇X ← GWᵀ` (NT).
    func inputGradient() {
        gemm(false, true, m: n, n: f, k: m, g, lda: m, w, ldb: m, beta: 0, dx, ldc: f)
    }

    /// Row-major `C ← op(A)·op(B) + β·C` on CBLAS itself, `cblas_sgemm` or
    /// `cblas_dgemm` as `Scalar` is; unchecked. The test on `Scalar` folds away
    /// once the class is specialised, so each call is the bare C call.
    private func gemm(
        _ transposeA: Bool, _ transposeB: Bool, m: Int32, n: Int32, k: Int32,
        _ a: UnsafeMutablePointer<Scalar>, lda: Int32, _ b: UnsafeMutablePointer<Scalar>, ldb: Int32,
        beta: Scalar, _ c: UnsafeMutablePointer<Scalar>, ldc: Int32
    ) {
        let (opA, opB) = (transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans)
        func typed<T>(_ pointer: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<T> {
            UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: T.self)
        }
        if Scalar.self == Float.self {
            cblas_sgemm(CblasRowMajor, opA, opB, m, n, k, 1, typed(a), lda, typed(b), ldb, Float(beta), typed(c), ldc)
        } else {
            // BLASScalar has exactly two conforming types.
            cblas_dgemm(CblasRowMajor, opA, opB, m, n, k, 1, typed(a), lda, typed(b), ldb, Double(beta), typed(c), ldc)
        }
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
