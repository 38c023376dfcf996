import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

/// A layer that only holds two parameters, "weight" [2, 3] and "bias" [3],
/// whose gradients the test sets directly: it drives an optimizer with chosen
/// gradients, independently of any layer's or loss's arithmetic.
private final class ParameterHolder<Scalar: BLASScalar>: Layer {
    var weight: Tensor<Scalar>
    var bias: Tensor<Scalar>
    var weightGradient: Tensor<Scalar>
    var biasGradient: Tensor<Scalar>

    init(weight: Tensor<Scalar>, bias: Tensor<Scalar>) {
        self.weight = weight
        self.bias = bias
        self.weightGradient = Tensor(shape: weight.shape)
        self.biasGradient = Tensor(shape: bias.shape)
    }

    /// The identity: only the parameters matter here.
    func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> { input }

    /// The identity.
    func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> { input }

    /// The identity, leaving the gradients as the test set them.
    func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool) throws(PerceptronError) -> Tensor<Scalar> {
        outputGradient
    }

    func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: inout Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        try body("weight", &weight, &weightGradient)
        try body("bias", &bias, &biasGradient)
    }

    func zeroGradients() {
        weightGradient = Tensor(shape: weight.shape)
        biasGradient = Tensor(shape: bias.shape)
    }
}

/// One case of `Fixtures/optimizers/optimizers.json`, written by
/// `make_optimizer_fixtures.py`: PyTorch's documented SGD / Adam / AdamW
/// update rules in numpy float64, the parameters after each step.
struct OptimizerFixture: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    /// "sgd" or "adam".
    var optimizer: String
    var learning_rate: Double
    var weight_decay: Double
    var momentum: Double?
    var nesterov: Bool?
    var beta1: Double?, beta2: Double?, epsilon: Double?
    var decoupled_weight_decay: Bool?
    /// The parameters after step 1, 2, … (row-major).
    var expected_weight: [[Double]]
    var expected_bias: [[Double]]

    var testDescription: String { name }

    /// What every case shares: the starting parameters and the gradient of each step.
    struct Document: Decodable, Sendable {
        var steps: Int
        var weight_shape: [Int], bias_shape: [Int]
        var initial_weight: [Double], initial_bias: [Double]
        var gradients_weight: [[Double]], gradients_bias: [[Double]]
        var cases: [OptimizerFixture]
    }

    static let document: Document? = {
        guard let url = Bundle.module.url(
                forResource: "optimizers", withExtension: "json", subdirectory: "Fixtures/optimizers"),
              let data = try? Data(contentsOf: url)
        else { return nil }
        return try? JSONDecoder().decode(Document.self, from: data)
    }()

    static var all: [OptimizerFixture] { document?.cases ?? [] }

    static func named(_ name: String) -> OptimizerFixture? { all.first { $0.name == name } }
}

/// The optimizer of one fixture case, in `Scalar`, as a step function.
private func makeOptimizer<Scalar: BLASScalar>(
    _ c: OptimizerFixture, as _: Scalar.Type
) -> ((ParameterHolder<Scalar>) throws(PerceptronError) -> Void)? {
    // Hyperparameters in Float are rounded from the Double ones, as PyTorch's would be.
    let learningRate = Scalar(c.learning_rate), weightDecay = Scalar(c.weight_decay)
    switch c.optimizer {
    case "sgd":
        guard let momentum = c.momentum, let nesterov = c.nesterov else { return nil }
        let sgd = SGD<Scalar>(
            learningRate: learningRate, momentum: Scalar(momentum), weightDecay: weightDecay, nesterov: nesterov)
        return { holder throws(PerceptronError) in try sgd.step(holder) }
    case "adam":
        guard let beta1 = c.beta1, let beta2 = c.beta2, let epsilon = c.epsilon,
              let decoupled = c.decoupled_weight_decay
        else { return nil }
        let adam = Adam<Scalar>(
            learningRate: learningRate, beta1: Scalar(beta1), beta2: Scalar(beta2), epsilon: Scalar(epsilon),
            weightDecay: weightDecay, decoupledWeightDecay: decoupled)
        return { holder throws(PerceptronError) in try adam.step(holder) }
    default:
        return nil
    }
}

