import CPerceptronCPU
@testable import Perceptron
import Testing

// Perceptron's own bfloat16 product (bfloat16_gemm.c), called directly at its
// C boundary, against Double sums of the same bfloat16 values. A product of
// two bfloat16 values is exact in float32, so what is left is float32
// accumulation and the α, β and bias arithmetic: within
// (k + 8)·2⁻²⁴·(|α|·Σ|terms| + |β·C| + |bias|).
//
// The shapes cross every block of the kernel: more than 1024 values of k (two
// passes over C, the last with an odd k's lone value), more than 1024 columns
// (two packed blocks of B, the last a short panel), 200 rows (blocks of 96,
// 96 and 8 rows of A, packed when transposed, the last a tile of 6 and one of 2), and
// leading dimensions longer than the rows they hold; A given in float32,
// which the kernel rounds as it reads it; and a C large enough to be written
// with streaming stores, on a 64-byte boundary and off it, beside the large
// products that must not stream it. On a CPU without AVX512_BF16 the
// kernel must refuse, writing nothing.

@Suite("bfloat16 GEMM kernel")
struct BFloat16GEMMTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var m: Int, n: Int, k: Int
        var transposeA = false, transposeB = false
        var alpha: Float = 1, beta: Float = 0, bias = false
        /// Extra scalars at the end of every stored row of A, B and C.
        var padding = 0
        /// Entries of C checked: all of them, or this many sampled.
        var samples: Int? = nil
        /// A given in float32, for the kernel to round as it reads it (`unrounded_a`).
        var roundsA = false
        /// Where C starts, in floats past a 64-byte boundary: 0 lets streaming stores reach it.
        var offsetOfC = 0
        /// Whether the kernel is to write C with streaming stores (a large C, one pass, β = 0).
        var streams = false

        var testDescription: String {
            "\(m)×\(k)\(transposeA ? "ᵀ" : "") by \(k)×\(n)\(transposeB ? "ᵀ" : ""), α \(alpha), β \(beta)"
                + (bias ? ", bias" : "") + (padding > 0 ? ", padded rows" : "") + (roundsA ? ", A rounded as read" : "")
                + (streams ? ", C streamed\(offsetOfC > 0 ? " but misaligned" : "")" : "")
        }
    }

    static let cases: [Case] = [
        Case(m: 1, n: 1, k: 1), Case(m: 5, n: 17, k: 3, transposeA: true), Case(m: 13, n: 70, k: 33, transposeB: true),
        Case(m: 7, n: 16, k: 32, transposeA: true, transposeB: true, alpha: 2, beta: 0.5, bias: true, padding: 3),
        Case(m: 64, n: 130, k: 129, beta: 1, bias: true),
    ] + [(false, false), (true, false), (false, true), (true, true)].map { a, b in
        Case(m: 200, n: 1030, k: 1027, transposeA: a, transposeB: b, alpha: 1, beta: a ? 1 : 0, bias: !b, padding: 5, samples: 400)
    } + [
        Case(m: 9, n: 40, k: 31, bias: true, roundsA: true),
        Case(m: 200, n: 1030, k: 1027, transposeB: true, padding: 5, samples: 400, roundsA: true),
    ] + [0, 1].map { offset in
        // 2100 × 1024 floats is past the 8 MiB from which C is streamed; misaligned, every vector falls back.
        Case(m: 2100, n: 1024, k: 129, transposeB: true, bias: true, samples: 400, offsetOfC: offset, streams: true)
    } + [
        // Rows of 1032 floats: every other row starts off a 64-byte boundary, and each ends in a 6-lane vector.
        Case(m: 2100, n: 1030, k: 129, padding: 2, samples: 400, streams: true),
        Case(m: 2100, n: 1024, k: 129, beta: 1, samples: 400),   // β ≠ 0 reads C: the predicate says not streamed
        Case(m: 2100, n: 1024, k: 1100, samples: 200),           // two passes over C: the same
    ]

    /// Random bfloat16 bit patterns: the upper halves of floats in -1...1.
    static func randomBFloat16(_ count: Int, using generator: inout SeededRandomNumberGenerator) -> [UInt16] {
        (0..<count).map { _ in UInt16(truncatingIfNeeded: Float.random(in: -1...1, using: &generator).bitPattern >> 16) }
    }

    /// `values` with the scalars past `columns` in each row of `rowLength` set to a NaN.
    static func padded(_ values: [UInt16], rowLength: Int, columns: Int) -> [UInt16] {
        var values = values
        for i in values.indices where i % rowLength >= columns { values[i] = 0x7FC0 }
        return values
    }

    static func widened(_ bits: UInt16) -> Double { Double(Float(bitPattern: UInt32(bits) << 16)) }

    @Test(arguments: cases)
    func productAgainstDoubleSums(_ c: Case) {
        var generator = SeededRandomNumberGenerator(seed: UInt64(c.m * 31 + c.n * 7 + c.k))
        // Stored shapes: A is m × k (k × m transposed), B k × n (n × k transposed).
        let (aRows, aColumns) = c.transposeA ? (c.k, c.m) : (c.m, c.k)
        let (bRows, bColumns) = c.transposeB ? (c.n, c.k) : (c.k, c.n)
        let (lda, ldb, ldc) = (aColumns + c.padding, bColumns + c.padding, c.n + c.padding)
        // The padding holds NaN, so that a value read from outside its row
        // (such as a lone last value's neighbour) shows in C.
        var a = Self.padded(Self.randomBFloat16(aRows * lda, using: &generator), rowLength: lda, columns: aColumns)
        // Or A in float32 (NaN in the padding too), and what it rounds to, independently.
        var unrounded: [Float] = []
        if c.roundsA {
            unrounded = randomScalars(aRows * lda, using: &generator).enumerated().map { $0.offset % lda < aColumns ? $0.element : .nan }
            a = unrounded.enumerated().map { $0.offset % lda < aColumns ? bfloat16Bits($0.element) : 0x7FC0 }
        }
        // What the kernel rounds into: NaN, so that values it does not write show.
        var rounded = [UInt16](repeating: 0x7FC0, count: c.roundsA ? a.count : 0)
        let b = Self.padded(Self.randomBFloat16(bRows * ldb, using: &generator), rowLength: ldb, columns: bColumns)
        let bias: [Float]? = c.bias ? randomScalars(c.n, using: &generator) : nil
        // β = 0 must not read C: NaN there is overwritten.
        let initial: [Float] = c.beta == 0 ? Array(repeating: .nan, count: c.m * ldc) : randomScalars(c.m * ldc, using: &generator)
        // C in a buffer on a 64-byte boundary, as a tensor's is, offsetOfC floats in.
        let storageOfC = UnsafeMutableRawBufferPointer.allocate(
            byteCount: (initial.count + c.offsetOfC) * MemoryLayout<Float>.stride, alignment: 64)
        defer { storageOfC.deallocate() }
        let outPointer = storageOfC.bindMemory(to: Float.self).baseAddress! + c.offsetOfC
        outPointer.initialize(from: initial, count: initial.count)
        var streams = false

        let ran = a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                unrounded.withUnsafeBufferPointer { unrounded in
                    rounded.withUnsafeMutableBufferPointer { rounded in
                        withOptionalPointer(bias) { bias in
                            var product = perceptron_bfloat16_product_t(
                                transpose_a: c.transposeA, transpose_b: c.transposeB,
                                m: Int64(c.m), n: Int64(c.n), k: Int64(c.k), alpha: c.alpha,
                                a: c.roundsA ? nil : a.baseAddress, lda: Int64(lda), b: b.baseAddress, ldb: Int64(ldb),
                                beta: c.beta, c: outPointer, ldc: Int64(ldc), bias: bias,
                                unrounded_a: c.roundsA ? unrounded.baseAddress : nil,
                                rounded_a: c.roundsA ? rounded.baseAddress : nil)
                            streams = perceptron_bfloat16_gemm_streams(&product)
                            return perceptron_bfloat16_gemm(&product)
                        }
                    }
                }
            }
        }
        let out = Array(UnsafeBufferPointer(start: outPointer, count: initial.count))
        #expect(streams == (c.streams && BFloat16GEMM.isSupported), "whether C is written with streaming stores")
        guard BFloat16GEMM.isSupported else {
            #expect(!ran, "a CPU without AVX512_BF16 refuses")
            #expect(out.elementsEqual(initial) { $0.bitPattern == $1.bitPattern }, "and writes nothing")
            return
        }
        #expect(ran)
        if c.roundsA {
            // Every value of A rounded to nearest even, and nothing written in the padding.
            #expect(rounded == a, "A as the kernel rounded it")
        }

        let entries: [(Int, Int)] = if let samples = c.samples {
            (0..<samples).map { _ in (Int.random(in: 0..<c.m, using: &generator), Int.random(in: 0..<c.n, using: &generator)) }
        } else {
            (0..<c.m).flatMap { i in (0..<c.n).map { (i, $0) } }
        }
        for (i, j) in entries {
            var sum = 0.0, magnitude = 0.0
            for p in 0..<c.k {
                let x = Self.widened(c.transposeA ? a[p * lda + i] : a[i * lda + p])
                let y = Self.widened(c.transposeB ? b[j * ldb + p] : b[p * ldb + j])
                sum += x * y
                magnitude += abs(x * y)
            }
            let old = c.beta == 0 ? 0 : Double(c.beta) * Double(initial[i * ldc + j])
            let shift = bias.map { Double($0[j]) } ?? 0
            let expected = Double(c.alpha) * sum + old + shift
            let bound = Double(c.k + 8) * 0x1p-24 * (Double(abs(c.alpha)) * magnitude + abs(old) + abs(shift))
            let got = Double(out[i * ldc + j])
            #expect(abs(got - expected) <= bound, "C[\(i)][\(j)]: \(got) against \(expected), bound \(bound)")
        }
        // The padding between rows of C is left alone.
        for i in 0..<c.m {
            for j in c.n..<ldc {
                #expect(out[i * ldc + j].bitPattern == initial[i * ldc + j].bitPattern, "C[\(i)][\(j)] is padding")
            }
        }
    }

    @Test("an empty size is refused, with nothing written")
    func emptySizesAreRefused() {
        var out: [Float] = [42]
        let one: [UInt16] = [0x3F80]
        for (m, n, k) in [(0, 1, 1), (1, 0, 1), (1, 1, 0)] {
            let ran = one.withUnsafeBufferPointer { a in
                out.withUnsafeMutableBufferPointer { out in
                    var product = perceptron_bfloat16_product_t(
                        transpose_a: false, transpose_b: false, m: Int64(m), n: Int64(n), k: Int64(k), alpha: 1,
                        a: a.baseAddress, lda: 1, b: a.baseAddress, ldb: 1, beta: 0, c: out.baseAddress, ldc: 1, bias: nil,
                        unrounded_a: nil, rounded_a: nil)
                    return perceptron_bfloat16_gemm(&product)
                }
            }
            #expect(!ran, "\(m)×\(k) by \(k)×\(n)")
            #expect(out == [42])
        }
    }

    @Test("rounding A as it is read is refused for a transposed A, or with nowhere to round into")
    func roundingATakesAnUntransposedAAndABuffer() {
        var out: [Float] = [42]
        var rounded: [UInt16] = [0]
        let one: [Float] = [1]
        let bits: [UInt16] = [0x3F80]
        for transposed in [true, false] {
            let ran = one.withUnsafeBufferPointer { x in
                bits.withUnsafeBufferPointer { b in
                    rounded.withUnsafeMutableBufferPointer { rounded in
                        out.withUnsafeMutableBufferPointer { out in
                            var product = perceptron_bfloat16_product_t(
                                transpose_a: transposed, transpose_b: false, m: 1, n: 1, k: 1, alpha: 1,
                                a: nil, lda: 1, b: b.baseAddress, ldb: 1, beta: 0, c: out.baseAddress, ldc: 1, bias: nil,
                                unrounded_a: x.baseAddress, rounded_a: transposed ? rounded.baseAddress : nil)
                            return perceptron_bfloat16_gemm(&product)
                        }
                    }
                }
            }
            #expect(!ran, transposed ? "transposed" : "no buffer")
            #expect(out == [42] && rounded == [0])
        }
    }
}

/// `body` with a pointer to `values`' scalars, or `nil`.
private func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
