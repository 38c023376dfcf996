@_spi(Benchmarking) @testable import Perceptron
import Testing

// InferenceModel with packed weights (`kernels: .packedWeights`): each Linear
// layer's product against Double loops within float32's rounding bound, a
// model against a bound carried through its layers, the model's errors for
// bad input, a snapshot that later changes to the model do not reach, and
// the refusals. Packing is forced (BLAS.forcesWeightPacking): every weight
// packed, plain layouts included, and every request served from it, so that
// the packed route runs on every CPU, not only where it measures faster; one
// test checks the unforced choice on both sides of where it falls. In a
// build without the OneDNN trait only the library's kernel packs, for
// requests of up to 64 rows, and larger ones run on the layers' kernels: the
// same tests hold, against the same references.

/// Whether this build has oneDNN, whose packed weights serve the larger requests.
var hasOneDNN: Bool { BLAS.configuration.oneDNN != nil }

extension ProcessWideBLASSettings {
    @Suite("InferenceModel with packed weights")
    struct PackedWeightsTests {
        /// Whether a `Float` layer is packed when packing is forced: oneDNN
        /// packs any weight, and the library's kernel runs on AVX-512F or AVX2.
        static var packs: Bool { hasOneDNN || PanelGEMM.isSupported }

        /// Runs `body` with packing forced and `threads` threads, every product split that can be.
        static func withPackingForced<R>(threads: Int = 1, _ body: () throws -> R) rethrows -> R {
            let saved = (BLAS.forcesWeightPacking, BLAS.threadCount, BLAS.parallelThreshold)
            defer { (BLAS.forcesWeightPacking, BLAS.threadCount, BLAS.parallelThreshold) = saved }
            (BLAS.forcesWeightPacking, BLAS.threadCount, BLAS.parallelThreshold) = (true, threads, 0)
            return try body()
        }

        @Test("a Linear layer on packed weights, against Double loops", arguments: [1, 2, 3], [true, false])
        func linearAgainstDoubleLoops(threads: Int, bias: Bool) throws {
            try Self.withPackingForced(threads: threads) {
                var generator = SeededRandomNumberGenerator(seed: 21)
                for (n, f, m) in [(1, 1, 1), (7, 5, 3), (37, 53, 29), (128, 96, 64), (300, 64, 130), (0, 4, 3)] {
                    let layer = Linear<Float>(inputFeatures: f, outputFeatures: m, bias: bias, using: &generator)
                    if bias { layer.bias = Tensor(shape: [m], randomIn: -1...1, using: &generator) }
                    let server = try InferenceModel(layer, kernels: .packedWeights)
                    #expect(server.packedLayerCount == (Self.packs ? 1 : 0))
                    #expect(server.packedFromRows == (Self.packs ? 0 : nil), "forced: every request is served packed")
                    #expect(server.kernels == .packedWeights)
                    let x = try Tensor<Float>(shape: [n, f], scalars: randomScalars(n * f, using: &generator))
                    let reference = NaiveLinear.forward(
                        x: x.doubles, w: layer.weight.doubles, b: layer.bias?.doubles, n: n, f: f, m: m)
                    let z = try server(x)
                    #expect(z.shape == [n, m])
                    expectMatches(z, reference, "\(n)×\(f)→\(m)\(bias ? "" : " without bias") on \(threads) threads")
                }
            }
        }

