import CAllocationCounter
@_spi(Benchmarking) import Perceptron
import Testing

/// Counts the heap allocations `body` makes on this thread.
func allocations(_ body: () throws -> Void) rethrows -> UInt64 {
    allocation_counter_start_thread()
    defer { _ = allocation_counter_stop_thread() }
    try body()
    return allocation_counter_stop_thread()
}

extension Trait where Self == ConditionTrait {
    /// Runs a test only where allocations can be counted: not in a build
    /// under ASan or TSan, whose runtimes own malloc. There the test is skipped
    /// with this reason rather than failed; `make test` runs this package's
    /// tests in a plain release build, where it runs.
    static var needsAllocationCounter: Self {
        .enabled(if: allocation_counter_is_available(), "malloc is owned by a sanitizer in this build")
    }
}

/// The first scalar, read without allocating (generic collection algorithms
/// allocate in an unoptimised build).
func first<Scalar: BLASScalar>(_ tensor: Tensor<Scalar>) -> Scalar {
    tensor.withUnsafeBufferPointer { $0.count > 0 ? $0[0] : 0 }
}

/// A layer shape for the allocation test.
struct StepCase: Sendable, CustomTestStringConvertible {
    var n: Int, f: Int, m: Int
    var bias = true
    var double = false
    /// A `Float` layer in bfloat16 whose products all stay under the
    /// threshold, so run in float32.
    var bfloat16 = false
    /// A `Float` layer in bfloat16 whose products all run in bfloat16, on
    /// Perceptron's own kernel (with the backward products in turn, if
    /// `inTurn`). oneDNN's kernel is not counted: every `dnnl_primitive_execute`
    /// call allocates, inside oneDNN.
    var bfloat16Kernel = false
    var inTurn = false
    var testDescription: String {
        let precision = bfloat16Kernel ? " on the bfloat16 kernel\(inTurn ? ", backward in turn" : "")"
            : bfloat16 ? " in bfloat16" : ""
        return "\(double ? "Double" : "Float") [\(n), \(f)] → \(m)\(bias ? "" : " no bias")\(precision)"
    }
}

/// After its first step, a training step allocates nothing: a layer's here,
/// a whole model's in `TrainingSteps`.
///
/// Serialized, with the suites nested in it (`TrainingSteps`): the layer
/// cases set the process-wide `BLAS.threadCount`, which every other step reads,
/// so they run one test at a time. This package's tests run in a process of
/// their own, apart from the root package's, so nothing else shares the
/// settings. The counter sees only the calling thread, so each layer case runs
/// once with one thread (all the arithmetic on this thread) and once with two
/// (this thread's share and the hand-offs to the worker pool).
@Suite("Heap allocations", .serialized)
struct AllocationTests {
    @Test(.needsAllocationCounter) func counterSeesAllocations() throws {
        // The counter must see what it is meant to catch, or a 0 below means nothing.
        let count = allocations {
            let t = Tensor<Float>(shape: [3, 5])
            #expect(t.count == 15)
        }
        #expect(count >= 2, "a new tensor allocates its storage object and buffer")
    }

    static let cases: [StepCase] = [
        StepCase(n: 32, f: 64, m: 64), StepCase(n: 7, f: 13, m: 5, bias: false), StepCase(n: 64, f: 256, m: 10),
        // Products on OpenBLAS's small-matrix kernels, through CBLAS, and split across threads.
        StepCase(n: 64, f: 256, m: 256), StepCase(n: 96, f: 200, m: 160, bias: false),
        // Rows of Z that do not fill whole vectors, where the NN kernel would allocate.
        StepCase(n: 32, f: 64, m: 100), StepCase(n: 8, f: 64, m: 36, bias: false),
        StepCase(n: 32, f: 64, m: 100, double: true), StepCase(n: 8, f: 64, m: 36, double: true),
        StepCase(n: 64, f: 256, m: 256, double: true),
    ] + bfloat16Cases

