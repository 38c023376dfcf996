#if OneDNN
import COneDNN
#if canImport(Glibc)
import Glibc
#endif

/// The second backend, built with the `OneDNN` trait: oneDNN's matmul, for
/// products of bfloat16 operands accumulated and written in float32.
///
/// oneDNN picks its kernel for the CPU itself (AMX, AVX512_BF16, or an
/// emulation on plain AVX-512). A matmul is a primitive created for one
/// shape, which is slow to create and cheap to run, so each thread keeps the
/// primitives it has run in a ``ThreadContext``, together with the memory
/// objects that point them at the caller's buffers and a scratchpad of its
/// own: a repeated product creates nothing. Threads are the library's:
/// oneDNN runs every call on one OpenMP thread, and a large product is split
/// across the worker pool like any other, so one set of threads, sized by
/// ``BLAS/threadCount``, is all that runs.
enum OneDNN {
    /// What the one-time set-up found.
    struct State: @unchecked Sendable {
        // @unchecked Sendable: the engine is created once here and is
        // thread-safe in oneDNN; it is never destroyed.
        var engine: dnnl_engine_t?
        /// Why there is no engine, when there is none.
        var failure: String?
        /// The instruction set oneDNN's kernels use (`dnnl_get_effective_cpu_isa`).
        var isa: dnnl_cpu_isa_t
        var version: String
    }

    /// The one-time set-up: the CPU engine, the ISA and the version.
    static let state: State = {
        let isa = dnnl_get_effective_cpu_isa()
        let v = dnnl_version()!.pointee
        let version = "\(v.major).\(v.minor).\(v.patch)"
        var engine: dnnl_engine_t?
        let status = dnnl_engine_create(&engine, dnnl_cpu, 0)
        guard status == dnnl_success else {
            return State(engine: nil, failure: "creating the CPU engine failed: \(describe(status))", isa: isa, version: version)
        }
        return State(engine: engine, failure: nil, isa: isa, version: version)
    }()

    /// The name oneDNN gives `isa`, as in `ONEDNN_MAX_CPU_ISA`.
    static func name(of isa: dnnl_cpu_isa_t) -> String {
        switch isa {
        case dnnl_cpu_isa_sse41: "sse41"
        case dnnl_cpu_isa_avx: "avx"
        case dnnl_cpu_isa_avx2: "avx2"
        case dnnl_cpu_isa_avx2_vnni: "avx2_vnni"
        case dnnl_cpu_isa_avx512_mic: "avx512_mic"
        case dnnl_cpu_isa_avx512_mic_4ops: "avx512_mic_4ops"
        case dnnl_cpu_isa_avx512_core: "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni: "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16: "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx: "avx512_core_amx"
        default: "isa 0x\(String(isa.rawValue, radix: 16))"
        }
    }

    /// Whether `isa` has bfloat16 instructions (AVX512_BF16 or AMX), rather
    /// than oneDNN emulating bfloat16 with float32 arithmetic.
    static func hasNativeBFloat16(_ isa: dnnl_cpu_isa_t) -> Bool {
        // oneDNN's ISA values are bit sets, each including the ones below it;
        // avx512_core_bf16 (0xe7) adds bit 0x80, and avx512_core_amx includes it.
        isa.rawValue & dnnl_cpu_isa_avx512_core_bf16.rawValue == dnnl_cpu_isa_avx512_core_bf16.rawValue
    }

    /// Whether `isa` has AMX's matrix tiles.
    static func hasAMX(_ isa: dnnl_cpu_isa_t) -> Bool {
        isa.rawValue & dnnl_cpu_isa_avx512_core_amx.rawValue == dnnl_cpu_isa_avx512_core_amx.rawValue
    }

