/// Stochastic gradient descent, with optional momentum, Nesterov momentum and
/// weight decay, following PyTorch's `torch.optim.SGD` (dampening 0):
///
/// ```
/// g ← ∇θ + λθ                          (weight decay λ)
/// b ← g on the first step, else μb + g (momentum μ)
/// g ← g + μb if Nesterov, else b
/// θ ← θ − γg                           (learning rate γ)
/// ```
public final class SGD<Scalar: BLASScalar> {
    /// The step size γ.
    public var learningRate: Scalar
    /// The momentum factor μ; 0 turns momentum off.
    public let momentum: Scalar
    /// The L2 penalty λ added to the gradient as `λθ`.
    public let weightDecay: Scalar
    /// Whether to use Nesterov momentum.
    public let nesterov: Bool

    /// Internal, not private: a ``Checkpoint`` saves and restores it.
    var state = OptimizerState<Scalar>(buffersPerParameter: 1)

    /// Creates the optimizer. The arguments are checked by ``step(_:)``,
    /// which throws for a learning rate, momentum or weight decay that is
    /// negative or not finite, or Nesterov momentum without momentum.
    public init(learningRate: Scalar, momentum: Scalar = 0, weightDecay: Scalar = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    /// Updates every parameter of `model` from the gradient it holds.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a bad hyperparameter, or when `model` is not the instance the
    ///   optimizer stepped first (its state is that model's), or has other
    ///   parameter names than then; ``PerceptronError/shapeMismatch(what:expected:actual:)``
    ///   for a gradient of another shape than its parameter, or a parameter
    ///   whose shape has changed since the optimizer's state was set up.
    public func step(_ model: some Layer<Scalar>) throws(PerceptronError) {
        try validate(learningRate, "learningRate")
        try validate(momentum, "momentum")
        try validate(weightDecay, "weightDecay")
        if nesterov && momentum == 0 {
            throw .invalidArgument(name: "momentum", expected: "> 0 with Nesterov momentum", actual: "0")
        }
        try state.forEachParameter(of: model) { theta, gradient, buffers, count in
            sgdUpdate(
                theta, gradient, momentumBuffer: buffers[0], count: count,
                learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
        }
    }
}

/// SGD's update of one parameter, on SIMD vectors (see `VectorAccess.swift`),
/// compiled for `Float` and `Double`.
///
/// The momentum buffer starts at zero, so `μ·0 + g` is exactly PyTorch's first
/// `b = g`; without momentum the buffer is written but not used.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func sgdUpdate<Scalar: BLASScalar>(
    _ theta: UnsafeMutablePointer<Scalar>, _ gradient: UnsafePointer<Scalar>,
    momentumBuffer b: UnsafeMutablePointer<Scalar>, count: Int,
    learningRate lr: Scalar, momentum mu: Scalar, weightDecay decay: Scalar, nesterov: Bool
) {
    let (hasDecay, hasMomentum) = (decay != 0, mu != 0)
    var i = 0
    while i < count {
        let t = loadVector(theta, i, count)
        var g = loadVector(gradient, i, count)
        if hasDecay { g += decay * t }
        let buffer = mu * loadVector(b, i, count) + g
        storeVector(buffer, b, i, count)
        let direction = hasMomentum ? (nesterov ? g + mu * buffer : buffer) : g
        storeVector(t - lr * direction, theta, i, count)
        i += 8
    }
}
