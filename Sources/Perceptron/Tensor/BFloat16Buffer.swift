/// A buffer of bfloat16 values (their 16-bit patterns): the rounded copy of a
/// float32 operand that a mixed-precision product reads.
///
/// It grows to the largest operand it has held and never shrinks, so that a
/// training loop at a fixed batch size rounds into the same memory every step.
final class BFloat16Buffer {
    /// The bit patterns; `capacity` of them are allocated.
    private(set) var bits: UnsafeMutablePointer<UInt16>?
    private var capacity = 0

    /// Rounds `count` floats from `source` into the buffer (nearest, ties to
    /// even) and returns the rounded copy.
    func round(_ source: UnsafePointer<Float>, count: Int) -> UnsafePointer<UInt16> {
        Kernels.round(source, into: reserve(count), count: count)
        return contents
    }

    /// Room for `count` values, for a product that rounds its operand into
    /// the buffer as it reads it (``StridedProduct/unroundedA``).
    func reserve(_ count: Int) -> UnsafeMutablePointer<UInt16> {
        if count > capacity {
            bits?.deallocate()
            bits = .allocate(capacity: count)
            capacity = count
        }
        return bits ?? Self.empty
    }

    /// The rounded values last written by ``round(_:count:)``, or by a product into ``reserve(_:)``.
    var contents: UnsafePointer<UInt16> { UnsafePointer(bits ?? Self.empty) }

    /// Lets go of the memory.
    func release() {
        bits?.deallocate()
        (bits, capacity) = (nil, 0)
    }

    /// What an empty operand points at: never read or written through, since
    /// an empty product reads nothing (hence `nonisolated(unsafe)`).
    nonisolated(unsafe) private static let empty = UnsafeMutablePointer<UInt16>.allocate(capacity: 1)

    deinit { bits?.deallocate() }
}
