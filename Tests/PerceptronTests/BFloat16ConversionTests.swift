// Float → bfloat16 rounding and bfloat16 → Float widening, on every path the
// C target has (AVX512_BF16 instructions, AVX-512F integer arithmetic,
// portable C) and on the one the library dispatches to, against a reference
// that rounds in Double arithmetic: the two neighbouring bfloat16 values of
// the input and the nearer of them, ties to the even mantissa. Subnormal
// inputs are rounded, not flushed, on every path.

import CPerceptronCPU
@testable import Perceptron
import Testing

@Suite("bfloat16 conversion")
struct BFloat16ConversionTests {
    /// A conversion path: one the C target names, or the dispatched one.
    enum Path: CaseIterable, CustomTestStringConvertible {
        case dispatched, scalar, avx512f, avx512BF16

        var testDescription: String {
            switch self {
            case .dispatched: "dispatched"
            case .scalar: "scalar"
            case .avx512f: "AVX-512F"
            case .avx512BF16: "AVX512_BF16"
            }
        }

        var code: Int32? {
            switch self {
            case .dispatched: nil
            case .scalar: Int32(PERCEPTRON_BF16_PATH_SCALAR)
            case .avx512f: Int32(PERCEPTRON_BF16_PATH_AVX512F)
            case .avx512BF16: Int32(PERCEPTRON_BF16_PATH_AVX512_BF16)
            }
        }

        /// Whether this CPU can run the path, from the feature flags directly.
        var isSupported: Bool {
            let cpu = perceptron_cpu_features()
            switch self {
            case .dispatched, .scalar: return true
            case .avx512f: return cpu.avx512f
            case .avx512BF16: return cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512_bf16
            }
        }

        /// Rounds on this path; false if the C target refuses it on this CPU.
        func round(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, _ count: Int) -> Bool {
            guard let code else {
                BFloat16.round(source, into: destination, count: count)
                return true
            }
            return perceptron_float_to_bfloat16_on(code, source, destination, count)
        }

        /// Widens on this path; false if the C target refuses it on this CPU.
        func widen(_ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) -> Bool {
            guard let code else {
                BFloat16.widen(source, into: destination, count: count)
                return true
            }
            return perceptron_bfloat16_to_float_on(code, source, destination, count)
        }
    }

    // MARK: References

    /// `x` rounded to bfloat16 in Double arithmetic: `x` lies between two
    /// consecutive multiples of the bfloat16 spacing at its exponent (2^(e−7),
    /// with e at least −126, the float's and bfloat16's smallest normal
    /// exponent); the nearer wins, a tie goes to the even multiple. A result
    /// of 2^128 is infinity. Not for NaN.
    static func referenceRound(_ x: Float) -> UInt16 {
        let signBit: UInt16 = x.sign == .minus ? 0x8000 : 0
        if x.isInfinite { return signBit | 0x7F80 }
        let magnitude = Double(x.magnitude)
        var rounded = 0.0
        if magnitude != 0 {
            let exponent = max(Int(magnitude.exponent), -126)
            let spacing = Double(sign: .plus, exponent: exponent - 7, significand: 1)
            let scaled = magnitude / spacing // exact: a power-of-two scaling
            var multiple = scaled.rounded(.down)
            let excess = scaled - multiple
            if excess > 0.5 || (excess == 0.5 && multiple.truncatingRemainder(dividingBy: 2) == 1) {
                multiple += 1
            }
            rounded = multiple * spacing
        }
        let float = Float(rounded) // exact for a bfloat16 value; 2^128 overflows to +∞
        precondition(float.bitPattern & 0xFFFF == 0, "the reference produced a value that is not a bfloat16")
        return signBit | UInt16(float.bitPattern >> 16)
    }

