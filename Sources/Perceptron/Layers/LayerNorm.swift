/// Layer normalisation over the last dimension: each row `x` of `features`
/// scalars becomes `y = (x − mean(x)) / √(var(x) + ε) · weight + bias`, with
/// the biased variance `var(x) = mean((x − mean(x))²)`; PyTorch's
/// `nn.LayerNorm(features, eps=ε, elementwise_affine=affine)`.
///
/// ```swift
/// let norm = LayerNorm<Float>(features: 64)
/// let y = try norm(x)                       // x: [batch, tokens, 64] → y: the same shape
/// let dx = try norm.backward(g)             // also sets weightGradient and biasGradient
/// ```
///
/// Every leading dimension is a batch dimension: the statistics of each row
/// are its own, so a row's output does not depend on the other rows.
///
/// The forward pass keeps the normalised input `x̂ = (x − mean) / σ` and, per
/// row, `1/σ` with `σ = √(var + ε)`, and the backward pass uses them in the
/// closed form for a row of `n` features, with `ĝ = ∂E/∂y ⊙ weight`:
///
/// `∂E/∂x = (1/σ) · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))`
///
/// and `∂E/∂weight = Σ_rows ∂E/∂y ⊙ x̂`, `∂E/∂bias = Σ_rows ∂E/∂y`.
public final class LayerNorm<Scalar: BLASScalar>: Layer {
    /// The size of the last dimension, over which each row is normalised.
    public let features: Int

    /// The `ε` added to the variance before its square root, which keeps a
    /// row of equal values (variance 0) finite; PyTorch's `eps`.
    public let epsilon: Scalar

    /// The per-feature scale, of shape `[features]`, initialised to ones; `nil` without affine parameters.
    ///
    /// Assign a tensor of that shape; any other shape makes the next
    /// ``forward(_:)`` or ``backward(_:accumulate:)`` throw.
    public var weight: Tensor<Scalar>?

    /// The per-feature shift, of shape `[features]`, initialised to zeros; `nil` without affine parameters.
    ///
    /// Assign a tensor of that shape; any other shape makes the next
    /// ``forward(_:)`` or ``backward(_:accumulate:)`` throw.
    public var bias: Tensor<Scalar>?

    /// `∂E/∂weight = Σ_rows ∂E/∂y ⊙ x̂`, of shape `[features]`, from the last
    /// ``backward(_:accumulate:)`` (zeros before it); `nil` when there is no ``weight``.
    public private(set) var weightGradient: Tensor<Scalar>?

    /// `∂E/∂bias = Σ_rows ∂E/∂y`, of shape `[features]`, from the last
    /// ``backward(_:accumulate:)`` (zeros before it); `nil` when there is no ``bias``.
    public private(set) var biasGradient: Tensor<Scalar>?

    /// The last forward pass's normalised input `x̂`, shaped like its input.
    private var normalised: Tensor<Scalar>?
    /// The last forward pass's `1/σ`, one per row: shaped like its input with a last dimension of 1.
    private var inverseDeviations: Tensor<Scalar>?
    /// The last output (its shape is what a gradient must have) and the buffer before it.
    private var outputs = ForwardBuffers<Scalar>()
    private var inputGradient: Tensor<Scalar>?
    /// The backward pass's per-feature sums, `[2, features]`, before they are
    /// stored or added: so `accumulate` adds each sum once, as a whole.
    private var parameterSums: Tensor<Scalar>?

    /// Creates the layer for rows of `features` scalars, with `weight` ones
    /// and `bias` zeros when `affine` (PyTorch's `elementwise_affine`) and
    /// neither otherwise.
    ///
    /// `epsilon` should be positive (PyTorch's default is 1e-5): a row of equal
    /// values otherwise divides 0 by 0. A negative feature count is a
    /// programming error and traps.
    public init(features: Int, epsilon: Scalar = 1e-5, affine: Bool = true) {
        guard features >= 0 else {
            fatalError("LayerNorm: features must be ≥ 0, got \(features)")
        }
        self.features = features
        self.epsilon = epsilon
        self.weight = affine ? Tensor(shape: [features], repeating: 1) : nil
        self.bias = affine ? Tensor(shape: [features]) : nil
        self.weightGradient = affine ? Tensor(shape: [features]) : nil
        self.biasGradient = affine ? Tensor(shape: [features]) : nil
    }

