import COpenBLAS
import Synchronization

// Who runs the threads: Perceptron, not OpenBLAS.
//
// OpenBLAS 0.3.21 as Debian builds it (pthreads, up to 64 threads) allocates a
// 512 KiB job table with malloc on every multithreaded GEMM, and its threads
// spin after each call. Measured here, two single-threaded GEMMs on the two
// halves of C beat one two-threaded call at layer sizes. So, during its
// one-time set-up, Perceptron reads the thread count OpenBLAS chose (which
// honours OPENBLAS_NUM_THREADS), sets OpenBLAS itself to one thread, and
// splits a large product by rows of C into that many single-threaded GEMMs
// on a small pool of long-lived threads (WorkerPool). Small products, where
// waking a thread costs more than it saves, run whole on the calling thread.

extension BLAS {
    /// The number of parts a product may be split into: `BLAS.threadCount`.
    @usableFromInline
    static let parallelism = Atomic<Int>(0)

    /// The stored ``parallelThreshold``.
    @usableFromInline
    static let threshold = Atomic<Int>(1 << 19)

    /// Products with fewer multiply-adds than this (`m·n·k`) run whole on the
    /// calling thread; larger ones are split across ``threadCount`` threads.
    ///
    /// The default, 2¹⁹ = 524,288 multiply-adds (a 64 × 64 × 128 product), is
    /// where splitting in two started to pay on the project's 2-core machine:
    /// below it, waking a second thread costs about what it saves (32×64×64
    /// ran 10–40 % slower split, 64×64×64 between 20 % faster and 18 % slower,
    /// 96×96×96 and up 10–50 % faster). `perceptron-bench --threading`
    /// measures the crossover on yours. Setting it affects the whole process;
    /// values below 0 are treated as 0.
    @_spi(Benchmarking) public static var parallelThreshold: Int {
        get { threshold.load(ordering: .relaxed) }
        set { threshold.store(max(0, newValue), ordering: .relaxed) }
    }

    /// Hands the threading over from OpenBLAS to Perceptron; part of the one-time set-up.
    static func takeOverThreading() {
        parallelism.store(max(1, Int(openblas_get_num_threads())), ordering: .relaxed)
        openblas_set_num_threads(1)
    }

    /// How many row blocks to split an `m × n × k` product into.
    @inlinable
    static func partCount(m: Int32, n: Int32, k: Int32) -> Int {
        let threads = parallelism.load(ordering: .relaxed)
        guard threads > 1, Double(m) * Double(n) * Double(k) >= Double(threshold.load(ordering: .relaxed)) else {
            return 1
        }
        return min(threads, Int(m))
    }

    /// Runs the parts of `job` on the worker pool.
    @usableFromInline
    static func runPartitioned(_ job: GEMMPartition) {
        WorkerPool.shared.run(ParallelGEMMs(job))
    }

    /// The stored ``runsIndependentProductsSideBySide``.
    @usableFromInline
    static let pairing = Atomic<Bool>(true)

    /// Whether two independent products, such as a layer's `XᵀG` and `GWᵀ`,
    /// run side by side on half the threads each (`true`, the default) or one
    /// after the other, each split across all the threads.
    ///
    /// Side by side, on two cores, each product runs whole on its own core:
    /// measured with `perceptron-bench --pairing` on the project's machine,
    /// the layer step took 0.81–0.93 of the time it takes the other way from
    /// (64, 256, 256) to 1024³, and the same at (8192, 784, 128). Setting it
    /// affects the whole process, and, like ``threadCount``, can change
    /// results in the last bits.
    @_spi(Benchmarking) public static var runsIndependentProductsSideBySide: Bool {
        get { pairing.load(ordering: .relaxed) }
        set { pairing.store(newValue, ordering: .relaxed) }
    }

