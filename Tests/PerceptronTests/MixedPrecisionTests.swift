import CPerceptronCPU
import Foundation
@_spi(Benchmarking) @testable import Perceptron
import Testing

// Linear<Float> in bfloat16: each product is checked against Double loops
// twice over.
//
// 1. On the operands rounded to bfloat16 by an independent rounding (below):
//    a product of two bfloat16 values is exact in float32, so what is left is
//    float32 accumulation, bounded by (terms + 2)·2⁻²⁴·Σ|terms| as for any
//    float32 product. This shows the operands were rounded to nearest, and
//    that nothing else was lost.
// 2. On the float32 operands themselves, with the issue's bound: each
//    operand's rounding is at most 2⁻⁸ relative, so each term's at most
//    2·2⁻⁸ + 2⁻¹⁶, on top of the accumulation.
//
// Where bfloat16 cannot run (a build without the OneDNN trait, or a CPU
// without bfloat16 instructions), the same tests check the error instead.

/// bfloat16 rounding of a finite `x` of moderate size, written independently
/// of the library's: the two bfloat16 neighbours of `x` compared in Double,
/// ties to the even one.
func roundedToBFloat16(_ x: Float) -> Float {
    guard x.isFinite else { return x.isNaN ? .nan : x }
    let truncated = Float(bitPattern: x.bitPattern & 0xFFFF_0000)   // toward zero
    if truncated == x { return x }
    let away = Float(bitPattern: truncated.bitPattern &+ 0x1_0000)   // the next one out (may be ±inf)
    let (below, above) = (abs(Double(x) - Double(truncated)), abs(Double(away) - Double(x)))
    precondition(away.isFinite, "the tests' operands are far from bfloat16's largest value")
    if below < above { return truncated }
    if above < below { return away }
    return (truncated.bitPattern >> 16) & 1 == 0 ? truncated : away
}

/// The bit pattern of `x` rounded to bfloat16 by ``roundedToBFloat16(_:)``.
func bfloat16Bits(_ x: Float) -> UInt16 {
    UInt16(roundedToBFloat16(x).bitPattern >> 16)
}

/// A bfloat16 product of these sizes on `backend`, for the rules that read
/// only sizes and the kernel: its operands and result are one placeholder
/// each, never read or written.
func sizesOnlyProduct(
    transposeA: Bool = false, m: Int32, n: Int32, k: Int32, on backend: BLAS.BFloat16Backend
) -> MixedPrecisionProduct {
    MixedPrecisionProduct(transposeA: transposeA, m: m, n: n, k: k, placeholderOperand, placeholderOperand,
                          beta: 0, placeholderResult, bfloat16Backend: backend)
}

/// Whether a layer's bfloat16 products can run on Perceptron's kernel here:
/// the CPU has AVX512_BF16, and bfloat16 runs at all (the OneDNN trait).
/// The tests of that kernel's routes need both; elsewhere they are skipped,
/// and say so.
let runsPerceptronsKernel = BFloat16GEMM.isSupported && Precision.bfloat16.isAvailable

nonisolated(unsafe) private let placeholderOperand = UnsafeMutablePointer<UInt16>.allocate(capacity: 1)
nonisolated(unsafe) private let placeholderResult = UnsafeMutablePointer<Float>.allocate(capacity: 1)

extension ProcessWideBLASSettings {
    @Suite("Mixed precision")
    struct MixedPrecisionTests {
        /// Every layer and product shape, at 1, 2 and 3 threads: rows (and,
        /// on Perceptron's kernel, columns) split across threads, the backward
        /// products side by side and in turn, odd sizes, transposes; with a
        /// bias (which the kernel adds as it writes Z) and without.
        static let shapes: [(n: Int, f: Int, m: Int, bias: Bool)] = [
            (1, 1, 1, true), (7, 5, 3, true), (37, 53, 29, true), (128, 96, 64, true), (300, 64, 130, true),
            (7, 5, 3, false), (300, 64, 130, false),
        ]

        /// Every bfloat16 kernel this CPU runs: Perceptron's where it has
        /// AVX512_BF16, and oneDNN's.
        static let backends: [BLAS.BFloat16Backend] = (BFloat16GEMM.isSupported ? [.perceptron] : []) + [.oneDNN]

