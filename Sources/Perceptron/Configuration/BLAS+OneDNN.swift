extension BLAS {
    /// oneDNN, the backend of bfloat16 products and of an ``InferenceModel``'s
    /// packed weights, as this process runs it.
    ///
    /// It is present in ``Configuration/oneDNN`` when Perceptron is built with
    /// its `OneDNN` trait. oneDNN chooses its kernels for the CPU itself:
    /// AMX tiles, AVX512_BF16 dot products, or, on an AVX-512 CPU with
    /// neither, an emulation that Perceptron does not use; below AVX-512 it
    /// has no bfloat16 matmul at all.
    public struct OneDNNConfiguration: Sendable, Equatable, CustomStringConvertible {
        /// oneDNN's version, for example `"2.6.3"`.
        public var version: String
        /// The instruction set oneDNN's kernels use here (`dnnl_get_effective_cpu_isa`),
        /// named as oneDNN names it, for example `"avx512_core_bf16"` or `"avx512_core_amx"`.
        public var instructionSet: String
        /// Whether that instruction set multiplies bfloat16 natively (AVX512_BF16 or AMX).
        public var hasNativeBFloat16: Bool
        /// The smallest product, in multiply-adds (`m·n·k`), that a layer in
        /// ``Precision/bfloat16`` computes in bfloat16; smaller ones run in
        /// float32. `nil` when every product runs in float32 because bfloat16
        /// is no faster on this CPU, or cannot run (``bfloat16Unavailability``).
        public var bfloat16Threshold: Int?
        /// Why a layer in ``Precision/bfloat16`` throws here, or `nil` when it
        /// runs: the value of ``Precision/unavailability``, which a program
        /// asks instead, since it answers in a build without the trait too.
        public var bfloat16Unavailability: String?
        /// The kernel that computes bfloat16 products here: `"perceptron:avx512_bf16"`,
        /// the library's own, on a CPU with AVX512_BF16 and no AMX, where it
        /// measured as fast as oneDNN's (AMD Zen 4) and allocates nothing; `"onednn"`, oneDNN's
        /// matmul, on a CPU with AMX, whose tile kernels are far faster.
        /// `nil` when no product runs in bfloat16 (``bfloat16Threshold`` is `nil`).
        public var bfloat16Kernel: String?
        /// Whether an ``InferenceModel`` made with ``InferenceModel/Kernels/packedWeights``
        /// can pack its weights on this CPU. It is true when either of two holds:
        /// the library's own kernel for requests of a few rows runs here
        /// (``BLAS/Configuration/packedWeightKernel``: AVX-512F, or AVX2 with
        /// FMA); or oneDNN's float32 matmul kernel here reads
        /// weights in a packed layout of its own (its `brg:` kernels, on
        /// AVX-512 and later) rather than in their plain layout (`gemm:jit`,
        /// where packing would change nothing). Where it is false, every layer
        /// keeps its own kernels; where it is true, each snapshot still serves
        /// packed only the requests for which that measures faster
        /// (``InferenceModel/packedFromRows`` through ``InferenceModel/packedThroughRows``).
        public var packsInferenceWeights: Bool

        /// For example `oneDNN 2.6.3 on avx512_core_amx, bfloat16 from 262144 multiply-adds on onednn, packs inference weights where faster`.
        public var description: String {
            let route = if let bfloat16Unavailability {
                "bfloat16 unavailable: \(bfloat16Unavailability)"
            } else if let bfloat16Threshold {
                "bfloat16 from \(bfloat16Threshold) multiply-adds on \(bfloat16Kernel ?? "?")"
            } else {
                "bfloat16 layers compute in float32 (bfloat16 is no faster on this CPU)"
            }
            return "oneDNN \(version) on \(instructionSet), \(route), "
                + (packsInferenceWeights ? "packs inference weights where faster" : "no packed inference weights (plain layout here)")
        }
    }

    /// oneDNN's configuration, or `nil` in a build without the `OneDNN` trait.
    static var oneDNNConfiguration: OneDNNConfiguration? {
        #if OneDNN
        let state = OneDNN.state
        let threshold = MixedPrecision.threshold
        let runs = MixedPrecision.unavailability == nil && threshold < Int.max
        return OneDNNConfiguration(
            version: state.version, instructionSet: OneDNN.name(of: state.isa),
            hasNativeBFloat16: OneDNN.hasNativeBFloat16(state.isa),
            bfloat16Threshold: runs ? threshold : nil,
            bfloat16Unavailability: MixedPrecision.unavailability,
            bfloat16Kernel: runs ? MixedPrecision.backend.kernelName : nil,
            packsInferenceWeights: OneDNN.packsWeights || PanelGEMM.isSupported)
        #else
        return nil
        #endif
    }
}

extension BLAS.BFloat16Backend {
    /// The name ``BLAS/OneDNNConfiguration/bfloat16Kernel`` gives the backend.
    var kernelName: String {
        switch self {
        case .perceptron: "perceptron:avx512_bf16"
        case .oneDNN: "onednn"
        }
    }
}
