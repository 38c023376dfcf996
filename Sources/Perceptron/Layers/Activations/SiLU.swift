/// The sigmoid linear unit (also called swish), elementwise: `y = x·σ(x)`,
/// with `σ(x) = 1/(1 + e⁻ˣ)`; PyTorch's `nn.SiLU()`.
///
/// Its gradient is `∂E/∂x = ∂E/∂y · σ(x)(1 + x(1 − σ(x)))`. The sigmoid is
/// evaluated without overflow for any input (as in ``Sigmoid``): very negative
/// inputs underflow to `−0`, very large ones give `x`. NaN propagates.
public final class SiLU<Scalar: BLASScalar>: ParameterlessLayer {
    private var cache = ElementwiseCache<Scalar>()

    /// Creates the activation.
    public init() {}

    /// Computes `x·σ(x)` for every element, keeping the input for the backward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.forward(input, Self.apply)
    }

    /// Computes `x·σ(x)` for every element, keeping nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try ElementwiseCache.predict(input, Self.apply)
    }

    /// `∂E/∂x = ∂E/∂y · σ(x)(1 + x(1 − σ(x)))`, from the kept input.
    ///
    /// - Throws: ``PerceptronError/backwardBeforeForward(layer:)`` without a
    ///   forward pass to refer to, ``PerceptronError/shapeMismatch(what:expected:actual:)``
    ///   when `outputGradient` is not shaped like the last output.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.backward(outputGradient, layer: "SiLU") { x, _, g, dx, count in
            for i in 0..<count {
                let s = Sigmoid<Scalar>.sigmoid(x[i])
                dx[i] = g[i] * (s * (1 + x[i] * (1 - s)))
            }
        }
    }

    /// Lets go of the kept input and output.
    public func releaseCaches() { cache.release() }

    /// The forward arithmetic, `y = f(x)` for `count` scalars: internal, so that an
    /// ``InferenceModel`` runs this same loop and gives ``predict(_:)``'s bits.
    static func apply(_ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, _ count: Int) {
        for i in 0..<count { y[i] = x[i] * Sigmoid<Scalar>.sigmoid(x[i]) }
    }
}