        @Test("forward and both backward products in bfloat16, against Double loops", arguments: [1, 2, 3], [false, true])
        func productsAgainstReferences(threads: Int, accumulate: Bool) throws {
            let saved = (BLAS.threadCount, BLAS.parallelThreshold, BLAS.mixedPrecisionThreshold, BLAS.bfloat16InTurnThreshold)
            let savedRoute = (BLAS.bfloat16Backend, BLAS.runsIndependentProductsSideBySide)
            defer {
                (BLAS.threadCount, BLAS.parallelThreshold, BLAS.mixedPrecisionThreshold, BLAS.bfloat16InTurnThreshold) = saved
                (BLAS.bfloat16Backend, BLAS.runsIndependentProductsSideBySide) = savedRoute
            }
            BLAS.threadCount = threads
            BLAS.parallelThreshold = 0          // split every product that can be split
            BLAS.mixedPrecisionThreshold = 0    // and send every one to bfloat16

            var generator = SeededRandomNumberGenerator(seed: 13)
            // On each kernel; side by side, then in turn wherever f > m.
            let routes = Self.backends.flatMap { backend in [false, true].map { (backend, $0) } }
            for ((backend, inTurn), (n, f, m, hasBias)) in routes.flatMap({ route in Self.shapes.map { (route, $0) } }) {
                BLAS.bfloat16Backend = backend
                // In turn: oneDNN's rule at every size, or no pairing at all.
                BLAS.bfloat16InTurnThreshold = inTurn ? 0 : .max
                BLAS.runsIndependentProductsSideBySide = !inTurn
                let layer = Linear<Float>(inputFeatures: f, outputFeatures: m, bias: hasBias, using: &generator)
                layer.precision = .bfloat16
                let x = try Tensor<Float>(shape: [n, f], scalars: randomScalars(n * f, using: &generator))
                let g = try Tensor<Float>(shape: [n, m], scalars: randomScalars(n * m, using: &generator))
                if let reason = Precision.bfloat16.unavailability {
                    let error = #expect(throws: PerceptronError.self) { try layer(x) }
                    #expect(error.map { "\($0)" }?.contains(reason) == true, "\(error.map { "\($0)" } ?? "no error")")
                    return
                }
                let z = try layer(x)
                if accumulate { _ = try layer.backward(g) }
                let dx = try layer.backward(g, accumulate: accumulate)

                let (xs, ws, gs, bs) = (x.scalars, layer.weight.scalars, g.scalars, layer.bias?.scalars)
                let rounded = { (v: [Float]) in v.map { Double(roundedToBFloat16($0)) } }
                let exact = { (v: [Float]) in v.map(Double.init) }
                let scale = accumulate ? 2.0 : 1.0
                let cases: [(String, Tensor<Float>, (([Float]) -> [Double]) -> Reference)] = [
                    ("Z", z, { r in NaiveLinear.forward(x: r(xs), w: r(ws), b: bs.map(exact), n: n, f: f, m: m) }),
                    ("∇W", layer.weightGradient, { r in Self.scaled(NaiveLinear.weightGradient(x: r(xs), g: r(gs), n: n, f: f, m: m), by: scale) }),
                    ("∇X", dx, { r in NaiveLinear.inputGradient(g: r(gs), w: r(ws), n: n, f: f, m: m) }),
                ]
                for (name, got, reference) in cases {
                    let what = "\(name) of \(n)×\(f)→\(m)\(hasBias ? "" : " without bias") on \(threads) threads, \(backend)"
                        + (accumulate ? ", accumulated" : "") + (inTurn ? ", backward in turn" : "")
                    // 1. The rounded operands' exact product, float32 accumulation only
                    //    (accumulating twice adds one more rounding per element).
                    var sharp = reference(rounded)
                    if accumulate && name == "∇W" { sharp.terms += 1 }
                    expectMatches(got, sharp, what + ", against the bfloat16-rounded operands")
                    // 2. The float32 operands, with bfloat16's input rounding on top.
                    let loose = reference(exact)
                    let inputRounding = 2 * 0x1p-8 + 0x1p-16
                    for (value, (expected, magnitude)) in zip(got.scalars, zip(loose.values, loose.magnitudes)) {
                        let bound = (inputRounding + Double(loose.terms + 3) * 0x1p-24) * magnitude
                        #expect(abs(Double(value) - expected) <= bound, "\(what): \(value) against \(expected), bound \(bound)")
                    }
                }
                // ∇b stays float32.
                guard hasBias else {
                    #expect(layer.biasGradient == nil)
                    continue
                }
                var bias = NaiveLinear.biasGradient(g: exact(gs), n: n, m: m)
                bias = Self.scaled(bias, by: scale)
                expectMatches(layer.biasGradient!, bias, "∇b of \(n)×\(f)→\(m)")
            }
        }

        /// `reference` times `factor`, a power of two (exact).
        static func scaled(_ reference: Reference, by factor: Double) -> Reference {
            var scaled = reference
            scaled.values = reference.values.map { $0 * factor }
            scaled.magnitudes = reference.magnitudes.map { $0 * factor }
            return scaled
        }