    /// Computes `product` on the calling thread.
    ///
    /// The caller has checked, through ``prepare(_:)`` on the whole product,
    /// that oneDNN can compute it; a failure here is of the environment
    /// (memory), and traps with oneDNN's status.
    static func multiply(_ product: MixedPrecisionProduct) {
        let status = ThreadContext.current.run(product)
        guard status == dnnl_success else {
            fatalError("oneDNN: a bfloat16 product of \(product.m) × \(product.k) by \(product.k) × \(product.n) failed: \(describe(status))")
        }
    }

    /// Creates, on the calling thread, the primitive `product` needs (a
    /// cached one is reused), so that an error surfaces here, as a thrown
    /// error, before the product is split across threads.
    static func prepare(_ product: MixedPrecisionProduct) throws(PerceptronError) {
        guard state.engine != nil else {
            throw .backendFailure(backend: "oneDNN", reason: state.failure ?? "no CPU engine")
        }
        let status = ThreadContext.current.primitive(for: Shape(product)).status
        guard status == dnnl_success else {
            throw .backendFailure(
                backend: "oneDNN",
                reason: "a bfloat16 product of \(product.m) × \(product.k) by \(product.k) × \(product.n) cannot be created: \(describe(status))")
        }
    }

    /// The implementation oneDNN chooses for a contiguous `m × k` by `k × n`
    /// product, such as `brg:avx512_core_bf16`.
    static func implementation(m: Int32, n: Int32, k: Int32) -> String? {
        guard state.engine != nil else { return nil }
        let shape = Shape(
            transposeA: false, transposeB: false, m: m, n: n, k: k, lda: k, ldb: n, ldc: n, accumulates: false, hasBias: false)
        return ThreadContext.current.primitive(for: shape).implementation
    }

    /// oneDNN's status code in words.
    static func describe(_ status: dnnl_status_t) -> String {
        switch status {
        case dnnl_out_of_memory: "out of memory"
        case dnnl_invalid_arguments: "invalid arguments"
        case dnnl_unimplemented: "no implementation for this product on this CPU"
        case dnnl_runtime_error: "runtime error"
        default: "status \(status.rawValue)"
        }
    }
}

extension OneDNN {
    /// What a primitive is created for: everything of a product but its pointers.
    struct Shape: Hashable {
        var transposeA: Bool, transposeB: Bool
        var m: Int32, n: Int32, k: Int32
        var lda: Int32, ldb: Int32, ldc: Int32
        /// Whether the product adds to `C` (β = 1) rather than overwriting it (β = 0).
        var accumulates: Bool
        /// Whether a bias row is added to every row of `C`.
        var hasBias: Bool

        init(
            transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32,
            lda: Int32, ldb: Int32, ldc: Int32, accumulates: Bool, hasBias: Bool
        ) {
            (self.transposeA, self.transposeB, self.m, self.n, self.k) = (transposeA, transposeB, m, n, k)
            (self.lda, self.ldb, self.ldc, self.accumulates, self.hasBias) = (lda, ldb, ldc, accumulates, hasBias)
        }

        init(_ p: MixedPrecisionProduct) {
            precondition(p.alpha == 1 && (p.beta == 0 || p.beta == 1),
                         "OneDNN: mixed-precision products take α = 1 and β = 0 or 1, got α = \(p.alpha), β = \(p.beta)")
            (transposeA, transposeB, m, n, k) = (p.transposeA, p.transposeB, p.m, p.n, p.k)
            (lda, ldb, ldc, accumulates, hasBias) = (p.lda, p.ldb, p.ldc, p.beta == 1, p.bias != nil)
        }
    }

