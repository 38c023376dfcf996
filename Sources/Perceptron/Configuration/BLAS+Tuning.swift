// Settings the benchmark and the tests turn to measure or pin down one
// mechanism at a time. They change every product in the process, so they are
// not API: `@_spi(Benchmarking) import Perceptron` reaches them.

extension BLAS {
    /// Products with fewer multiply-adds (`m·n·k`) than this run whole on the
    /// calling thread; larger ones are split across ``threadCount`` threads,
    /// and two independent products share them from half this size each. A
    /// bfloat16 product on Perceptron's kernel splits from the same size; on
    /// oneDNN it counts as a 32nd of its multiply-adds, so it splits from 32
    /// times this size. Values below 0 are treated as 0.
    @_spi(Benchmarking)
    public static var parallelThreshold: Int {
        get { ProductSplit.threshold.load(ordering: .relaxed) }
        set { ProductSplit.threshold.store(max(0, newValue), ordering: .relaxed) }
    }

    /// Whether two independent products, such as a layer's `XᵀG` and `GWᵀ`,
    /// run side by side on half the threads each (`true`, the default) or one
    /// after the other, each split across all the threads. A bfloat16 layer
    /// on oneDNN from ``bfloat16InTurnThreshold`` multiply-adds a product,
    /// with more inputs than outputs, runs its two in turn whatever this says.
    @_spi(Benchmarking)
    public static var runsIndependentProductsSideBySide: Bool {
        get { ProductSplit.pairsIndependentProducts.load(ordering: .relaxed) }
        set { ProductSplit.pairsIndependentProducts.store(newValue, ordering: .relaxed) }
    }

    /// Products with at most this many multiply-adds go straight to
    /// OpenBLAS's small-matrix kernels, where the running kernel has them
    /// (``Configuration/usesSmallMatrixKernels``); 0 sends every product
    /// through `cblas_?gemm`. Values below 0 are treated as 0.
    @_spi(Benchmarking)
    public static var smallKernelLimit: Int {
        get { SmallKernels.limit.load(ordering: .relaxed) }
        set { SmallKernels.limit.store(max(0, newValue), ordering: .relaxed) }
    }

    /// A bfloat16 layer on oneDNN (``bfloat16Backend``) with more inputs than
    /// outputs whose backward products have at least this many multiply-adds
    /// each runs them one after the other, each split across all threads,
    /// rather than side by side (2²⁸ by default; `Int.max` never, 0 always).
    /// On Perceptron's kernel they run side by side. Values below 0 are treated as 0.
    @_spi(Benchmarking)
    public static var bfloat16InTurnThreshold: Int {
        get { ProductSplit.mixedPrecisionInTurnThreshold.load(ordering: .relaxed) }
        set { ProductSplit.mixedPrecisionInTurnThreshold.store(max(0, newValue), ordering: .relaxed) }
    }
}

extension BLAS {
    /// The smallest product, in multiply-adds, that a layer in
    /// ``Precision/bfloat16`` computes in bfloat16 (0 sends every non-empty
    /// one to the bfloat16 kernel, ``bfloat16Backend``); `nil` restores the automatic choice for this CPU
    /// (``OneDNNConfiguration/bfloat16Threshold``). It cannot make bfloat16
    /// available where it is not.
    @_spi(Benchmarking)
    public static var mixedPrecisionThreshold: Int? {
        get {
            let override = MixedPrecision.thresholdOverride.load(ordering: .relaxed)
            return override >= 0 ? override : nil
        }
        set { MixedPrecision.thresholdOverride.store(newValue.map { max(0, $0) } ?? -1, ordering: .relaxed) }
    }
}

extension BLAS {
    /// Whether an ``InferenceModel`` made with
    /// ``InferenceModel/Kernels/packedWeights`` packs every `Float` weight it
    /// can (for oneDNN, plain layouts included) and serves every request a
    /// packed weight can take from it, instead of packing where it measures
    /// faster: the same route on every CPU and every run, so that it can be
    /// tested and timed anywhere. Without the `OneDNN` trait that is the
    /// library's kernel, for requests of up to 64 rows.
    @_spi(Benchmarking)
    public static var forcesWeightPacking: Bool {
        get { WeightPacking.isForced.load(ordering: .relaxed) }
        set { WeightPacking.isForced.store(newValue, ordering: .relaxed) }
    }
}

extension BLAS {
    /// The kernel a layer's forward product of `rows × inputs` by
    /// `inputs × outputs` runs on in bfloat16: `perceptron:avx512_bf16`, or
    /// the oneDNN implementation, such as `brg:avx512_core_bf16`; `nil`
    /// without the `OneDNN` trait, or where oneDNN cannot create it.
    @_spi(Benchmarking)
    public static func bfloat16Kernel(rows: Int, inputs: Int, outputs: Int) -> String? {
        #if OneDNN
        if MixedPrecision.backend == .perceptron { return MixedPrecision.backend.kernelName }
        guard let m = Int32(exactly: rows), let k = Int32(exactly: inputs), let n = Int32(exactly: outputs) else { return nil }
        return OneDNN.implementation(m: m, n: n, k: k)
        #else
        return nil
        #endif
    }
}

extension BLAS {
    /// A kernel that computes bfloat16 products.
    @_spi(Benchmarking)
    public enum BFloat16Backend: String, Sendable {
        /// Perceptron's own, on AVX512_BF16's `VDPBF16PS`: the automatic
        /// choice on CPUs with that instruction and no AMX.
        case perceptron
        /// oneDNN's matmul: the automatic choice on CPUs with AMX.
        case oneDNN
    }

    /// The kernel a layer in ``Precision/bfloat16`` runs its bfloat16
    /// products on; `nil` restores the automatic choice for this CPU
    /// (``OneDNNConfiguration/bfloat16Kernel`` names it). Setting ``BFloat16Backend/perceptron``
    /// on a CPU without AVX512_BF16 is a programming error and traps.
    @_spi(Benchmarking)
    public static var bfloat16Backend: BFloat16Backend? {
        get { MixedPrecision.chosenBackend }
        set {
            precondition(newValue != .perceptron || BFloat16GEMM.isSupported,
                         "BLAS.bfloat16Backend: this CPU has no AVX512_BF16 for Perceptron's bfloat16 kernel")
            MixedPrecision.backendOverride.store(newValue == .perceptron ? 1 : newValue == .oneDNN ? 2 : 0, ordering: .relaxed)
        }
    }
}