    /// The value of a bfloat16 pattern from its fields, in Double (nil for NaN).
    static func referenceValue(_ pattern: UInt16) -> Double? {
        let sign: Double = pattern & 0x8000 != 0 ? -1 : 1
        let exponent = Int((pattern >> 7) & 0xFF)
        let mantissa = Double(pattern & 0x7F)
        switch exponent {
        case 0: return sign * mantissa / 128 * Double(sign: .plus, exponent: -126, significand: 1)
        case 0xFF: return mantissa == 0 ? sign * .infinity : nil
        default: return sign * (1 + mantissa / 128) * Double(sign: .plus, exponent: exponent - 127, significand: 1)
        }
    }

    /// Whether `result` is right for `input`: the reference rounding, or for a
    /// NaN a quiet NaN with the input's sign and top payload bits.
    static func isCorrect(_ result: UInt16, for input: UInt32) -> Bool {
        let x = Float(bitPattern: input)
        if x.isNaN { return result == UInt16(input >> 16) | 0x0040 }
        return result == referenceRound(x)
    }

    // MARK: Inputs

    /// The lower halves combined with every upper half: zero, the smallest,
    /// just below a half, the tie, just above it, the largest, and four random.
    static let lowerHalves: [UInt32] = {
        var generator = SeededRandomNumberGenerator(seed: 0xBF16)
        return [0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF]
            + (0..<4).map { _ in UInt32.random(in: 0...0xFFFF, using: &generator) }
    }()

    static func inputs(lowerHalf: UInt32) -> [Float] {
        (0..<UInt32(65_536)).map { Float(bitPattern: $0 << 16 | lowerHalf) }
    }

    // MARK: Tests

    @Test("every upper half with each chosen lower half", arguments: Path.allCases)
    func everyUpperHalf(path: Path) {
        for lowerHalf in Self.lowerHalves {
            let source = Self.inputs(lowerHalf: lowerHalf)
            var result = [UInt16](repeating: 0, count: source.count)
            let ran = source.withUnsafeBufferPointer { input in
                result.withUnsafeMutableBufferPointer { output in
                    path.round(input.baseAddress!, output.baseAddress!, input.count)
                }
            }
            guard ran else {
                #expect(!path.isSupported, "the C target refused a path this CPU supports")
                return
            }
            let wrong = source.indices.filter { !Self.isCorrect(result[$0], for: source[$0].bitPattern) }
            let shown = wrong.prefix(4).map {
                "0x" + String(source[$0].bitPattern, radix: 16) + " → 0x" + String(result[$0], radix: 16)
                    + " (expected 0x" + String(Self.referenceRound(source[$0]), radix: 16) + ")"
            }
            #expect(wrong.isEmpty, "lower half 0x\(String(lowerHalf, radix: 16)): \(wrong.count) wrong, e.g. \(shown)")
        }
    }