/// A holder with the fixtures' starting parameters (exact in Float too: the script rounds them to float32).
private func startingHolder<Scalar: BLASScalar>(
    _ d: OptimizerFixture.Document, as _: Scalar.Type
) throws -> ParameterHolder<Scalar> {
    ParameterHolder(
        weight: try Tensor(shape: d.weight_shape, scalars: d.initial_weight.map { Scalar($0) }),
        bias: try Tensor(shape: d.bias_shape, scalars: d.initial_bias.map { Scalar($0) }))
}

/// Expects every element of `got` within `relative·|expected| + absolute` of `expected`,
/// reporting the worst element when one is not.
private func expectClose<Scalar: BLASScalar>(
    _ got: Tensor<Scalar>, _ expected: [Double], relative: Double, absolute: Double, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(got.count == expected.count, "\(what): element count", sourceLocation: sourceLocation)
    var worst: (index: Int, ratio: Double) = (-1, 0)
    for (index, (value, reference)) in zip(got.scalars, expected).enumerated() {
        let error = abs(Double(value) - reference)
        // NaN (in either) is infinitely wrong.
        let ratio = error.isNaN ? .infinity : error / (relative * abs(reference) + absolute)
        if ratio > worst.ratio { worst = (index, ratio) }
    }
    #expect(
        worst.ratio <= 1,
        "\(what): element \(worst.index) is \(worst.index >= 0 ? Double(got.scalars[worst.index]) : .nan), expected \(worst.index >= 0 ? expected[worst.index] : .nan) (error \(worst.ratio)× the tolerance)",
        sourceLocation: sourceLocation)
}

@Suite("Optimizers against PyTorch's documented update rules (numpy fixtures)")
struct OptimizerTests {
    /// The fixture's case count: guards the parameterised tests from passing vacuously.
    static let caseCount = 10

    @Test func fixturesArePresent() throws {
        let d = try #require(OptimizerFixture.document, "optimizers.json is missing or does not decode")
        #expect(d.cases.count == Self.caseCount)
        #expect(Set(d.cases.map(\.optimizer)) == ["sgd", "adam"])
        #expect(d.steps >= 2)
        #expect(d.gradients_weight.count == d.steps && d.gradients_bias.count == d.steps)
        #expect(d.weight_shape == [2, 3] && d.bias_shape == [3])
        for c in d.cases {
            #expect(c.expected_weight.count == d.steps && c.expected_bias.count == d.steps, "\(c.name)")
            #expect(c.expected_weight.allSatisfy { $0.count == 6 } && c.expected_bias.allSatisfy { $0.count == 3 }, "\(c.name)")
            #expect(makeOptimizer(c, as: Double.self) != nil, "\(c.name): unknown optimizer or missing hyperparameter")
        }
        // The holder really exposes its parameters (and not the protocol's empty default).
        #expect(try startingHolder(d, as: Double.self).parameterCount == 9)
    }

    /// Runs the case's optimizer over the fixture's gradients and compares the
    /// parameters after every step.
    private func runTrajectory<Scalar: BLASScalar>(
        _ c: OptimizerFixture, as _: Scalar.Type, relative: Double, absolute: Double
    ) throws {
        let d = try #require(OptimizerFixture.document)
        let step = try #require(makeOptimizer(c, as: Scalar.self), "\(c.name): cannot build the optimizer")
        let holder = try startingHolder(d, as: Scalar.self)
        for t in 0..<d.steps {
            holder.weightGradient = try Tensor(shape: d.weight_shape, scalars: d.gradients_weight[t].map { Scalar($0) })
            holder.biasGradient = try Tensor(shape: d.bias_shape, scalars: d.gradients_bias[t].map { Scalar($0) })
            try step(holder)
            #expect(holder.weight.shape == d.weight_shape && holder.bias.shape == d.bias_shape)
            expectClose(
                holder.weight, c.expected_weight[t], relative: relative, absolute: absolute,
                "\(c.name) (\(Scalar.self)) weight after step \(t + 1)")
            expectClose(
                holder.bias, c.expected_bias[t], relative: relative, absolute: absolute,
                "\(c.name) (\(Scalar.self)) bias after step \(t + 1)")
        }
    }