        @Test("a product under the threshold runs in float32, bit for bit")
        func smallProductsStayInFloat32() throws {
            let saved = BLAS.mixedPrecisionThreshold
            defer { BLAS.mixedPrecisionThreshold = saved }
            var generator = SeededRandomNumberGenerator(seed: 5)
            let float32 = Linear<Float>(inputFeatures: 24, outputFeatures: 16, using: &generator)
            let bfloat16 = try Linear<Float>(weight: float32.weight, bias: float32.bias)
            bfloat16.precision = .bfloat16
            let x = try Tensor<Float>(shape: [10, 24], scalars: randomScalars(240, using: &generator))
            let g = try Tensor<Float>(shape: [10, 16], scalars: randomScalars(160, using: &generator))
            BLAS.mixedPrecisionThreshold = 10 * 24 * 16 + 1
            #expect(try float32.computesInBFloat16(rows: 10) == false)
            if let reason = Precision.bfloat16.unavailability {
                // Unavailable is refused whatever the size: a model must not
                // run in bfloat16 on one batch size and throw on another.
                let error = #expect(throws: PerceptronError.self) { try bfloat16(x) }
                #expect(error.map { "\($0)" }?.contains(reason) == true)
                let asked = #expect(throws: PerceptronError.self) { try bfloat16.computesInBFloat16(rows: 1) }
                #expect(asked.map { "\($0)" }?.contains(reason) == true)
                return
            }
            #expect(try bfloat16.computesInBFloat16(rows: 10) == false)
            #expect(try bfloat16(x) == float32(x))
            #expect(!bfloat16.bfloat16.holdsForwardPass)
            #expect(try bfloat16.backward(g) == float32.backward(g))
            #expect(bfloat16.weightGradient == float32.weightGradient)
            // At the threshold it runs in bfloat16, and so differs; one row
            // fewer stays in float32.
            BLAS.mixedPrecisionThreshold = 10 * 24 * 16
            #expect(try bfloat16.computesInBFloat16(rows: 10))
            #expect(try bfloat16.computesInBFloat16(rows: 9) == false)
            #expect(try bfloat16(x) != float32(x))
            #expect(bfloat16.bfloat16.holdsForwardPass)
            // The answer is the route a pass takes, at every batch around the threshold.
            for rows in 1...12 {
                let asked = try bfloat16.computesInBFloat16(rows: rows)
                _ = try bfloat16(Tensor<Float>(shape: [rows, 24], scalars: randomScalars(rows * 24, using: &generator)))
                #expect(asked == bfloat16.bfloat16.holdsForwardPass, "\(rows) rows")
            }
            // No rows is no work, even with every product sent to bfloat16; the largest size is taken.
            BLAS.mixedPrecisionThreshold = 0
            #expect(try bfloat16.computesInBFloat16(rows: 0) == false)
            #expect(try bfloat16.computesInBFloat16(rows: Int(Int32.max)))
        }

        @Test("asking about a batch: the pass's own errors")
        func computesInBFloat16Refusals() throws {
            let layer = Linear<Float>(inputFeatures: 3, outputFeatures: 2)
            layer.precision = .bfloat16
            let tooMany = #expect(throws: PerceptronError.self) { try layer.computesInBFloat16(rows: Int(Int32.max) + 1) }
            if case let .dimensionTooLarge(_, value, limit)? = tooMany {
                #expect(value == Int(Int32.max) + 1 && limit == Int(Int32.max))
            } else {
                Issue.record("expected dimensionTooLarge, got \(String(describing: tooMany))")
            }
            let negative = #expect(throws: PerceptronError.self) { try layer.computesInBFloat16(rows: -1) }
            if case let .invalidArgument(name, _, actual)? = negative {
                #expect(name == "rows" && actual == "-1")
            } else {
                Issue.record("expected invalidArgument, got \(String(describing: negative))")
            }
            let double = Linear<Double>(inputFeatures: 3, outputFeatures: 2)
            #expect(try double.computesInBFloat16(rows: 4) == false)
            double.precision = .bfloat16
            let refused = #expect(throws: PerceptronError.self) { try double.computesInBFloat16(rows: 4) }
            guard case let .precisionUnavailable(what, _)? = refused else {
                Issue.record("expected precisionUnavailable, got \(String(describing: refused))")
                return
            }
            #expect(what.contains("Linear<Double>"))
        }

