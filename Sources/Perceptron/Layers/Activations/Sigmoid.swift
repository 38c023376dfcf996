/// The logistic sigmoid, elementwise: `y = 1 / (1 + e⁻ˣ)`.
public final class Sigmoid<Scalar: BLASScalar>: ParameterlessLayer {
    private var cache = ElementwiseCache<Scalar>()

    /// Creates the activation.
    public init() {}

    /// Computes the sigmoid of every element, keeping the output for the backward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.forward(input, Self.apply)
    }

    /// Computes the sigmoid of every element, keeping nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try ElementwiseCache.predict(input, Self.apply)
    }

    /// `∂E/∂x = ∂E/∂y · y(1 − y)`, from the kept output.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.backward(outputGradient, layer: "Sigmoid") { _, y, g, dx, count in
            for i in 0..<count { dx[i] = g[i] * y[i] * (1 - y[i]) }
        }
    }

    /// Lets go of the kept input and output.
    public func releaseCaches() { cache.release() }

    /// The forward arithmetic, `y = f(x)` for `count` scalars: internal, so that an
    /// ``InferenceModel`` runs this same loop and gives ``predict(_:)``'s bits.
    static func apply(_ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, _ count: Int) {
        for i in 0..<count { y[i] = sigmoid(x[i]) }
    }

    /// The sigmoid without overflow: `e⁻ˣ` is only evaluated for `x ≥ 0`, and
    /// `eˣ / (1 + eˣ)` for `x < 0`.
    @inline(__always)
    static func sigmoid(_ x: Scalar) -> Scalar {
        if x >= 0 { return 1 / (1 + Elementary.exp(-x)) }
        let e = Elementary.exp(x)
        return e / (1 + e)   // NaN, which fails `x ≥ 0`, propagates here
    }
}