        /// Requests of up to ``PanelGEMM/rowLimit`` rows run on the library's
        /// own kernel, whose results are exactly a fused ordered sum; larger
        /// ones on oneDNN's packed weight (without oneDNN, the layer's own
        /// kernels), within float32's bound. On a CPU with neither AVX-512F
        /// nor AVX2 and FMA every request takes oneDNN's weight or the layer's kernels.
        @Test("up to 64 rows on the library's own kernel, bit for bit; more on oneDNN's or the layer's, within the bound",
              arguments: [1, 2])
        func rowsDecideTheKernel(threads: Int) throws {
            try Self.withPackingForced(threads: threads) {
                var generator = SeededRandomNumberGenerator(seed: 28)
                let (f, m) = (48, 70)
                let layer = Linear<Float>(inputFeatures: f, outputFeatures: m, using: &generator)
                layer.bias = Tensor(shape: [m], randomIn: -1...1, using: &generator)
                let server = try InferenceModel(layer, kernels: .packedWeights)
                #expect(server.packedImplementations.contains { $0 == PanelGEMM.kernelName } == PanelGEMM.isSupported)
                // Forced, every request a packed weight can take is served packed: past the
                // library's kernel only if oneDNN packed one too (not in a build without it).
                let packsLarger = WeightPacking.packsLargerRequests(server.packedImplementations)
                #expect(packsLarger == hasOneDNN, "\(server.packedImplementations)")
                if server.packedLayerCount > 0 {
                    #expect(server.packedThroughRows == (packsLarger ? nil : PanelGEMM.rowLimit))
                }
                for rows in [1, 7, PanelGEMM.rowLimit, PanelGEMM.rowLimit + 1, 200] {
                    let x = Tensor<Float>(shape: [rows, f], randomIn: -2...2, using: &generator)
                    let z = try server(x)
                    let reference = NaiveLinear.forward(x: x.doubles, w: layer.weight.doubles, b: layer.bias!.doubles, n: rows, f: f, m: m)
                    expectMatches(z, reference, "\(rows) rows on \(threads) threads")
                    if PanelGEMM.isSupported, rows <= PanelGEMM.rowLimit {
                        let fused = PanelGEMMTests.fusedReference(
                            x.scalars, layer.weight.scalars, bias: layer.bias!.scalars, m: rows, k: f, n: m)
                        #expect(z.scalars.map(\.bitPattern) == fused.map(\.bitPattern), "\(rows) rows: the library's kernel, bit for bit")
                    }
                    if rows > PanelGEMM.rowLimit, !packsLarger {
                        // No packed weight takes this size: the layer's own kernels, predict's bits.
                        #expect(bits(z) == bits(try layer.predict(x)), "\(rows) rows: past the library's kernel, the layer's own")
                    }
                }
            }
        }

        /// The digits model, 64-64-10 with ReLU: the error of each layer's
        /// output is bounded by its own rounding plus what the weights carry
        /// of the error of its input (ReLU moves no value further from its
        /// reference than its input was), against Double loops.
        @Test("a model on packed weights, against a bound carried through its layers", arguments: [[1, 64], [32, 64], [64]])
        func modelAgainstCarriedBound(shape: [Int]) throws {
            try Self.withPackingForced(threads: 2) {
                var generator = SeededRandomNumberGenerator(seed: 22)
                let first = Linear<Float>(inputFeatures: 64, outputFeatures: 64, using: &generator)
                let second = Linear<Float>(inputFeatures: 64, outputFeatures: 10, using: &generator)
                for layer in [first, second] { layer.bias = Tensor(shape: [layer.outputFeatures], randomIn: -1...1, using: &generator) }
                let model = Sequential<Float>([first, ReLU(), second])
                let server = try InferenceModel(model, kernels: .packedWeights)
                #expect(server.packedLayerCount == (Self.packs ? 2 : 0))
                let x = Tensor<Float>(shape: shape, randomIn: -2...2, using: &generator)
                let rows = x.count / 64
                let got = try server(x)
                #expect(got.shape == Array(shape.dropLast()) + [10])

                // Double references and error bounds, layer by layer.
                let gamma = { (terms: Int) in Double(terms + 2) * 0x1p-24 }
                let hidden = NaiveLinear.forward(
                    x: x.doubles, w: first.weight.doubles, b: first.bias!.doubles, n: rows, f: 64, m: 64)
                let hiddenError = hidden.magnitudes.map { gamma(hidden.terms) * $0 }
                let activated = hidden.values.map { max(0, $0) }
                let output = NaiveLinear.forward(
                    x: activated, w: second.weight.doubles, b: second.bias!.doubles, n: rows, f: 64, m: 10)
                let w = second.weight.doubles
                for row in 0..<rows {
                    for j in 0..<10 {
                        var carried = 0.0, magnitude = output.magnitudes[row * 10 + j]
                        for k in 0..<64 {
                            carried += abs(w[k * 10 + j]) * hiddenError[row * 64 + k]
                            magnitude += abs(w[k * 10 + j]) * hiddenError[row * 64 + k]
                        }
                        let bound = carried + gamma(output.terms) * magnitude
                        let (value, expected) = (Double(got.scalars[row * 10 + j]), output.values[row * 10 + j])
                        #expect(abs(value - expected) <= bound, "row \(row), class \(j): \(value) against \(expected), bound \(bound)")
                    }
                }
            }
        }