    /// Normalises every row (the last dimension) of `input`, of shape
    /// `[…, features]`, and keeps `x̂` and `1/σ` for ``backward(_:accumulate:)``.
    ///
    /// An empty batch gives an empty result. A NaN or an infinity makes its whole row NaN.
    ///
    /// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` for a
    ///   rank-0 input, ``PerceptronError/featureMismatch(expected:actual:shape:)``
    ///   when the last dimension is not ``features``, and
    ///   ``PerceptronError/shapeMismatch(what:expected:actual:)`` if ``weight``
    ///   or ``bias`` were replaced by tensors of the wrong shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        let rows = try checkInput(input)
        var xHat = try Tensor.reusing(&normalised, shape: input.shape)
        // Shaped like the input with a last dimension of 1: one per row, and no array literal to allocate.
        var inverse = try Tensor.reusing(&inverseDeviations, shape: input.shape, lastDimension: 1)
        var y = try outputs.next(shape: input.shape)
        input.withUnsafeScalars { x in
            xHat.withUnsafeMutableScalars { xHat in
                inverse.withUnsafeMutableScalars { inverse in
                    y.withUnsafeMutableScalars { y in
                        normalise(x, rows: rows, normalised: xHat, inverseDeviations: inverse, into: y)
                    }
                }
            }
        }
        normalised = xHat
        inverseDeviations = inverse
        outputs.keep(y)
        return y
    }

    /// Normalises every row of `input` as ``forward(_:)`` does, bit for bit,
    /// keeping nothing: no reference to `input`, no buffer, no change a later
    /// ``backward(_:accumulate:)`` would see.
    ///
    /// - Throws: the errors of ``forward(_:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        let rows = try checkInput(input)
        var y = try Tensor<Scalar>(uninitializedShape: input.shape)
        input.withUnsafeScalars { x in
            y.withUnsafeMutableScalars { y in
                // x̂ is written into y and scaled there: the same operations as forward's.
                normalise(x, rows: rows, normalised: y, inverseDeviations: nil, into: y)
            }
        }
        return y
    }

    /// The number of rows of `input`, or the error that says why it cannot be normalised.
    private func checkInput(_ input: Tensor<Scalar>) throws(PerceptronError) -> Int {
        try Self.checkInput(input, features: features)
        try checkParameters()
        return input.leadingCount
    }

    /// The forward arithmetic on the layer's own parameters.
    private func normalise(
        _ x: UnsafePointer<Scalar>, rows: Int, normalised: UnsafeMutablePointer<Scalar>,
        inverseDeviations: UnsafeMutablePointer<Scalar>?, into y: UnsafeMutablePointer<Scalar>
    ) {
        Self.normalise(
            x, rows: rows, features: features, epsilon: epsilon, weight: weight, bias: bias,
            normalised: normalised, inverseDeviations: inverseDeviations, into: y)
    }

    // The check and the arithmetic of a pass, on parameters passed in rather
    // than the layer's own: internal, so that an ``InferenceModel`` runs the
    // same code on its snapshot and gives ``predict(_:)``'s bits and errors.

    /// Throws unless `input` has rank 1 or more and `features` scalars in its last dimension.
    static func checkInput(_ input: Tensor<Scalar>, features: Int) throws(PerceptronError) {
        guard input.rank > 0 else {
            throw .rankMismatch(
                what: "LayerNorm input", expected: "of rank 1 or more, with \(features) features last", shape: input.shape)
        }
        let last = input.shape[input.rank - 1]
        guard last == features else {
            throw .featureMismatch(expected: features, actual: last, shape: input.shape)
        }
    }

    /// The forward arithmetic, shared by ``forward(_:)`` and ``predict(_:)``:
    /// per row of `features` scalars, the mean, the biased variance about it
    /// (two passes, which loses less to cancellation than `mean(x²) − mean²`),
    /// `1/σ`, `x̂ = (x − mean)·(1/σ)` into `normalised`, then
    /// `y = x̂·weight + bias`. `normalised` may be `y` itself; `weight` and
    /// `bias`, when given, hold `features` scalars.
    static func normalise(
        _ x: UnsafePointer<Scalar>, rows: Int, features: Int, epsilon: Scalar, weight: Tensor<Scalar>?, bias: Tensor<Scalar>?,
        normalised: UnsafeMutablePointer<Scalar>, inverseDeviations: UnsafeMutablePointer<Scalar>?,
        into y: UnsafeMutablePointer<Scalar>
    ) {
        let n = features
        guard n > 0 else { return }
        let divisor = Scalar(n)
        for row in 0..<rows {
            let (x, xHat) = (x + row * n, normalised + row * n)
            var sum: Scalar = 0
            for j in 0..<n { sum += x[j] }
            let mean = sum / divisor
            var squares: Scalar = 0
            for j in 0..<n {
                let d = x[j] - mean
                squares += d * d
            }
            let inverse = 1 / (squares / divisor + epsilon).squareRoot()
            inverseDeviations?[row] = inverse
            for j in 0..<n { xHat[j] = (x[j] - mean) * inverse }
        }
        let count = rows * n
        switch (weight, bias) {
        case let (weight?, bias?):
            weight.withUnsafeScalars { w in
                bias.withUnsafeScalars { b in
                    for row in 0..<rows {
                        let (xHat, y) = (normalised + row * n, y + row * n)
                        for j in 0..<n { y[j] = xHat[j] * w[j] + b[j] }
                    }
                }
            }
        case let (weight?, nil):
            weight.withUnsafeScalars { w in
                for row in 0..<rows {
                    let (xHat, y) = (normalised + row * n, y + row * n)
                    for j in 0..<n { y[j] = xHat[j] * w[j] }
                }
            }
        case let (nil, bias?):
            bias.withUnsafeScalars { b in
                for row in 0..<rows {
                    let (xHat, y) = (normalised + row * n, y + row * n)
                    for j in 0..<n { y[j] = xHat[j] + b[j] }
                }
            }
        case (nil, nil):
            if UnsafePointer(normalised) != UnsafePointer(y) { y.update(from: normalised, count: count) }
        }
    }

    /// Given `outputGradient` `∂E/∂y` for the last forward pass, sets
    /// ``weightGradient`` to `Σ_rows ∂E/∂y ⊙ x̂` and ``biasGradient`` to
    /// `Σ_rows ∂E/∂y`, and returns, row by row,
    /// `∂E/∂x = (1/σ)(ĝ − mean(ĝ) − x̂·mean(ĝ ⊙ x̂))` with `ĝ = ∂E/∂y ⊙ weight`
    /// (`ĝ = ∂E/∂y` without a weight), shaped like the last input.
    ///
    /// It may be called any number of times after one forward pass, each call
    /// computing the gradients afresh from the kept `x̂` and `1/σ`.
    ///
    /// - Parameters:
    ///   - outputGradient: `∂E/∂y`, shaped like the last output.
    ///   - accumulate: when `true`, adds to the stored parameter gradients
    ///     instead of replacing them, as PyTorch's `.grad` does; call
    ///     ``zeroGradients()`` to start again from zero.
    /// - Throws: ``PerceptronError/backwardBeforeForward(layer:)`` without a
    ///   forward pass to refer to, ``PerceptronError/shapeMismatch(what:expected:actual:)``
    ///   when `outputGradient` is not shaped like the last output or if
    ///   ``weight`` or ``bias`` were replaced by tensors of the wrong shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        guard let normalised, let inverseDeviations, let output = outputs.last else {
            throw .backwardBeforeForward(layer: "LayerNorm")
        }
        guard outputGradient.hasShape(output.shape) else {
            throw .shapeMismatch(what: "LayerNorm output gradient", expected: output.shape, actual: outputGradient.shape)
        }
        try checkParameters()
        let (n, rows, weight) = (features, inverseDeviations.count, self.weight)
        var dx = try Tensor.reusing(&inputGradient, shape: output.shape)
        // Not batch-sized: made once (a shape literal here would allocate on every call).
        var sums = parameterSums.take() ?? Tensor(shape: [2, n])
        let divisor = Scalar(n)
        outputGradient.withUnsafeScalars { g in
            normalised.withUnsafeScalars { xHat in
                inverseDeviations.withUnsafeScalars { inverse in
                    Tensor.withUnsafeScalars(of: weight) { w in
                        dx.withUnsafeMutableScalars { dx in
                            sums.withUnsafeMutableScalars { sums in
                                let (weightSums, biasSums) = (sums, sums + n)
                                for j in 0..<(2 * n) { sums[j] = 0 }
                                guard n > 0 else { return }
                                for row in 0..<rows {
                                    let (g, xHat, dx) = (g + row * n, xHat + row * n, dx + row * n)
                                    for j in 0..<n {
                                        weightSums[j] += g[j] * xHat[j]
                                        biasSums[j] += g[j]
                                    }
                                    // ĝ = g ⊙ weight goes into dx, which is then finished in place.
                                    if let w {
                                        for j in 0..<n { dx[j] = g[j] * w[j] }
                                    } else {
                                        dx.update(from: g, count: n)
                                    }
                                    var sum: Scalar = 0
                                    var dot: Scalar = 0
                                    for j in 0..<n {
                                        sum += dx[j]
                                        dot += dx[j] * xHat[j]
                                    }
                                    let (mean, meanDot, scale) = (sum / divisor, dot / divisor, inverse[row])
                                    for j in 0..<n { dx[j] = scale * (dx[j] - mean - xHat[j] * meanDot) }
                                }
                            }
                        }
                    }
                }
            }
        }
        inputGradient = dx
        store(sums, half: 0, into: &weightGradient, exists: weight != nil, accumulate: accumulate)
        store(sums, half: 1, into: &biasGradient, exists: bias != nil, accumulate: accumulate)
        parameterSums = sums
        return dx
    }

    /// Stores the per-feature sums `sums[half]` into `gradient`, replacing or
    /// adding to it in place, or sets it to `nil` when the parameter does not exist.
    private func store(
        _ sums: Tensor<Scalar>, half: Int, into gradient: inout Tensor<Scalar>?, exists: Bool, accumulate: Bool
    ) {
        guard exists else {
            gradient = nil
            return
        }
        let n = features
        let add = accumulate && gradient != nil
        if gradient == nil { gradient = Tensor(shape: [n]) }
        sums.withUnsafeScalars { sums in
            gradient!.withUnsafeMutableScalars { stored in
                let source = sums + half * n
                if add {
                    for j in 0..<n { stored[j] += source[j] }
                } else {
                    stored.update(from: source, count: n)
                }
            }
        }
    }

    /// Visits `weight` and then `bias`, each with its gradient, when the layer has them.
    public func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: inout Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        if weight != nil {
            if weightGradient == nil { weightGradient = Tensor(shape: [features]) }
            try body("weight", &weight!, &weightGradient!)
        }
        if bias != nil {
            if biasGradient == nil { biasGradient = Tensor(shape: [features]) }
            try body("bias", &bias!, &biasGradient!)
        }
    }

    /// Lets go of the kept `x̂` and `1/σ`, the output buffers, the input gradient and the scratch sums.
    public func releaseCaches() {
        normalised = nil
        inverseDeviations = nil
        outputs.release()
        inputGradient = nil
        parameterSums = nil
    }

    /// Throws if ``weight`` or ``bias`` was replaced by a tensor of the wrong shape.
    ///
    /// Internal: an ``InferenceModel`` checks the parameters it takes with it, once.
    func checkParameters() throws(PerceptronError) {
        // Compared entry by entry: this runs every pass, and an array literal would allocate.
        if let w = weight?.shape, w.count != 1 || w[0] != features {
            throw .shapeMismatch(what: "LayerNorm weight", expected: [features], actual: w)
        }
        if let b = bias?.shape, b.count != 1 || b[0] != features {
            throw .shapeMismatch(what: "LayerNorm bias", expected: [features], actual: b)
        }
    }
}
