import CPerceptronCPU

/// The library's own bfloat16 product, on AVX512_BF16's `VDPBF16PS`: the
/// mixed-precision backend on CPUs that have the instruction and no AMX.
///
/// oneDNN's kernels on the same instruction run no faster, but each of
/// oneDNN's calls builds a map of its arguments on the heap, which this
/// kernel does not: it packs its operands into buffers each thread keeps, so
/// a steady training step allocates nothing. Where the CPU has AMX, oneDNN's
/// tile kernels are far faster, and oneDNN keeps the products (see
/// ``MixedPrecision/backend``). The C code is `bfloat16_gemm.c` in
/// CPerceptronCPU; this is its one door.
enum BFloat16GEMM {
    /// Whether this CPU runs the kernel.
    static let isSupported = perceptron_bfloat16_gemm_is_supported()

    /// Computes `product` on the calling thread.
    ///
    /// The caller has checked ``isSupported`` and that the product has work,
    /// and rounds `A` as it reads it only untransposed; a failure here is
    /// then of the environment (the packing buffers could not grow), and traps.
    @inline(__always)
    static func multiply(_ product: MixedPrecisionProduct) {
        var arguments = perceptron_bfloat16_product_t(
            transpose_a: product.transposeA, transpose_b: product.transposeB,
            m: Int64(product.m), n: Int64(product.n), k: Int64(product.k), alpha: product.alpha,
            a: product.a, lda: Int64(product.lda), b: product.b, ldb: Int64(product.ldb),
            beta: product.beta, c: product.c, ldc: Int64(product.ldc), bias: product.bias,
            unrounded_a: product.unroundedA, rounded_a: product.unroundedA.map { _ in UnsafeMutablePointer(mutating: product.a) })
        guard perceptron_bfloat16_gemm(&arguments) else {
            fatalError("BFloat16GEMM: a bfloat16 product of \(product.m) × \(product.k) by \(product.k) × \(product.n) "
                       + "was refused: its packing buffers could not grow, or the caller broke the kernel's contract")
        }
    }
}
