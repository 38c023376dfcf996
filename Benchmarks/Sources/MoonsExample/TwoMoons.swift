// The two-moons data set: two interleaved half circles, a classic task that
// no straight line separates, generated here rather than shipped.

import Foundation
import Perceptron

/// Two interleaved half-moons in the plane, with Gaussian noise: the points of
/// scikit-learn's `make_moons(n_samples:, shuffle=True, noise:)`, drawn from a
/// ``SeededRandomNumberGenerator`` instead of numpy's generator.
///
/// Of `count` points, `count / 2` (rounded down) lie on the upper moon, label
/// 0: `(cos t, sin t)`; the rest on the lower moon, label 1:
/// `(1 − cos t, 0.5 − sin t)`; each moon's `t` runs evenly over `0…π`, ends
/// included. The points are then shuffled (Fisher–Yates), and noise with
/// standard deviation `noise` is added to every coordinate (Box–Muller), in
/// that order, as scikit-learn does.
public struct TwoMoons: Sendable {
    /// The points, `[count, 2]`: x and y, one point per row.
    public var features: Tensor<Float>
    /// The moon of each point: 0 for the upper, 1 for the lower.
    public var labels: [Int]

    /// The number of points.
    public var count: Int { labels.count }

    /// The labels as a `[count, 1]` tensor of 0s and 1s: the targets of a
    /// single-logit classifier trained with `BinaryCrossEntropyWithLogits`.
    public var targets: Tensor<Float> {
        try! Tensor(shape: [count, 1], scalars: labels.map(Float.init))
    }

    /// Generates `count` points with noise of standard deviation `noise`, from `seed`.
    ///
    /// - Precondition: `count ≥ 2` (a point on each moon) and `noise` finite and ≥ 0.
    public init(count: Int, noise: Double, seed: UInt64) {
        precondition(count >= 2, "TwoMoons needs at least 2 points, one per moon, not \(count)")
        precondition(noise.isFinite && noise >= 0, "TwoMoons noise must be finite and ≥ 0, not \(noise)")
        let upper = count / 2
        let lower = count - upper
        /// `i`-th of `n` angles spaced evenly over 0…π, as `np.linspace(0, π, n)`.
        func angle(_ i: Int, of n: Int) -> Double { n == 1 ? 0 : Double.pi * Double(i) / Double(n - 1) }
        var points: [(x: Double, y: Double, label: Int)] = []
        points.reserveCapacity(count)
        for i in 0..<upper { points.append((cos(angle(i, of: upper)), sin(angle(i, of: upper)), 0)) }
        for i in 0..<lower { points.append((1 - cos(angle(i, of: lower)), 0.5 - sin(angle(i, of: lower)), 1)) }

        var generator = SeededRandomNumberGenerator(seed: seed)
        points.shuffle(using: &generator)
        var scalars: [Float] = []
        scalars.reserveCapacity(2 * count)
        for point in points {
            scalars.append(Float(point.x + noise * Self.standardNormal(using: &generator)))
            scalars.append(Float(point.y + noise * Self.standardNormal(using: &generator)))
        }
        features = try! Tensor(shape: [count, 2], scalars: scalars)
        labels = points.map(\.label)
    }

    private init(features: Tensor<Float>, labels: [Int]) {
        self.features = features
        self.labels = labels
    }

    /// The points in `range` of rows, in order.
    public func rows(_ range: Range<Int>) throws(PerceptronError) -> TwoMoons {
        TwoMoons(features: try features.rows(range), labels: Array(labels[range]))
    }

    /// The first points for training and the last `testCount` held out: the
    /// points are already shuffled, so both parts are random samples.
    ///
    /// - Throws: `PerceptronError.invalidArgument` unless `testCount` is in
    ///   `1..<count`, so that each part has a point.
    public func split(testCount: Int) throws(PerceptronError) -> (train: TwoMoons, test: TwoMoons) {
        guard testCount >= 1 && testCount < count else {
            throw .invalidArgument(name: "testCount", expected: "in 1..<\(count) (each part needs a point)", actual: "\(testCount)")
        }
        return (try rows(0..<(count - testCount)), try rows((count - testCount)..<count))
    }

    /// One draw from the standard normal distribution (Box–Muller, cosine
    /// branch), from two uniform draws; `1 − u` keeps the logarithm's argument in `(0, 1]`.
    static func standardNormal(using generator: inout SeededRandomNumberGenerator) -> Double {
        let u = 1 - Double.random(in: 0..<1, using: &generator)
        let v = Double.random(in: 0..<1, using: &generator)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
