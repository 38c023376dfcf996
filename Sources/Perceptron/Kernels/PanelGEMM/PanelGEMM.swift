import CPerceptronCPU

/// The library's own float32 product on a weight packed once, for requests
/// of a few rows: what an ``InferenceModel`` with packed weights serves them with.
///
/// A request of a few rows is little arithmetic, and a library call costs
/// more than the sum: OpenBLAS packs its operands on every call, and oneDNN
/// builds a map of its arguments on the heap. A served model's weights never
/// change, so this kernel's weight is packed at the snapshot, with the bias
/// in it, and a call is one loop over it that allocates nothing. It needs
/// no oneDNN, so it serves in every build. Larger requests go to oneDNN's
/// packed weights, whose blocking is built for them, with the `OneDNN`
/// trait, and to the layers' own kernels without it.
/// The C code is `panel_gemm.c` in CPerceptronCPU; this is its one door.
enum PanelGEMM {
    /// The instructions the kernel runs on here (`PERCEPTRON_PANEL_PATH_*`),
    /// read once: every product takes it.
    static let path = perceptron_panel_gemm_path()

    /// Whether this CPU runs the kernel: AVX-512F, or AVX2 with FMA.
    static var isSupported: Bool { kernelName != nil }

    /// The most rows a product on a panel weight has; a larger request goes to
    /// oneDNN's packed weight where there is one. Up to here the kernel's one
    /// pass over the weight per 6 rows keeps pace with oneDNN's blocked kernel
    /// and saves its call; past it, oneDNN's blocking for the caches pays for
    /// the call.
    static let rowLimit = 64

    /// The name ``InferenceModel`` and ``BLAS/Configuration/packedWeightKernel``
    /// report for the kernel, after the instructions it runs on here:
    /// `perceptron:avx512f` or `perceptron:avx2` (the same layout and the same
    /// bits); `nil` on a CPU where it does not run, and packs nothing.
    static let kernelName: String? = switch path {
    case Int32(PERCEPTRON_PANEL_PATH_AVX512F): "perceptron:avx512f"
    case Int32(PERCEPTRON_PANEL_PATH_AVX2): "perceptron:avx2"
    default: nil
    }

    /// A `Float` ``Linear`` layer's weight and bias, packed once into the
    /// kernel's layout and never written again, which any number of threads
    /// may read at once.
    final class Weight: @unchecked Sendable {
        // @unchecked Sendable: `data` is written only by the initializer.
        let inputFeatures: Int32, outputFeatures: Int32
        let data: UnsafeMutablePointer<Float>

        /// Packs `weight` (`inputFeatures × outputFeatures`, row-major) and
        /// `bias` (`outputFeatures` values, or `nil`); `nil` where the CPU
        /// cannot run the kernel or the layer has no outputs.
        init?(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, inputFeatures: Int32, outputFeatures: Int32) {
            guard PanelGEMM.isSupported else { return nil }
            let count = perceptron_panel_weight_floats(Int64(inputFeatures), Int64(outputFeatures))
            guard count > 0 else { return nil }
            (self.inputFeatures, self.outputFeatures) = (inputFeatures, outputFeatures)
            data = UnsafeMutableRawPointer.allocate(byteCount: Int(count) * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: Int(count))
            perceptron_panel_weight_pack(
                weight, Int64(outputFeatures), bias, Int64(inputFeatures), Int64(outputFeatures), data)
        }

        deinit { data.deallocate() }
    }

    /// `output ← input·W + bias` for `m` contiguous rows on a packed weight.
    struct Product: RowSplittableProduct {
        /// `m × inputFeatures`.
        var input: UnsafePointer<Float>
        /// `m × outputFeatures`.
        var output: UnsafeMutablePointer<Float>
        var m: Int32
        /// The caller keeps the weight alive for the call.
        unowned(unsafe) var weight: Weight

        /// Rows `rows` of the product.
        func rows(_ rows: Range<Int>) -> Self {
            var part = self
            part.input += rows.lowerBound * Int(weight.inputFeatures)
            part.output += rows.lowerBound * Int(weight.outputFeatures)
            part.m = Int32(truncatingIfNeeded: rows.count)
            return part
        }

        /// `m·inputFeatures·outputFeatures`: its arithmetic runs as fast as OpenBLAS's.
        var splitWork: Double { Double(m) * Double(weight.inputFeatures) * Double(weight.outputFeatures) }

        func computeWhole() {
            let (k, n) = (Int64(weight.inputFeatures), Int64(weight.outputFeatures))
            // It fails only for sizes the product cannot have, or on a CPU the weight was not packed on.
            guard perceptron_panel_gemm_on(PanelGEMM.path, Int64(m), k, n, input, k, weight.data, output, n) else {
                fatalError("PanelGEMM: \(m) rows times a packed \(k) × \(n) weight were refused")
            }
        }
    }
}

extension Kernels {
    /// Computes a product on a panel weight, split by rows across the worker
    /// pool when it is large enough.
    static func multiply(_ product: PanelGEMM.Product) {
        // The one-time set-up is what records the thread count the split reads.
        OpenBLAS.setUp()
        guard product.m > 0 else { return }
        splitRows(product)
    }
}
