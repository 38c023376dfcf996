#if OneDNN
import COneDNN
import Synchronization

// Weights packed once for serving.
//
// oneDNN's fastest matmul kernels (`brg:` on AVX-512 and AMX) read their
// weights in a blocked layout of their own, and reorder a plain weight into
// it on every call. A model that serves requests never changes its weights,
// so an `InferenceModel` asked for packed weights reorders each one once, at
// the snapshot, and its products read the packed copy from then on. Where
// oneDNN's kernel for this CPU reads the plain layout itself (its `gemm:jit`
// on AVX2 machines), packing would buy nothing, and the weight is left to the
// layer's own kernels.

extension OneDNN {
    /// What a product with a packed weight is created for: the weight, and the rows.
    struct PackedShape: Hashable {
        /// ``PackedWeight/id``: unique in the process, so that an entry for a
        /// weight that no longer exists is never taken for another.
        var weight: Int
        var rows: Int32
    }

    /// The rows of the product a weight's layout is chosen for. oneDNN's
    /// matmul picks the layout by the weight's shape; a row count is needed
    /// to ask, and every other row count is then created with that layout.
    static let layoutRows: Int32 = 32

    /// What oneDNN's matmul chooses for a `k × n` weight of `type`: the
    /// layout, the plain layout it is compared with, and the implementation.
    struct LayoutChoice {
        var status: dnnl_status_t
        var layout = dnnl_memory_desc_t(), plain = dnnl_memory_desc_t()
        var implementation = ""

        init(k: Int32, n: Int32, type: dnnl_data_type_t, bias: Bool, engine: dnnl_engine_t) {
            let probe = Primitive(rows: layoutRows, k: k, n: n, type: type, weightLayout: nil, bias: bias, engine: engine)
            status = probe.status
            guard status == dnnl_success else { return }
            (layout, implementation) = (probe.weightLayout, probe.implementation ?? "unknown")
            status = Primitive.describe(&plain, (Int64(k), Int64(n)), (Int64(n), 1), type)
        }

        /// Whether the chosen layout is the plain one, so that packing would change nothing.
        var isPlain: Bool {
            var (plain, layout) = (plain, layout)
            return dnnl_memory_desc_equal(&plain, &layout) != 0
        }

        /// Whether only oneDNN's reference implementation computes it: nothing to serve from.
        var isReference: Bool { implementation.hasPrefix("ref") }
    }

    /// Whether oneDNN's float32 matmul on this CPU reads a packed layout, so
    /// that `.packedWeights` packs: asked of a 64 × 64 weight with a bias.
    static let packsWeights: Bool = {
        guard let engine = state.engine else { return false }
        let choice = LayoutChoice(k: 64, n: 64, type: dnnl_f32, bias: true, engine: engine)
        return choice.status == dnnl_success && !choice.isReference && !choice.isPlain
    }()

    /// A weight reordered once into the layout oneDNN's matmul reads it in,
    /// never written again, which any number of threads may read at once.
    final class PackedWeight: @unchecked Sendable {
        // @unchecked Sendable: every property is set by the initializer and
        // `data` is written only there.
        private static let ids = Atomic<Int>(0)

        let id: Int
        let inputFeatures: Int32, outputFeatures: Int32
        /// `dnnl_f32`, or `dnnl_bf16` for a weight rounded to bfloat16 (and
        /// products whose input is too).
        let type: dnnl_data_type_t
        /// Whether the products add a float32 bias.
        let hasBias: Bool
        /// The layout oneDNN chose, the packed weight in it, and the memory
        /// object over it that every thread's primitives read (and none changes).
        let layout: dnnl_memory_desc_t
        let data: UnsafeMutableRawPointer
        let memory: dnnl_memory_t
        /// The implementation oneDNN runs on it, such as `brg:avx512_core`.
        let implementation: String