    @Test("NaN stays a quiet NaN with its sign; ±∞ and ±0 are exact", arguments: Path.allCases)
    func specialValues(path: Path) {
        let source: [Float] = [
            .nan, -.nan, .signalingNaN, -.signalingNaN, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFF80_0001),
            Float(bitPattern: 0x7FFF_FFFF), .infinity, -.infinity, 0, -0.0,
        ]
        var result = [UInt16](repeating: 0, count: source.count)
        guard path.round(source, &result, source.count) else {
            #expect(!path.isSupported)
            return
        }
        for (x, pattern) in zip(source, result) {
            let widened = Float(bitPattern: UInt32(pattern) << 16)
            if x.isNaN {
                #expect(widened.isNaN && !widened.isSignalingNaN, "NaN 0x\(String(x.bitPattern, radix: 16))")
                #expect(widened.sign == x.sign)
            } else {
                #expect(widened.bitPattern == x.bitPattern, "\(x) is a bfloat16 value and must stay exact")
            }
        }
    }

    @Test("values past the largest finite bfloat16 round to ±∞, others stay finite", arguments: Path.allCases)
    func overflow(path: Path) {
        // The largest finite bfloat16 is (2 − 2⁻⁷)·2¹²⁷; half way from it to 2¹²⁸
        // the tie goes to the even neighbour, 2¹²⁸, that is infinity.
        let threshold = (2 - 1.0 / 256) * Double(sign: .plus, exponent: 127, significand: 1)
        let source = (0x7F7F_0000...0x7F7F_FFFF).flatMap { (bits: UInt32) in
            [Float(bitPattern: bits), Float(bitPattern: bits | 0x8000_0000)]
        }
        var result = [UInt16](repeating: 0, count: source.count)
        guard path.round(source, &result, source.count) else {
            #expect(!path.isSupported)
            return
        }
        let wrong = zip(source, result).filter { x, pattern in
            let widened = Float(bitPattern: UInt32(pattern) << 16)
            let overflows = Double(x.magnitude) >= threshold
            return widened.isInfinite != overflows || widened.sign != x.sign
        }
        #expect(wrong.isEmpty, "\(wrong.count) wrong, e.g. \(wrong.prefix(4).map { ($0.0.bitPattern, $0.1) })")
        #expect(result.contains(0x7F80) && result.contains(0x7F7F), "both outcomes occur")
    }

    @Test("subnormal inputs are rounded, not flushed to zero", arguments: Path.allCases)
    func subnormals(path: Path) {
        // Every subnormal float of either sign whose pattern is a multiple of 7
        // (plus the largest): more than half the smallest bfloat16 subnormal,
        // 2⁻¹³³, never rounds to zero.
        let magnitudes = Array(stride(from: UInt32(1), through: 0x007F_FFFF, by: 7)) + [0x007F_FFFF]
        let source = magnitudes.flatMap { [Float(bitPattern: $0), Float(bitPattern: $0 | 0x8000_0000)] }
        var result = [UInt16](repeating: 0, count: source.count)
        guard path.round(source, &result, source.count) else {
            #expect(!path.isSupported)
            return
        }
        let halfSmallest = Double(sign: .plus, exponent: -134, significand: 1)
        let wrong = zip(source, result).filter { x, pattern in
            let flushed = pattern & 0x7FFF == 0
            return (Double(x.magnitude) > halfSmallest) == flushed
                || (pattern & 0x8000 != 0) != (x.sign == .minus)
                || !Self.isCorrect(pattern, for: x.bitPattern)
        }
        #expect(wrong.isEmpty, "\(wrong.count) wrong, e.g. \(wrong.prefix(4).map { ($0.0.bitPattern, $0.1) })")
        #expect(result.contains(0x0080) && result.contains(0x8080), "the largest round up to the smallest normal")
    }

    @Test("lengths around the vector widths, at unaligned addresses",
          arguments: Path.allCases, [0, 1, 15, 16, 17, 31, 33, 1000])
    func lengths(path: Path, count: Int) {
        var generator = SeededRandomNumberGenerator(seed: UInt64(count))
        let pool: [UInt32] = (0..<(count + 8)).map { index in
            let bits = UInt32.random(in: 0...UInt32.max, using: &generator)
            if index % 5 == 0 { return bits & 0x807F_FFFF } // subnormal or zero
            if index % 7 == 0 { return bits | 0x7F80_0000 } // NaN or infinity
            return bits
        }
        let sentinel: UInt16 = 0xBEEF
        for offset in 0..<4 {
            let source = pool.map(Float.init(bitPattern:))
            let destinationOffset = (offset + 1) % 4
            var rounded = [UInt16](repeating: sentinel, count: count + 8)
            let ran = source.withUnsafeBufferPointer { input in
                rounded.withUnsafeMutableBufferPointer { output in
                    path.round(input.baseAddress! + offset, output.baseAddress! + destinationOffset, count)
                }
            }
            guard ran else {
                #expect(!path.isSupported)
                return
            }
            for index in rounded.indices {
                let inside = (destinationOffset..<destinationOffset + count).contains(index)
                if inside {
                    let input = pool[index - destinationOffset + offset]
                    #expect(Self.isCorrect(rounded[index], for: input),
                            "offset \(offset), element \(index - destinationOffset): 0x\(String(input, radix: 16))")
                } else {
                    #expect(rounded[index] == sentinel, "wrote outside the destination at \(index)")
                }
            }

            let patterns = pool.map { UInt16(truncatingIfNeeded: $0 >> 7) }
            var widened = [Float](repeating: Float(bitPattern: 0x7FC0_BEEF), count: count + 8)
            _ = patterns.withUnsafeBufferPointer { input in
                widened.withUnsafeMutableBufferPointer { output in
                    path.widen(input.baseAddress! + offset, output.baseAddress! + destinationOffset, count)
                }
            }
            for index in widened.indices {
                let inside = (destinationOffset..<destinationOffset + count).contains(index)
                let expected = inside
                    ? UInt32(patterns[index - destinationOffset + offset]) << 16 : 0x7FC0_BEEF
                #expect(widened[index].bitPattern == expected, "widening, offset \(offset), at \(index)")
            }
        }
    }

    @Test("widening is exact for every bfloat16 pattern", arguments: Path.allCases)
    func widenEveryPattern(path: Path) {
        let patterns = (0...UInt16.max).map { $0 }
        var result = [Float](repeating: 0, count: patterns.count)
        guard path.widen(patterns, &result, patterns.count) else {
            #expect(!path.isSupported)
            return
        }
        let wrong = zip(patterns, result).filter { pattern, x in
            guard let value = Self.referenceValue(pattern) else {
                return !x.isNaN || x.bitPattern >> 16 != UInt32(pattern) || x.bitPattern & 0xFFFF != 0
            }
            let signBit: UInt16 = x.sign == .minus ? 0x8000 : 0
            return Double(x) != value || signBit != pattern & 0x8000
        }
        #expect(wrong.isEmpty, "\(wrong.count) wrong, e.g. \(wrong.prefix(4).map { ($0.0, $0.1.bitPattern) })")
    }

    @Test("a large rounding split across the worker pool gives every value's bits, and writes nothing else",
          arguments: [1, 2, 3], [RoundingPieces.threshold - 1, RoundingPieces.threshold, 3 * RoundingPieces.threshold + 37])
    func splitRounding(threads: Int, count: Int) {
        let saved = BLAS.threadCount
        defer { BLAS.threadCount = saved }
        BLAS.threadCount = threads
        let expectedParts = count < RoundingPieces.threshold ? 1 : min(threads, count / RoundingPieces.threshold)
        #expect(RoundingPieces.partCount(count) == expectedParts)

        // Every upper half with the chosen lower halves in turn, so that each
        // piece holds ties, NaNs and subnormals; one element off alignment.
        let halves = Self.lowerHalves
        let source = (0..<count + 1).map { index in
            Float(bitPattern: UInt32(index % 65_536) << 16 | halves[index / 65_536 % halves.count])
        }
        let sentinel: UInt16 = 0xBEEF
        var rounded = [UInt16](repeating: sentinel, count: count + 2)
        source.withUnsafeBufferPointer { input in
            rounded.withUnsafeMutableBufferPointer { output in
                Kernels.round(input.baseAddress! + 1, into: output.baseAddress! + 1, count: count)
            }
        }
        let wrong = (0..<count).filter { !Self.isCorrect(rounded[$0 + 1], for: source[$0 + 1].bitPattern) }
        #expect(wrong.isEmpty, "\(wrong.count) of \(count) wrong, first at \(wrong.first ?? -1)")
        #expect(rounded.first == sentinel && rounded.last == sentinel, "wrote outside the destination")
    }

    @Test("the dispatched path is the best this CPU runs")
    func dispatchedPath() {
        let expected: Path = Path.avx512BF16.isSupported ? .avx512BF16 : Path.avx512f.isSupported ? .avx512f : .scalar
        #expect(perceptron_bfloat16_path() == Int32(expected.code!))
        for path in Path.allCases where path != .dispatched {
            var output: UInt16 = 0
            var one: Float = 1
            #expect(perceptron_float_to_bfloat16_on(path.code!, &one, &output, 1) == path.isSupported)
        }
    }
}
