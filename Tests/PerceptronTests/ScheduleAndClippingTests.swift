import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

/// One schedule of `Fixtures/training/training.json`, made by numpy from PyTorch's closed forms.
struct ScheduleFixture: Decodable, Sendable, CustomTestStringConvertible {
    var kind: String
    var base: Double
    var stepSize: Int?, gamma: Double?
    var periodLength: Int?, minimum: Double?
    var steps: Int?, startFactor: Double?
    var rates: [Double]
    var testDescription: String { "\(kind), base \(base)" }
}

/// One gradient-clipping case of the same file.
struct ClippingFixture: Decodable, Sendable, CustomTestStringConvertible {
    var maxNorm: Double
    var weightGradient: [Double], biasGradient: [Double]
    var norm: Double
    var clippedWeightGradient: [Double], clippedBiasGradient: [Double]
    var testDescription: String { "maxNorm \(maxNorm), norm \(norm)" }
}

struct TrainingFixtures: Decodable {
    var schedules: [ScheduleFixture]
    var clipping: [ClippingFixture]

    static let all: TrainingFixtures = {
        guard let url = Bundle.module.url(forResource: "training", withExtension: "json", subdirectory: "Fixtures/training"),
              let data = try? Data(contentsOf: url),
              let fixtures = try? JSONDecoder().decode(TrainingFixtures.self, from: data)
        else { return TrainingFixtures(schedules: [], clipping: []) }
        return fixtures
    }()
}

@Suite("Learning-rate schedules and gradient clipping against numpy")
struct ScheduleAndClippingTests {
    @Test func fixturesArePresent() {
        #expect(TrainingFixtures.all.schedules.count == 9)
        #expect(TrainingFixtures.all.clipping.count == 4)
    }

    /// The schedule a fixture describes, driving `optimizer`.
    static func schedule<S: BLASScalar>(_ f: ScheduleFixture, _ optimizer: SGD<S>) throws -> any LearningRateSchedule<S> {
        switch f.kind {
        case "step": try StepLR(optimizer, stepSize: f.stepSize!, gamma: S(f.gamma!))
        case "cosine": try CosineAnnealingLR(optimizer, periodLength: f.periodLength!, minimumLearningRate: S(f.minimum!))
        default: try LinearWarmup(optimizer, steps: f.steps!, startFactor: S(f.startFactor!))
        }
    }

    @Test("Double: every rate within rounding of numpy's", arguments: TrainingFixtures.all.schedules)
    func doubleSchedule(_ fixture: ScheduleFixture) throws {
        try check(Double.self, fixture)
    }

    @Test("Float: every rate within the rounding of its parameters", arguments: TrainingFixtures.all.schedules)
    func floatSchedule(_ fixture: ScheduleFixture) throws {
        try check(Float.self, fixture)
    }

    /// Each rate against numpy's, within `(t + 2)·ε` relative after `t` steps:
    /// the base rate, γ, η_min and the start factor are rounded to `S` (half
    /// an ε each, γ's raised to at most the t-th power), the rate is computed
    /// in Double and rounded to `S` once more.
    func check<S: BLASScalar>(_: S.Type, _ fixture: ScheduleFixture) throws {
        let optimizer = SGD<S>(learningRate: S(fixture.base))
        let schedule = try Self.schedule(fixture, optimizer)
        for (t, expected) in fixture.rates.enumerated() {
            if t > 0 { schedule.step() }
            #expect(schedule.stepCount == t)
            #expect(optimizer.learningRate == schedule.learningRate, "the schedule sets the optimizer's rate")
            let error = abs(Double(optimizer.learningRate) - expected) / max(abs(expected), 1e-30)
            #expect(error <= Double(t + 2) * Double(S.ulpOfOne), "step \(t): \(optimizer.learningRate), numpy \(expected)")
        }
    }

    @Test func schedulesDriveAnyOptimizer() throws {
        let adam = Adam<Float>(learningRate: 0.1)
        let schedule = try StepLR(adam, stepSize: 2, gamma: 0.5)
        for _ in 0..<4 { schedule.step() }
        #expect(adam.learningRate == 0.025)
    }