        /// A 20-32-5 model (ReLU), its second Linear inside a nested
        /// Sequential, set to bfloat16; its two Linear layers; and a batch of 9.
        static func nestedModel(seed: UInt64) throws -> (model: Sequential<Float>, linears: [Linear<Float>], x: Tensor<Float>) {
            var generator = SeededRandomNumberGenerator(seed: seed)
            let model = Sequential<Float>([
                Linear(inputFeatures: 20, outputFeatures: 32, using: &generator), ReLU(),
                Sequential([Linear(inputFeatures: 32, outputFeatures: 5, using: &generator)]),
            ])
            model.precision = .bfloat16
            let x = try Tensor<Float>(shape: [9, 20], scalars: randomScalars(180, using: &generator))
            return (model, linears(of: model), x)
        }

        /// `body` with every product sent to bfloat16 (`BLAS.mixedPrecisionThreshold`
        /// 0), the threshold restored afterwards.
        static func withEveryProductInBFloat16(_ body: () throws -> Void) rethrows {
            let saved = BLAS.mixedPrecisionThreshold
            defer { BLAS.mixedPrecisionThreshold = saved }
            BLAS.mixedPrecisionThreshold = 0
            try body()
        }

        /// The two Linear layers of a model shaped as ``nestedModel(seed:)``'s.
        static func linears(of model: Sequential<Float>) -> [Linear<Float>] {
            [model.layers[0], (model.layers[2] as! Sequential<Float>).layers[0]].map { $0 as! Linear<Float> }
        }

        @Test("predict, forward and an InferenceModel agree bit for bit in bfloat16")
        func predictMatchesForward() throws {
            try Self.withEveryProductInBFloat16 { try predictMatchesForward(Self.nestedModel(seed: 8)) }
        }

        func predictMatchesForward(_ nested: (model: Sequential<Float>, linears: [Linear<Float>], x: Tensor<Float>)) throws {
            let (model, linears, x) = nested
            #expect(linears.allSatisfy { $0.precision == .bfloat16 }, "Sequential.precision reaches nested layers")
            if Precision.bfloat16.unavailability != nil {
                #expect(throws: PerceptronError.self) { try model.predict(x) }
                return
            }
            let forward = try model(x)
            #expect(try model.predict(x) == forward)
            #expect(try InferenceModel(model)(x) == forward)
            model.precision = .float32
            #expect(linears.allSatisfy { $0.precision == .float32 })
            #expect(try model.predict(x) != forward, "float32 differs from bfloat16")
        }

        @Test("a file does not record precision: a rebuilt model computes in float32 until it is set again")
        func precisionIsNotSaved() throws {
            try Self.withEveryProductInBFloat16 { try precisionIsNotSaved(Self.nestedModel(seed: 21)) }
        }

        func precisionIsNotSaved(_ nested: (model: Sequential<Float>, linears: [Linear<Float>], x: Tensor<Float>)) throws {
            let (model, _, x) = nested
            try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("model.safetensors")
                try model.save(to: url)
                let rebuilt = try Sequential<Float>(contentsOf: url)
                #expect(Self.linears(of: rebuilt).allSatisfy { $0.precision == .float32 })
                // load(from:) keeps the model's own precision (other weights, replaced by the file's).
                let loaded = try Self.nestedModel(seed: 22).model
                try loaded.load(from: url)
                #expect(Self.linears(of: loaded).allSatisfy { $0.precision == .bfloat16 })
                if Precision.bfloat16.unavailability != nil {
                    #expect(throws: PerceptronError.self) { try model.predict(x) }
                    return
                }
                let trained = try model.predict(x)
                #expect(try rebuilt.predict(x) != trained, "float32 differs from bfloat16")
                #expect(try InferenceModel<Float>(contentsOf: url)(x) == rebuilt.predict(x))
                rebuilt.precision = .bfloat16
                #expect(try rebuilt.predict(x) == trained)
                #expect(try InferenceModel(rebuilt)(x) == trained)
                #expect(try loaded.predict(x) == trained)
            }
        }
    }
}

