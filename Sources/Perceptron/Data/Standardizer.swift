import Foundation

/// Per-feature standardisation, `(x − mean) / scale`, with the statistics of
/// one data set (the training rows) applied to any other: scikit-learn's
/// `StandardScaler` with its defaults.
///
/// Fitting measures, for each column (the last dimension), the mean and the
/// population standard deviation (`ddof = 0`, numpy's default) over every
/// row, accumulating in `Double` whatever `Scalar` is. A column that does not
/// vary gets a scale of 1, so it is only centred, never divided by zero or by
/// rounding noise; "does not vary" is scikit-learn's test, a variance no
/// larger than `n·ε·var + (n·mean·ε)²` with `ε` of `Double`, which also
/// catches a constant column whose computed variance is rounding error.
///
/// ```swift
/// let scaler = try Standardizer(fitting: trainFeatures)
/// let train = try scaler.transform(trainFeatures)
/// let test = try scaler.transform(testFeatures)   // the training statistics
/// try scaler.save(to: modelDirectory)             // mean.npy, scale.npy
/// ```
///
/// NaN or infinity in the fitted data makes that column's mean and scale NaN,
/// which then propagates; scikit-learn skips NaNs instead. Check with
/// ``Tensor/isFinite`` first when the data may hold them.
public struct Standardizer<Scalar: BLASScalar>: Sendable {
    /// The mean of each feature, shape `[features]`: scikit-learn's `mean_`.
    public let mean: Tensor<Scalar>

    /// The standard deviation of each feature, or 1 for a feature that does
    /// not vary, shape `[features]`: scikit-learn's `scale_`.
    public let scale: Tensor<Scalar>

    /// The number of features (columns) this standardiser takes.
    public var featureCount: Int { mean.count }