    @Test func badScheduleArgumentsThrow() {
        let optimizer = SGD<Double>(learningRate: 0.1)
        #expect(throws: PerceptronError.invalidArgument(name: "stepSize", expected: "at least 1", actual: "0")) {
            try StepLR(optimizer, stepSize: 0)
        }
        #expect(throws: PerceptronError.invalidArgument(name: "gamma", expected: "finite and ≥ 0.0", actual: "-0.5")) {
            try StepLR(optimizer, stepSize: 1, gamma: -0.5)
        }
        #expect(throws: PerceptronError.invalidArgument(name: "periodLength", expected: "at least 1", actual: "-3")) {
            try CosineAnnealingLR(optimizer, periodLength: -3)
        }
        #expect(throws: PerceptronError.invalidArgument(name: "minimumLearningRate", expected: "finite and ≥ 0.0", actual: "nan")) {
            try CosineAnnealingLR(optimizer, periodLength: 3, minimumLearningRate: .nan)
        }
        #expect(throws: PerceptronError.invalidArgument(name: "startFactor", expected: "greater than 0 and at most 1", actual: "0.0")) {
            try LinearWarmup(optimizer, steps: 3, startFactor: 0)
        }
        optimizer.learningRate = .infinity
        #expect(throws: PerceptronError.invalidArgument(name: "learningRate", expected: "finite and ≥ 0.0", actual: "inf")) {
            try LinearWarmup(optimizer, steps: 3)
        }
    }

    /// A Linear(3 → 4) whose gradients are set to the fixture's, through the writable visitor.
    static func layer<S: BLASScalar>(_: S.Type, gradients f: ClippingFixture) throws -> Linear<S> {
        let layer = Linear<S>(inputFeatures: 3, outputFeatures: 4)
        try layer.forEachParameter { name, _, gradient throws(PerceptronError) in
            gradient = try Tensor(shape: gradient.shape, scalars: (name == "weight" ? f.weightGradient : f.biasGradient).map { S($0) })
        }
        return layer
    }

    @Test("Double", arguments: TrainingFixtures.all.clipping)
    func clipDouble(_ fixture: ClippingFixture) throws {
        let layer = try Self.layer(Double.self, gradients: fixture)
        let norm = try clipGradientNorm(layer, maxNorm: fixture.maxNorm)
        // Sixteen squares summed in Double, then a square root: a few ε.
        #expect(abs(norm - fixture.norm) <= 4 * Double.ulpOfOne * fixture.norm)
        expectClose(layer.weightGradient.scalars, fixture.clippedWeightGradient, relative: 4 * Double.ulpOfOne)
        expectClose(layer.biasGradient!.scalars, fixture.clippedBiasGradient, relative: 4 * Double.ulpOfOne)
    }

    @Test("Float", arguments: TrainingFixtures.all.clipping)
    func clipFloat(_ fixture: ClippingFixture) throws {
        let layer = try Self.layer(Float.self, gradients: fixture)
        let norm = try clipGradientNorm(layer, maxNorm: Float(fixture.maxNorm))
        // The fixture's gradients are Floats already; the norm is summed in
        // Double and rounded once, each clipped value rounded twice
        // (the coefficient, then the product).
        #expect(abs(Double(norm) - fixture.norm) <= Double(Float.ulpOfOne) * fixture.norm)
        expectClose(layer.weightGradient.scalars.map(Double.init), fixture.clippedWeightGradient, relative: 2 * Double(Float.ulpOfOne))
        expectClose(layer.biasGradient!.scalars.map(Double.init), fixture.clippedBiasGradient, relative: 2 * Double(Float.ulpOfOne))
    }

    func expectClose(_ got: [Double], _ expected: [Double], relative: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got.count == expected.count, sourceLocation: sourceLocation)
        for (g, e) in zip(got, expected) {
            #expect(abs(g - e) <= relative * abs(e), "\(g) vs numpy \(e)", sourceLocation: sourceLocation)
        }
    }

    @Test func clippingRefusesABadMaxNormAndLeavesNonFiniteGradients() throws {
        let layer = Linear<Float>(inputFeatures: 2, outputFeatures: 1)
        #expect(throws: PerceptronError.invalidArgument(name: "maxNorm", expected: "finite and ≥ 0.0", actual: "-1.0")) {
            try clipGradientNorm(layer, maxNorm: -1)
        }
        try layer.forEachParameter { _, _, gradient throws(PerceptronError) in
            gradient = try Tensor(shape: gradient.shape, scalars: Array(repeating: .nan, count: gradient.count))
        }
        let norm = try clipGradientNorm(layer, maxNorm: 1)
        #expect(norm.isNaN)
        let untouched = layer.weightGradient.scalars.allSatisfy { $0.isNaN }
        #expect(untouched, "a non-finite norm leaves the gradients as they are")
    }
}
