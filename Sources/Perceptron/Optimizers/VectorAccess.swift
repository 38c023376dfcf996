// Explicit SIMD for the optimizers' update loops.
//
// An update reads three or four buffers and writes two or three. The
// compiler does not vectorise such loops on its own here (it cannot rule out
// that the buffers overlap), so the updates are written on SIMD8 vectors:
// eight Float or Double lanes per operation. A last, partial vector is padded
// with zeros on load and only its real lanes are stored, so one formula
// serves every element.

/// The scalars at `base + index`, eight of them, or the `count − index` left
/// followed by zeros.
@inline(__always)
func loadVector<Scalar: BLASScalar>(_ base: UnsafePointer<Scalar>, _ index: Int, _ count: Int) -> SIMD8<Scalar> {
    if index + 8 <= count {
        return UnsafeRawPointer(base + index).loadUnaligned(as: SIMD8<Scalar>.self)
    }
    var vector = SIMD8<Scalar>(repeating: 0)
    for lane in 0..<(count - index) { vector[lane] = base[index + lane] }
    return vector
}

/// Writes the lanes of `vector` that fall before `count` to `base + index`.
@inline(__always)
func storeVector<Scalar: BLASScalar>(
    _ vector: SIMD8<Scalar>, _ base: UnsafeMutablePointer<Scalar>, _ index: Int, _ count: Int
) {
    if index + 8 <= count {
        UnsafeMutableRawPointer(base + index).storeBytes(of: vector, as: SIMD8<Scalar>.self)
        return
    }
    for lane in 0..<(count - index) { base[index + lane] = vector[lane] }
}
