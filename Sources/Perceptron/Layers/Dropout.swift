/// Inverted dropout: during training each element is zeroed with probability
/// `p` and the survivors are scaled by `1/(1 − p)`, so that the expected
/// output equals the input; at inference the layer is the identity. PyTorch's
/// `nn.Dropout(p)` in `train()` mode for ``forward(_:)``, in `eval()` mode for
/// ``predict(_:)``.
///
/// ```swift
/// let dropout = try Dropout<Float>(probability: 0.1, seed: 42)
/// let y = try dropout.forward(x)        // x ⊙ mask, mask entries 0 or 1/(1 − p)
/// let dx = try dropout.backward(g)      // g ⊙ the same mask
/// let v = try dropout.predict(x)        // x itself
/// ```
///
/// The masks come from a ``SeededRandomNumberGenerator`` the layer owns,
/// seeded once at creation: its sequence continues from one forward pass to
/// the next, so two layers created with the same seed draw the same masks for
/// inputs of the same sizes, and a training run is reproducible. Each element
/// takes one 64-bit draw `r` and is dropped when `r < p·2⁶⁴`. A ``Checkpoint``
/// saves and restores the generator's state.
///
/// The mask of the last forward pass is kept, in a buffer reused in place,
/// for any number of backward passes until the next forward pass.
public final class Dropout<Scalar: BLASScalar>: ParameterlessLayer {
    /// The probability `p` that an element is zeroed, in `0..<1`.
    public let probability: Scalar

    /// The survivors' factor `1/(1 − p)`.
    private let scale: Scalar
    /// An element is dropped when its draw is below this: `p·2⁶⁴`, rounded down.
    private let threshold: UInt64
    /// Internal, not private: a ``Checkpoint`` saves and restores it.
    var generator: SeededRandomNumberGenerator

    /// The last forward pass's mask: each entry 0 or ``scale``.
    private var mask: Tensor<Scalar>?
    /// The last output (its shape is what a gradient must have) and the buffer before it.
    private var outputs = ForwardBuffers<Scalar>()
    private var inputGradient: Tensor<Scalar>?

    /// Creates the layer with dropout probability `probability` and a mask
    /// generator seeded with `seed`.
    ///
    /// `probability` 0 makes ``forward(_:)`` a copy of its input. PyTorch
    /// accepts `p = 1` (all zeros); this layer does not, since `1/(1 − p)`
    /// would be infinite and a layer that drops everything trains nothing.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   when `probability` is not in `0..<1` (NaN included).
    public init(probability: Scalar, seed: UInt64) throws(PerceptronError) {
        guard probability >= 0 && probability < 1 else {
            throw .invalidArgument(name: "probability", expected: "in 0..<1", actual: "\(probability)")
        }
        self.probability = probability
        self.scale = 1 / (1 - probability)
        // p < 1, and the largest Double below 1 times 2⁶⁴ is 2⁶⁴ − 2¹¹: the product fits and is exact.
        self.threshold = UInt64(Double(probability) * 18_446_744_073_709_551_616.0)
        self.generator = SeededRandomNumberGenerator(seed: seed)
    }

    /// Draws a new mask of `input`'s shape and returns `input ⊙ mask`, each
    /// element zeroed with probability ``probability`` and the others scaled
    /// by `1/(1 − p)`; keeps the mask for the backward pass.
    ///
    /// Any shape is accepted, rank 0 and empty tensors included. NaN and
    /// infinity in a dropped element give NaN (`x · 0`), as in PyTorch.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        var m = try Tensor.reusing(&mask, shape: input.shape)
        var y = try outputs.next(shape: input.shape)
        let (count, threshold, scale) = (input.count, self.threshold, self.scale)
        var generator = self.generator
        m.withUnsafeMutableScalars { m in
            for i in 0..<count { m[i] = generator.next() < threshold ? 0 : scale }
        }
        self.generator = generator
        input.withUnsafeScalars { x in
            m.withUnsafeScalars { m in
                y.withUnsafeMutableScalars { y in
                    for i in 0..<count { y[i] = x[i] * m[i] }
                }
            }
        }
        mask = m
        outputs.keep(y)
        return y
    }

    /// Returns `input` itself: at inference dropout is the identity. Keeps
    /// nothing, draws nothing and copies nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        input
    }

    /// `∂E/∂x = ∂E/∂y ⊙ mask`, with the mask of the last forward pass, so
    /// dropped elements get no gradient and survivors `1/(1 − p)` of theirs.
    ///
    /// - Throws: ``PerceptronError/backwardBeforeForward(layer:)`` without a
    ///   forward pass to refer to, ``PerceptronError/shapeMismatch(what:expected:actual:)``
    ///   when `outputGradient` is not shaped like the last output.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        guard let mask, let output = outputs.last else { throw .backwardBeforeForward(layer: "Dropout") }
        guard outputGradient.hasShape(output.shape) else {
            throw .shapeMismatch(what: "Dropout output gradient", expected: output.shape, actual: outputGradient.shape)
        }
        var dx = try Tensor.reusing(&inputGradient, shape: output.shape)
        let count = output.count
        outputGradient.withUnsafeScalars { g in
            mask.withUnsafeScalars { m in
                dx.withUnsafeMutableScalars { dx in
                    for i in 0..<count { dx[i] = g[i] * m[i] }
                }
            }
        }
        inputGradient = dx
        return dx
    }

    /// Lets go of the kept mask, the output buffers and the input gradient.
    /// The generator is kept: the next forward pass continues its sequence.
    public func releaseCaches() {
        mask = nil
        outputs.release()
        inputGradient = nil
    }
}
