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

    private var state = OptimizerState<Scalar>(buffersPerParameter: 1)

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
    ///   for a bad hyperparameter, or when `model` is not the model the
    ///   optimizer stepped before.
    public func step(_ model: some Layer<Scalar>) throws(PerceptronError) {
        try validate(learningRate, "learningRate")
        try validate(momentum, "momentum")
        try validate(weightDecay, "weightDecay")
        if nesterov && momentum == 0 {
            throw .invalidArgument(name: "momentum", expected: "> 0 with Nesterov momentum", actual: "0")
        }
        try state.forEachParameter(of: model) { theta, gradient, buffers, count, isNew in
            update(theta, gradient, momentumBuffer: buffers[0], count: count, firstStep: isNew)
        }
    }

    /// The update of one parameter, compiled for `Float` and `Double`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func update(
        _ theta: UnsafeMutablePointer<Scalar>, _ gradient: UnsafePointer<Scalar>,
        momentumBuffer b: UnsafeMutablePointer<Scalar>, count: Int, firstStep: Bool
    ) {
        let (lr, mu, decay, nesterov) = (learningRate, momentum, weightDecay, nesterov)
        for i in 0..<count {
            var g = gradient[i]
            if decay != 0 { g += decay * theta[i] }
            if mu != 0 {
                b[i] = firstStep ? g : mu * b[i] + g
                g = nesterov ? g + mu * b[i] : b[i]
            }
            theta[i] -= lr * g
        }
    }
}
