@_spi(Benchmarking) import Perceptron

/// `--small-kernels`: what calling OpenBLAS's small-matrix kernels directly buys.
///
/// For products around and above OpenBLAS's own limit of 10⁶ multiply-adds,
/// and for the layer steps compared with numpy, times the same work with
/// `BLAS.smallKernelLimit` at 0 (everything through CBLAS) and at its default,
/// interleaved (`interleaved`). A ratio below 1 means the small kernels are faster.
struct SmallKernelSweep<Scalar: BLASScalar> {
    /// Products `m × k × n` (row-major `A·B`).
    static var products: [(m: Int, k: Int, n: Int)] {
        [(32, 64, 64), (64, 128, 128), (32, 256, 256), (64, 256, 256), (128, 256, 256), (128, 512, 512), (256, 512, 512)]
    }

    static func run(quick: Bool) {
        let limit = BLAS.smallKernelLimit
        defer { BLAS.smallKernelLimit = limit }
        print("OpenBLAS's small-matrix kernels called directly (\(Scalar.self)), against everything through CBLAS")
        print("BLAS: \(BLAS.configuration)")
        guard BLAS.configuration.usesSmallMatrixKernels else {
            print("Not in use with this OpenBLAS kernel: nothing to compare.")
            return
        }
        print("BLAS.smallKernelLimit: \(limit) multiply-adds; the two settings alternate run by run")
        print("")
        print(pad("work", 30), rpad("CBLAS", 12), rpad("small", 12), rpad("ratio", 8))
        print(String(repeating: "─", count: 64))
        let budget = quick ? 0.2 : 1.0
        let apply = { (on: Bool) in BLAS.smallKernelLimit = on ? limit : 0 }
        var generator = SeededRandomNumberGenerator(seed: 11)
        for (m, k, n) in products {
            let a = Tensor<Scalar>(shape: [m, k], randomIn: -1...1, using: &generator)
            let b = Tensor<Scalar>(shape: [k, n], randomIn: -1...1, using: &generator)
            var c = Tensor<Scalar>(shape: [m, n])
            let (off, on) = interleaved(budget: budget, apply: apply) { try! matmul(a, b, into: &c) }
            printComparison("matmul \(m) × \(k) × \(n)", off, on)
        }
        for (n, f, m) in Plan.comparisonShapes {
            let step = LayerStep<Scalar>(n: n, f: f, m: m, using: &generator).step
            let (off, on) = interleaved(budget: budget, apply: apply, step)
            printComparison("step (\(n), \(f), \(m))", off, on)
        }
    }
}
