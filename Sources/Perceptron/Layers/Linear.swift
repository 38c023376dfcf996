/// A fully connected layer: `Z = XW + b`, with the gradients that backpropagation needs.
///
/// The input `X` holds one sample per row and `inputFeatures` (f) features per
/// column; the weight `W` is `f × m`, each column the weights of one of the
/// `outputFeatures` (m) neurons; the bias `b` has `m` entries and is added to
/// every row of `XW`.
///
/// ```swift
/// let layer = Linear<Float>(inputFeatures: 3, outputFeatures: 2)
/// let z = try layer(x)                          // x: [n, 3] → z: [n, 2]
/// let inputGradient = try layer.backward(g)     // g = ∂E/∂Z, shape [n, 2]
/// // layer.weightGradient = Xᵀg, layer.biasGradient = column sums of g
/// ```
///
/// Each pass is one or two GEMMs on the tensors' own buffers, run by OpenBLAS:
///
/// | result | GEMM | transposes | β |
/// |---|---|---|---|
/// | `Z = XW + b` | `X · W` into `Z` pre-filled with `b` in every row | none | 1 (0 without bias) |
/// | `∇W = XᵀG` | `Xᵀ · G` | A | 0, or 1 to accumulate |
/// | `∇X = GWᵀ` | `G · Wᵀ` | B | 0 |
///
/// and `∇b`, the column sums of `G`, is one GEMV, `Gᵀ·1`, which reads `G`
/// once in memory order rather than column by column. The two backward GEMMs
/// have the same number of multiply-adds and share no output, so with two
/// threads they run side by side, each whole on its own core
/// (``BLAS/threadCount``).
///
/// A layer keeps its last input (for ``backward(_:accumulate:)``) and reuses
/// the buffers of its results once the caller has let go of them, so a
/// training loop at a fixed batch size allocates nothing after its first step.
/// Because it holds that state, a layer is not `Sendable`: use one instance
/// from one task at a time.
///
/// The passes are compiled specialised for `Float` and `Double`
/// (`@_specialize`), so that a caller in another module, which sees only the
/// generic entry point, still runs code with no generic dispatch per element.
public final class Linear<Scalar: BLASScalar>: Layer {
    /// The number of features each input sample has (f).
    public let inputFeatures: Int

    /// The number of neurons, and so of outputs per sample (m).
    public let outputFeatures: Int

    /// The weight matrix `W`, of shape `[inputFeatures, outputFeatures]`.
    ///
    /// Assign a tensor of that shape; any other shape makes the next
    /// ``forward(_:)`` or ``backward(_:accumulate:)`` throw.
    public var weight: Tensor<Scalar>

    /// The bias vector `b`, of shape `[outputFeatures]`, or `nil` for a layer without bias.
    public var bias: Tensor<Scalar>?

    /// `∇W = XᵀG`, of shape `[inputFeatures, outputFeatures]`, from the last
    /// ``backward(_:accumulate:)`` (zeros before it).
    public internal(set) var weightGradient: Tensor<Scalar>

    /// `∇b`, the column sums of `G`, of shape `[outputFeatures]`; `nil` when the layer has no bias.
    public private(set) var biasGradient: Tensor<Scalar>?

    /// How the layer's three products are computed: ``Precision/float32``
    /// (the default) or ``Precision/bfloat16``.
    ///
    /// In bfloat16, `X`, `W` and `G` are rounded to bfloat16 for the
    /// products, which accumulate and write float32; ``weight``, ``bias``,
    /// the gradients and every tensor a pass takes or returns stay float32,
    /// and `∇b` and the bias are computed in float32. `W` is rounded once per
    /// forward pass and that copy serves its backward passes. A product too
    /// small for bfloat16 to pay, or any product on a CPU whose bfloat16
    /// arithmetic is no faster than float32's, runs in float32, so that a
    /// layer in bfloat16 is not slower than in float32; the thresholds were
    /// measured on a few CPUs (the article "Mixed precision" says which), and
    /// ``computesInBFloat16(rows:)`` says which batches run in bfloat16 here.
    ///
    /// A pass in bfloat16 throws ``PerceptronError/precisionUnavailable(what:reason:)``
    /// for `Linear<Double>`, in a build without the `OneDNN` trait, and on a
    /// CPU without bfloat16 instructions. A change takes effect at the next
    /// forward pass; a backward pass computes as its forward pass did.
    ///
    /// The precision is how the layer computes, not one of its parameters: a
    /// file that ``Layer/save(to:)`` writes does not record it, so a model
    /// rebuilt from a file computes in float32 until you set it again.
    public var precision: Precision = .float32

