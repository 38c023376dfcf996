/// What every elementwise activation keeps between its passes, and how it
/// reuses its buffers: the last input and output for the backward pass, and
/// the result tensors, written in place once the caller has let go of them.
///
/// The layers supply only the arithmetic, as loops over raw buffers that the
/// compiler vectorises.
struct ElementwiseCache<Scalar: BLASScalar> {
    /// The last input; released by the backward pass, so that the layer
    /// before can reuse the buffer it came in.
    private var input: Tensor<Scalar>?
    /// The last output; its shape is what a gradient must have.
    private var output: Tensor<Scalar>?
    private var inputGradient: Tensor<Scalar>?

    /// `y = f(x)`: calls `transform(x, y, count)` with the input and a result buffer of its shape.
    mutating func forward(
        _ input: Tensor<Scalar>,
        _ transform: (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void
    ) throws(PerceptronError) -> Tensor<Scalar> {
        var y = try Tensor.reusing(&output, shape: input.shape)
        let count = input.count
        input.withUnsafeScalars { x in
            y.withUnsafeMutableScalars { y in transform(x, y, count) }
        }
        self.input = input
        self.output = y
        return y
    }

    /// `∂E/∂x` from `∂E/∂y`: calls `derivative(x, y, g, dx, count)`.
    ///
    /// - Throws: when no forward pass is waiting for this backward pass, or
    ///   when `g` is not shaped like the last output.
    mutating func backward(
        _ g: Tensor<Scalar>, layer: String,
        _ derivative: (UnsafePointer<Scalar>, UnsafePointer<Scalar>, UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void
    ) throws(PerceptronError) -> Tensor<Scalar> {
        guard let input, let output else { throw .backwardBeforeForward(layer: layer) }
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
        self.input = nil
        return dx
    }

    /// The last output's last dimension (its row length), or 0 before the first forward pass.
    var outputRowLength: Int {
        guard let shape = output?.shape, shape.count > 0 else { return 0 }
        return shape[shape.count - 1]
    }
}
