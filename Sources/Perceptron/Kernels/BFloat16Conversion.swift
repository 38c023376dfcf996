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

extension Kernels {
    /// Rounds as ``BFloat16/round(_:into:count:)`` does, giving the same
    /// bits, split into contiguous pieces across the worker pool when `count`
    /// is large enough.
    ///
    /// Rounding streams memory and does almost no arithmetic, so one core
    /// cannot use all of the memory bandwidth: a large operand (a batch of
    /// inputs, rounded every step) rounds in a little over half the time on two.
    static func round(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>, count: Int) {
        let parts = RoundingPieces.partCount(count)
        guard parts > 1 else {
            BFloat16.round(source, into: destination, count: count)
            return
        }
        let rounding = RoundingPieces.Rounding(source: source, destination: destination, count: count)
        withUnsafePointer(to: rounding) { rounding in
            WorkerPool.shared.run(RoundingPieces(rounding: rounding, parts: parts))
        }
    }
}

/// A rounding split into contiguous pieces, as a job for the worker pool.
struct RoundingPieces: PoolJob {
    /// What is rounded: the whole of it, on the submitter's stack.
    struct Rounding {
        let source: UnsafePointer<Float>, destination: UnsafeMutablePointer<UInt16>, count: Int
    }

    /// Fewer values than this round on the calling thread: about where a
    /// second thread's wake-up costs what it saves.
    static let threshold = 1 << 17

    /// Pieces start at multiples of this many values, whole vectors of the
    /// conversion's widest loop.
    static let alignment = 32

    let rounding: UnsafePointer<Rounding>
    let parts: Int

    /// How many pieces `count` values are rounded in: one per thread, each
    /// of at least ``threshold`` values.
    static func partCount(_ count: Int) -> Int {
        guard count >= threshold else { return 1 }
        return max(1, min(ProductSplit.threads.load(ordering: .relaxed), count / threshold))
    }

    /// Where piece `part` starts; piece `parts` starts at the end.
    private func start(_ part: Int) -> Int {
        let count = rounding.pointee.count
        return part == parts ? count : count * part / parts / Self.alignment * Self.alignment
    }

    func run(part: Int) {
        let (begin, end) = (start(part), start(part + 1))
        let r = rounding.pointee
        BFloat16.round(r.source + begin, into: r.destination + begin, count: end - begin)
    }
}
