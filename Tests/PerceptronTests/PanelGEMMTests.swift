import CPerceptronCPU
@_spi(Benchmarking) @testable import Perceptron
import Testing

// Perceptron's float32 product on a packed weight (panel_gemm.c), for the
// requests a served model answers on it. Each output is promised to be the
// bias plus a[0]w[0] + a[1]w[1] + ..., fused multiply-adds in that order, so
// the reference is that loop in Swift (`addingProduct` is a fused
// multiply-add): the same bits, whatever the row's place in the call or the
// number of threads. A Double sum checks the reference itself against the
// bound of an ordered float32 sum of k + 1 terms.
//
// The shapes cross every edge of the kernel: rows past a tile of 6, columns
// past a vector of 16 and a block of 64, no inner dimension (the bias alone),
// and no bias (zeros). Each of the kernel's paths (AVX-512F, AVX2 with FMA)
// is checked where the CPU runs it, and must refuse where it does not; on a
// CPU with neither, no weight is packed. The tests change the process's thread count, so they
// run with the other tests of process-wide settings, one at a time.

extension ProcessWideBLASSettings {
    @Suite("Packed float32 GEMM kernel")
    struct PanelGEMMTests {
        /// `bias + Σ aᵢ·wᵢⱼ`, fused multiply-adds in the order of `i`: what the kernel promises, exactly.
        static func fusedReference(_ a: [Float], _ w: [Float], bias: [Float]?, m: Int, k: Int, n: Int) -> [Float] {
            var z = [Float](repeating: 0, count: m * n)
            for row in 0..<m {
                for j in 0..<n {
                    var sum = bias?[j] ?? 0
                    for i in 0..<k { sum = sum.addingProduct(a[row * k + i], w[i * n + j]) }
                    z[row * n + j] = sum
                }
            }
            return z
        }

        /// Runs the packed product of `a` (`m × k`) by `w` (`k × n`) with `bias`, on `threads` threads.
        static func packedProduct(
            _ a: [Float], _ w: [Float], bias: [Float]?, m: Int, k: Int, n: Int, threads: Int = 1
        ) -> [Float]? {
            // Each buffer holds at least one value, so that an empty one still has an address.
            let (a, w, bias) = (a + [0], w + [0], bias.map { $0 + [0] })
            let weight = w.withUnsafeBufferPointer { w in
                if let bias {
                    return bias.withUnsafeBufferPointer { b in
                        PanelGEMM.Weight(weight: w.baseAddress!, bias: b.baseAddress!, inputFeatures: Int32(k), outputFeatures: Int32(n))
                    }
                }
                return PanelGEMM.Weight(weight: w.baseAddress!, bias: nil, inputFeatures: Int32(k), outputFeatures: Int32(n))
            }
            guard let weight else { return nil }
            let saved = (BLAS.threadCount, BLAS.parallelThreshold)
            defer { (BLAS.threadCount, BLAS.parallelThreshold) = saved }
            (BLAS.threadCount, BLAS.parallelThreshold) = (threads, 0)
            // One value past the result, which the product must leave as it is.
            var z = [Float](repeating: .nan, count: m * n) + [42]
            // The product holds the weight unowned: it must outlive the call.
            withExtendedLifetime(weight) {
                a.withUnsafeBufferPointer { a in
                    z.withUnsafeMutableBufferPointer { z in
                        Kernels.multiply(PanelGEMM.Product(input: a.baseAddress!, output: z.baseAddress!, m: Int32(m), weight: weight))
                    }
                }
            }
            #expect(z.removeLast() == 42, "\(m)×\(k) by \(k)×\(n): written past the result")
            return z
        }

        static let shapes: [(m: Int, k: Int, n: Int)] = [
            (1, 1, 1), (1, 64, 64), (1, 64, 10), (5, 3, 17), (6, 64, 16), (7, 33, 15), (13, 100, 65),
            (12, 1, 63), (64, 64, 130), (3, 0, 20), (0, 8, 8),
        ]

