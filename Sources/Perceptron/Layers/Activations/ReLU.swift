/// The rectified linear unit, elementwise: `y = max(x, 0)`.
///
/// NaN propagates to the output; its gradient is `∂E/∂y` where `x > 0` and 0
/// elsewhere (so 0 at `x = 0`, as in PyTorch).
public final class ReLU<Scalar: BLASScalar>: ParameterlessLayer {
    private var cache = ElementwiseCache<Scalar>()

    /// Creates the activation.
    public init() {}

    /// Computes `max(x, 0)` for every element, keeping the input for the backward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.forward(input, Self.apply)
    }

    /// Computes `max(x, 0)` for every element, keeping nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try ElementwiseCache.predict(input, Self.apply)
    }

    /// Passes the gradient through where the input was positive.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.backward(outputGradient, layer: "ReLU") { x, _, g, dx, count in
            for i in 0..<count { dx[i] = x[i] > 0 ? g[i] : 0 }
        }
    }

    /// Lets go of the kept input and output.
    public func releaseCaches() { cache.release() }

    /// The forward arithmetic, `y = f(x)` for `count` scalars: internal, so that an
    /// ``InferenceModel`` runs this same loop and gives ``predict(_:)``'s bits.
    static func apply(_ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, _ count: Int) {
        // `x < 0 ? 0 : x`, not `x > 0 ? x : 0`: NaN fails both tests and must come out as NaN.
        for i in 0..<count { y[i] = x[i] < 0 ? 0 : x[i] }
    }
}
