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
    public internal(set) var stepCount = 0

    /// Internal, not private: a ``Checkpoint`` saves and restores it, and the step count.
    var state = OptimizerState<Scalar>(buffersPerParameter: 2)

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
    ///   finite, a β outside `0..<1`, or a model other than the instance the
    ///   optimizer stepped first (its state is that model's), or one with
    ///   other parameter names than then; ``PerceptronError/shapeMismatch(what:expected:actual:)``
    ///   for a gradient of another shape than its parameter, or a parameter
    ///   whose shape has changed since the optimizer's state was set up.
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
        try state.forEachParameter(of: model) { theta, gradient, buffers, count in
            adamUpdate(
                theta, gradient, m: buffers[0], v: buffers[1], count: count,
                learningRate: learningRate, betas: (beta1, beta2), epsilon: epsilon,
                weightDecay: weightDecay, decoupled: decoupledWeightDecay, corrections: (correction1, correction2))
        }
        // Counted only once the step has gone through: a step that throws changes nothing.
        stepCount += 1
    }
}

/// Adam's update of one parameter, on SIMD vectors (see `VectorAccess.swift`),
/// compiled for `Float` and `Double`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func adamUpdate<Scalar: BLASScalar>(
    _ theta: UnsafeMutablePointer<Scalar>, _ gradient: UnsafePointer<Scalar>,
    m: UnsafeMutablePointer<Scalar>, v: UnsafeMutablePointer<Scalar>, count: Int,
    learningRate lr: Scalar, betas: (Scalar, Scalar), epsilon eps: Scalar,
    weightDecay decay: Scalar, decoupled: Bool, corrections: (Scalar, Scalar)
) {
    let (b1, b2) = betas
    let (correction1, correction2) = corrections
    let hasDecay = decay != 0
    var i = 0
    while i < count {
        let t = loadVector(theta, i, count)
        var g = loadVector(gradient, i, count)
        var p = t
        if hasDecay {
            if decoupled { p -= lr * decay * t } else { g += decay * t }
        }
        let first = b1 * loadVector(m, i, count) + (1 - b1) * g
        let second = b2 * loadVector(v, i, count) + (1 - b2) * g * g
        storeVector(first, m, i, count)
        storeVector(second, v, i, count)
        storeVector(p - lr * (first / correction1) / ((second / correction2).squareRoot() + eps), theta, i, count)
        i += 8
    }
}
