/// The hyperbolic tangent, elementwise.
public final class Tanh<Scalar: BLASScalar>: ParameterlessLayer {
    private var cache = ElementwiseCache<Scalar>()

    /// Creates the activation.
    public init() {}

    /// Computes `tanh(x)` for every element, keeping the output for the backward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.forward(input, Self.apply)
    }

    /// Computes `tanh(x)` for every element, keeping nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try ElementwiseCache.predict(input, Self.apply)
    }

    /// `∂E/∂x = ∂E/∂y · (1 − y²)`, from the kept output.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.backward(outputGradient, layer: "Tanh") { _, y, g, dx, count in
            for i in 0..<count { dx[i] = g[i] * (1 - y[i] * y[i]) }
        }
    }

    /// Lets go of the kept input and output.
    public func releaseCaches() { cache.release() }

    /// The forward arithmetic, `y = f(x)` for `count` scalars: internal, so that an
    /// ``InferenceModel`` runs this same loop and gives ``predict(_:)``'s bits.
    static func apply(_ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, _ count: Int) {
        for i in 0..<count { y[i] = Elementary.tanh(x[i]) }
    }
}
