/// What every elementwise activation keeps between its passes, and how it
/// reuses its buffers: the last input and output, kept for any number of
/// backward passes until the next forward pass, and the result tensors,
/// written in place once the caller has let go of them.
///
/// The layers supply only the arithmetic, as loops over raw buffers that the
/// compiler vectorises; the same loop serves ``forward(_:_:)`` and
/// ``predict(_:_:)``, so the two agree bit for bit.
struct ElementwiseCache<Scalar: BLASScalar> {
    /// The last input.
    private var input: Tensor<Scalar>?
    /// The last output (its shape is what a gradient must have) and the buffer before it.
    private var outputs = ForwardBuffers<Scalar>()
    private var inputGradient: Tensor<Scalar>?

    /// The arithmetic of a forward pass: `(x, y, count)` writes `y = f(x)` for `count` scalars.
    typealias Transform = (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void

    /// `y = f(x)`: calls `transform` with the input and a result buffer of its
    /// shape, and keeps both for the backward pass.
    mutating func forward(_ input: Tensor<Scalar>, _ transform: Transform) throws(PerceptronError) -> Tensor<Scalar> {
        var y = try outputs.next(shape: input.shape)
        Self.apply(transform, to: input, into: &y)
        self.input = input
        outputs.keep(y)
        return y
    }

    /// `y = f(x)` into a new tensor, keeping nothing.
    static func predict(_ input: Tensor<Scalar>, _ transform: Transform) throws(PerceptronError) -> Tensor<Scalar> {
        var y = try Tensor<Scalar>(uninitializedShape: input.shape)
        apply(transform, to: input, into: &y)
        return y
    }

    private static func apply(_ transform: Transform, to input: Tensor<Scalar>, into y: inout Tensor<Scalar>) {
        let count = input.count
        input.withUnsafeScalars { x in
            y.withUnsafeMutableScalars { y in transform(x, y, count) }
        }
    }

    /// `∂E/∂x` from `∂E/∂y` for the last forward pass: calls `derivative(x, y, g, dx, count)`.
    ///
    /// - Throws: when no forward pass has run since the layer was created or
    ///   its caches released, or when `g` is not shaped like the last output.
    mutating func backward(
        _ g: Tensor<Scalar>, layer: String,
        _ derivative: (UnsafePointer<Scalar>, UnsafePointer<Scalar>, UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void
    ) throws(PerceptronError) -> Tensor<Scalar> {
        guard let input, let output = outputs.last else { throw .backwardBeforeForward(layer: layer) }
        guard g.hasShape(output.shape) else {
            throw .shapeMismatch(what: "\(layer) output gradient", expected: output.shape, actual: g.shape)
        }
        var dx = try Tensor.reusing(&inputGradient, shape: input.shape)
        let count = input.count
        input.withUnsafeScalars { x in
            output.withUnsafeScalars { y in
                g.withUnsafeScalars { g in
                    dx.withUnsafeMutableScalars { dx in derivative(x, y, g, dx, count) }
                }
            }
        }
        inputGradient = dx
        return dx
    }

    /// Lets go of the kept input and output and of the result buffers.
    mutating func release() {
        input = nil
        outputs.release()
        inputGradient = nil
    }

    /// The last output's last dimension (its row length), or 0 before the first forward pass.
    var outputRowLength: Int {
        guard let shape = outputs.last?.shape, shape.count > 0 else { return 0 }
        return shape[shape.count - 1]
    }
}
