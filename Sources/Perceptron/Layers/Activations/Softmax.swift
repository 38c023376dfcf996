/// The softmax over the last dimension: each row of the input becomes a
/// probability distribution, `yᵢ = e^(xᵢ − max) / Σⱼ e^(xⱼ − max)`.
///
/// Subtracting the row's maximum keeps every exponential at most 1, so large
/// inputs cannot overflow. For training a classifier, prefer
/// ``SoftmaxCrossEntropy``, which fuses softmax and the loss and is stabler.
public final class Softmax<Scalar: BLASScalar>: ParameterlessLayer {
    private var cache = ElementwiseCache<Scalar>()

    /// Creates the activation.
    public init() {}

    /// Normalises every row (the last dimension) of `input`, keeping the
    /// output for the backward pass.
    ///
    /// - Throws: a rank error for a rank-0 input.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        let columns = try Self.rowLength(of: input)
        return try cache.forward(input) { x, y, count in Self.normaliseRows(x, y, count: count, columns: columns) }
    }

    /// Normalises every row (the last dimension) of `input`, keeping nothing.
    ///
    /// - Throws: a rank error for a rank-0 input.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        let columns = try Self.rowLength(of: input)
        return try ElementwiseCache.predict(input) { x, y, count in Self.normaliseRows(x, y, count: count, columns: columns) }
    }

    /// Lets go of the kept input and output.
    public func releaseCaches() { cache.release() }

    /// The length of the rows that are normalised, or an error for a rank-0 input.
    ///
    /// Internal, as is ``normaliseRows(_:_:count:columns:)``: an ``InferenceModel``
    /// runs the same check and loop, and so gives ``predict(_:)``'s bits and errors.
    static func rowLength(of input: Tensor<Scalar>) throws(PerceptronError) -> Int {
        guard input.rank > 0 else {
            throw .rankMismatch(what: "Softmax input", expected: "of rank 1 or more", shape: input.shape)
        }
        return input.shape[input.rank - 1]
    }

    /// Normalises each row of `columns` scalars of the `count` at `x` into `y`.
    static func normaliseRows(_ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, count: Int, columns: Int) {
        guard columns > 0 else { return }
        var row = 0
        while row < count {
            normalise(x + row, into: y + row, count: columns)
            row += columns
        }
    }

    /// `∂E/∂xᵢ = yᵢ (∂E/∂yᵢ − Σⱼ ∂E/∂yⱼ yⱼ)`, row by row, from the kept output.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        let columns = cache.outputRowLength
        return try cache.backward(outputGradient, layer: "Softmax") { _, y, g, dx, count in
            guard columns > 0 else { return }
            var row = 0
            while row < count {
                var dot: Scalar = 0
                for j in row..<(row + columns) { dot += g[j] * y[j] }
                for j in row..<(row + columns) { dx[j] = y[j] * (g[j] - dot) }
                row += columns
            }
        }
    }

    /// Writes the softmax of `count` (at least 1) scalars at `x` to `y`, and
    /// returns the row's maximum and `Σ e^(xⱼ − max)`, from which
    /// ``SoftmaxCrossEntropy`` takes its log-sum-exp.
    @inline(__always) @discardableResult
    static func normalise(
        _ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, count: Int
    ) -> (maximum: Scalar, sum: Scalar) {
        var maximum = x[0]
        for j in 1..<max(count, 1) where !(x[j] <= maximum) { maximum = x[j] }   // NaN wins, and propagates
        var sum: Scalar = 0
        for j in 0..<count {
            y[j] = Elementary.exp(x[j] - maximum)
            sum += y[j]
        }
        let scale = 1 / sum
        for j in 0..<count { y[j] *= scale }
        return (maximum, sum)
    }
}
