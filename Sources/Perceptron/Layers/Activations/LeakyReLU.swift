/// The leaky rectified linear unit, elementwise: `y = x` for `x > 0`, `slope·x` otherwise.
public final class LeakyReLU<Scalar: BLASScalar>: ParameterlessLayer {
    /// The factor applied to inputs that are not positive.
    public let slope: Scalar

    private var cache = ElementwiseCache<Scalar>()

    /// Creates the activation with the given slope for non-positive inputs
    /// (PyTorch's default is 0.01).
    public init(slope: Scalar = 0.01) {
        self.slope = slope
    }

    /// Computes `x > 0 ? x : slope·x` for every element, keeping the input for the backward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        let slope = self.slope
        return try cache.forward(input) { x, y, count in Self.apply(slope, x, y, count) }
    }

    /// Computes `x > 0 ? x : slope·x` for every element, keeping nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        let slope = self.slope
        return try ElementwiseCache.predict(input) { x, y, count in Self.apply(slope, x, y, count) }
    }

    /// Scales the gradient by 1 where the input was positive, by `slope` elsewhere.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        let slope = self.slope
        return try cache.backward(outputGradient, layer: "LeakyReLU") { x, _, g, dx, count in
            for i in 0..<count { dx[i] = x[i] > 0 ? g[i] : slope * g[i] }
        }
    }

    /// Lets go of the kept input and output.
    public func releaseCaches() { cache.release() }

    /// The forward arithmetic, `y = x > 0 ? x : slope·x` for `count` scalars: internal, so
    /// that an ``InferenceModel`` runs this same loop and gives ``predict(_:)``'s bits.
    static func apply(_ slope: Scalar, _ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, _ count: Int) {
        for i in 0..<count { y[i] = x[i] > 0 ? x[i] : slope * x[i] }
    }
}
