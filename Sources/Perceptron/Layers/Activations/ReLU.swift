/// The rectified linear unit, elementwise: `y = max(x, 0)`.
///
/// NaN propagates to the output; its gradient is `∂E/∂y` where `x > 0` and 0
/// elsewhere (so 0 at `x = 0`, as in PyTorch).
public final class ReLU<Scalar: BLASScalar>: ParameterlessLayer {
    private var cache = ElementwiseCache<Scalar>()

    /// Creates the activation.
    public init() {}

    /// Computes `max(x, 0)` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.forward(input) { x, y, count in
            // `x < 0 ? 0 : x`, not `x > 0 ? x : 0`: NaN fails both tests and must come out as NaN.
            for i in 0..<count { y[i] = x[i] < 0 ? 0 : x[i] }
        }
    }

    /// Passes the gradient through where the input was positive.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.backward(outputGradient, layer: "ReLU") { x, _, g, dx, count in
            for i in 0..<count { dx[i] = x[i] > 0 ? g[i] : 0 }
        }
    }
}
