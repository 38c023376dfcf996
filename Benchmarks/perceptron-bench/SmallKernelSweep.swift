import Foundation
import Perceptron

/// `--small-kernels`: what calling OpenBLAS's small-matrix kernels directly buys.
///
/// For square-ish products and for the layer steps compared with numpy, times
/// the same work with `BLAS.smallKernelLimit` at 0 (everything through CBLAS)
/// and at its default, alternating the two run by run in this one process, so
/// that the machine's drift hits both alike, and prints the ratio of medians.
/// A ratio below 1 means the small kernels are faster.
struct SmallKernelSweep<Scalar: BLASScalar> {
    /// Products `m × k × n` (row-major `A·B`), around and above OpenBLAS's own limit of 10⁶.
    static var products: [(m: Int, k: Int, n: Int)] {
        [(32, 64, 64), (64, 128, 128), (32, 256, 256), (64, 256, 256), (128, 256, 256), (128, 512, 512), (256, 512, 512)]
    }

    static func run(quick: Bool) {
        let limit = BLAS.smallKernelLimit
        defer { BLAS.smallKernelLimit = limit }
        print("OpenBLAS's small-matrix kernels called directly (\(Scalar.self)), against everything through CBLAS")
        print("BLAS: \(BLAS.configuration)")
        guard BLAS.configuration.smallMatrixKernels else {
            print("Not in use with this OpenBLAS kernel: nothing to compare.")
            return
        }
        print("BLAS.smallKernelLimit: \(limit) multiply-adds; the two settings alternate run by run")
        print("")
        print(pad("work", 30), rpad("CBLAS", 12), rpad("small", 12), rpad("ratio", 8))
        print(String(repeating: "─", count: 64))
        let budget = quick ? 0.2 : 1.0
        var generator = SeededRandomNumberGenerator(seed: 11)
        for (m, k, n) in products {
            let a = Tensor<Scalar>(shape: [m, k], randomIn: -1...1, using: &generator)
            let b = Tensor<Scalar>(shape: [k, n], randomIn: -1...1, using: &generator)
            var c = Tensor<Scalar>(shape: [m, n])
            let (off, on) = alternate(limit: limit, budget: budget) { try! matmul(a, b, into: &c) }
            report("matmul \(m) × \(k) × \(n)", off, on)
        }
        for (n, f, m) in [(32, 64, 64), (64, 256, 256), (256, 512, 512), (1024, 1024, 1024), (8192, 784, 128)] {
            let layer = Linear<Scalar>(inputFeatures: f, outputFeatures: m, using: &generator)
            let x = Tensor<Scalar>(shape: [n, f], randomIn: -1...1, using: &generator)
            let g = Tensor<Scalar>(shape: [n, m], randomIn: -1...1, using: &generator)
            let (off, on) = alternate(limit: limit, budget: budget) {
                _ = try! layer(x)
                _ = try! layer.backward(g)
            }
            report("step (\(n), \(f), \(m))", off, on)
        }
    }

    /// Median seconds of `body` with the limit at 0 and at `limit`, alternating
    /// after a warm-up of each, for about `budget` seconds and at least 11 runs each.
    static func alternate(limit: Int, budget: Double, _ body: () -> Void) -> (off: Double, on: Double) {
        let clock = ContinuousClock()
        var times: [[Double]] = [[], []]
        for setting in 0..<2 {
            BLAS.smallKernelLimit = setting == 0 ? 0 : limit
            body()
        }
        let start = clock.now
        var round = 0
        while round < 11 || ((clock.now - start).seconds < budget && round < 5000) {
            for setting in 0..<2 {
                BLAS.smallKernelLimit = setting == 0 ? 0 : limit
                times[setting].append(clock.measure(body).seconds)
            }
            round += 1
        }
        return (median(times[0]), median(times[1]))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    static func report(_ label: String, _ off: Double, _ on: Double) {
        print(pad(label, 30), rpad(time(off), 12), rpad(time(on), 12), rpad(String(format: "%.2f", on / off), 8))
    }
}
