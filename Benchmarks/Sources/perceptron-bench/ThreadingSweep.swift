import Foundation
@_spi(Benchmarking) import Perceptron

/// `--threading`: where splitting a product across threads starts to pay.
///
/// For each size, times one `matmul` run whole on the calling thread
/// (`BLAS.threadCount = 1`) against the same product split by rows across the
/// configured threads with no size threshold, and prints the ratio. The first
/// size whose ratio stays below 1 is where `BLAS.parallelThreshold` belongs.
struct ThreadingSweep<Scalar: BLASScalar> {
    static var sizes: [(m: Int, k: Int, n: Int)] {
        [(32, 64, 64), (64, 64, 64), (64, 128, 128), (96, 96, 96), (64, 256, 256), (128, 128, 128),
         (160, 160, 160), (192, 192, 192), (128, 256, 256), (256, 256, 256), (256, 512, 512), (512, 512, 512)]
    }

    static func run(threads: Int, timer: Timer) {
        let (savedThreads, savedThreshold) = (BLAS.threadCount, BLAS.parallelThreshold)
        defer { (BLAS.threadCount, BLAS.parallelThreshold) = (savedThreads, savedThreshold) }
        BLAS.parallelThreshold = 0
        var generator = SeededRandomNumberGenerator(seed: 7)
        print("Splitting one product across threads (\(Scalar.self)), against running it whole on one thread")
        print("current BLAS.parallelThreshold: \(savedThreshold) multiply-adds")
        print("")
        print(pad("m × k × n", 18), rpad("m·k·n", 12), rpad("1 thread", 12), rpad("\(threads) threads", 12), rpad("ratio", 8))
        print(String(repeating: "─", count: 64))
        for (m, k, n) in sizes {
            let a = Tensor<Scalar>(shape: [m, k], randomIn: -1...1, using: &generator)
            let b = Tensor<Scalar>(shape: [k, n], randomIn: -1...1, using: &generator)
            var c = Tensor<Scalar>(shape: [m, n])
            BLAS.threadCount = 1
            let whole = timer.measure { try! matmul(a, b, into: &c) }
            BLAS.threadCount = threads
            let split = timer.measure { try! matmul(a, b, into: &c) }
            print(pad("\(m) × \(k) × \(n)", 18), rpad("\(m * k * n)", 12), rpad(time(whole.medianSeconds), 12),
                  rpad(time(split.medianSeconds), 12),
                  rpad(String(format: "%.2f", split.medianSeconds / whole.medianSeconds), 8))
        }
    }
}
