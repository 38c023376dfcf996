import Synchronization

// How a product is shared between threads.
//
// Perceptron, not OpenBLAS, runs the threads. OpenBLAS 0.3.21 as Debian
// builds it allocates a job table with malloc on every multithreaded GEMM,
// and its threads keep polling after each call. So the one-time set-up reads
// the thread count OpenBLAS chose (which honours OPENBLAS_NUM_THREADS), sets
// OpenBLAS itself to one thread, and a large product is split here by rows of
// C into that many single-threaded products on the worker pool. Small
// products, where waking a thread costs more than it saves, run whole on the
// calling thread.

/// The thread-sharing rules, and the process-wide settings they read.
enum ProductSplit {
    /// How many threads a product may use (`BLAS.threadCount`); 0 until the set-up has run.
    static let threads = Atomic<Int>(0)

    /// Products with fewer multiply-adds than this run whole on the calling thread.
    ///
    /// 2¹⁹ (a 64 × 64 × 128 product) is about where waking a second thread
    /// starts to save more than it costs; `perceptron-bench threading`
    /// measures the crossover on a given machine.
    static let threshold = Atomic<Int>(1 << 19)

    /// How many times more multiply-adds a bfloat16 product on `backend`
    /// needs than a float32 one before splitting it (or pairing two) pays.
    static func mixedPrecisionFactor(on backend: BLAS.BFloat16Backend) -> Int {
        switch backend {
        case .oneDNN:
            // Its arithmetic is twice as fast, and each part pays oneDNN's
            // longer call. With AVX512_BF16, a bfloat16 layer step on oneDNN on
            // two threads measured slower than on one at 2²² multiply-adds a
            // product and faster at 2²⁴ (`perceptron-bench --bf16-crossover`,
            // with `--threads 1` and without): it shares threads from 2¹⁹ · 32.
            32
        case .perceptron:
            // No primitive to look up per call: it splits where float32 does.
            // With a larger factor, a bfloat16 product ran whole where the
            // float32 one split, and the step came out slower than float32's
            // on an AMD EPYC (Zen 4, 2 threads, `perceptron-bench
            // --bf16-crossover`): with 32, 0.81–1.27 at (64, 128, 128) and
            // (128, 128, 128) over four runs; with 2, 1.09–1.71 at
            // (32, 64, 256) and 1.03–1.18 at (128, 256, 10) over three runs.
            // With 1, every shape measured below float32 in three runs:
            // 0.81–0.93 and 0.69–0.77 there.
            1
        }
    }

    /// Whether two independent products run side by side on half the threads each.
    static let pairsIndependentProducts = Atomic<Bool>(true)

    /// A layer's bfloat16 backward products with at least this many
    /// multiply-adds each run in turn rather than side by side when ∇W has
    /// more rows than columns; see ``runsInTurn(weightGradient:)``.
    /// `BLAS.bfloat16InTurnThreshold` sets it (`Int.max`: never).
    static let mixedPrecisionInTurnThreshold = Atomic<Int>(1 << 28)

    /// How many blocks a product of `rows` rows (or columns, where it splits
    /// so) and `multiplyAdds` is split into.
    static func partCount(rows: Int32, multiplyAdds: Double) -> Int {
        let threads = threads.load(ordering: .relaxed)
        guard threads > 1, multiplyAdds >= Double(threshold.load(ordering: .relaxed)) else { return 1 }
        return min(threads, Int(rows))
    }

    /// Whether a layer's bfloat16 backward products, `∇W = X̃ᵀ·G̃` (`weightGradient`,
    /// `f × m`) and `∇X = G̃·W̃ᵀ`, which has as many multiply-adds, run one
    /// after the other, each split across all threads, instead of side by side.
    ///
    /// Side by side, each runs whole on its own threads. oneDNN reads
    /// `X̃ᵀ` with its plain JIT GEMM rather than the kernel of the other two
    /// products, and whole on one thread that GEMM is the slower of the pair
    /// when `f > m`, so the pair waits for it; split by rows it keeps up. On
    /// an AMD EPYC (Zen 4, AVX512_BF16) on two threads, the step measured
    /// 1–9 % faster in turn from 2²⁸ multiply-adds a product where `f > m`;
    /// where `f ≤ m`, or the products were smaller, side by side was as fast
    /// or up to 6 % faster (`perceptron-bench --pairing --precision bf16
    /// --shape n,f,m`, which sets the rule aside to time both). No other CPU
    /// or thread count has been measured; the rule applies on all of them.
    /// It reads only the shape, so at a given thread count a layer always
    /// takes the same route and gives the same bits.
    ///
    /// The rule is oneDNN's alone: Perceptron's own kernel packs `X̃ᵀ` as it
    /// packs the other operands, and on the same CPU its pair measured as
    /// fast side by side as in turn, or up to 11 % faster (the same command
    /// with `--bf16-kernel perceptron` and `onednn`).
    static func runsInTurn(weightGradient: MixedPrecisionProduct) -> Bool {
        weightGradient.bfloat16Backend == .oneDNN && weightGradient.m > weightGradient.n
            && weightGradient.multiplyAdds >= Double(mixedPrecisionInTurnThreshold.load(ordering: .relaxed))
    }

    /// How to share the threads between two independent products, or `nil`
    /// to run them one after the other, each split on its own.
    ///
    /// Each gets half the threads (the first the larger half); less work in
    /// total than ``threshold`` runs on the calling thread, as a single small
    /// product does.
    static func pairedPartCounts(firstRows: Int32, secondRows: Int32, multiplyAdds: Double) -> (Int, Int)? {
        let threads = threads.load(ordering: .relaxed)
        guard threads > 1, pairsIndependentProducts.load(ordering: .relaxed),
              multiplyAdds >= Double(threshold.load(ordering: .relaxed)) else { return nil }
        let firstThreads = (threads + 1) / 2
        return (min(firstThreads, Int(firstRows)), min(threads - firstThreads, Int(secondRows)))
    }
}