        @Test("every architecture: the model's shapes and errors, and values near predict's")
        func everyArchitecture() throws {
            try Self.withPackingForced(threads: 2) {
                for architecture in Architecture.allCases {
                    let (model, shapes) = try architecture.make(Float.self, seed: 23)
                    let server = try InferenceModel(model, kernels: .packedWeights)
                    let linears = Self.linearCount(model)
                    #expect(server.packedLayerCount == (Self.packs ? linears : 0), "\(architecture): \(linears) Linear layers")
                    var generator = SeededRandomNumberGenerator(seed: 24)
                    for shape in shapes {
                        let x = Tensor<Float>(shape: shape, randomIn: -2...2, using: &generator)
                        let (got, want) = (try server(x), try model.predict(x))
                        #expect(got.shape == want.shape, "\(architecture) \(shape)")
                        // A sanity check: the rigorous bounds are the two tests above.
                        let scale = want.scalars.map { abs($0) }.max() ?? 0
                        let worst = zip(got.scalars, want.scalars).map { abs($0 - $1) }.max() ?? 0
                        #expect(worst <= 1e-4 * max(scale, 1), "\(architecture) \(shape): differs from predict by \(worst)")
                    }
                    // Bad input: the model's own error, word for word (a layer without
                    // weights, such as a bare Softmax, takes any shape).
                    guard linears > 0 else { continue }
                    let wrong = Tensor<Float>(shape: [2, 3], repeating: 1)
                    let expected = #expect(throws: PerceptronError.self) { try model.predict(wrong) }
                    let thrown = #expect(throws: PerceptronError.self) { try server(wrong) }
                    #expect(thrown.map { "\($0)" } == expected.map { "\($0)" }, "\(architecture)")
                }
            }
        }

        /// How many Linear layers `layer` holds, nested Sequentials included.
        static func linearCount(_ layer: any Layer<Float>) -> Int {
            if layer is Linear<Float> { return 1 }
            guard let sequential = layer as? Sequential<Float> else { return 0 }
            return sequential.layers.reduce(0) { $0 + linearCount($1) }
        }

        @Test("the packed snapshot keeps the weights it took")
        func laterChangesDoNotReachIt() throws {
            try Self.withPackingForced {
                var generator = SeededRandomNumberGenerator(seed: 25)
                let layer = Linear<Float>(inputFeatures: 16, outputFeatures: 8, using: &generator)
                let server = try InferenceModel(layer, kernels: .packedWeights)
                #expect(server.packedLayerCount == (Self.packs ? 1 : 0))
                let x = Tensor<Float>(shape: [4, 16], randomIn: -1...1, using: &generator)
                let before = bits(try server(x))
                let reference = NaiveLinear.forward(x: x.doubles, w: layer.weight.doubles, b: layer.bias?.doubles, n: 4, f: 16, m: 8)
                try layer.forEachParameter { _, value, _ in value = Tensor(shape: value.shape, repeating: 3) }
                #expect(bits(try server(x)) == before)
                expectMatches(try server(x), reference, "after the model changed")
            }
        }

        @Test("a layer in bfloat16 on packed weights: bfloat16's bound, or predict's refusal")
        func bfloat16Layer() throws {
            let saved = BLAS.mixedPrecisionThreshold
            defer { BLAS.mixedPrecisionThreshold = saved }
            BLAS.mixedPrecisionThreshold = 0
            try Self.withPackingForced {
                var generator = SeededRandomNumberGenerator(seed: 26)
                let (n, f, m) = (24, 48, 40)
                let layer = Linear<Float>(inputFeatures: f, outputFeatures: m, using: &generator)
                layer.bias = Tensor(shape: [m], randomIn: -1...1, using: &generator)
                let float32Kernels = try InferenceModel(layer, kernels: .packedWeights).packedImplementations
                layer.precision = .bfloat16
                let server = try InferenceModel(layer, kernels: .packedWeights)
                // Where bfloat16 runs, packing is forced to pack the rounded
                // weight for oneDNN beside the float32 ones, which this
                // request (bfloat16 by the threshold of 0) is served from.
                #expect(server.packedImplementations.count == float32Kernels.count + (Precision.bfloat16.isAvailable ? 1 : 0),
                        "\(server.packedImplementations) against \(float32Kernels) in float32")
                let x = try Tensor<Float>(shape: [n, f], scalars: randomScalars(n * f, using: &generator))
                if let reason = Precision.bfloat16.unavailability {
                    let error = #expect(throws: PerceptronError.self) { try server(x) }
                    #expect(error.map { "\($0)" }?.contains(reason) == true)
                    return
                }
                // The operands rounded by the tests' own rounding: what is left is float32 accumulation.
                let rounded = { (t: Tensor<Float>) in t.scalars.map { Double(roundedToBFloat16($0)) } }
                let reference = NaiveLinear.forward(
                    x: rounded(x), w: rounded(layer.weight), b: layer.bias!.doubles, n: n, f: f, m: m)
                expectMatches(try server(x), reference, "\(n)×\(f)→\(m) in bfloat16")
            }
        }