    /// Measures the mean and scale of each column of `features`, whose last
    /// dimension is the features and every dimension before it samples
    /// (`[n, f]`, or `[a, b, f]` for `a·b` samples).
    ///
    /// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` unless
    ///   `features` has rank 2 or more, and
    ///   ``PerceptronError/invalidArgument(name:expected:actual:)`` when it has
    ///   no rows, whose mean would be undefined.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(fitting features: Tensor<Scalar>) throws(PerceptronError) {
        guard features.rank >= 2 else {
            throw .rankMismatch(
                what: "the features a Standardizer is fitted on", expected: "of rank 2 or more ([samples, features])",
                shape: features.shape)
        }
        let columns = features.shape[features.rank - 1]
        let rows = features.leadingCount
        guard rows > 0 else {
            throw .invalidArgument(
                name: "the features a Standardizer is fitted on", expected: "of at least one row",
                actual: "of shape \(features.shape)")
        }
        var mean = try Tensor<Scalar>(uninitializedShape: [columns])
        var scale = try Tensor<Scalar>(uninitializedShape: [columns])
        let n = Double(rows)
        var sums = [Double](repeating: 0, count: columns)
        var deviations = [Double](repeating: 0, count: columns)
        var squares = [Double](repeating: 0, count: columns)
        features.withUnsafeScalars { x in
            for row in 0..<rows {
                for column in 0..<columns { sums[column] += Double(x[row * columns + column]) }
            }
            for column in 0..<columns { sums[column] /= n }
            // scikit-learn's corrected two-pass algorithm: the squares of the
            // deviations, less the square of their sum, which is zero but for
            // the rounding of the mean.
            for row in 0..<rows {
                for column in 0..<columns {
                    let deviation = Double(x[row * columns + column]) - sums[column]
                    deviations[column] += deviation
                    squares[column] += deviation * deviation
                }
            }
        }
        let epsilon = Double.ulpOfOne
        mean.withUnsafeMutableScalars { meanOut in
            scale.withUnsafeMutableScalars { scaleOut in
                for column in 0..<columns {
                    let average = sums[column]
                    let variance = (squares[column] - deviations[column] * deviations[column] / n) / n
                    let constant = variance <= n * epsilon * variance + (n * average * epsilon) * (n * average * epsilon)
                    meanOut[column] = Scalar(average)
                    scaleOut[column] = constant ? 1 : Scalar(variance.squareRoot())
                }
            }
        }
        self.mean = mean
        self.scale = scale
    }

    /// A standardiser with the given statistics, such as scikit-learn's
    /// `mean_` and `scale_` saved with `np.save`.
    ///
    /// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` unless
    ///   both are vectors, ``PerceptronError/shapeMismatch(what:expected:actual:)``
    ///   unless they have one length, and
    ///   ``PerceptronError/invalidArgument(name:expected:actual:)`` for a mean
    ///   that is not finite or a scale that is not finite and positive.
    public init(mean: Tensor<Scalar>, scale: Tensor<Scalar>) throws(PerceptronError) {
        try self.init(mean: mean, scale: scale, source: "")
    }

    /// As ``init(mean:scale:)``, with `source` (a directory, or empty) named in errors.
    private init(mean: Tensor<Scalar>, scale: Tensor<Scalar>, source: String) throws(PerceptronError) {
        let place = source.isEmpty ? "" : " in \(source)"
        guard mean.rank == 1 else {
            throw .rankMismatch(what: "the mean\(place)", expected: "a vector [features]", shape: mean.shape)
        }
        guard scale.shape == mean.shape else {
            throw .shapeMismatch(what: "the scale\(place) (one entry per feature, as the mean)", expected: mean.shape, actual: scale.shape)
        }
        let scalars = (mean: mean.scalars, scale: scale.scalars)
        for (column, value) in scalars.mean.enumerated() where !value.isFinite {
            throw .invalidArgument(name: "mean[\(column)]\(place)", expected: "finite", actual: "\(value)")
        }
        for (column, value) in scalars.scale.enumerated() where !(value.isFinite && value > 0) {
            throw .invalidArgument(name: "scale[\(column)]\(place)", expected: "finite and > 0", actual: "\(value)")
        }
        self.mean = mean
        self.scale = scale
    }

    /// Returns `(x − mean) / scale`, feature by feature: scikit-learn's
    /// `transform`. `x` has the features in its last dimension, any rank of 1
    /// or more (a single sample `[f]`, or `[n, f]`), and the result its shape.
    ///
    /// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` for a
    ///   rank-0 `x`, ``PerceptronError/featureMismatch(expected:actual:shape:)``
    ///   when its last dimension is not ``featureCount``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func transform(_ x: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try map(x, "transform") { value, mean, scale in (value - mean) / scale }
    }

    /// Returns `x · scale + mean`, feature by feature, undoing ``transform(_:)``
    /// up to rounding: scikit-learn's `inverse_transform`.
    ///
    /// - Throws: as ``transform(_:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func inverseTransform(_ x: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try map(x, "inverseTransform") { value, mean, scale in value * scale + mean }
    }

    /// Writes ``mean`` and ``scale`` to `directory` (created if needed) as
    /// `mean.npy` and `scale.npy`, each atomically, in the `.npy` format that
    /// `np.load` reads.
    ///
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` when the
    ///   directory cannot be created or a file cannot be written.
    public func save(to directory: URL) throws(PerceptronError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .fileError(path: directory.path, operation: "create directory", reason: "\(error.localizedDescription)")
        }
        try mean.writeNPY(to: Self.file("mean", in: directory))
        try scale.writeNPY(to: Self.file("scale", in: directory))
    }

    /// Reads a standardiser from `mean.npy` and `scale.npy` in `directory`, as
    /// ``save(to:)`` writes them (or `np.save` does, from scikit-learn's
    /// `mean_` and `scale_` in this precision), checking them as
    /// ``init(mean:scale:)`` does.
    ///
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` or
    ///   ``PerceptronError/invalidNPY(path:reason:)`` for a file that cannot be
    ///   read as a tensor of this precision, and the errors of ``init(mean:scale:)``.
    public init(contentsOf directory: URL) throws(PerceptronError) {
        let mean = try Tensor<Scalar>(contentsOfNPY: Self.file("mean", in: directory))
        let scale = try Tensor<Scalar>(contentsOfNPY: Self.file("scale", in: directory))
        try self.init(mean: mean, scale: scale, source: directory.path)
    }

    private static func file(_ name: String, in directory: URL) -> URL {
        directory.appendingPathComponent(name + ".npy", isDirectory: false)
    }

    /// `operation(x, mean, scale)` for every scalar of `x`, with the mean and
    /// scale of its column, into a new tensor of `x`'s shape.
    private func map(
        _ x: Tensor<Scalar>, _ name: String, _ operation: (Scalar, Scalar, Scalar) -> Scalar
    ) throws(PerceptronError) -> Tensor<Scalar> {
        guard let columns = x.shape.last else {
            throw .rankMismatch(what: "the input of Standardizer.\(name)", expected: "of rank 1 or more ([..., features])", shape: x.shape)
        }
        guard columns == featureCount else {
            throw .featureMismatch(expected: featureCount, actual: columns, shape: x.shape)
        }
        var result = try Tensor<Scalar>(uninitializedShape: x.shape)
        let rows = x.leadingCount
        x.withUnsafeScalars { x in
            mean.withUnsafeScalars { mean in
                scale.withUnsafeScalars { scale in
                    result.withUnsafeMutableScalars { out in
                        for row in 0..<rows {
                            let offset = row * columns
                            for column in 0..<columns {
                                out[offset + column] = operation(x[offset + column], mean[column], scale[column])
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