        private init(
            inputFeatures: Int32, outputFeatures: Int32, type: dnnl_data_type_t, hasBias: Bool,
            layout: dnnl_memory_desc_t, data: UnsafeMutableRawPointer, memory: dnnl_memory_t, implementation: String
        ) {
            id = Self.ids.wrappingAdd(1, ordering: .relaxed).newValue
            (self.inputFeatures, self.outputFeatures, self.type, self.hasBias) = (inputFeatures, outputFeatures, type, hasBias)
            (self.layout, self.data, self.memory, self.implementation) = (layout, data, memory, implementation)
        }

        deinit {
            dnnl_memory_destroy(memory)
            data.deallocate()
        }

        /// `weight`, a row-major `inputFeatures × outputFeatures` matrix of
        /// `type` (float32, or bfloat16 bit patterns), reordered into the
        /// layout oneDNN's matmul reads fastest; `nil` where that is the plain
        /// layout (packing buys nothing) or oneDNN has only its reference
        /// implementation for it.
        ///
        /// - Throws: ``PerceptronError/backendFailure(backend:reason:)`` when
        ///   oneDNN fails (out of memory, say).
        static func packing(
            _ weight: UnsafeRawPointer, inputFeatures: Int32, outputFeatures: Int32, type: dnnl_data_type_t, bias: Bool
        ) throws(PerceptronError) -> PackedWeight? {
            guard let engine = state.engine, inputFeatures > 0, outputFeatures > 0 else { return nil }
            let what = "packing a \(inputFeatures) × \(outputFeatures) weight"
            let choice = LayoutChoice(k: inputFeatures, n: outputFeatures, type: type, bias: bias, engine: engine)
            if choice.status == dnnl_unimplemented { return nil }
            guard choice.status == dnnl_success else {
                throw .backendFailure(backend: "oneDNN", reason: "\(what): \(describe(choice.status))")
            }
            guard !choice.isReference else { return nil }
            if choice.isPlain && !WeightPacking.isForced.load(ordering: .relaxed) { return nil }
            var layout = choice.layout

            let data = UnsafeMutableRawPointer.allocate(byteCount: max(1, Int(dnnl_memory_desc_get_size(&layout))), alignment: 64)
            var memory: dnnl_memory_t?
            var status = dnnl_memory_create(&memory, &layout, engine, data)
            if status == dnnl_success { status = reorder(weight, from: choice.plain, into: memory!, engine: engine) }
            guard status == dnnl_success, let memory else {
                if memory != nil { dnnl_memory_destroy(memory) }
                data.deallocate()
                throw .backendFailure(backend: "oneDNN", reason: "\(what): \(describe(status))")
            }
            return PackedWeight(
                inputFeatures: inputFeatures, outputFeatures: outputFeatures, type: type, hasBias: bias,
                layout: layout, data: data, memory: memory, implementation: choice.implementation)
        }