    /// Whether a pass over a batch of `rows` rows computes this layer's three
    /// products in bfloat16.
    ///
    /// `false` when ``precision`` is ``Precision/float32``. When it is
    /// ``Precision/bfloat16``, `true` where the layer's products (`rows·f·m`
    /// multiply-adds each) reach the threshold in force
    /// (``BLAS/OneDNNConfiguration/bfloat16Threshold``); below it, for an
    /// empty batch, and on a CPU where bfloat16 never pays (a `nil`
    /// threshold), the products run in float32 and this is `false`.
    ///
    /// A model in bfloat16 can mix the two: on a batch of 32, a 64 → 64 layer
    /// may compute in bfloat16 and a 64 → 10 layer after it in float32. Ask
    /// here rather than working it out, since the threshold depends on the
    /// CPU and on the kernel that computes. The answer holds for passes made
    /// while the layer's ``precision`` and the process-wide settings stay as
    /// they are.
    ///
    /// `rows` is the input's row count: for an input of rank 3 or more, every
    /// dimension but the last multiplied together.
    ///
    /// - Throws: ``PerceptronError/precisionUnavailable(what:reason:)`` where
    ///   a pass in bfloat16 would throw it (`Linear<Double>`, a build without
    ///   the `OneDNN` trait, a CPU without bfloat16 instructions);
    ///   ``PerceptronError/dimensionTooLarge(what:value:limit:)`` for `rows`
    ///   over `Int32.max`, as a pass would; and
    ///   ``PerceptronError/invalidArgument(name:expected:actual:)`` for a
    ///   negative `rows`.
    public func computesInBFloat16(rows: Int) throws(PerceptronError) -> Bool {
        guard rows >= 0 else { throw .invalidArgument(name: "rows", expected: "0 or more", actual: "\(rows)") }
        let sizes = try Self.productSizes(rows: rows, inputFeatures: inputFeatures, outputFeatures: outputFeatures)
        return try Self.runsInBFloat16(precision, sizes)
    }

    /// The bfloat16 copies of `X`, `W` and `G`, when the last forward pass ran in bfloat16.
    var bfloat16 = BFloat16Operands()

    /// The last forward pass's input `X`, kept for every backward pass until the next forward pass.
    private var input: Tensor<Scalar>?

    /// The last output (its shape is what a gradient must have) and the buffer before it.
    private var outputs = ForwardBuffers<Scalar>()

    /// The last input gradient, reused the same way.
    private var inputGradient: Tensor<Scalar>?

    /// A vector of ones at least as long as the batch: `∇b = Gᵀ·1` is one GEMV.
    private var ones: Tensor<Scalar>?

    /// Creates a layer initialised as PyTorch's `nn.Linear` is: every weight
    /// and bias uniform in `±1/√inputFeatures`, from the system's generator.
    ///
    /// A negative feature count is a programming error and traps.
    public convenience init(inputFeatures: Int, outputFeatures: Int, bias: Bool = true) {
        var generator = SystemRandomNumberGenerator()
        self.init(inputFeatures: inputFeatures, outputFeatures: outputFeatures, bias: bias, using: &generator)
    }

    /// Creates a layer initialised as PyTorch's `nn.Linear` is, drawing from
    /// `generator`: pass a ``SeededRandomNumberGenerator`` for reproducible weights.
    ///
    /// The weight is drawn first, row by row, then the bias. A negative
    /// feature count is a programming error and traps.
    public init<G: RandomNumberGenerator>(
        inputFeatures: Int, outputFeatures: Int, bias: Bool = true, using generator: inout G
    ) {
        guard inputFeatures >= 0 && outputFeatures >= 0 else {
            fatalError("Linear: feature counts must be ≥ 0, got inputFeatures \(inputFeatures), outputFeatures \(outputFeatures)")
        }
        // PyTorch: kaiming_uniform_(a: √5) for W, which is U(±1/√fan_in), and U(±1/√fan_in) for b.
        let bound: Scalar = inputFeatures > 0 ? 1 / Scalar(inputFeatures).squareRoot() : 0
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        self.weight = Tensor(shape: [inputFeatures, outputFeatures], randomIn: -bound...bound, using: &generator)
        self.bias = bias ? Tensor(shape: [outputFeatures], randomIn: -bound...bound, using: &generator) : nil
        self.weightGradient = Tensor(shape: [inputFeatures, outputFeatures])
        self.biasGradient = bias ? Tensor(shape: [outputFeatures]) : nil
    }