        /// Unforced, a packed snapshot serves requests from the size where it
        /// measured faster; which that is depends on the machine, so the test
        /// reads it and checks both sides of it.
        @Test("unforced, packed weights serve from where they measured faster; smaller requests get predict's bits",
              arguments: [(64, 64), (512, 512)])
        func packingWhereItMeasuresFaster(f: Int, m: Int) throws {
            let configuration = BLAS.configuration
            let packsHere = configuration.oneDNN?.packsInferenceWeights ?? (configuration.packedWeightKernel != nil)
            var generator = SeededRandomNumberGenerator(seed: 27)
            let layer = Linear<Float>(inputFeatures: f, outputFeatures: m, using: &generator)
            layer.bias = Tensor(shape: [m], randomIn: -1...1, using: &generator)
            let server = try InferenceModel(layer, kernels: .packedWeights)
            if !packsHere { #expect(server.packedLayerCount == 0, "\(configuration)") }
            #expect((server.packedFromRows == nil) == (server.packedLayerCount == 0))
            let fromRows = server.packedFromRows ?? Int.max
            let throughRows = server.packedThroughRows ?? Int.max
            #expect(server.packedFromRows.map(WeightPacking.timedRows.contains) ?? true, "\(String(describing: server.packedFromRows))")
            #expect(server.packedThroughRows.map { $0 == PanelGEMM.rowLimit } ?? true, "packed requests end only where the kernel changes")
            if server.packedFromRows != nil, !WeightPacking.packsLargerRequests(server.packedImplementations) {
                // The library's kernel alone (no oneDNN, or oneDNN packing nothing, as on AVX2): nothing larger is served packed.
                #expect(server.packedThroughRows == PanelGEMM.rowLimit, "\(server.packedImplementations)")
            }
            for rows in [1, 3, 4, 15, 16, 64, 300] {
                let x = Tensor<Float>(shape: [rows, f], randomIn: -1...1, using: &generator)
                let z = try server(x)
                if rows < fromRows || rows > throughRows {
                    #expect(bits(z) == bits(try layer.predict(x)), "\(rows) rows, outside \(fromRows)...\(throughRows), are the layer's own")
                } else {
                    let reference = NaiveLinear.forward(x: x.doubles, w: layer.weight.doubles, b: layer.bias?.doubles, n: rows, f: f, m: m)
                    expectMatches(z, reference, "\(rows) rows on packed weights")
                }
            }
        }

        @Test("the first packed row count: packed faster there and at every larger size timed, else none")
        func firstPackedRows() {
            func timings(_ faster: [Bool]) -> [(rows: Int, layers: Double, packed: Double)] {
                zip(WeightPacking.timedRows, faster).map { rows, faster in (rows, 1.0, faster ? 0.9 : 1.1) }
            }
            #expect(WeightPacking.firstPackedRows(timings([true, true, true, true, true])) == 1)
            #expect(WeightPacking.firstPackedRows(timings([false, false, true, true, true])) == 16)
            #expect(WeightPacking.firstPackedRows(timings([true, false, true, true])) == 16)
            #expect(WeightPacking.firstPackedRows(timings([true, true, true, true, false])) == nil)
            #expect(WeightPacking.firstPackedRows(timings([false, true])) == 4, "timing stopped early: the largest timed decides")
            #expect(WeightPacking.firstPackedRows([]) == nil)
            #expect(WeightPacking.firstPackedRows([(1, 1.0, 1.0)]) == nil, "a tie does not pack")
        }

        @Test("two packed kernels: each one's sizes decided on its own, joined only where both win next to the change")
        func packedRowsAcrossTwoKernels() {
            typealias Rows = WeightPacking.PackedRows
            func rows(_ faster: [Bool], limit: Int? = 64) -> Rows? {
                WeightPacking.packedRows(
                    zip(WeightPacking.timedRows, faster).map { rows, faster in (rows, 1.0, faster ? 0.9 : 1.1) },
                    kernelChangesAfter: limit)
            }
            #expect(rows([true, true, true, true, true]) == Rows(from: 1, through: nil))
            #expect(rows([true, true, true, true, false]) == Rows(from: 1, through: 64), "the larger kernel's loss keeps the smaller's gain")
            #expect(rows([false, false, true, true, false]) == Rows(from: 16, through: 64))
            #expect(rows([false, false, false, false, true]) == Rows(from: 256, through: nil), "the smaller kernel's loss keeps the larger's gain")
            #expect(rows([true, true, true, false, true]) == Rows(from: 256, through: nil))
            #expect(rows([true, true, true, true]) == Rows(from: 1, through: 64), "past the change, nothing was timed: nothing is served there")
            #expect(rows([false, false, false, false, false]) == nil)
            #expect(rows([true, true, true, true, false], limit: nil) == nil, "one kernel: the single rule")
            #expect(rows([false, true, true, true, true], limit: nil) == Rows(from: 4, through: nil))
            #expect(Rows(from: 4, through: 64).contains(4) && Rows(from: 4, through: 64).contains(64))
            #expect(!Rows(from: 4, through: 64).contains(3) && !Rows(from: 4, through: 64).contains(65))
            #expect(Rows(from: 0, through: nil).contains(0) && Rows(from: 0, through: nil).contains(Int.max))
        }

        @Test("with no packed weight past the library's kernel, no larger request is timed or served packed")
        func noLargerKernelServesNothingLarger() {
            typealias Rows = WeightPacking.PackedRows
            let limit = PanelGEMM.rowLimit
            let small = WeightPacking.rowsToTime(kernelChangesAfter: limit, packsLargerRequests: false)
            #expect(small == WeightPacking.timedRows.filter { $0 <= limit } && !small.isEmpty)
            #expect(WeightPacking.rowsToTime(kernelChangesAfter: limit, packsLargerRequests: true) == WeightPacking.timedRows)
            #expect(WeightPacking.rowsToTime(kernelChangesAfter: nil, packsLargerRequests: false) == WeightPacking.timedRows,
                    "one kernel for every size: all are timed")
            // Packed faster at every size timed: served up to the limit, not past it.
            let timings = small.map { (rows: $0, layers: 1.0, packed: 0.9) }
            #expect(WeightPacking.packedRows(timings, kernelChangesAfter: limit) == Rows(from: 1, through: limit))
            // Only oneDNN's packed weights serve the larger requests.
            #expect(!WeightPacking.packsLargerRequests([]))
            if let library = PanelGEMM.kernelName {
                #expect(!WeightPacking.packsLargerRequests([library, library]))
                #expect(WeightPacking.packsLargerRequests([library, "gemm:jit"]))
            }
            #expect(WeightPacking.packsLargerRequests(["brg:avx512_core"]))
        }

        @Test("refusals: a model of Double")
        func refusals() throws {
            let double = Linear<Double>(inputFeatures: 3, outputFeatures: 2)
            let error = #expect(throws: PerceptronError.self) { try InferenceModel(double, kernels: .packedWeights) }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("packed weights are for Float") && message.contains("Double"), "\(message)")
            #expect(try InferenceModel(double).kernels == .layers)
        }

        @Test("the configuration names the packed-weight kernel wherever it runs, in every build")
        func configurationNamesTheKernel() {
            let configuration = BLAS.configuration
            #expect(configuration.packedWeightKernel == PanelGEMM.kernelName)
            #expect((configuration.packedWeightKernel != nil) == PanelGEMM.isSupported)
            if let kernel = configuration.packedWeightKernel {
                #expect(configuration.description.contains("packed weights on \(kernel)"), "\(configuration)")
                if let oneDNN = configuration.oneDNN { #expect(oneDNN.packsInferenceWeights) }
            }
        }
    }
}
