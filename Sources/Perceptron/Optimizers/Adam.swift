import Foundation

/// Adam, with optional weight decay, coupled (added to the gradient, as in
/// PyTorch's `torch.optim.Adam`) or decoupled (as in `torch.optim.AdamW`):
///
/// ```
/// t ← t + 1
/// θ ← θ − γλθ                 (decoupled weight decay), or g ← ∇θ + λθ (coupled)
/// m ← β₁m + (1 − β₁)g
/// v ← β₂v + (1 − β₂)g²
/// m̂ ← m / (1 − β₁ᵗ),  v̂ ← v / (1 − β₂ᵗ)
/// θ ← θ − γ m̂ / (√v̂ + ε)
/// ```
public final class Adam<Scalar: BLASScalar> {
    /// The step size γ.
    public var learningRate: Scalar
    /// The decay β₁ of the first-moment estimate.
    public let beta1: Scalar
    /// The decay β₂ of the second-moment estimate.
    public let beta2: Scalar
    /// The term ε added to the denominator.
    public let epsilon: Scalar
    /// The weight decay λ.
    public let weightDecay: Scalar
    /// Whether weight decay is decoupled from the gradient (AdamW).
    public let decoupledWeightDecay: Bool

    /// The number of steps taken, t.
    public private(set) var stepCount = 0

    private var state = OptimizerState<Scalar>(buffersPerParameter: 2)

    /// Creates the optimizer with PyTorch's defaults. The arguments are
    /// checked by ``step(_:)``, which throws for values outside their domain.
    public init(
        learningRate: Scalar = 1e-3, beta1: Scalar = 0.9, beta2: Scalar = 0.999, epsilon: Scalar = 1e-8,
        weightDecay: Scalar = 0, decoupledWeightDecay: Bool = false
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// Updates every parameter of `model` from the gradient it holds.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a learning rate, ε or weight decay that is negative or not
    ///   finite, a β outside `0..<1`, or a model other than the one the
    ///   optimizer stepped before.
    public func step(_ model: some Layer<Scalar>) throws(PerceptronError) {
        try validate(learningRate, "learningRate")
        try validate(beta1, "beta1", below: 1)
        try validate(beta2, "beta2", below: 1)
        try validate(epsilon, "epsilon")
        try validate(weightDecay, "weightDecay")
        // Bias corrections in Double: β₂ᵗ is close to 1 for many steps.
        let t = Double(stepCount + 1)
        let correction1 = Scalar(1 - pow(Double(beta1), t))
        let correction2 = Scalar(1 - pow(Double(beta2), t))
        try state.forEachParameter(of: model) { theta, gradient, buffers, count, _ in
            update(theta, gradient, m: buffers[0], v: buffers[1], count: count,
                   corrections: (correction1, correction2))
        }
        // Counted only once the step has gone through: a step that throws changes nothing.
        stepCount += 1
    }

    /// The update of one parameter, compiled for `Float` and `Double`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func update(
        _ theta: UnsafeMutablePointer<Scalar>, _ gradient: UnsafePointer<Scalar>,
        m: UnsafeMutablePointer<Scalar>, v: UnsafeMutablePointer<Scalar>, count: Int,
        corrections: (Scalar, Scalar)
    ) {
        let (lr, b1, b2, eps, decay) = (learningRate, beta1, beta2, epsilon, weightDecay)
        let decoupled = decoupledWeightDecay
        let (correction1, correction2) = corrections
        for i in 0..<count {
            var g = gradient[i]
            if decoupled {
                theta[i] -= lr * decay * theta[i]
            } else if decay != 0 {
                g += decay * theta[i]
            }
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            let mHat = m[i] / correction1
            let vHat = v[i] / correction2
            theta[i] -= lr * mHat / (vHat.squareRoot() + eps)
        }
    }
}
