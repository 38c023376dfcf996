import Foundation
import MoonsExample
import Perceptron
import Testing

/// The two-moons data set, against its definition: the arcs, the class
/// sizes, and noise with the normal distribution's moments.
@Suite("Two moons")
struct TwoMoonsTests {
    /// Noiseless, each point lies on its moon's half circle: the upper one
    /// (label 0) centred at (0, 0), the lower (label 1) at (1, 0.5), both of
    /// radius 1; `count / 2` points are on the upper moon, and the ends of the
    /// arcs are where `linspace(0, π, n)` puts them (only t = 0 for n = 1).
    @Test(arguments: [
        (2, [[0, 1], [1, 0]]), (3, [[0, 1], [1, 0], [1, 2]]),
        (10, [[0, 1], [0, -1], [1, 0], [1, 2]]), (101, [[0, 1], [0, -1], [1, 0], [1, 2]]),
    ] as [(Int, Set<[Int]>)])
    func noiselessPointsLieOnTheirArcs(count: Int, ends: Set<[Int]>) throws {
        let moons = TwoMoons(count: count, noise: 0, seed: 5)
        #expect(moons.features.shape == [count, 2] && moons.labels.count == count)
        #expect(moons.labels.filter { $0 == 0 }.count == count / 2)
        var found: Set<[Int]> = []   // [label, x] of the points level with their circle's centre
        for i in 0..<count {
            let (x, y) = (Double(moons.features[i, 0]), Double(moons.features[i, 1]))
            let upper = moons.labels[i] == 0
            let (centreX, centreY) = upper ? (0.0, 0.0) : (1.0, 0.5)
            // Float coordinates of magnitude ≤ 2: the radius is off by a few ulps at most.
            let radius = ((x - centreX) * (x - centreX) + (y - centreY) * (y - centreY)).squareRoot()
            #expect(abs(radius - 1) < 1e-6, "point \(i): radius \(radius)")
            #expect((upper ? y - centreY : centreY - y) >= -1e-7, "point \(i) is on the wrong half of its circle")
            if abs(y - centreY) < 1e-7 { found.insert([moons.labels[i], Int(x.rounded())]) }
        }
        #expect(found == ends)
    }

    /// The noise is what remains after subtracting the noiseless points of the
    /// same seed (the shuffle comes first and draws the same numbers): its
    /// mean, standard deviation and the share within one deviation match the
    /// normal distribution's within about four standard errors of 8000 draws.
    @Test func noiseIsGaussianWithTheStatedDeviation() throws {
        let (count, sigma) = (4000, 0.2)
        let clean = TwoMoons(count: count, noise: 0, seed: 9)
        let noisy = TwoMoons(count: count, noise: sigma, seed: 9)
        #expect(noisy.labels == clean.labels)
        let residuals = zip(noisy.features.scalars, clean.features.scalars).map { Double($0) - Double($1) }
        let mean = residuals.reduce(0, +) / Double(residuals.count)
        let deviation = (residuals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(residuals.count)).squareRoot()
        let withinOne = Double(residuals.filter { abs($0) < sigma }.count) / Double(residuals.count)
        // Standard errors: σ/√n = 0.0022 for the mean, σ/√(2n) = 0.0016 for the deviation,
        // √(p(1 − p)/n) = 0.0052 for the share within one deviation (p = 0.6827).
        #expect(abs(mean) < 0.01, "mean \(mean)")
        #expect(abs(deviation - sigma) < 0.007, "deviation \(deviation)")
        #expect(abs(withinOne - 0.6827) < 0.021, "share within one deviation \(withinOne)")
    }

    @Test func theSameSeedGivesTheSamePointsAndAnotherSeedOthers() {
        let a = TwoMoons(count: 50, noise: 0.2, seed: 1)
        #expect(a.features == TwoMoons(count: 50, noise: 0.2, seed: 1).features)
        #expect(a.labels == TwoMoons(count: 50, noise: 0.2, seed: 1).labels)
        #expect(a.features != TwoMoons(count: 50, noise: 0.2, seed: 2).features)
    }

    @Test func splitKeepsTheOrderAndRefusesAnEmptyPart() throws {
        let moons = TwoMoons(count: 10, noise: 0.1, seed: 3)
        let (train, test) = try moons.split(testCount: 3)
        #expect(train.labels + test.labels == moons.labels)
        #expect(train.features.scalars + test.features.scalars == moons.features.scalars)
        #expect(test.targets.shape == [3, 1] && test.targets.scalars == test.labels.map(Float.init))
        for testCount in [0, 10] {
            #expect {
                try moons.split(testCount: testCount)
            } throws: { error in
                "\(error)" == "testCount must be in 1..<10 (each part needs a point), but is \(testCount)"
            }
        }
    }
}

/// The example's result: what perceptron-moons reaches with its defaults, on
/// the points it holds out.
@Suite("The two-moons example")
struct MoonsExampleTests {
    /// The example's data: the default points and the fifth held out.
    static func data() throws -> (train: TwoMoons, test: TwoMoons) {
        let moons = TwoMoons(count: MoonsDefaults.samples, noise: MoonsDefaults.noise, seed: 0)
        return try moons.split(testCount: MoonsDefaults.heldOutCount(of: MoonsDefaults.samples))
    }

    /// With noise 0.2 the best any classifier can do is about 97 % (the
    /// Bayes classifier of the generating distribution, by Monte Carlo), and a
    /// straight boundary about 87 % (below); the example's 2-16-16-1 network
    /// reaches at least 93 % of the 200 held-out points for each seed.
    @Test(arguments: [0, 1, 2] as [UInt64])
    func networkReachesTheStatedAccuracyOnHeldOutPoints(seed: UInt64) throws {
        let (train, test) = try Self.data()
        let classifier = MoonsClassifier(hiddenLayers: [MoonsDefaults.hidden, MoonsDefaults.hidden], seed: seed)
        var losses: [Double] = []
        try classifier.fit(train, settings: MoonsClassifier.Settings()) { losses.append($0.loss) }
        #expect(losses.count == MoonsClassifier.Settings().epochs)
        #expect(losses.last! < losses.first! / 4, "loss \(losses.first!) at the first epoch, \(losses.last!) at the last")
        let accuracy = try classifier.accuracy(on: test)
        #expect(accuracy >= 0.93, "held-out accuracy \(accuracy)")
    }

    /// The same fit without hidden layers, logistic regression, stays below
    /// 90 % on the same points: the threshold above needs the curved boundary.
    @Test func aStraightBoundaryFallsShort() throws {
        let (train, test) = try Self.data()
        let classifier = MoonsClassifier(hiddenLayers: [], seed: 0)
        try classifier.fit(train, settings: MoonsClassifier.Settings())
        let accuracy = try classifier.accuracy(on: test)
        #expect(accuracy > 0.75 && accuracy < 0.9, "held-out accuracy \(accuracy)")
    }

    @Test func theSameSeedTrainsTheSameModel() throws {
        let (train, test) = try Self.data()
        var settings = MoonsClassifier.Settings()
        settings.epochs = 5
        let logits = try (0..<2).map { _ in
            let classifier = MoonsClassifier(hiddenLayers: [8, 8], seed: 4)
            try classifier.fit(train, settings: settings)
            return try classifier.logits(test)
        }
        #expect(logits[0].shape == [test.count, 1])
        #expect(logits[0] == logits[1])
    }
}
