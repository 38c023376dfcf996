// The full benchmark, perceptron-bench without a mode flag (and with --steps):
// in one run and on the same buffers, OpenBLAS's GEMM (through Perceptron)
// against plain triple loops: a square matmul sweep, and the linear layer's
// forward, backward and full step at typical layer shapes.

import CAllocationCounter
import Foundation
@_spi(Benchmarking) import Perceptron

/// What one run measures, sized by the options.
struct Plan {
    var squareSizes: [Int]
    var naiveSquareSizes: Bool
    var layerShapes: [(n: Int, f: Int, m: Int)]
    var operations: [String]
    /// Naive runs above this many floating-point operations are skipped.
    var naiveFLOPLimit: Double
    var timer: Timer
    var naiveTimer: Timer

    /// The shapes at which the layer step is compared with numpy and PyTorch.
    static let comparisonShapes = [(32, 64, 64), (64, 256, 256), (256, 512, 512), (1024, 1024, 1024), (8192, 784, 128)]

    init(_ options: Options) {
        operations = ["forward", "backward", "step"]
        naiveSquareSizes = true
        if options.stepsOnly {
            // --shape and --matmul each narrow the run to what they name.
            squareSizes = options.matmulSize.map { [$0] } ?? (options.shape == nil ? [1024] : [])
            naiveSquareSizes = false
            layerShapes = options.shape.map { [$0] } ?? (options.matmulSize == nil ? Self.comparisonShapes : [])
            operations = ["step"]
            naiveFLOPLimit = 0
            timer = Timer(budget: .seconds(1), minimumSamples: 9)
        } else if options.quick {
            squareSizes = [64, 128, 256, 512, 1024]
            layerShapes = [(32, 64, 64), (64, 256, 256), (256, 784, 128), (1024, 1024, 1024)]
            naiveFLOPLimit = 1.1e8
            timer = Timer(budget: .milliseconds(150), minimumSamples: 3)
        } else {
            squareSizes = [64, 128, 256, 512, 1024, 2048]
            layerShapes = [(32, 64, 64), (64, 256, 256), (256, 784, 128), (256, 512, 512), (1024, 1024, 1024), (8192, 784, 128)]
            naiveFLOPLimit = 2.2e9
            timer = Timer(budget: .seconds(1), minimumSamples: 5)
        }
        naiveTimer = options.quick
            ? Timer(budget: .milliseconds(100), minimumSamples: 1)
            : Timer(budget: .seconds(1), minimumSamples: 3)
    }

    var taskCount: Int { squareSizes.count + operations.count * layerShapes.count }
}

/// Runs the plan in one precision, printing each row as it is measured.
struct Benchmark<Scalar: BLASScalar> {
    let options: Options
    let plan: Plan
    var report: Report
    var progress: Progress
    var generator = SeededRandomNumberGenerator(seed: 2026)

    init(options: Options) {
        self.options = options
        plan = Plan(options)
        let configuration = BLAS.configuration
        report = Report(
            cpu: cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount,
            blas: configuration.description, coreName: configuration.coreName,
            threads: configuration.threadCount, dtype: options.dtype.rawValue,
            precision: options.precision.rawValue, quick: options.quick)
        progress = Progress(total: plan.taskCount)
    }

    mutating func run() -> Report {
        report.printHeader()
        Report.printTableHeader()
        for size in plan.squareSizes { matmul(size) }
        for shape in plan.layerShapes { layer(shape) }
        report.printFootnotes()
        return report
    }

    private mutating func record(_ comparison: Comparison) {
        progress.clear()
        Report.printRow(comparison)
        report.comparisons.append(comparison)
        progress.finish()
    }

    /// Times the naive version unless it would take too long.
    private func naive(_ flops: Double, _ body: () -> Void) -> (Measurement?, String?) {
        guard flops <= plan.naiveFLOPLimit else {
            let reason = plan.naiveFLOPLimit == 0
                ? "not run in this mode"
                : String(format: "%.2f GFLOP per run is over the %.2f GFLOP limit", flops / 1e9, plan.naiveFLOPLimit / 1e9)
            return (nil, reason)
        }
        return (plan.naiveTimer.measure(body), nil)
    }

