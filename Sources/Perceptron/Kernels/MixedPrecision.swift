import Synchronization
#if OneDNN
import COneDNN
import CPerceptronCPU
#endif

// Mixed precision: which products run with bfloat16 operands, and where.
//
// A layer set to `Precision.bfloat16` asks here, product by product, whether
// to round its operands to bfloat16 and hand the product to a bfloat16
// kernel, or to run it in float32 on OpenBLAS as usual. Two rules decide:
//
// 1. bfloat16 must exist: the library is built with the OneDNN trait, and
//    the CPU has bfloat16 instructions (oneDNN would otherwise emulate them
//    with float32 arithmetic, at a fraction of float32's speed). Otherwise a
//    bfloat16 layer throws `precisionUnavailable`, saying which is missing.
// 2. bfloat16 must pay: a layer in bfloat16 is not to be slower than the
//    same layer in float32. Small products, where rounding the operands and
//    calling the kernel cost more than the faster arithmetic saves, stay in
//    float32 (`perceptron-bench --bf16-crossover` measures where the two
//    cross). So do all products on CPUs whose bfloat16 dot product is no
//    faster than their float32 FMA: AVX512_BF16 on Intel cores without AMX,
//    where `VDPBF16PS` issues on one port against two for `VFMADD`, and
//    bfloat16 matmul measures at about half of float32's speed.
//
// The kernel is the library's own (BFloat16GEMM) where the CPU has
// AVX512_BF16 and no AMX, and oneDNN's where it has AMX; `backend` says which.

/// The rules that send a product to bfloat16 or keep it in float32.
enum MixedPrecision {
    /// Products with at least this many multiply-adds run in bfloat16 where it
    /// pays, on oneDNN: below it, oneDNN's call costs more than bfloat16 saves.
    static let crossover = 1 << 18

    /// The same on Perceptron's kernel, whose call costs less: on an AMD EPYC
    /// (Zen 4, 2 threads) the bfloat16 step was 0.80 of the float32 step at
    /// (32, 64, 64) = 2¹⁷ a product, 0.90 at (32, 32, 32) = 2¹⁵ and 1.23 at
    /// (8, 32, 32) = 2¹³ (`perceptron-bench --bf16-crossover --bf16-kernel
    /// perceptron`); 2¹⁶ keeps a margin below the first shape that gained.
    static let perceptronCrossover = 1 << 16

    /// Why bfloat16 cannot run in this process, or `nil` when it can.
    static let unavailability: String? = {
        #if OneDNN
        if let failure = OneDNN.state.failure { return "oneDNN could not start: \(failure)" }
        let isa = OneDNN.state.isa
        guard OneDNN.hasNativeBFloat16(isa) else {
            // Below AVX-512, oneDNN 2.6 has no bfloat16 matmul at all (its
            // primitive is `unimplemented`); on AVX-512 it would emulate one.
            let emulation = isa.rawValue & dnnl_cpu_isa_avx512_core.rawValue == dnnl_cpu_isa_avx512_core.rawValue
                ? "emulated bfloat16 would be slower than float32"
                : "oneDNN has no bfloat16 matmul for it"
            return "this CPU has no bfloat16 instructions (oneDNN reports \(OneDNN.name(of: isa))), and \(emulation) "
                + "(float32 is the fast path here: keep precision .float32)"
        }
        return nil
        #else
        return "Perceptron was built without its OneDNN trait: enable it with `traits: [\"OneDNN\"]` on the "
            + "Perceptron package dependency (or, building Perceptron itself, `swift build --traits OneDNN`) "
            + "and install libdnnl-dev"
        #endif
    }()

    /// The smallest product, in multiply-adds, that runs in bfloat16 on this
    /// CPU and ``backend`` when nothing overrides it; `Int.max` where bfloat16 never pays.
    static var automaticThreshold: Int {
        guard paysOnThisCPU else { return Int.max }
        return backend == .perceptron ? perceptronCrossover : crossover
    }

    /// Whether bfloat16 runs and pays on this CPU at all.
    private static let paysOnThisCPU: Bool = {
        #if OneDNN
        guard unavailability == nil else { return false }
        return OneDNN.hasAMX(OneDNN.state.isa) || perceptron_cpu_features().vendor == Int32(PERCEPTRON_CPU_VENDOR_AMD)
        #else
        return false
        #endif
    }()