@Suite("Mixed precision: refusals")
struct MixedPrecisionRefusalTests {
    @Test("Linear<Double> refuses bfloat16, naming itself")
    func doubleRefuses() throws {
        let layer = Linear<Double>(inputFeatures: 3, outputFeatures: 2)
        layer.precision = .bfloat16
        let x = Tensor<Double>(shape: [4, 3])
        #expect(throws: PerceptronError.precisionUnavailable(
            what: "Linear<Double> in bfloat16",
            reason: "bfloat16 products are for Linear<Float>; a Linear<Double> computes in Double")) { try layer(x) }
        #expect(throws: PerceptronError.self) { try layer.predict(x) }
    }

    @Test("the configuration names oneDNN exactly when it is built in")
    func configuration() {
        let oneDNN = BLAS.configuration.oneDNN
        #if OneDNN
        #expect(oneDNN != nil)
        #expect(oneDNN?.version.hasPrefix("2.") == true, "\(String(describing: oneDNN))")
        #expect(BLAS.configuration.description.contains("oneDNN"))
        // bfloat16 is unavailable exactly where the CPU has no bfloat16 instructions or oneDNN could not start.
        if oneDNN?.hasNativeBFloat16 == false { #expect(oneDNN?.bfloat16Unavailability != nil) }
        if let reason = oneDNN?.bfloat16Unavailability {
            #expect(oneDNN?.hasNativeBFloat16 == false || reason.hasPrefix("oneDNN could not start"), "\(reason)")
        }
        #else
        #expect(oneDNN == nil)
        let layer = Linear<Float>(inputFeatures: 3, outputFeatures: 2)
        layer.precision = .bfloat16
        let error = #expect(throws: PerceptronError.self) { try layer(Tensor(shape: [4, 3])) }
        // Both ways to enable it: on the dependency (a user's package) and on the command line (Perceptron's own).
        #expect(error.map { "\($0)" }?.contains("`traits: [\"OneDNN\"]` on the Perceptron package dependency") == true)
        #expect(error.map { "\($0)" }?.contains("swift build --traits OneDNN") == true)
        #endif
    }
}

@Suite("Mixed precision: the product boundary")
struct MixedPrecisionProductTests {
    /// With no inner dimension there is nothing for oneDNN to compute, and
    /// the kernels write `β·C` themselves: the bias must still be added.
    @Test("a product with no inner dimension writes β·C plus its bias", arguments: [Float(0), 1])
    func emptyInnerDimensionAddsBias(beta: Float) throws {
        let (rows, columns) = (3, 4)
        var generator = SeededRandomNumberGenerator(seed: 5)
        let bias: [Float] = randomScalars(columns, using: &generator)
        let start: [Float] = randomScalars(rows * columns, using: &generator)
        // β = 0 must not read C: start from NaN.
        var c = beta == 0 ? [Float](repeating: .nan, count: rows * columns) : start
        let none = [UInt16](repeating: 0, count: 1)
        try none.withUnsafeBufferPointer { none in
            try bias.withUnsafeBufferPointer { bias in
                try c.withUnsafeMutableBufferPointer { c in
                    try Kernels.multiply(MixedPrecisionProduct(
                        m: Int32(rows), n: Int32(columns), k: 0, none.baseAddress!, none.baseAddress!,
                        beta: beta, c.baseAddress!, bias: bias.baseAddress!))
                }
            }
        }
        for i in 0..<rows {
            for j in 0..<columns {
                // One addition of two floats, rounded once: exact against Double rounded to Float.
                let expected = Float(Double(beta) * Double(start[i * columns + j]) + Double(bias[j]))
                #expect(c[i * columns + j] == expected, "C[\(i), \(j)] with β = \(beta)")
            }
        }
    }
}

extension MixedPrecisionProductTests {
    /// One-pair products `a·b` (k = 2) whose operands are not ordinary
    /// numbers, and what the article "Mixed precision" says comes out.
    static let specialOperands: [(a: [Float], b: [Float], expected: Float, what: String)] = [
        ([.nan, 1], [1, 1], .nan, "NaN stays NaN"),
        ([.infinity, 1], [1, 1], .infinity, "an infinity stays infinite"),
        ([-.infinity, 1], [2, 1], -.infinity, "with its sign"),
        ([.infinity, 1], [0, 1], .nan, "infinity times zero is NaN"),
        // 2⁻¹³⁰ is subnormal in bfloat16 as in float32: the product takes it
        // as zero, though 2⁻¹³⁰·2¹⁰⁰ = 2⁻³⁰ would be a normal float.
        ([0x1p-130, 1], [0x1p100, 0], 0, "a subnormal operand counts as zero"),
    ]

