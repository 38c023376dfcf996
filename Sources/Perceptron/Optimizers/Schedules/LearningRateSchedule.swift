import Foundation

/// A rule that sets an optimizer's learning rate step by step, as PyTorch's
/// `torch.optim.lr_scheduler` does: created with the optimizer, whose
/// learning rate at that moment is the base rate, and stepped once per epoch
/// (or per batch, as the training loop decides), after the optimizer's own step.
///
/// ```swift
/// let optimizer = SGD<Float>(learningRate: 0.1, momentum: 0.9)
/// let schedule = try CosineAnnealingLR(optimizer, periodLength: 100, minimumLearningRate: 0.001)
/// for epoch in 0..<100 {
///     // … one epoch of forward, backward, optimizer.step(model) …
///     schedule.step()
/// }
/// ```
///
/// Each schedule computes its rate in closed form from the number of steps
/// taken, in Double, so that the rate after `t` steps does not depend on
/// rounding accumulated over the steps before.
public protocol LearningRateSchedule<Scalar>: AnyObject {
    /// The precision of the optimizer's parameters.
    associatedtype Scalar: BLASScalar

    /// The number of times ``step()`` has been called: PyTorch's `last_epoch`.
    var stepCount: Int { get }

    /// The learning rate the schedule gives after ``stepCount`` steps, which
    /// the optimizer now has.
    var learningRate: Scalar { get }

    /// Advances the schedule by one step and sets the optimizer's learning rate.
    func step()
}

/// The closed forms of the schedules: the rate after `t` steps from the base rate.
enum ScheduleRule {
    case step(size: Int, gamma: Double)
    case cosine(period: Int, minimum: Double)
    case warmup(steps: Int, startFactor: Double)

    func rate(base: Double, after t: Int) -> Double {
        switch self {
        case let .step(size, gamma):
            return base * pow(gamma, Double(t / size))
        case let .cosine(period, minimum):
            return minimum + (base - minimum) * (1 + cos(Double.pi * Double(t) / Double(period))) / 2
        case let .warmup(steps, start):
            return base * (start + (1 - start) * Double(min(t, steps)) / Double(steps))
        }
    }
}

/// What every schedule keeps: the optimizer it drives, the base rate, its
/// rule and the step count; it sets the optimizer's rate.
struct ScheduleState<Scalar: BLASScalar> {
    let optimizer: any Optimizer<Scalar>
    /// The optimizer's learning rate when the schedule was created: PyTorch's `initial_lr`.
    let baseLearningRate: Double
    let rule: ScheduleRule
    /// Set directly only by a ``Checkpoint``'s restore; otherwise by ``step()``.
    var stepCount = 0

    /// Takes over `optimizer`, whose learning rate must be finite and at least
    /// 0, and sets it to the rule's rate after no steps.
    init(_ optimizer: any Optimizer<Scalar>, _ rule: ScheduleRule) throws(PerceptronError) {
        try validate(optimizer.learningRate, "learningRate")
        (self.optimizer, baseLearningRate, self.rule) = (optimizer, Double(optimizer.learningRate), rule)
        optimizer.learningRate = learningRate
    }

    /// The rule's rate after ``stepCount`` steps, in the optimizer's precision.
    var learningRate: Scalar { Scalar(rule.rate(base: baseLearningRate, after: stepCount)) }

    /// Counts one step and sets the optimizer's learning rate.
    mutating func step() {
        stepCount += 1
        optimizer.learningRate = learningRate
    }
}

/// Decays the learning rate by `gamma` every `stepSize` steps: after `t`
/// steps it is `base · gamma^⌊t / stepSize⌋`, as PyTorch's `StepLR`.
public final class StepLR<Scalar: BLASScalar>: LearningRateSchedule {
    /// The number of steps between two decays.
    public let stepSize: Int
    /// The factor of each decay.
    public let gamma: Scalar

    /// Internal, not private: a ``Checkpoint`` saves and restores its step count.
    var state: ScheduleState<Scalar>

    /// Drives `optimizer`, whose current learning rate becomes the base rate.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a `stepSize` below 1, a `gamma` that is negative or not finite,
    ///   or an optimizer whose learning rate is.
    public init(_ optimizer: some Optimizer<Scalar>, stepSize: Int, gamma: Scalar = 0.1) throws(PerceptronError) {
        guard stepSize >= 1 else {
            throw .invalidArgument(name: "stepSize", expected: "at least 1", actual: "\(stepSize)")
        }
        try validate(gamma, "gamma")
        (self.stepSize, self.gamma) = (stepSize, gamma)
        state = try ScheduleState(optimizer, .step(size: stepSize, gamma: Double(gamma)))
    }