    /// Creates a layer with the given parameters: `weight` of shape `[f, m]`
    /// and `bias` of shape `[m]` (or `nil` for none).
    ///
    /// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` when
    ///   `weight` is not a matrix, ``PerceptronError/shapeMismatch(what:expected:actual:)``
    ///   when `bias` is not `[m]`.
    public init(weight: Tensor<Scalar>, bias: Tensor<Scalar>?) throws(PerceptronError) {
        guard weight.rank == 2 else {
            throw .rankMismatch(what: "Linear weight", expected: "a matrix [inputFeatures, outputFeatures]", shape: weight.shape)
        }
        let (f, m) = (weight.shape[0], weight.shape[1])
        if let bias, !bias.hasShape([m]) {
            throw .shapeMismatch(what: "Linear bias", expected: [m], actual: bias.shape)
        }
        self.inputFeatures = f
        self.outputFeatures = m
        self.weight = weight
        self.bias = bias
        self.weightGradient = Tensor(shape: [f, m])
        self.biasGradient = bias == nil ? nil : Tensor(shape: [m])
    }

    /// Computes `Z = XW + b` for `input` of shape `[f]` (one sample, giving
    /// `[m]`) or `[…, f]` (leading dimensions are the batch, giving `[…, m]`),
    /// and keeps `input` for ``backward(_:accumulate:)``.
    ///
    /// An empty batch gives an empty result. NaN and infinity propagate as in
    /// IEEE arithmetic.
    ///
    /// - Throws: ``PerceptronError/featureMismatch(expected:actual:shape:)``
    ///   when the last dimension is not ``inputFeatures``, a rank error for a
    ///   scalar input, a parameter-shape error if ``weight`` or ``bias`` were
    ///   replaced by tensors of the wrong shape, and
    ///   ``PerceptronError/dimensionTooLarge(what:value:limit:)`` when a size
    ///   exceeds what OpenBLAS accepts.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        let sizes = try productSizes(for: input)
        let inBFloat16 = try Self.runsInBFloat16(precision, sizes)
        var z = try outputs.next(shape: input.shape, lastDimension: outputFeatures)
        if inBFloat16 {
            let w̃ = Self.roundedWeight(weight, into: bfloat16.weight)
            try Self.affineInBFloat16(input, roundingInto: bfloat16.input, weight: w̃, bias: bias, sizes, into: &z)
        } else {
            affine(input, sizes, into: &z)
        }
        bfloat16.holdsForwardPass = inBFloat16
        self.input = input
        outputs.keep(z)
        return z
    }

    /// Computes `Z = XW + b` as ``forward(_:)`` does, bit for bit, keeping
    /// nothing: no reference to `input`, no buffer, no change a later
    /// ``backward(_:accumulate:)`` would see.
    ///
    /// - Throws: the errors of ``forward(_:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        let sizes = try productSizes(for: input)
        var z = try Tensor<Scalar>(uninitializedShape: input.shape, lastDimension: outputFeatures)
        if try Self.runsInBFloat16(precision, sizes) {
            // Rounded copies of its own: a prediction leaves the forward pass's alone.
            let buffers = (input: BFloat16Buffer(), weight: BFloat16Buffer())
            let w̃ = Self.roundedWeight(weight, into: buffers.weight)
            try Self.affineInBFloat16(input, roundingInto: buffers.input, weight: w̃, bias: bias, sizes, into: &z)
            withExtendedLifetime(buffers) {}
        } else {
            affine(input, sizes, into: &z)
        }
        return z
    }

    /// The sizes of `XW` for `input`, as BLAS integers, or the error that says why there is no such product.
    private func productSizes(for input: Tensor<Scalar>) throws(PerceptronError) -> (n: Int32, f: Int32, m: Int32) {
        try Self.checkInput(input, inputFeatures: inputFeatures)
        try checkParameters()
        return try Self.productSizes(rows: input.leadingCount, inputFeatures: inputFeatures, outputFeatures: outputFeatures)
    }

    /// `z ← input·W + b`, on sizes checked by ``productSizes(for:)``.
    private func affine(_ input: Tensor<Scalar>, _ sizes: (n: Int32, f: Int32, m: Int32), into z: inout Tensor<Scalar>) {
        Self.affine(input, weight: weight, bias: bias, sizes, into: &z)
    }

    // The checks and the arithmetic of a pass, on parameters passed in rather
    // than the layer's own: internal, so that an ``InferenceModel`` runs the
    // same code on its snapshot and gives ``predict(_:)``'s bits and errors.

    /// Throws unless `input` has rank 1 or more and `inputFeatures` features in its last dimension.
    static func checkInput(_ input: Tensor<Scalar>, inputFeatures: Int) throws(PerceptronError) {
        let rank = input.rank
        guard rank > 0 else {
            throw .rankMismatch(
                what: "Linear input", expected: "of rank 1 or more, with \(inputFeatures) features last",
                shape: input.shape)
        }
        let features = input.shape[rank - 1]
        guard features == inputFeatures else {
            throw .featureMismatch(expected: inputFeatures, actual: features, shape: input.shape)
        }
    }

    /// The sizes of `XW` for `rows` rows of `inputFeatures` into `outputFeatures`, as BLAS
    /// integers, or the error that names the one OpenBLAS cannot take.
    static func productSizes(
        rows: Int, inputFeatures: Int, outputFeatures: Int
    ) throws(PerceptronError) -> (n: Int32, f: Int32, m: Int32) {
        (try Kernels.checkedDimension(rows, "Linear batch size (rows of X)"),
         try Kernels.checkedDimension(inputFeatures, "Linear inputFeatures"),
         try Kernels.checkedDimension(outputFeatures, "Linear outputFeatures"))
    }

    /// `z ← input·weight + bias`, on sizes checked by ``productSizes(rows:inputFeatures:outputFeatures:)``
    /// and parameters of the shapes they give.
    static func affine(
        _ input: Tensor<Scalar>, weight: Tensor<Scalar>, bias: Tensor<Scalar>?, _ sizes: (n: Int32, f: Int32, m: Int32),
        into z: inout Tensor<Scalar>
    ) {
        let (width, rows) = (Int(sizes.m), Int(sizes.n))
        input.withUnsafeScalars { x in
            weight.withUnsafeScalars { w in
                z.withUnsafeMutableScalars { z in
                    let beta: Scalar = broadcast(bias, rows: rows, width: width, into: z)
                    Kernels.multiply(MatrixProduct(m: sizes.n, n: sizes.m, k: sizes.f, x, w, beta: beta, z))
                }
            }
        }
    }

    /// Writes `bias` into each of `rows` rows of `z` and returns the β that
    /// lets the product add `XW` on top: 1, or 0 (overwrite) without a bias.
    static func broadcast(_ bias: Tensor<Scalar>?, rows: Int, width: Int, into z: UnsafeMutablePointer<Scalar>) -> Scalar {
        guard let bias else { return 0 }
        bias.withUnsafeScalars { b in
            for row in 0..<rows { (z + row * width).update(from: b, count: width) }
        }
        return 1
    }

    /// The same as ``forward(_:)``.
    public func callAsFunction(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try forward(input)
    }

    /// Given `outputGradient` `G = ∂E/∂Z` for the last forward pass, sets
    /// ``weightGradient`` to `XᵀG` and ``biasGradient`` to the column sums of
    /// `G`, and returns `∂E/∂X = GWᵀ`, shaped like the last input.
    ///
    /// It may be called any number of times after one forward pass, each call
    /// computing the gradients afresh from the kept input `X` (or adding to
    /// them, with `accumulate`): the seed's contract, which keeps `X` for
    /// exactly this.
    ///
    /// - Parameters:
    ///   - outputGradient: `G = ∂E/∂Z`, shaped like the last output.
    ///   - accumulate: when `true`, adds to the stored gradients instead of
    ///     replacing them, as PyTorch's `.grad` does; call ``zeroGradients()``
    ///     to start again from zero.
    /// - Throws: ``PerceptronError/backwardBeforeForward(layer:)`` before any
    ///   forward pass, ``PerceptronError/shapeMismatch(what:expected:actual:)``
    ///   when `G`'s shape is not the last output's, and a parameter-shape error
    ///   if ``weight`` or ``bias`` were replaced by tensors of the wrong shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool = false) throws(PerceptronError) -> Tensor<Scalar> {
        guard let input, let output = outputs.last else { throw .backwardBeforeForward(layer: "Linear") }
        guard outputGradient.hasShape(output.shape) else {
            throw .shapeMismatch(what: "Linear output gradient", expected: output.shape, actual: outputGradient.shape)
        }
        try checkParameters()
        // Sizes were validated by the forward pass that produced `output`.
        let rows = output.leadingCount
        let n = Int32(truncatingIfNeeded: rows)
        let f = Int32(truncatingIfNeeded: inputFeatures)
        let m = Int32(truncatingIfNeeded: outputFeatures)
        let beta: Scalar = accumulate ? 1 : 0

        // ∇W = XᵀG: (f × n)(n × m), and ∇X = GWᵀ: (n × m)(m × f), in the
        // precision of the forward pass that kept X.
        var dx = try Tensor.reusing(&inputGradient, shape: input.shape)
        if bfloat16.holdsForwardPass {
            try backwardProductsInBFloat16(outputGradient, (n, f, m), beta: beta, into: &dx)
        } else {
            backwardProducts(input, outputGradient, (n, f, m), beta: beta, into: &dx)
        }
        inputGradient = dx

        // ∇b = Gᵀ·1, the column sums of G.
        if bias == nil {
            biasGradient = nil
        } else {
            if biasGradient == nil { biasGradient = Tensor(shape: [outputFeatures]) }
            let ones = onesVector(count: rows)
            outputGradient.withUnsafeScalars { g in
                ones.withUnsafeScalars { ones in
                    biasGradient!.withUnsafeMutableScalars { db in
                        Kernels.addColumnSums(of: g, rows: n, columns: m, ones: ones, beta: beta, into: db)
                    }
                }
            }
        }
        return dx
    }

    /// `∇W ← XᵀG + β·∇W` and `∇X ← GWᵀ` in float32: both read only X, G and W
    /// and have the same number of multiply-adds, so they run side by side
    /// when there are threads to spare.
    private func backwardProducts(
        _ input: Tensor<Scalar>, _ outputGradient: Tensor<Scalar>, _ sizes: (n: Int32, f: Int32, m: Int32),
        beta: Scalar, into dx: inout Tensor<Scalar>
    ) {
        let (n, f, m) = sizes
        input.withUnsafeScalars { x in
            outputGradient.withUnsafeScalars { g in
                weight.withUnsafeScalars { w in
                    weightGradient.withUnsafeMutableScalars { dw in
                        dx.withUnsafeMutableScalars { dx in
                            Kernels.multiply(
                                MatrixProduct(transposeA: true, m: f, n: m, k: n, x, g, beta: beta, dw),
                                alongside: MatrixProduct(transposeB: true, m: n, n: f, k: m, g, w, beta: 0, dx))
                        }
                    }
                }
            }
        }
    }

    /// Visits `weight` and then, if the layer has one, `bias`, each with its gradient.
    public func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: inout Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        try body("weight", &weight, &weightGradient)
        if bias != nil, biasGradient != nil {
            try body("bias", &bias!, &biasGradient!)
        }
    }

    /// Lets go of the kept input, the output buffers and the input gradient.
    public func releaseCaches() {
        input = nil
        bfloat16.release()
        outputs.release()
        inputGradient = nil
    }

    /// Throws if ``weight`` or ``bias`` was replaced by a tensor of the wrong shape.
    ///
    /// Internal: an ``InferenceModel`` checks the parameters it takes with it, once.
    func checkParameters() throws(PerceptronError) {
        // Compared entry by entry: this runs every pass, and an array literal would allocate.
        let w = weight.shape
        guard w.count == 2, w[0] == inputFeatures, w[1] == outputFeatures else {
            throw .shapeMismatch(what: "Linear weight", expected: [inputFeatures, outputFeatures], actual: weight.shape)
        }
        if let b = bias?.shape, b.count != 1 || b[0] != outputFeatures {
            throw .shapeMismatch(what: "Linear bias", expected: [outputFeatures], actual: b)
        }
    }

    /// A vector of at least `count` ones, grown when a larger batch comes.
    private func onesVector(count: Int) -> Tensor<Scalar> {
        if let ones, ones.count >= count { return ones }
        let grown = Tensor<Scalar>(shape: [count], repeating: 1)
        ones = grown
        return grown
    }
}