    /// A created matmul and the memory objects that hand it the caller's buffers.
    final class Primitive {
        var status: dnnl_status_t
        var implementation: String?
        /// The layout the primitive reads its weights (`B`) in: the one it was
        /// given or, given `dnnl_format_tag_any`, the one oneDNN chose.
        private(set) var weightLayout = dnnl_memory_desc_t()
        private var primitive: dnnl_primitive_t?
        private var a: dnnl_memory_t?, b: dnnl_memory_t?, bias: dnnl_memory_t?, c: dnnl_memory_t?
        private var scratchpad: dnnl_memory_t?
        /// Whether `b` is this primitive's own, pointed at each call's weight,
        /// or a packed weight's memory, shared by every thread and never changed.
        private var ownsWeights = true
        /// The buffers `a`, `b`, `c`, `bias` and `scratchpad` point at now, in
        /// that order: a handle is set only when it changes.
        private let handles: UnsafeMutablePointer<UnsafeMutableRawPointer?> = {
            let handles = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 5)
            handles.initialize(repeating: nil, count: 5)   // a memory object starts with no buffer
            return handles
        }()
        /// The bytes of scratchpad memory a call needs.
        private(set) var scratchpadSize = 0
        /// The call's arguments, filled once; only the buffers behind them change.
        private let arguments = UnsafeMutablePointer<dnnl_exec_arg_t>.allocate(capacity: 5)
        private var argumentCount: Int32 = 0

        /// A matmul for a product of `shape`: bfloat16 operands read with
        /// their strides, a float32 result, and a float32 bias if it has one.
        init(_ shape: Shape, engine: dnnl_engine_t) {
            status = dnnl_success
            // Row-major matrices as oneDNN sees them: dimensions and strides
            // of op(A) (m × k), op(B) (k × n) and C (m × n); a transposed
            // operand is the same buffer read with its strides swapped.
            var aDesc = dnnl_memory_desc_t(), bDesc = dnnl_memory_desc_t(), cDesc = dnnl_memory_desc_t()
            let s = shape
            status = Self.describe(&aDesc, (Int64(s.m), Int64(s.k)), s.transposeA ? (1, Int64(s.lda)) : (Int64(s.lda), 1), dnnl_bf16)
            guard status == dnnl_success else { return }
            status = Self.describe(&bDesc, (Int64(s.k), Int64(s.n)), s.transposeB ? (1, Int64(s.ldb)) : (Int64(s.ldb), 1), dnnl_bf16)
            guard status == dnnl_success else { return }
            status = Self.describe(&cDesc, (Int64(s.m), Int64(s.n)), (Int64(s.ldc), 1), dnnl_f32)
            guard status == dnnl_success else { return }
            status = create(
                a: aDesc, b: bDesc, biasColumns: s.hasBias ? s.n : nil, c: cDesc, accumulates: s.accumulates, engine: engine)
        }

        /// A matmul `C ← A·B + bias` of contiguous `rows × k` by `k × n`
        /// matrices, whose `A` (and `B`) are of `type` and whose `B` is read
        /// in `weightLayout`, or in the layout oneDNN prefers when that is
        /// `nil` (which ``weightLayout`` then tells). With `weights`, a memory
        /// object in that layout, the primitive always reads that one.
        init(
            rows: Int32, k: Int32, n: Int32, type: dnnl_data_type_t, weightLayout: dnnl_memory_desc_t?,
            weights: dnnl_memory_t? = nil, bias hasBias: Bool, engine: dnnl_engine_t
        ) {
            status = dnnl_success
            var aDesc = dnnl_memory_desc_t(), bDesc = dnnl_memory_desc_t(), cDesc = dnnl_memory_desc_t()
            status = Self.describe(&aDesc, (Int64(rows), Int64(k)), (Int64(k), 1), type)
            guard status == dnnl_success else { return }
            if let weightLayout {
                bDesc = weightLayout
            } else {
                status = Self.describe(&bDesc, (Int64(k), Int64(n)), nil, type)
                guard status == dnnl_success else { return }
            }
            status = Self.describe(&cDesc, (Int64(rows), Int64(n)), (Int64(n), 1), dnnl_f32)
            guard status == dnnl_success else { return }
            if let weights { (b, ownsWeights) = (weights, false) }
            status = create(a: aDesc, b: bDesc, biasColumns: hasBias ? n : nil, c: cDesc, accumulates: false, engine: engine)
        }