    /// The number of times ``step()`` has been called.
    public var stepCount: Int { state.stepCount }

    /// `base · gamma^⌊stepCount / stepSize⌋`.
    public var learningRate: Scalar { state.learningRate }

    /// Advances by one step and sets the optimizer's learning rate.
    public func step() { state.step() }
}

/// Anneals the learning rate from the base rate to `minimumLearningRate`
/// along half a cosine over `periodLength` steps: after `t` steps it is
/// `η_min + (base − η_min)(1 + cos(π t / periodLength)) / 2`, the closed form
/// of PyTorch's `CosineAnnealingLR` (its `T_max` and `eta_min`). Past
/// `periodLength` steps the cosine goes on, and the rate rises again.
public final class CosineAnnealingLR<Scalar: BLASScalar>: LearningRateSchedule {
    /// The number of steps from the base rate to the minimum: PyTorch's `T_max`.
    public let periodLength: Int
    /// The rate at the end of the period: PyTorch's `eta_min`.
    public let minimumLearningRate: Scalar

    /// Internal, not private: a ``Checkpoint`` saves and restores its step count.
    var state: ScheduleState<Scalar>

    /// Drives `optimizer`, whose current learning rate becomes the base rate.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a `periodLength` below 1, a minimum that is negative or not
    ///   finite, or an optimizer whose learning rate is.
    public init(
        _ optimizer: some Optimizer<Scalar>, periodLength: Int, minimumLearningRate: Scalar = 0
    ) throws(PerceptronError) {
        guard periodLength >= 1 else {
            throw .invalidArgument(name: "periodLength", expected: "at least 1", actual: "\(periodLength)")
        }
        try validate(minimumLearningRate, "minimumLearningRate")
        (self.periodLength, self.minimumLearningRate) = (periodLength, minimumLearningRate)
        state = try ScheduleState(optimizer, .cosine(period: periodLength, minimum: Double(minimumLearningRate)))
    }

    /// The number of times ``step()`` has been called.
    public var stepCount: Int { state.stepCount }

    /// `η_min + (base − η_min)(1 + cos(π · stepCount / periodLength)) / 2`.
    public var learningRate: Scalar { state.learningRate }

    /// Advances by one step and sets the optimizer's learning rate.
    public func step() { state.step() }
}

/// Raises the learning rate linearly from `startFactor · base` to the base
/// rate over `steps` steps, then keeps it there: after `t` steps it is
/// `base · (startFactor + (1 − startFactor) · min(t, steps) / steps)`, as
/// PyTorch's `LinearLR` with `end_factor` 1 (a warm-up).
public final class LinearWarmup<Scalar: BLASScalar>: LearningRateSchedule {
    /// The number of steps the warm-up takes: PyTorch's `total_iters`.
    public let steps: Int
    /// The fraction of the base rate the warm-up starts from.
    public let startFactor: Scalar

    /// Internal, not private: a ``Checkpoint`` saves and restores its step count.
    var state: ScheduleState<Scalar>

    /// Drives `optimizer`, whose current learning rate becomes the base rate;
    /// the optimizer starts at `startFactor` times it.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for `steps` below 1, a `startFactor` outside `0...1` or equal to 0
    ///   (as PyTorch refuses it), or an optimizer whose learning rate is
    ///   negative or not finite.
    public init(_ optimizer: some Optimizer<Scalar>, steps: Int, startFactor: Scalar = 1.0 / 3) throws(PerceptronError) {
        guard steps >= 1 else {
            throw .invalidArgument(name: "steps", expected: "at least 1", actual: "\(steps)")
        }
        guard startFactor > 0, startFactor <= 1 else {
            throw .invalidArgument(name: "startFactor", expected: "greater than 0 and at most 1", actual: "\(startFactor)")
        }
        (self.steps, self.startFactor) = (steps, startFactor)
        state = try ScheduleState(optimizer, .warmup(steps: steps, startFactor: Double(startFactor)))
    }

    /// The number of times ``step()`` has been called.
    public var stepCount: Int { state.stepCount }

    /// `base · (startFactor + (1 − startFactor) · min(stepCount, steps) / steps)`.
    public var learningRate: Scalar { state.learningRate }

    /// Advances by one step and sets the optimizer's learning rate.
    public func step() { state.step() }
}