    @Test("NaN and infinities pass through a bfloat16 product, and a subnormal operand counts as zero, on each kernel",
          .enabled(if: Precision.bfloat16.isAvailable, "needs bfloat16: the OneDNN trait and a CPU with bfloat16 instructions"),
          arguments: specialOperands)
    func specialOperands(_ c: (a: [Float], b: [Float], expected: Float, what: String)) throws {
        let (a, b) = (c.a.map(bfloat16Bits), c.b.map(bfloat16Bits))
        // The rounding keeps each of them as it is: what is tested is the product.
        #expect(zip(a, c.a).allSatisfy { Float(bitPattern: UInt32($0) << 16).bitPattern == $1.bitPattern || $1.isNaN })
        for backend in ProcessWideBLASSettings.MixedPrecisionTests.backends {
            var result: [Float] = [42]
            try a.withUnsafeBufferPointer { a in
                try b.withUnsafeBufferPointer { b in
                    try result.withUnsafeMutableBufferPointer { result in
                        try Kernels.multiply(MixedPrecisionProduct(
                            m: 1, n: 1, k: 2, a.baseAddress!, b.baseAddress!, beta: 0, result.baseAddress!,
                            bfloat16Backend: backend))
                    }
                }
            }
            let got = result[0]
            #expect(got.isNaN == c.expected.isNaN && (got.isNaN || got == c.expected),
                    "\(c.what): \(c.a) · \(c.b) gave \(got) on \(backend)")
        }
    }
}

// The in-turn rule reads a process-wide setting that the tests above change.
extension ProcessWideBLASSettings.MixedPrecisionTests {
    /// The layer shapes `(n, f, m)` of the rule's measurements and its
    /// boundary, and whether their backward products run in turn.
    static let backwardRoutes: [(n: Int32, f: Int32, m: Int32, inTurn: Bool)] = [
        (8192, 784, 128, true), (4096, 784, 128, true), (2048, 1024, 256, true),    // f > m, from 2²⁸
        (2048, 1024, 128, true), (2047, 1024, 128, false),                          // f > m, at 2²⁸ and just under
        (2048, 784, 128, false), (1024, 512, 128, false),                           // f > m, smaller
        (8192, 128, 784, false), (2048, 512, 512, false), (8192, 256, 256, false),  // f ≤ m
    ]

    @Test("on oneDNN, a layer's bfloat16 backward products run in turn only when large and ∇W is taller than wide; on Perceptron's kernel, never",
          arguments: backwardRoutes)
    func backwardRoute(_ shape: (n: Int32, f: Int32, m: Int32, inTurn: Bool)) {
        let weightGradient = { backend in sizesOnlyProduct(transposeA: true, m: shape.f, n: shape.m, k: shape.n, on: backend) }
        #expect(BLAS.bfloat16InTurnThreshold == 1 << 28)
        #expect(ProductSplit.runsInTurn(weightGradient: weightGradient(.oneDNN)) == shape.inTurn,
                "(\(shape.n), \(shape.f), \(shape.m)) on oneDNN")
        #expect(!ProductSplit.runsInTurn(weightGradient: weightGradient(.perceptron)),
                "(\(shape.n), \(shape.f), \(shape.m)) on Perceptron's kernel")
    }

    @Test("Precision.isAvailable is true exactly where a Float layer's pass in that precision does not refuse it",
          arguments: Precision.allCases)
    func availability(_ precision: Precision) throws {
        let layer = Linear<Float>(inputFeatures: 64, outputFeatures: 64)
        layer.precision = precision
        let x = Tensor<Float>(shape: [64, 64])
        let refusal: String?
        do throws(PerceptronError) {
            _ = try layer(x)
            refusal = nil
        } catch {
            guard case .precisionUnavailable(_, let reason) = error else { throw error }
            refusal = reason
        }
        if let refusal {
            #expect(!precision.isAvailable, "\(precision) was refused (\(refusal)), so it is not available")
            #expect(precision.unavailability == refusal, "and the property gives the pass's reason")
            #expect(precision == .bfloat16, "float32 is never refused")
        } else {
            #expect(precision.isAvailable, "\(precision) ran, so it is available")
            #expect(precision.unavailability == nil)
            // And it computed in bfloat16 where the threshold in force lets it (never, where bfloat16 does not pay).
            let threshold = precision == .bfloat16 ? BLAS.configuration.oneDNN?.bfloat16Threshold : nil
            #expect(try layer.computesInBFloat16(rows: 64) == threshold.map { 64 * 64 * 64 >= $0 } ?? false)
        }
    }

    /// Products `(m, n, k)`, and how many parts each splits into on two threads
    /// at the default threshold (2¹⁹ multiply-adds for float32) on Perceptron's
    /// kernel (from 2¹⁹, as float32) and on oneDNN (from 2²⁴); two such
    /// products, as a layer's backward pair, share the threads from half those sizes.
    static let bfloat16Splits: [(m: Int32, n: Int32, k: Int32, perceptron: Int, oneDNN: Int)] = [
        (32, 64, 128, 1, 1), (64, 64, 128, 2, 1), (64, 128, 128, 2, 1), (128, 128, 128, 2, 1),
        (128, 256, 256, 2, 1), (256, 256, 256, 2, 2), (255, 256, 256, 2, 1),
    ]

    @Test("a bfloat16 product shares threads from the float32 size on Perceptron's kernel, from 32 times on oneDNN",
          arguments: bfloat16Splits)
    func bfloat16SplitSizes(_ c: (m: Int32, n: Int32, k: Int32, perceptron: Int, oneDNN: Int)) {
        let saved = (BLAS.threadCount, BLAS.parallelThreshold)
        defer { (BLAS.threadCount, BLAS.parallelThreshold) = saved }
        BLAS.threadCount = 2
        BLAS.parallelThreshold = 1 << 19
        // The rule reads only the sizes and the product's kernel, which need not run on this CPU.
        for (backend, expected) in [(BLAS.BFloat16Backend.perceptron, c.perceptron), (.oneDNN, c.oneDNN)] {
            let product = sizesOnlyProduct(m: c.m, n: c.n, k: c.k, on: backend)
            let halved = sizesOnlyProduct(m: c.m / 2, n: c.n, k: c.k, on: backend)
            #expect(ProductSplit.partCount(rows: product.splitExtent, multiplyAdds: product.splitWork) == expected,
                    "\(c.m) × \(c.n) × \(c.k) on \(backend)")
            // A pair of products of half the size shares the threads where one whole product splits.
            let paired = ProductSplit.pairedPartCounts(
                firstRows: halved.splitExtent, secondRows: halved.splitExtent, multiplyAdds: halved.splitWork + halved.splitWork)
            #expect((paired != nil) == (expected > 1), "two of \(c.m / 2) × \(c.n) × \(c.k) on \(backend)")
        }
    }
}