        /// Creates the primitive and its memory objects for these operands,
        /// with a float32 bias row of `biasColumns` values when that is not `nil`.
        private func create(
            a aDesc: dnnl_memory_desc_t, b bDesc: dnnl_memory_desc_t, biasColumns: Int32?,
            c cDesc: dnnl_memory_desc_t, accumulates: Bool, engine: dnnl_engine_t
        ) -> dnnl_status_t {
            var (aDesc, bDesc, cDesc) = (aDesc, bDesc, cDesc)
            var biasDesc: dnnl_memory_desc_t?
            if let biasColumns {
                var desc = dnnl_memory_desc_t()
                let status = Self.describe(&desc, (1, Int64(biasColumns)), (Int64(biasColumns), 1), dnnl_f32)
                guard status == dnnl_success else { return status }
                biasDesc = desc
            }
            var matmul = dnnl_matmul_desc_t()
            var status = if var biasDesc {
                dnnl_matmul_desc_init(&matmul, &aDesc, &bDesc, &biasDesc, &cDesc)
            } else {
                dnnl_matmul_desc_init(&matmul, &aDesc, &bDesc, nil, &cDesc)
            }
            guard status == dnnl_success else { return status }

            // The scratchpad is the caller's, so that a call allocates none;
            // β = 1 is oneDNN's "sum" post-operation.
            var attributes: dnnl_primitive_attr_t?
            status = dnnl_primitive_attr_create(&attributes)
            guard status == dnnl_success else { return status }
            defer { dnnl_primitive_attr_destroy(attributes) }
            status = dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user)
            guard status == dnnl_success else { return status }
            if accumulates {
                var postOps: dnnl_post_ops_t?
                status = dnnl_post_ops_create(&postOps)
                guard status == dnnl_success else { return status }
                defer { dnnl_post_ops_destroy(postOps) }
                status = dnnl_post_ops_append_sum(postOps, 1)
                guard status == dnnl_success else { return status }
                status = dnnl_primitive_attr_set_post_ops(attributes, postOps)
                guard status == dnnl_success else { return status }
            }