    /// Double: only rounding may separate the Swift optimizer from the
    /// reference (a different but equivalent order of the same operations).
    @Test(arguments: OptimizerFixture.all)
    func matchesReferenceInDouble(_ c: OptimizerFixture) throws {
        try runTrajectory(c, as: Double.self, relative: 1e-12, absolute: 1e-15)
    }

    /// Float: the same trajectories within single precision (parameters are
    /// in ±[0.1, 2], so 1e-5 relative is about 100 ulps).
    @Test(arguments: OptimizerFixture.all)
    func matchesReferenceInFloat(_ c: OptimizerFixture) throws {
        try runTrajectory(c, as: Float.self, relative: 1e-5, absolute: 1e-7)
    }

    // MARK: Invalid learning rates

    static let invalidLearningRates: [Double] = [.nan, .infinity, -.infinity, -1e-3, -1]

    /// `step` throws `.invalidArgument(name: "learningRate", …)` and leaves the parameters as they were.
    private func expectLearningRateRejected(
        _ learningRate: Double, _ step: (ParameterHolder<Double>) throws(PerceptronError) -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let d = try #require(OptimizerFixture.document)
        let holder = try startingHolder(d, as: Double.self)
        holder.weightGradient = try Tensor(shape: d.weight_shape, scalars: d.gradients_weight[1])
        holder.biasGradient = try Tensor(shape: d.bias_shape, scalars: d.gradients_bias[1])
        let (weight, bias) = (holder.weight.scalars, holder.bias.scalars)
        let error = #expect(throws: PerceptronError.self, "learning rate \(learningRate)", sourceLocation: sourceLocation) {
            try step(holder)
        }
        if let error {
            guard case let .invalidArgument(name, _, _) = error else {
                Issue.record("learning rate \(learningRate): expected .invalidArgument, got \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(name == "learningRate", sourceLocation: sourceLocation)
        }
        #expect(holder.weight.scalars == weight && holder.bias.scalars == bias,
                "a rejected step must not change the parameters", sourceLocation: sourceLocation)
    }