// Splitting by columns reads process-wide settings too.
extension ProcessWideBLASSettings.MixedPrecisionTests {
    @Test("on Perceptron's kernel, a product wider than tall splits by columns and gives the whole product's bits",
          .enabled(if: runsPerceptronsKernel, "needs Perceptron's bfloat16 kernel: AVX512_BF16 and the OneDNN trait"),
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func columnSplitKeepsTheBits(_ transposes: (a: Bool, b: Bool)) throws {
        let saved = (BLAS.threadCount, BLAS.parallelThreshold, BLAS.bfloat16Backend)
        defer { (BLAS.threadCount, BLAS.parallelThreshold, BLAS.bfloat16Backend) = saved }
        BLAS.bfloat16Backend = .perceptron
        BLAS.parallelThreshold = 0

        let (m, n, k) = (Int32(9), Int32(150), Int32(70))
        var generator = SeededRandomNumberGenerator(seed: 21)
        let bits = { (count: Int32) in BFloat16GEMMTests.randomBFloat16(Int(count), using: &generator) }
        let (a, b) = (bits(m * k), bits(k * n))
        let bias: [Float] = randomScalars(Int(n), using: &generator)
        let start: [Float] = randomScalars(Int(m * n), using: &generator)
        func product(threads: Int) throws -> [Float] {
            BLAS.threadCount = threads
            var c = start
            try a.withUnsafeBufferPointer { a in
                try b.withUnsafeBufferPointer { b in
                    try bias.withUnsafeBufferPointer { bias in
                        try c.withUnsafeMutableBufferPointer { c in
                            let whole = MixedPrecisionProduct(
                                transposeA: transposes.a, transposeB: transposes.b, m: m, n: n, k: k,
                                a.baseAddress!, b.baseAddress!, beta: 1, c.baseAddress!, bias: bias.baseAddress!)
                            #expect(whole.splitsByColumns)
                            try Kernels.multiply(whole)
                        }
                    }
                }
            }
            return c
        }
        let whole = try product(threads: 1)
        for threads in [2, 3] {
            let split = try product(threads: threads)
            #expect(split.map(\.bitPattern) == whole.map(\.bitPattern), "\(threads) threads, transposes \(transposes)")
        }
    }
}

// A product is made for a kernel, and every block of it runs there.
extension ProcessWideBLASSettings.MixedPrecisionTests {
    @Test("a bfloat16 product runs on the kernel it was made for, even if the setting changes before it runs",
          .enabled(if: runsPerceptronsKernel, "needs Perceptron's bfloat16 kernel: AVX512_BF16 and the OneDNN trait"))
    func productKeepsItsKernel() throws {
        let saved = (BLAS.threadCount, BLAS.parallelThreshold, BLAS.bfloat16Backend)
        defer { (BLAS.threadCount, BLAS.parallelThreshold, BLAS.bfloat16Backend) = saved }
        (BLAS.threadCount, BLAS.parallelThreshold) = (2, 0)

        // A forward product as Perceptron's kernel takes it: A in float32,
        // rounded by the kernel into `rounded` as it reads it, which oneDNN
        // cannot do.
        let (m, n, k) = (Int32(37), Int32(29), Int32(53))
        var generator = SeededRandomNumberGenerator(seed: 23)
        let a: [Float] = randomScalars(Int(m * k), using: &generator)
        let b = BFloat16GEMMTests.randomBFloat16(Int(k * n), using: &generator)
        func product(madeFor backend: BLAS.BFloat16Backend?, runWith setting: BLAS.BFloat16Backend) throws -> (c: [Float], rounded: [UInt16]) {
            var (c, rounded) = ([Float](repeating: .nan, count: Int(m * n)), [UInt16](repeating: 0, count: a.count))
            try a.withUnsafeBufferPointer { a in
                try b.withUnsafeBufferPointer { b in
                    try rounded.withUnsafeMutableBufferPointer { rounded in
                        try c.withUnsafeMutableBufferPointer { c in
                            var product = MixedPrecisionProduct(
                                m: m, n: n, k: k, rounded.baseAddress!, b.baseAddress!, beta: 0, c.baseAddress!,
                                bfloat16Backend: backend)
                            product.unroundedA = a.baseAddress
                            #expect(product.bfloat16Backend == backend ?? BLAS.bfloat16Backend)
                            BLAS.bfloat16Backend = setting
                            try Kernels.multiply(product)
                        }
                    }
                }
            }
            return (c, rounded)
        }
        let expected = try product(madeFor: .perceptron, runWith: .perceptron)
        #expect(expected.rounded == a.map(bfloat16Bits))
        // Made for Perceptron's kernel, then the setting turns to oneDNN: the
        // product (split across two threads) still runs on Perceptron's.
        let moved = try product(madeFor: .perceptron, runWith: .oneDNN)
        #expect(moved.c.map(\.bitPattern) == expected.c.map(\.bitPattern))
        #expect(moved.rounded == expected.rounded)
        // Made without naming a kernel, it takes the one in force when made.
        BLAS.bfloat16Backend = .perceptron
        let automatic = try product(madeFor: nil, runWith: .oneDNN)
        #expect(automatic.c.map(\.bitPattern) == expected.c.map(\.bitPattern))
    }
}

// The automatic threshold reads the process-wide kernel setting.
extension ProcessWideBLASSettings.MixedPrecisionTests {
    @Test("the automatic kernel follows the CPU, and the threshold the kernel: 2¹⁶ multiply-adds on Perceptron's, 2¹⁸ on oneDNN")
    func thresholdFollowsTheKernel() {
        let saved = (BLAS.mixedPrecisionThreshold, BLAS.bfloat16Backend)
        defer { (BLAS.mixedPrecisionThreshold, BLAS.bfloat16Backend) = saved }
        (BLAS.mixedPrecisionThreshold, BLAS.bfloat16Backend) = (nil, nil)
        // The automatic kernel: Perceptron's on AVX512_BF16 without AMX, oneDNN's
        // with AMX, none where nothing runs in bfloat16.
        if let oneDNN = BLAS.configuration.oneDNN {
            let features = perceptron_cpu_features()
            let expected: String? = oneDNN.bfloat16Threshold == nil ? nil
                : oneDNN.instructionSet.contains("amx") ? "onednn"
                : features.avx512_bf16 && features.avx512bw && features.avx512vl ? "perceptron:avx512_bf16" : "onednn"
            #expect(oneDNN.bfloat16Kernel == expected, "\(oneDNN)")
            if let expected { #expect(oneDNN.description.contains("on \(expected)")) }
        }
        guard let oneDNN = BLAS.configuration.oneDNN, oneDNN.bfloat16Threshold != nil else {
            // Where bfloat16 does not pay or cannot run, no kernel changes that.
            for backend in Self.backends {
                BLAS.bfloat16Backend = backend
                #expect(BLAS.configuration.oneDNN?.bfloat16Threshold == nil, "\(backend)")
            }
            return
        }
        BLAS.bfloat16Backend = .oneDNN
        #expect(BLAS.configuration.oneDNN?.bfloat16Threshold == 1 << 18)
        #expect(BLAS.configuration.oneDNN?.bfloat16Kernel == "onednn")
        if BFloat16GEMM.isSupported {
            BLAS.bfloat16Backend = .perceptron
            #expect(BLAS.configuration.oneDNN?.bfloat16Threshold == 1 << 16)
            #expect(BLAS.configuration.oneDNN?.bfloat16Kernel == "perceptron:avx512_bf16")
        }
    }
}