        @Test("the bits of a fused ordered sum, and its float32 bound against Double sums",
              arguments: [1, 2], [true, false])
        func againstFusedLoopsAndDouble(threads: Int, bias: Bool) throws {
            var generator = SeededRandomNumberGenerator(seed: 91)
            for (m, k, n) in Self.shapes {
                let a = (0..<(m * k)).map { _ in Float.random(in: -2...2, using: &generator) }
                let w = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &generator) }
                let b = bias ? (0..<n).map { _ in Float.random(in: -1...1, using: &generator) } : nil
                guard let z = Self.packedProduct(a, w, bias: b, m: m, k: k, n: n, threads: threads) else {
                    #expect(!PanelGEMM.isSupported, "a weight is refused only on a CPU with neither AVX-512F nor AVX2 and FMA")
                    var output: Float = 7
                    #expect(!perceptron_panel_gemm(1, 1, 1, [1], 1, [1], &output, 1) && output == 7)
                    return
                }
                let what = "\(m)×\(k) by \(k)×\(n)\(bias ? "" : " without bias") on \(threads) threads"
                let expected = Self.fusedReference(a, w, bias: b, m: m, k: k, n: n)
                #expect(z.map(\.bitPattern) == expected.map(\.bitPattern), "\(what): not the fused ordered sum")
                let unit = Double(k + 1) * Double(Float.ulpOfOne) / 2
                for row in 0..<m {
                    for j in 0..<n {
                        var sum = Double(b?[j] ?? 0), magnitude = abs(sum)
                        for i in 0..<k {
                            let term = Double(a[row * k + i]) * Double(w[i * n + j])
                            (sum, magnitude) = (sum + term, magnitude + abs(term))
                        }
                        #expect(abs(Double(expected[row * n + j]) - sum) <= unit * magnitude, "\(what): [\(row), \(j)]")
                    }
                }
            }
        }

        /// The kernel's two paths, and whether this CPU runs each.
        enum Path: String, CaseIterable, CustomTestStringConvertible {
            case avx2, avx512f
            var code: Int32 {
                switch self {
                case .avx2: Int32(PERCEPTRON_PANEL_PATH_AVX2)
                case .avx512f: Int32(PERCEPTRON_PANEL_PATH_AVX512F)
                }
            }
            var runsHere: Bool {
                let f = perceptron_cpu_features()
                switch self {
                case .avx2: return f.avx2 && f.fma && f.os_avx_state
                case .avx512f: return f.avx512f && f.os_avx512_state
                }
            }
            var testDescription: String { rawValue }
        }

        @Test("each path this CPU runs gives the fused ordered sum's bits; the others refuse and write nothing",
              arguments: Path.allCases)
        func eachPathAgainstFusedLoops(path: Path) throws {
            var generator = SeededRandomNumberGenerator(seed: 93)
            // The AVX2 path's own edges too: strips of 16 columns, vectors of 8.
            let shapes = Self.shapes + [(3, 5, 8), (2, 7, 9), (7, 4, 24), (6, 9, 40), (11, 3, 47)]
            for (m, k, n) in shapes where n > 0 {
                let a = (0..<(m * k)).map { _ in Float.random(in: -2...2, using: &generator) } + [0]
                let w = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &generator) } + [0]
                let b = (0..<n).map { _ in Float.random(in: -1...1, using: &generator) }
                // Packed as a served model's weight is; on a CPU with no path there is
                // none, and a placeholder stands in for what the refusal never reads.
                let weight = w.withUnsafeBufferPointer { w in
                    b.withUnsafeBufferPointer { b in
                        PanelGEMM.Weight(weight: w.baseAddress!, bias: b.baseAddress!, inputFeatures: Int32(k), outputFeatures: Int32(n))
                    }
                }
                let placeholder: [Float] = [0]
                var z = [Float](repeating: 7, count: m * n + 1)
                let ran = withExtendedLifetime(weight) {
                    placeholder.withUnsafeBufferPointer { placeholder in
                        perceptron_panel_gemm_on(path.code, Int64(m), Int64(k), Int64(n), a, Int64(k),
                                                 weight.map { UnsafePointer($0.data) } ?? placeholder.baseAddress!, &z, Int64(n))
                    }
                }
                let what = "\(m)×\(k) by \(k)×\(n) on \(path)"
                #expect(ran == path.runsHere, "\(what): ran \(ran)")
                #expect(z.removeLast() == 7, "\(what): written past the result")
                guard path.runsHere else {
                    #expect(z.allSatisfy { $0 == 7 }, "\(what): refused, yet wrote")
                    continue
                }
                let expected = Self.fusedReference(Array(a.dropLast()), Array(w.dropLast()), bias: b, m: m, k: k, n: n)
                #expect(z.map(\.bitPattern) == expected.map(\.bitPattern), "\(what): not the fused ordered sum")
            }
        }

        @Test("the kernel's name is the path it takes here")
        func kernelNameIsThePath() {
            let path = perceptron_panel_gemm_path()
            let expected = Path.avx512f.runsHere ? Path.avx512f : Path.avx2.runsHere ? Path.avx2 : nil
            #expect(path == (expected?.code ?? Int32(PERCEPTRON_PANEL_PATH_NONE)))
            #expect(PanelGEMM.isSupported == (expected != nil))
            #expect(PanelGEMM.kernelName == expected.map { "perceptron:\($0.rawValue)" })
        }

        @Test("a NaN or an infinity in a row of the input reaches that row's outputs and no other")
        func nonFiniteInputStaysInItsRow() throws {
            let (m, k, n) = (8, 20, 40)
            var generator = SeededRandomNumberGenerator(seed: 92)
            var a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
            let w = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &generator) }
            a[2 * k + 5] = .nan
            a[6 * k] = .infinity
            guard let z = Self.packedProduct(a, w, bias: nil, m: m, k: k, n: n) else {
                #expect(!PanelGEMM.isSupported)
                return
            }
            for row in 0..<m {
                let outputs = z[(row * n)..<((row + 1) * n)]
                switch row {
                case 2:
                    let allNaN = outputs.allSatisfy { $0.isNaN }
                    #expect(allNaN, "row 2 holds a NaN")
                case 6:
                    let noneFinite = outputs.allSatisfy { !$0.isFinite }
                    #expect(noneFinite, "row 6 holds an infinity")
                default:
                    let allFinite = outputs.allSatisfy { $0.isFinite }
                    #expect(allFinite, "row \(row) is finite")
                }
            }
        }

        @Test("the packed size: (k + 1) rows of n rounded up to 16, and -1 for sizes it cannot have")
        func packedSize() {
            #expect(perceptron_panel_weight_floats(64, 10) == 65 * 16)
            #expect(perceptron_panel_weight_floats(3, 65) == 4 * 80)
            #expect(perceptron_panel_weight_floats(0, 1) == 16)
            #expect(perceptron_panel_weight_floats(4, 0) == -1)
            #expect(perceptron_panel_weight_floats(-1, 4) == -1)
            #expect(perceptron_panel_weight_floats(Int64.max / 8, 64) == -1)
            // Sizes whose own rounding would overflow.
            #expect(perceptron_panel_weight_floats(Int64.max, 1) == -1)
            #expect(perceptron_panel_weight_floats(1, Int64.max) == -1)
            #expect(perceptron_panel_weight_floats(1, Int64.max - 15) == -1)
        }
    }
}
