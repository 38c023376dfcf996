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
        Scalar._gemm(transposeA: false, transposeB: false, m: n, n: m, k: f,
                     alpha: 1, a: x, lda: f, b: w, ldb: m, beta: 1, c: z, ldc: m)
    }

    /// `∇W ← XᵀG` (TN).
    func weightGradient() {
        Scalar._gemm(transposeA: true, transposeB: false, m: f, n: m, k: n,
                     alpha: 1, a: x, lda: f, b: g, ldb: m, beta: 0, c: dw, ldc: m)
    }

    /// `∇X ← GWᵀ` (NT).
    func inputGradient() {
        Scalar._gemm(transposeA: false, transposeB: true, m: n, n: f, k: m,
                     alpha: 1, a: g, lda: m, b: w, ldb: m, beta: 0, c: dx, ldc: f)
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
