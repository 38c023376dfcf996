// The layer's three products in bfloat16 (`Linear.precision`): each operand
// is rounded once into a buffer the layer keeps (X by Perceptron's kernel as
// it reads it, where that kernel runs), and the products go to the
// mixed-precision backend, which accumulates and writes float32.
//
//   forward    X → X̃, W → W̃     Z = X̃·W̃ (+ b, added by the kernel as it writes Z)
//   backward   G → G̃            ∇W = X̃ᵀ·G̃,  ∇X = G̃·W̃ᵀ
//
// X̃ and W̃ are the forward pass's, so that every backward pass of one step
// reads what the forward pass computed with, and W is rounded once per step.

/// The bfloat16 copies of a layer's operands.
struct BFloat16Operands {
    /// X̃, W̃ and G̃.
    let input = BFloat16Buffer(), weight = BFloat16Buffer(), outputGradient = BFloat16Buffer()

    /// Whether the last forward pass ran in bfloat16, so that `input` and
    /// `weight` hold its X̃ and W̃ and its backward passes run in bfloat16 too.
    var holdsForwardPass = false

    /// Lets go of the buffers.
    mutating func release() {
        input.release()
        weight.release()
        outputGradient.release()
        holdsForwardPass = false
    }
}

extension Linear {
    /// Whether a pass of `sizes` in `precision` runs its products in bfloat16.
    ///
    /// - Throws: ``PerceptronError/precisionUnavailable(what:reason:)`` for
    ///   bfloat16 where it cannot run: a `Double` layer, a build without the
    ///   `OneDNN` trait, a CPU without bfloat16 instructions.
    static func runsInBFloat16(_ precision: Precision, _ sizes: (n: Int32, f: Int32, m: Int32)) throws(PerceptronError) -> Bool {
        guard precision == .bfloat16 else { return false }
        guard Scalar.self == Float.self else {
            throw .precisionUnavailable(
                what: "Linear<\(Scalar.self)> in bfloat16",
                reason: "bfloat16 products are for Linear<Float>; a Linear<\(Scalar.self)> computes in \(Scalar.self)")
        }
        return try MixedPrecision.runsInBFloat16(
            multiplyAdds: Double(sizes.n) * Double(sizes.f) * Double(sizes.m), what: "Linear<Float> in bfloat16")
    }

    /// `z ← round(input)·w̃ + bias`, accumulated in float32, for a `Float`
    /// layer: `input` is rounded into `inputBuffer`, and `w̃` is the weight
    /// already rounded (``roundedWeight(_:into:)``), once per forward pass
    /// for a layer and once for good for an ``InferenceModel``.
    static func affineInBFloat16(
        _ input: Tensor<Scalar>, roundingInto inputBuffer: BFloat16Buffer, weight w̃: UnsafePointer<UInt16>,
        bias: Tensor<Scalar>?, _ sizes: (n: Int32, f: Int32, m: Int32), into z: inout Tensor<Scalar>
    ) throws(PerceptronError) {
        let count = Int(sizes.n) * Int(sizes.f)
        // Read once: the product is made for this kernel and computed on it.
        let backend = MixedPrecision.backend
        // Perceptron's kernel rounds X as it reads it, a block at a time, so
        // that X is read from memory once; oneDNN's reads X̃, rounded first.
        let roundsAsItReads = backend == .perceptron
        // The bias goes to the kernel rather than into Z first (as the float32
        // route broadcasts it for OpenBLAS): Z is then written once, not
        // written, read back and written again.
        try input.withUnsafeScalars { (x) throws(PerceptronError) in
            let x̃ = roundsAsItReads ? UnsafePointer(inputBuffer.reserve(count)) : inputBuffer.round(floats(x), count: count)
            try z.withUnsafeMutableScalars { (z) throws(PerceptronError) in
                try Tensor.withUnsafeScalars(of: bias) { (b) throws(PerceptronError) in
                    var product = MixedPrecisionProduct(
                        m: sizes.n, n: sizes.m, k: sizes.f, x̃, w̃, beta: 0, mutableFloats(z), bias: b.map(floats),
                        bfloat16Backend: backend)
                    if roundsAsItReads { product.unroundedA = floats(x) }
                    try Kernels.multiply(product)
                }
            }
        }
    }

    /// `weight` (of a `Float` layer) rounded into `buffer`.
    static func roundedWeight(_ weight: Tensor<Scalar>, into buffer: BFloat16Buffer) -> UnsafePointer<UInt16> {
        weight.withUnsafeScalars { w in buffer.round(floats(w), count: weight.count) }
    }

    /// `∇W ← X̃ᵀ·G̃ + β·∇W` and `∇X ← G̃·W̃ᵀ`, from the forward pass's X̃ and
    /// W̃: side by side where there are threads, or in turn, each split,
    /// where that measured faster.
    func backwardProductsInBFloat16(
        _ outputGradient: Tensor<Scalar>, _ sizes: (n: Int32, f: Int32, m: Int32),
        beta: Scalar, into dx: inout Tensor<Scalar>
    ) throws(PerceptronError) {
        let (n, f, m) = sizes
        let (x̃, w̃) = (bfloat16.input.contents, bfloat16.weight.contents)
        // Read once, so that the pair, and the rule that runs it side by side or in turn, agree.
        let backend = MixedPrecision.backend
        let g̃ = outputGradient.withUnsafeScalars { g in
            bfloat16.outputGradient.round(Self.floats(g), count: Int(n) * Int(m))
        }
        try weightGradient.withUnsafeMutableScalars { (dw) throws(PerceptronError) in
            try dx.withUnsafeMutableScalars { (dx) throws(PerceptronError) in
                try Kernels.multiply(
                    weightGradient: MixedPrecisionProduct(
                        transposeA: true, m: f, n: m, k: n, x̃, g̃, beta: Float(beta), Self.mutableFloats(dw),
                        bfloat16Backend: backend),
                    inputGradient: MixedPrecisionProduct(
                        transposeB: true, m: n, n: f, k: m, g̃, w̃, beta: 0, Self.mutableFloats(dx),
                        bfloat16Backend: backend))
            }
        }
    }

    /// `pointer` as the `Float` pointer it is: called only once ``runsInBFloat16(_:_:)`` has said `Scalar` is `Float`.
    private static func floats(_ pointer: UnsafePointer<Scalar>) -> UnsafePointer<Float> {
        UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
    }

    /// The mutable counterpart of ``floats(_:)``.
    private static func mutableFloats(_ pointer: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: Float.self)
    }
}