    @Test(arguments: invalidLearningRates)
    func sgdRejectsInvalidLearningRate(_ learningRate: Double) throws {
        let plain = SGD<Double>(learningRate: learningRate)
        try expectLearningRateRejected(learningRate) { holder throws(PerceptronError) in try plain.step(holder) }
        let momentum = SGD<Double>(learningRate: learningRate, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        try expectLearningRateRejected(learningRate) { holder throws(PerceptronError) in try momentum.step(holder) }
    }

    @Test(arguments: invalidLearningRates)
    func adamRejectsInvalidLearningRate(_ learningRate: Double) throws {
        let adam = Adam<Double>(learningRate: learningRate)
        try expectLearningRateRejected(learningRate) { holder throws(PerceptronError) in try adam.step(holder) }
        let adamW = Adam<Double>(learningRate: learningRate, weightDecay: 0.1, decoupledWeightDecay: true)
        try expectLearningRateRejected(learningRate) { holder throws(PerceptronError) in try adamW.step(holder) }
    }

    // MARK: What a step touches

    /// With every gradient nonzero, every parameter element moves at every
    /// step, and the layer's gradients are left exactly as they were: weight
    /// decay and momentum must work on copies, not on the layer's `.grad`. The
    /// gradient tensors stay the same across steps (as PyTorch's `.grad` does
    /// without `zero_grad`), so a momentum buffer that shares the first
    /// gradient's storage and is then updated in place would show up here.
    @Test(arguments: [
        "sgd plain", "sgd momentum", "sgd weight decay nesterov", "sgd weight decay momentum",
        "adam default", "adam coupled weight decay", "adamw decoupled weight decay",
    ])
    func stepMovesEveryParameterAndLeavesGradientsAlone(_ caseName: String) throws {
        let d = try #require(OptimizerFixture.document)
        let c = try #require(OptimizerFixture.named(caseName), "no fixture case \(caseName)")
        let step = try #require(makeOptimizer(c, as: Double.self))
        let holder = try startingHolder(d, as: Double.self)
        // The fixture's second gradient: every element of it is nonzero.
        let (weightGradient, biasGradient) = (d.gradients_weight[1], d.gradients_bias[1])
        #expect(!weightGradient.contains(0) && !biasGradient.contains(0))
        holder.weightGradient = try Tensor(shape: d.weight_shape, scalars: weightGradient)
        holder.biasGradient = try Tensor(shape: d.bias_shape, scalars: biasGradient)
        for t in 1...3 {
            let (weightBefore, biasBefore) = (holder.weight.scalars, holder.bias.scalars)
            try step(holder)
            for (index, (after, before)) in zip(holder.weight.scalars, weightBefore).enumerated() {
                #expect(after != before, "\(caseName) step \(t): weight[\(index)] did not move")
            }
            for (index, (after, before)) in zip(holder.bias.scalars, biasBefore).enumerated() {
                #expect(after != before, "\(caseName) step \(t): bias[\(index)] did not move")
            }
            #expect(holder.weight.scalars.allSatisfy(\.isFinite) && holder.bias.scalars.allSatisfy(\.isFinite))
            #expect(holder.weightGradient.shape == d.weight_shape && holder.biasGradient.shape == d.bias_shape)
            #expect(holder.weightGradient.scalars == weightGradient, "\(caseName) step \(t): the weight gradient was modified")
            #expect(holder.biasGradient.scalars == biasGradient, "\(caseName) step \(t): the bias gradient was modified")
        }
    }
}

@Suite("Optimizer failure atomicity")
struct OptimizerFailureTests {
    /// A step that throws (here, a bias gradient of the wrong shape) changes
    /// nothing, and the optimizer works once the gradient is right.
    @Test(arguments: ["SGD", "Adam"])
    func aFailedStepChangesNothing(optimizerName: String) throws {
        let holder = ParameterHolder<Double>(
            weight: try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]),
            bias: try Tensor(shape: [3], scalars: [1, 2, 3]))
        holder.weightGradient = Tensor(shape: [2, 3], repeating: 0.5)
        holder.biasGradient = Tensor(shape: [4], repeating: 0.5)
        let sgd = SGD<Double>(learningRate: 0.1, momentum: 0.9)
        let adam = Adam<Double>(learningRate: 0.1)
        func step() throws { if optimizerName == "SGD" { try sgd.step(holder) } else { try adam.step(holder) } }

        #expect(throws: PerceptronError.shapeMismatch(what: "gradient of bias", expected: [3], actual: [4])) { try step() }
        #expect(holder.weight.scalars == [1, 2, 3, 4, 5, 6], "no parameter may change in a failed step")
        #expect(adam.stepCount == 0)

        holder.biasGradient = Tensor(shape: [3], repeating: 0.5)
        try step()
        #expect(holder.weight.scalars.allSatisfy { $0 != 0 } && holder.weight.scalars != [1, 2, 3, 4, 5, 6])
        #expect(holder.bias.scalars.allSatisfy { $0 < 3 } && holder.bias.scalars != [1, 2, 3])
        if optimizerName == "Adam" {
            #expect(adam.stepCount == 1)
            // Adam's first step moves each parameter by about the learning rate.
            #expect(abs(holder.bias[0] - 0.9) < 1e-6)
        } else {
            // SGD with momentum: b₁ = g, θ ← θ − 0.1·0.5.
            #expect(abs(holder.bias[0] - 0.95) < 1e-12)
        }
    }
}
