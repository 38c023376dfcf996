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
        if let reused = takeIfFree(&slot, shape: shape, lastDimension: lastDimension) { return reused }
        return try Tensor(uninitializedShape: shape, lastDimension: lastDimension)
    }

    /// The tensor in `slot`, taken out of it, when it has `shape` (with the
    /// last entry replaced by `lastDimension`) and nothing else refers to it;
    /// otherwise `nil`, with `slot` left as it was.
    @inlinable
    static func takeIfFree(_ slot: inout Tensor?, shape: [Int], lastDimension: Int? = nil) -> Tensor? {
        guard var candidate = slot.take() else { return nil }
        if candidate.hasShape(shape, lastDimension: lastDimension), candidate.isUniquelyReferenced() {
            return candidate
        }
        slot = candidate
        return nil
    }

    /// A tensor of `shape` with its last entry replaced by `lastDimension`,
    /// whose scalars are not yet written.
    @inlinable
    init(uninitializedShape shape: [Int], lastDimension: Int?) throws(PerceptronError) {
        var shape = shape
        if let lastDimension, !shape.isEmpty { shape[shape.count - 1] = lastDimension }
        try self.init(uninitializedShape: shape)
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

/// The two buffers a layer writes its forward results into, in turn.
///
/// The layer after keeps its input (this layer's last output) until its own
/// next forward pass, for as many backward passes as its caller makes. So
/// the buffer of the last output is still held when the next forward pass
/// comes; the one before it has been let go of by then, and is overwritten
/// in place. A training loop at a fixed batch size thus allocates nothing,
/// and nothing a layer still holds is ever written behind its back.
struct ForwardBuffers<Scalar: BLASScalar> {
    /// The last result, kept: its shape is what a gradient must have, and
    /// some layers' backward passes read it.
    private(set) var last: Tensor<Scalar>?
    /// The result before it, kept only for its buffer.
    private var spare: Tensor<Scalar>?

    /// A tensor of `shape` (with its last entry replaced by `lastDimension`,
    /// when given) to write the next result into: a kept buffer of that shape
    /// that nobody else holds, or a new one. Its scalars are unspecified.
    ///
    /// Pass the result to ``keep(_:)`` once it is written.
    mutating func next(shape: [Int], lastDimension: Int? = nil) throws(PerceptronError) -> Tensor<Scalar> {
        // The spare first; then the last result, if the caller let go of it as well.
        if let reused = Tensor.takeIfFree(&spare, shape: shape, lastDimension: lastDimension)
            ?? Tensor.takeIfFree(&last, shape: shape, lastDimension: lastDimension) {
            return reused
        }
        return try Tensor(uninitializedShape: shape, lastDimension: lastDimension)
    }

    /// Keeps `result` as the last result; the one before becomes the spare.
    mutating func keep(_ result: Tensor<Scalar>) {
        if let previous = last.take() { spare = previous }
        last = result
    }

    /// Lets go of both buffers.
    mutating func release() {
        (last, spare) = (nil, nil)
    }
}