    /// How to share the threads between two independent products of
    /// `firstMultiplyAdds` and `secondMultiplyAdds` (each with at least one
    /// row), or `nil` to run them one after the other, each split on its own.
    ///
    /// Two products of about equal work (a layer's `XᵀG` and `GWᵀ` always are)
    /// each get half the threads: on two cores each runs whole, with the full
    /// efficiency of an unsplit GEMM and none of the duplicated packing of a
    /// split one. Less work in total than ``parallelThreshold`` runs on the
    /// calling thread, as a single small product does.
    @inlinable
    static func pairedPartCounts(
        firstMultiplyAdds: Double, firstRows: Int32, secondMultiplyAdds: Double, secondRows: Int32
    ) -> (Int, Int)? {
        let threads = parallelism.load(ordering: .relaxed)
        guard threads > 1, pairing.load(ordering: .relaxed),
              firstMultiplyAdds + secondMultiplyAdds >= Double(threshold.load(ordering: .relaxed)) else { return nil }
        let firstThreads = (threads + 1) / 2
        return (min(firstThreads, Int(firstRows)), min(threads - firstThreads, Int(secondRows)))
    }

    /// Runs two partitioned products side by side on the worker pool.
    @usableFromInline
    static func runPaired(_ first: GEMMPartition, _ second: GEMMPartition) {
        WorkerPool.shared.run(ParallelGEMMs(first, second))
    }
}

/// What the worker pool runs at one time: the parts of one split product, or
/// of two independent products side by side, numbered `0..<parts`.
///
/// `@unchecked Sendable` for the reason ``GEMMPartition`` is: no two parts
/// write the same memory (the two products write different matrices).
@usableFromInline
struct ParallelGEMMs: @unchecked Sendable {
    @usableFromInline let first: GEMMPartition
    @usableFromInline let second: GEMMPartition?

    @usableFromInline
    init(_ first: GEMMPartition, _ second: GEMMPartition? = nil) {
        (self.first, self.second) = (first, second)
    }

    /// The number of parts, over both products.
    var parts: Int { first.parts + (second?.parts ?? 0) }

    /// Runs part `part`: the first product's parts come first.
    func run(part: Int) {
        if part < first.parts {
            first.run(part: part)
        } else {
            second?.run(part: part - first.parts)
        }
    }
}

/// One GEMM split by rows of C into `parts` independent GEMMs: a plain value,
/// so that handing it to another thread allocates nothing.
///
/// `@unchecked Sendable`: every part reads A and B and writes its own rows of
/// C, which no other part touches, and the submitter waits for all parts.
@usableFromInline
struct GEMMPartition: @unchecked Sendable {
    @usableFromInline let isDouble: Bool
    @usableFromInline let transposeA: Bool, transposeB: Bool
    @usableFromInline let m: Int32, n: Int32, k: Int32
    @usableFromInline let alpha: Double, beta: Double
    @usableFromInline let a: UnsafeRawPointer, b: UnsafeRawPointer, c: UnsafeMutableRawPointer
    @usableFromInline let parts: Int

    /// Splits the product `p` into `parts` row blocks; only Float and Double.
    @inlinable
    init<Scalar: BLASScalar>(_ p: GEMMOperands<Scalar>, parts: Int) {
        precondition(Scalar.self == Float.self || Scalar.self == Double.self, "BLAS: only Float and Double")
        isDouble = Scalar.self == Double.self
        (transposeA, transposeB, m, n, k) = (p.transposeA, p.transposeB, p.m, p.n, p.k)
        // Float → Double → Float is exact, so α and β travel as Double.
        (alpha, beta) = (Double(p.alpha), Double(p.beta))
        (a, b, c) = (UnsafeRawPointer(p.a), UnsafeRawPointer(p.b), UnsafeMutableRawPointer(p.c))
        self.parts = parts
    }

    /// Computes this part's share of the rows of C.
    func run(part: Int) {
        if isDouble { run(part: part, Double.self) } else { run(part: part, Float.self) }
    }

    private func run<Scalar: BLASScalar>(part: Int, _: Scalar.Type) {
        let r0 = Int(m) * part / parts, r1 = Int(m) * (part + 1) / parts
        guard r1 > r0 else { return }
        BLAS.gemmRows(r0..<r1, of: GEMMOperands(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: Scalar(alpha), a.assumingMemoryBound(to: Scalar.self), b.assumingMemoryBound(to: Scalar.self),
            beta: Scalar(beta), c.assumingMemoryBound(to: Scalar.self)))
    }
}