        /// Copies `source`, described by `from`, into `destination` in its layout, with a oneDNN reorder.
        private static func reorder(
            _ source: UnsafeRawPointer, from: dnnl_memory_desc_t, into destination: dnnl_memory_t, engine: dnnl_engine_t
        ) -> dnnl_status_t {
            var from = from
            var sourceMemory: dnnl_memory_t?
            var descriptor: dnnl_primitive_desc_t?, reorder: dnnl_primitive_t?
            defer {
                if reorder != nil { dnnl_primitive_destroy(reorder) }
                if descriptor != nil { dnnl_primitive_desc_destroy(descriptor) }
                if sourceMemory != nil { dnnl_memory_destroy(sourceMemory) }
            }
            var layout: UnsafePointer<dnnl_memory_desc_t>?
            var status = dnnl_memory_get_memory_desc(destination, &layout)
            guard status == dnnl_success, let layout else { return status }
            status = dnnl_memory_create(&sourceMemory, &from, engine, UnsafeMutableRawPointer(mutating: source))
            guard status == dnnl_success else { return status }
            status = dnnl_reorder_primitive_desc_create(&descriptor, &from, engine, layout, engine, nil)
            guard status == dnnl_success else { return status }
            status = dnnl_primitive_create(&reorder, descriptor)
            guard status == dnnl_success else { return status }
            var arguments = [
                dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: sourceMemory),
                dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: destination),
            ]
            let stream = ThreadContext.current.stream
            status = dnnl_primitive_execute(reorder, stream, 2, &arguments)
            guard status == dnnl_success else { return status }
            return dnnl_stream_wait(stream)
        }
    }

    /// `output ← input·W + bias` for `rows` contiguous rows, `W` a packed
    /// weight: the product an ``InferenceModel`` runs on one.
    struct PackedProduct: RowSplittableProduct {
        /// `m × inputFeatures`, of the weight's type.
        var input: UnsafeRawPointer
        /// `m × outputFeatures`, float32.
        var output: UnsafeMutablePointer<Float>
        /// `outputFeatures` floats, exactly when the weight was packed with a bias.
        var bias: UnsafePointer<Float>?
        /// The rows of the input and of the output.
        var m: Int32
        /// The caller keeps the weight alive for the call.
        unowned(unsafe) var weight: PackedWeight

        /// Rows `rows` of the product.
        func rows(_ rows: Range<Int>) -> Self {
            var part = self
            let bytes = weight.type == dnnl_bf16 ? 2 : 4
            part.input = input + rows.lowerBound * Int(weight.inputFeatures) * bytes
            part.output = output + rows.lowerBound * Int(weight.outputFeatures)
            part.m = Int32(truncatingIfNeeded: rows.count)
            return part
        }

        /// `m·inputFeatures·outputFeatures`, the multiply-adds, as for a float32 product.
        var splitWork: Double { Double(m) * Double(weight.inputFeatures) * Double(weight.outputFeatures) }

        func computeWhole() { OneDNN.multiply(self) }
    }

    /// Computes `product` on the calling thread; as ``multiply(_:)-(MixedPrecisionProduct)``,
    /// the caller has created its primitive on its own thread first.
    static func multiply(_ product: PackedProduct) {
        let status = ThreadContext.current.run(product)
        guard status == dnnl_success else {
            fatalError("oneDNN: \(product.m) rows times a packed \(product.weight.inputFeatures) × \(product.weight.outputFeatures) weight failed: \(describe(status))")
        }
    }

    /// Creates on the calling thread the primitive `product` needs, so that
    /// an error surfaces as a thrown error before the product is split.
    ///
    /// - Returns: `false` when oneDNN has no implementation for this row count with the packed layout.
    static func prepare(_ product: PackedProduct) throws(PerceptronError) -> Bool {
        let status = ThreadContext.current.primitive(for: product.weight, rows: product.m).status
        if status == dnnl_unimplemented { return false }
        guard status == dnnl_success else {
            throw .backendFailure(
                backend: "oneDNN",
                reason: "\(product.m) rows times a packed \(product.weight.inputFeatures) × \(product.weight.outputFeatures) weight cannot be created: \(describe(status))")
        }
        return true
    }
}

extension Kernels {
    /// Computes a product on a packed weight, split by rows across the
    /// worker pool when it is large enough.
    ///
    /// - Returns: `false`, having computed nothing, when oneDNN cannot take
    ///   this row count with the weight's layout; the caller then computes
    ///   the product on its plain weight.
    /// - Throws: ``PerceptronError/backendFailure(backend:reason:)`` if oneDNN fails.
    static func multiply(_ product: OneDNN.PackedProduct) throws(PerceptronError) -> Bool {
        OpenBLAS.setUp()
        guard product.m > 0 else { return true }
        guard try OneDNN.prepare(product) else { return false }
        // Each part creates the primitive for its own row count on its own thread.
        splitRows(product)
        return true
    }
}
#endif
