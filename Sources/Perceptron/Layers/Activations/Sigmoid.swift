/// The logistic sigmoid, elementwise: `y = 1 / (1 + e⁻ˣ)`.
public final class Sigmoid<Scalar: BLASScalar>: ParameterlessLayer {
    private var cache = ElementwiseCache<Scalar>()

    /// Creates the activation.
    public init() {}

    /// Computes the sigmoid of every element without overflow: `e⁻ˣ` is only
    /// evaluated for `x ≥ 0`, and `eˣ / (1 + eˣ)` for `x < 0`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.forward(input) { x, y, count in
            for i in 0..<count {
                if x[i] >= 0 {
                    y[i] = 1 / (1 + Elementary.exp(-x[i]))
                } else {
                    let e = Elementary.exp(x[i])
                    y[i] = e / (1 + e)   // NaN, which fails `x ≥ 0`, propagates here
                }
            }
        }
    }

    /// `∂E/∂x = ∂E/∂y · y(1 − y)`, from the kept output.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        try cache.backward(outputGradient, layer: "Sigmoid") { _, y, g, dx, count in
            for i in 0..<count { dx[i] = g[i] * y[i] * (1 - y[i]) }
        }
    }
}
