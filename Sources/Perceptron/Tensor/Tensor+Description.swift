// Equality and printing: the conformances that look at every scalar.

extension Tensor: Equatable {
    /// Whether two tensors have the same shape and equal scalars.
    ///
    /// Scalars compare with IEEE semantics, so a tensor holding NaN is not
    /// equal to anything, itself included.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape == rhs.shape else { return false }
        let count = lhs.count
        return lhs.withUnsafeScalars { left in
            rhs.withUnsafeScalars { right in
                for i in 0..<count where left[i] != right[i] {
                    return false
                }
                return true
            }
        }
    }
}

extension Tensor: CustomStringConvertible {
    /// The most scalars printed in full; larger tensors show the first and last
    /// few entries of each axis around an ellipsis, as numpy does.
    static var summaryThreshold: Int { 1000 }

    /// The entries printed at each end of an axis of a summarised tensor.
    static var summaryEdgeItems: Int { 3 }

    /// The shape and the scalars nested by axis, for example
    /// `Tensor<Float>(shape: [2, 2], [[1.0, 2.0], [3.0, 4.0]])`.
    public var description: String {
        var text = "Tensor<\(Scalar.self)>(shape: \(shape), "
        withUnsafeScalars { scalars in
            appendNested(scalars, axis: 0, offset: 0, summarise: count > Self.summaryThreshold, to: &text)
        }
        text += ")"
        return text
    }

    /// Appends the sub-tensor at `offset` spanning axes `axis...` to `text`.
    private func appendNested(
        _ scalars: UnsafePointer<Scalar>, axis: Int, offset: Int, summarise: Bool, to text: inout String
    ) {
        guard axis < rank else {
            text += "\(scalars[offset])"
            return
        }
        let stride = shape[(axis + 1)...].reduce(1, *)
        let length = shape[axis]
        let edge = Self.summaryEdgeItems
        text += "["
        var index = 0
        while index < length {
            if index > 0 { text += ", " }
            if summarise && length > 2 * edge && index == edge {
                text += "..."
                index = length - edge
                continue
            }
            appendNested(scalars, axis: axis + 1, offset: offset + index * stride, summarise: summarise, to: &text)
            index += 1
        }
        text += "]"
    }
}