    /// An n×n by n×n product: `matmul` against the naive loop on the same buffers.
    private mutating func matmul(_ size: Int) {
        progress.start("matmul \(size)³")
        let a = Tensor<Scalar>(shape: [size, size], randomIn: -1...1, using: &generator)
        let b = Tensor<Scalar>(shape: [size, size], randomIn: -1...1, using: &generator)
        var c = Tensor<Scalar>(shape: [size, size])
        let flops = 2 * pow(Double(size), 3)
        let blas = plan.timer.measure { try! Perceptron.matmul(a, b, into: &c) }
        let limit = plan.naiveSquareSizes ? flops : .infinity
        let (naiveTime, skipped) = a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    naive(limit) { Naive.gemm(m: size, n: size, k: size, a.baseAddress!, b.baseAddress!, c.baseAddress!) }
                }
            }
        }
        record(Comparison(operation: "matmul", shape: [size], flops: flops, blas: blas, naive: naiveTime, naiveSkipped: skipped))
    }

    /// The layer at one shape: forward, backward and the full step, each
    /// against the naive loops; the step also against the bare GEMMs.
    private mutating func layer(_ shape: (n: Int, f: Int, m: Int)) {
        let (n, f, m) = shape
        let layer = Linear<Scalar>(inputFeatures: f, outputFeatures: m, using: &generator)
        layer.precision = options.precision
        let x = Tensor<Scalar>(shape: [n, f], randomIn: -1...1, using: &generator)
        let g = Tensor<Scalar>(shape: [n, m], randomIn: -1...1, using: &generator)
        let reference = NaiveLinear<Scalar>(n: n, f: f, m: m, weight: layer.weight.scalars, bias: layer.bias!.scalars)
        let product = 2 * Double(n) * Double(f) * Double(m)
        let label = [n, f, m]

        for operation in plan.operations {
            progress.start("\(operation) \(label)")
            var comparison: Comparison
            switch operation {
            case "forward":
                let time = plan.timer.measure { _ = try! layer(x) }
                let naiveTime = x.withUnsafeBufferPointer { x in naive(product) { reference.forward(x.baseAddress!) } }
                comparison = Comparison(operation: operation, shape: label, flops: product + Double(n * m),
                                        blas: time, naive: naiveTime.0, naiveSkipped: naiveTime.1)
            case "backward":
                // Each forward pass serves one backward pass: run one, untimed, before each.
                let time = plan.timer.measure(setup: { _ = try! layer(x) }) { _ = try! layer.backward(g) }
                let naiveTime = x.withUnsafeBufferPointer { x in
                    g.withUnsafeBufferPointer { g in naive(2 * product) { reference.backward(x.baseAddress!, g.baseAddress!) } }
                }
                comparison = Comparison(operation: operation, shape: label, flops: 2 * product + Double(n * m),
                                        blas: time, naive: naiveTime.0, naiveSkipped: naiveTime.1)
            default:
                let step = {
                    _ = try! layer(x)
                    _ = try! layer.backward(g)
                }
                let time = plan.timer.measure(step)
                let naiveTime = x.withUnsafeBufferPointer { x in
                    g.withUnsafeBufferPointer { g in
                        naive(3 * product) {
                            reference.forward(x.baseAddress!)
                            reference.backward(x.baseAddress!, g.baseAddress!)
                        }
                    }
                }
                comparison = Comparison(operation: operation, shape: label, flops: 3 * product + 2 * Double(n * m),
                                        blas: time, naive: naiveTime.0, naiveSkipped: naiveTime.1)
                comparison.allocationsPerRun = allocationsPerRun(step)
                if options.vsRaw || options.stepsOnly {
                    comparison.raw = rawStep(n: n, f: f, m: m)
                }
            }
            record(comparison)
        }
    }

    /// The three GEMMs of a layer step, called bare on buffers of the same
    /// shapes (`BareProducts`), with OpenBLAS's own threading at the same
    /// thread count: what calling CBLAS directly gives.
    private mutating func rawStep(n: Int, f: Int, m: Int) -> Measurement {
        let products = BareProducts<Scalar>(n: n, f: f, m: m, using: &generator)
        return products.withOpenBLASThreads(BLAS.threadCount) {
            plan.timer.measure {
                products.forward()
                products.weightGradient()
                products.inputGradient()
            }
        }
    }

    /// Heap allocations per run of `step`, counted over all threads after a warm-up.
    private func allocationsPerRun(_ step: () -> Void) -> Double? {
        guard allocation_counter_is_available() else { return nil }
        step()
        let runs = 10
        allocation_counter_start_process()
        for _ in 0..<runs { step() }
        return Double(allocation_counter_stop_process()) / Double(runs)
    }
}

/// The processor's model name, as the kernel reports it.
func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let colon = line.firstIndex(of: ":")
    else { return "unknown CPU" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
}