            var descriptor: dnnl_primitive_desc_t?
            status = withUnsafePointer(to: &matmul) { matmul in
                dnnl_primitive_desc_create(&descriptor, UnsafeRawPointer(matmul), attributes, engine, nil)
            }
            guard status == dnnl_success else { return status }
            defer { dnnl_primitive_desc_destroy(descriptor) }
            var info: UnsafePointer<CChar>?
            if dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &info) == dnnl_success, let info {
                implementation = String(cString: info)
            }
            // Given `dnnl_format_tag_any`, the primitive chose the weights' layout.
            guard let chosen = dnnl_primitive_desc_query_md(descriptor, dnnl_query_weights_md, 0) else {
                return dnnl_runtime_error
            }
            weightLayout = chosen.pointee
            status = dnnl_primitive_create(&primitive, descriptor)
            guard status == dnnl_success else { return status }

            let scratchpadDesc = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0)
            scratchpadSize = scratchpadDesc.map { Int(dnnl_memory_desc_get_size($0)) } ?? 0
            // Each memory object the call reads or writes, and its place in the arguments;
            // a packed weight's memory is shared, not created.
            status = attach(&a, aDesc, as: DNNL_ARG_SRC, engine)
            if status == dnnl_success { status = attach(&b, weightLayout, as: DNNL_ARG_WEIGHTS, creating: ownsWeights, engine) }
            if status == dnnl_success { status = attach(&c, cDesc, as: DNNL_ARG_DST, engine) }
            if status == dnnl_success, let biasDesc { status = attach(&bias, biasDesc, as: DNNL_ARG_BIAS, engine) }
            if status == dnnl_success, let scratchpadDesc, scratchpadSize > 0 {
                status = attach(&scratchpad, scratchpadDesc.pointee, as: DNNL_ARG_SCRATCHPAD, engine)
            }
            return status
        }

        /// Creates `memory` for `desc` (unless `creating` is false: it exists)
        /// and appends it to the call's arguments as `argument`.
        private func attach(
            _ memory: inout dnnl_memory_t?, _ desc: dnnl_memory_desc_t, as argument: Int32, creating: Bool = true,
            _ engine: dnnl_engine_t
        ) -> dnnl_status_t {
            if creating {
                var desc = desc
                let status = dnnl_memory_create(&memory, &desc, engine, nil)
                guard status == dnnl_success else { return status }
            }
            arguments[Int(argumentCount)] = dnnl_exec_arg_t(arg: argument, memory: memory)
            argumentCount += 1
            return dnnl_success
        }

        /// A two-dimensional descriptor of `type` with `strides`, or in the
        /// layout oneDNN prefers (`dnnl_format_tag_any`) when `strides` is `nil`.
        static func describe(
            _ desc: inout dnnl_memory_desc_t, _ dims: (Int64, Int64), _ strides: (Int64, Int64)?,
            _ type: dnnl_data_type_t
        ) -> dnnl_status_t {
            var dims = dims
            return withUnsafeMutableBytes(of: &dims) { dims in
                let dims = dims.baseAddress!.assumingMemoryBound(to: Int64.self)
                guard var strides else { return dnnl_memory_desc_init_by_tag(&desc, 2, dims, type, dnnl_format_tag_any) }
                return withUnsafeMutableBytes(of: &strides) { strides in
                    dnnl_memory_desc_init_by_strides(&desc, 2, dims, type, strides.baseAddress!.assumingMemoryBound(to: Int64.self))
                }
            }
        }

        /// Runs the primitive on `p`'s buffers with `scratch` (at least ``scratchpadSize`` bytes).
        func run(_ p: MixedPrecisionProduct, stream: dnnl_stream_t, scratch: UnsafeMutableRawPointer?) -> dnnl_status_t {
            run(a: p.a, b: p.b, bias: p.bias, c: p.c, stream: stream, scratch: scratch)
        }

        /// Runs the primitive on these buffers with `scratch` (at least
        /// ``scratchpadSize`` bytes); `b` is ignored by a primitive made for a
        /// packed weight's memory.
        func run(
            a: UnsafeRawPointer, b: UnsafeRawPointer?, bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>,
            stream: dnnl_stream_t, scratch: UnsafeMutableRawPointer?
        ) -> dnnl_status_t {
            guard status == dnnl_success else { return status }
            precondition((self.bias == nil) == (bias == nil), "OneDNN: a matmul made with a bias runs with one, and one without, without")
            var status = point(self.a, at: a, slot: 0, stream)
            if status == dnnl_success, ownsWeights { status = point(self.b, at: b, slot: 1, stream) }
            if status == dnnl_success { status = point(self.c, at: c, slot: 2, stream) }
            if status == dnnl_success, let bias { status = point(self.bias, at: bias, slot: 3, stream) }
            if status == dnnl_success, scratchpad != nil { status = point(scratchpad, at: scratch, slot: 4, stream) }
            guard status == dnnl_success else { return status }
            return dnnl_primitive_execute(primitive, stream, argumentCount, arguments)
        }

        /// Points `memory` at `buffer`, unless it points there already (`slot` remembers where it does).
        private func point(_ memory: dnnl_memory_t?, at buffer: UnsafeRawPointer?, slot: Int, _ stream: dnnl_stream_t) -> dnnl_status_t {
            let handle = UnsafeMutableRawPointer(mutating: buffer)
            guard handle != handles[slot] else { return dnnl_success }
            // With the stream: without one, oneDNN creates a stream on each
            // call, to zero any padding of the memory's layout in.
            let status = dnnl_memory_set_data_handle_v2(memory, handle, stream)
            if status == dnnl_success { handles[slot] = handle }
            return status
        }

        deinit {
            handles.deallocate()
            for memory in [a, ownsWeights ? b : nil, bias, c, scratchpad] where memory != nil { dnnl_memory_destroy(memory) }
            if primitive != nil { dnnl_primitive_destroy(primitive) }
            arguments.deallocate()
        }
    }

    /// One thread's primitives, stream and scratchpad. A thread's context is
    /// created with its first product and destroyed when the thread ends.
    final class ThreadContext {
        /// At most this many shapes are kept; a new one past it empties the cache.
        static let capacity = 64

        private var primitives: [Shape: Primitive] = [:]
        /// Products with a packed weight, by the weight and the rows.
        private var packedPrimitives: [PackedShape: Primitive] = [:]
        /// The thread's stream, which every call from it runs on.
        private(set) var stream: dnnl_stream_t?
        private var scratch: UnsafeMutableRawPointer?
        private var scratchSize = 0

        private init() {
            // One OpenMP thread for every oneDNN call made from this thread
            // (the setting is the calling thread's own).
            omp_set_num_threads(1)
            if let engine = OneDNN.state.engine {
                dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue)
            }
        }

        /// The key under which each thread keeps its context; its destructor runs at thread exit.
        private static let key: pthread_key_t = {
            var key = pthread_key_t()
            let status = pthread_key_create(&key) { context in
                Unmanaged<ThreadContext>.fromOpaque(context!).release()
            }
            precondition(status == 0, "OneDNN: pthread_key_create failed (\(status))")
            return key
        }()

        /// The calling thread's context.
        static var current: ThreadContext {
            if let existing = pthread_getspecific(key) {
                return Unmanaged<ThreadContext>.fromOpaque(existing).takeUnretainedValue()
            }
            let context = ThreadContext()
            pthread_setspecific(key, Unmanaged.passRetained(context).toOpaque())
            return context
        }

        /// The primitive for `shape`, created if this thread has none.
        func primitive(for shape: Shape) -> Primitive {
            if let cached = primitives[shape] { return cached }
            if primitives.count >= Self.capacity { primitives.removeAll() }
            let created = Primitive(shape, engine: OneDNN.state.engine!)
            primitives[shape] = created
            return created
        }

        /// The primitive for `rows` rows times `weight`, created if this thread has none.
        func primitive(for weight: PackedWeight, rows: Int32) -> Primitive {
            let shape = PackedShape(weight: weight.id, rows: rows)
            if let cached = packedPrimitives[shape] { return cached }
            if packedPrimitives.count >= Self.capacity { packedPrimitives.removeAll() }
            let created = Primitive(
                rows: rows, k: weight.inputFeatures, n: weight.outputFeatures, type: weight.type,
                weightLayout: weight.layout, weights: weight.memory, bias: weight.hasBias, engine: OneDNN.state.engine!)
            packedPrimitives[shape] = created
            return created
        }

        /// Runs `p`, growing the scratchpad first if its primitive needs more.
        func run(_ p: MixedPrecisionProduct) -> dnnl_status_t {
            let primitive = primitive(for: Shape(p))
            return primitive.run(p, stream: stream!, scratch: scratch(for: primitive))
        }

        /// Runs `p`, growing the scratchpad first if its primitive needs more.
        func run(_ p: PackedProduct) -> dnnl_status_t {
            let primitive = primitive(for: p.weight, rows: p.m)
            return primitive.run(
                a: p.input, b: nil, bias: p.bias, c: p.output, stream: stream!, scratch: scratch(for: primitive))
        }

        /// The scratchpad, grown first to what `primitive` needs.
        private func scratch(for primitive: Primitive) -> UnsafeMutableRawPointer? {
            if primitive.scratchpadSize > scratchSize {
                scratch?.deallocate()
                scratch = UnsafeMutableRawPointer.allocate(byteCount: primitive.scratchpadSize, alignment: 64)
                scratchSize = primitive.scratchpadSize
            }
            return scratch
        }

        deinit {
            primitives.removeAll()
            packedPrimitives.removeAll()
            if stream != nil { dnnl_stream_destroy(stream) }
            scratch?.deallocate()
        }
    }
}
#endif