    /// The kernel a bfloat16 product runs on where nothing overrides it: the
    /// library's own (``BFloat16GEMM``) on a CPU with AVX512_BF16 and no AMX,
    /// where it is as fast as oneDNN's and allocates nothing; oneDNN
    /// elsewhere, whose AMX tile kernels no `VDPBF16PS` loop comes near.
    static let automaticBackend: BLAS.BFloat16Backend = {
        #if OneDNN
        return BFloat16GEMM.isSupported && !OneDNN.hasAMX(OneDNN.state.isa) ? .perceptron : .oneDNN
        #else
        return .perceptron
        #endif
    }()

    /// The backend set through `BLAS.bfloat16Backend`: 0 for ``automaticBackend``, 1 Perceptron's, 2 oneDNN.
    static let backendOverride = Atomic<Int>(0)

    /// The backend `BLAS.bfloat16Backend` set, or `nil` for ``automaticBackend``.
    static var chosenBackend: BLAS.BFloat16Backend? {
        switch backendOverride.load(ordering: .relaxed) {
        case 1: .perceptron
        case 2: .oneDNN
        default: nil
        }
    }

    /// The kernel bfloat16 products run on.
    static var backend: BLAS.BFloat16Backend { chosenBackend ?? automaticBackend }

    /// The threshold set through `BLAS.mixedPrecisionThreshold`, or −1 for ``automaticThreshold``.
    static let thresholdOverride = Atomic<Int>(-1)

    /// The threshold in force.
    static var threshold: Int {
        let override = thresholdOverride.load(ordering: .relaxed)
        return override >= 0 ? override : automaticThreshold
    }

    /// Whether a product of `multiplyAdds` asked for in bfloat16 runs in
    /// bfloat16 (`true`) or in float32 (`false`).
    ///
    /// - Throws: ``PerceptronError/precisionUnavailable(what:reason:)`` when
    ///   bfloat16 cannot run in this process at all.
    static func runsInBFloat16(multiplyAdds: Double, what: @autoclosure () -> String) throws(PerceptronError) -> Bool {
        if let unavailability { throw .precisionUnavailable(what: what(), reason: unavailability) }
        return multiplyAdds > 0 && multiplyAdds >= Double(threshold)
    }
}

extension Kernels {
    /// Computes a product of bfloat16 operands into float32, split across the
    /// worker pool when it is large enough.
    ///
    /// - Throws: ``PerceptronError/backendFailure(backend:reason:)`` if oneDNN
    ///   cannot create the product.
    static func multiply(_ product: MixedPrecisionProduct) throws(PerceptronError) {
        try prepare(product)
        split(product)
    }

    /// Computes a layer's two bfloat16 backward products, `weightGradient`
    /// (`∇W = X̃ᵀ·G̃`) and `inputGradient` (`∇X = G̃·W̃ᵀ`): side by side where
    /// there are threads for both, unless ``ProductSplit/runsInTurn(weightGradient:)``
    /// says that in turn, each split, is faster.
    static func multiply(
        weightGradient: MixedPrecisionProduct, inputGradient: MixedPrecisionProduct
    ) throws(PerceptronError) {
        try prepare(weightGradient)
        try prepare(inputGradient)
        if ProductSplit.runsInTurn(weightGradient: weightGradient) {
            split(weightGradient)
            split(inputGradient)
        } else {
            split(weightGradient, alongside: inputGradient)
        }
    }

    /// Checks that `product` can run, and on oneDNN creates on this thread the
    /// primitive of the whole product, so that a product oneDNN refuses
    /// surfaces here, thrown, before it is split. The blocks' primitives
    /// (the same product on fewer rows) are created by the threads that
    /// compute them, each in its own cache, where a failure would trap.
    private static func prepare(_ product: MixedPrecisionProduct) throws(PerceptronError) {
        OpenBLAS.setUp()
        guard product.hasWork else { return }
        #if OneDNN
        if product.bfloat16Backend == .oneDNN { try OneDNN.prepare(product) }
        #else
        throw .precisionUnavailable(what: "a bfloat16 product", reason: MixedPrecision.unavailability ?? "")
        #endif
    }

    /// Computes a bfloat16 product whole on the calling thread, on its
    /// ``StridedProduct/bfloat16Backend``.
    static func multiplyMixed(_ product: MixedPrecisionProduct) {
        #if OneDNN
        switch product.bfloat16Backend {
        case .perceptron: BFloat16GEMM.multiply(product)
        case .oneDNN:
            precondition(product.unroundedA == nil, "Kernels: oneDNN cannot round an operand as it reads it")
            OneDNN.multiply(product)
        case nil: preconditionFailure("Kernels: a bfloat16 product was made without its kernel")
        }
        #else
        fatalError("Kernels: a bfloat16 product reached a build without the OneDNN trait")
        #endif
    }
}