    #if OneDNN
    static let bfloat16Cases = [
        StepCase(n: 32, f: 64, m: 64, bfloat16: true), StepCase(n: 64, f: 256, m: 256, bfloat16: true),
        StepCase(n: 8, f: 64, m: 36, bfloat16: true),
        StepCase(n: 32, f: 64, m: 64, bfloat16Kernel: true), StepCase(n: 64, f: 256, m: 256, bfloat16Kernel: true),
        StepCase(n: 37, f: 53, m: 29, bias: false, bfloat16Kernel: true),
        StepCase(n: 300, f: 130, m: 64, bfloat16Kernel: true, inTurn: true),
    ]
    #else
    static let bfloat16Cases: [StepCase] = []
    #endif

    @Test(.needsAllocationCounter, arguments: cases, [1, 2])
    func steadyTrainingStepAllocatesNothing(_ c: StepCase, threads: Int) throws {
        let saved = (BLAS.threadCount, BLAS.mixedPrecisionThreshold, BLAS.bfloat16Backend, BLAS.runsIndependentProductsSideBySide)
        defer { (BLAS.threadCount, BLAS.mixedPrecisionThreshold, BLAS.bfloat16Backend, BLAS.runsIndependentProductsSideBySide) = saved }
        BLAS.threadCount = threads
        // Every product under the threshold, whatever this CPU's is.
        if c.bfloat16 { BLAS.mixedPrecisionThreshold = .max }
        if c.bfloat16Kernel {
            guard BLAS.configuration.oneDNN?.bfloat16Unavailability == nil else {
                try check(Float.self, c)   // checks the refusal
                return
            }
            // Every product in bfloat16, on Perceptron's kernel, which every
            // CPU where bfloat16 runs has (AVX512_BF16 comes with AMX).
            BLAS.mixedPrecisionThreshold = 0
            BLAS.bfloat16Backend = .perceptron
            BLAS.runsIndependentProductsSideBySide = !c.inTurn
        }
        if c.double { try check(Double.self, c) } else { try check(Float.self, c) }
    }

    func check<Scalar: BLASScalar>(_: Scalar.Type, _ c: StepCase) throws {
        var generator = SeededRandomNumberGenerator(seed: 3)
        let layer = Linear<Scalar>(inputFeatures: c.f, outputFeatures: c.m, bias: c.bias, using: &generator)
        if c.bfloat16 || c.bfloat16Kernel { layer.precision = .bfloat16 }
        let x = Tensor<Scalar>(shape: [c.n, c.f], randomIn: -1...1, using: &generator)
        var g = Tensor<Scalar>(shape: [c.n, c.m])
        var checksum: Scalar = 0
        if c.bfloat16 || c.bfloat16Kernel, let reason = BLAS.configuration.oneDNN?.bfloat16Unavailability {
            // A CPU where bfloat16 cannot run refuses it at every size, with its reason.
            let error = #expect(throws: PerceptronError.self) { try layer(x) }
            #expect(error.map { "\($0)" }?.contains(reason) == true, "\(String(describing: error))")
            return
        }

        func step() throws {
            let z = try layer(x)
            // The output gradient, written into a buffer the caller keeps (here, of E = ½‖Z‖²).
            g.withUnsafeMutableBufferPointer { g in
                z.withUnsafeBufferPointer { z in
                    for i in 0..<g.count { g[i] = z[i] }
                }
            }
            let dx = try layer.backward(g)
            // Read the results (the variadic subscript would allocate its index array).
            checksum += first(dx) + first(layer.weightGradient)
            if let biasGradient = layer.biasGradient { checksum += first(biasGradient) }
        }
        try step()   // the first step allocates the layer's buffers
        let count = try allocations {
            for _ in 0..<20 { try step() }
        }
        #expect(count == 0, "\(count) allocations in 20 steady steps")
        #expect(checksum.isFinite)
    }
}
