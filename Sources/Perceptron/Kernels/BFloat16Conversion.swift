import CPerceptronCPU

// Float ↔ bfloat16, one pass in C (CPerceptronCPU/bfloat16.c): AVX512_BF16
// instructions where the CPU has them, else AVX-512F integer arithmetic, else
// portable C, all giving the same bits. Rounding is IEEE round to nearest,
// ties to even, subnormal inputs included (rounded, not flushed); NaN stays a
// quiet NaN with its sign; values past the largest finite bfloat16 become ±∞.

/// Conversion between `Float` and bfloat16 bit patterns (`UInt16`).
enum BFloat16 {
    /// Rounds `count` floats at `source` to bfloat16, to nearest with ties to
    /// even, writing the bit patterns to `destination`; the two must not overlap.
    @_transparent
    static func round(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>,
                      count: Int) {
        perceptron_float_to_bfloat16(source, destination, size_t(count))
    }

    /// Widens `count` bfloat16 bit patterns at `source` to floats at
    /// `destination` (exact); the two must not overlap.
    @_transparent
    static func widen(_ source: UnsafePointer<UInt16>, into destination: UnsafeMutablePointer<Float>,
                      count: Int) {
        perceptron_bfloat16_to_float(source, destination, size_t(count))
    }
}
