/// The Gaussian error linear unit, elementwise and exact:
/// `y = x·Φ(x) = ½·x·(1 + erf(x/√2))`, where `Φ` is the standard normal
/// distribution function; PyTorch's `nn.GELU()` (its default,
/// `approximate='none'`), not the tanh approximation.
///
/// Its gradient is `∂E/∂x = ∂E/∂y · (Φ(x) + x·φ(x))`, with `φ(x) = e^(−x²/2)/√(2π)`
/// the normal density. NaN propagates; `+∞` gives `+∞`, and `−∞` gives NaN (`−∞·0`).
public final class GELU<Scalar: BLASScalar>: ParameterlessLayer {
    private var cache = ElementwiseCache<Scalar>()

    /// Creates the activation.
    public init() {}

    /// Computes `½·x·(1 + erf(x/√2))` for every element, keeping the input for the backward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.forward(input, Self.apply)
    }

    /// Computes `½·x·(1 + erf(x/√2))` for every element, keeping nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try ElementwiseCache.predict(input, Self.apply)
    }

    /// `∂E/∂x = ∂E/∂y · (Φ(x) + x·φ(x))`, from the kept input, with
    /// `Φ(x) = ½(1 + erf(x/√2))` and `φ(x) = e^(−x²/2)/√(2π)`.
    ///
    /// - Throws: ``PerceptronError/backwardBeforeForward(layer:)`` without a
    ///   forward pass to refer to, ``PerceptronError/shapeMismatch(what:expected:actual:)``
    ///   when `outputGradient` is not shaped like the last output.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.backward(outputGradient, layer: "GELU") { x, _, g, dx, count in
            for i in 0..<count {
                let cdf = 0.5 * (1 + Elementary.erf(x[i] * Self.inverseSquareRootOfTwo))
                let density = Self.inverseSquareRootOfTwoPi * Elementary.exp(-0.5 * x[i] * x[i])
                dx[i] = g[i] * (cdf + x[i] * density)
            }
        }
    }

    /// Lets go of the kept input and output.
    public func releaseCaches() { cache.release() }

    /// `1/√2`, rounded to the scalar type.
    private static var inverseSquareRootOfTwo: Scalar { 0.707_106_781_186_547_524_4 }
    /// `1/√(2π)`, rounded to the scalar type.
    private static var inverseSquareRootOfTwoPi: Scalar { 0.398_942_280_401_432_677_9 }

    /// The forward arithmetic, `y = f(x)` for `count` scalars: internal, so that an
    /// ``InferenceModel`` runs this same loop and gives ``predict(_:)``'s bits.
    static func apply(_ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, _ count: Int) {
        for i in 0..<count { y[i] = 0.5 * x[i] * (1 + Elementary.erf(x[i] * inverseSquareRootOfTwo)) }
    }
}
