// Buffer reuse: how layers reach zero allocations per training step.
//
// A layer keeps the tensor it returned last time. When asked for a new result
// of the same shape, it takes that tensor back if nobody else still holds it
// (the caller has let go of last step's output) and overwrites it in place.
// If the caller kept it, copy-on-write uniqueness says so, and the layer
// allocates a fresh one: what the caller holds is never written behind its back.

extension Tensor {
    /// A tensor to write a new result of `shape` into: the one in `slot` when it
    /// has that shape and is not referenced anywhere else, otherwise a new one.
    ///
    /// The slot is left empty; the caller stores the result back into it. The
    /// scalars of the returned tensor are unspecified and must all be written.
    ///
    /// - Parameter lastDimension: when given, replaces the last entry of
    ///   `shape` (a layer's output is its input's shape with another width).
    @inlinable
    static func reusing(
        _ slot: inout Tensor?, shape: [Int], lastDimension: Int? = nil
    ) throws(PerceptronError) -> Tensor {
        if var candidate = slot.take(),
           candidate.hasShape(shape, lastDimension: lastDimension),
           candidate.isUniquelyReferenced() {
            return candidate
        }
        var newShape = shape
        if let lastDimension { newShape[newShape.count - 1] = lastDimension }
        return try Tensor(uninitializedShape: newShape)
    }

    /// Whether the shape equals `shape`, with its last entry replaced by
    /// `lastDimension` when that is given; compares in place, allocating nothing.
    @inlinable
    func hasShape(_ other: [Int], lastDimension: Int? = nil) -> Bool {
        guard shape.count == other.count else { return false }
        let last = other.count - 1
        for axis in 0..<other.count {
            let expected = (axis == last ? lastDimension : nil) ?? other[axis]
            if shape[axis] != expected { return false }
        }
        return true
    }
}
