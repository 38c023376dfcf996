// perceptron-bench: what BLAS buys over a naive matrix multiply.
//
// Measures, in one run and on the same buffers, OpenBLAS's GEMM (through
// Perceptron) against plain triple loops: a square matmul sweep, and the
// linear layer's forward, backward and full step at typical layer shapes.

@preconcurrency import Glibc
import Foundation
import Perceptron

/// What one run measures, sized by `--quick`.
struct Plan {
    var squareSizes: [Int]
    var layerShapes: [(n: Int, f: Int, m: Int)]
    /// Naive runs above this many floating-point operations are skipped.
    var naiveFLOPLimit: Double
    var timer: Timer
    var naiveTimer: Timer

    init(quick: Bool) {
        layerShapes = [(32, 64, 64), (64, 256, 256), (256, 784, 128), (256, 512, 512), (1024, 1024, 1024)]
        if quick {
            squareSizes = [64, 128, 256, 512, 1024]
            naiveFLOPLimit = 1.1e8
            timer = Timer(budget: .milliseconds(150), minimumSamples: 3)
            naiveTimer = Timer(budget: .milliseconds(100), minimumSamples: 1)
        } else {
            squareSizes = [64, 128, 256, 512, 1024, 2048]
            layerShapes.append((8192, 784, 128))
            naiveFLOPLimit = 2.2e9
            timer = Timer(budget: .seconds(1), minimumSamples: 5)
            naiveTimer = Timer(budget: .seconds(1), minimumSamples: 3)
        }
    }

    var taskCount: Int { squareSizes.count + 3 * layerShapes.count }
}

func run<Scalar: BLASScalar>(_: Scalar.Type, options: Options) throws -> Report {
    let plan = Plan(quick: options.quick)
    let configuration = BLAS.configuration
    var report = Report(
        cpu: cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount,
        blas: configuration.description, coreName: configuration.coreName,
        threads: configuration.threadCount, dtype: options.dtype.rawValue, quick: options.quick)
    report.printHeader()
    Report.printTableHeader()
    var progress = Progress(total: plan.taskCount)
    var generator = SeededRandomNumberGenerator(seed: 2026)

    func record(_ comparison: Comparison) {
        progress.clear()
        Report.printRow(comparison)
        report.comparisons.append(comparison)
        progress.finish()
    }

    /// Times the naive version unless it would take too long.
    func naive(_ flops: Double, _ body: () -> Void) -> (Measurement?, String?) {
        guard flops <= plan.naiveFLOPLimit else {
            return (nil, String(format: "%.2f GFLOP per run is over the %.2f GFLOP limit", flops / 1e9, plan.naiveFLOPLimit / 1e9))
        }
        return (plan.naiveTimer.measure(body), nil)
    }

    // Square matmul sweep.
    for size in plan.squareSizes {
        progress.start("matmul \(size)³")
        let a = Tensor<Scalar>(shape: [size, size], randomIn: -1...1, using: &generator)
        let b = Tensor<Scalar>(shape: [size, size], randomIn: -1...1, using: &generator)
        var c = Tensor<Scalar>(shape: [size, size])
        let flops = 2 * pow(Double(size), 3)
        let blas = plan.timer.measure { try! matmul(a, b, into: &c) }
        let (naiveTime, skipped) = a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    naive(flops) { Naive.gemm(m: size, n: size, k: size, a.baseAddress!, b.baseAddress!, c.baseAddress!) }
                }
            }
        }
        record(Comparison(operation: "matmul", shape: [size], flops: flops, blas: blas, naive: naiveTime, naiveSkipped: skipped))
    }

    // The layer at typical shapes: forward, backward, and the two together.
    for (n, f, m) in plan.layerShapes {
        let layer = Linear<Scalar>(inputFeatures: f, outputFeatures: m, using: &generator)
        let x = Tensor<Scalar>(shape: [n, f], randomIn: -1...1, using: &generator)
        let g = Tensor<Scalar>(shape: [n, m], randomIn: -1...1, using: &generator)
        let reference = NaiveLinear<Scalar>(n: n, f: f, m: m, weight: layer.weight.scalars, bias: layer.bias!.scalars)
        let product = 2 * Double(n) * Double(f) * Double(m)
        let shape = [n, f, m]

        progress.start("forward \(shape)")
        let forward = plan.timer.measure { _ = try! layer(x) }
        let naiveForward = x.withUnsafeBufferPointer { x in naive(product) { reference.forward(x.baseAddress!) } }
        record(Comparison(operation: "forward", shape: shape, flops: product + Double(n * m),
                          blas: forward, naive: naiveForward.0, naiveSkipped: naiveForward.1))

        progress.start("backward \(shape)")
        _ = try layer(x)
        let backward = plan.timer.measure { _ = try! layer.backward(g) }
        let naiveBackward = x.withUnsafeBufferPointer { x in
            g.withUnsafeBufferPointer { g in naive(2 * product) { reference.backward(x.baseAddress!, g.baseAddress!) } }
        }
        record(Comparison(operation: "backward", shape: shape, flops: 2 * product + Double(n * m),
                          blas: backward, naive: naiveBackward.0, naiveSkipped: naiveBackward.1))

        progress.start("step \(shape)")
        let step = plan.timer.measure {
            _ = try! layer(x)
            _ = try! layer.backward(g)
        }
        let naiveStep = x.withUnsafeBufferPointer { x in
            g.withUnsafeBufferPointer { g in
                naive(3 * product) {
                    reference.forward(x.baseAddress!)
                    reference.backward(x.baseAddress!, g.baseAddress!)
                }
            }
        }
        record(Comparison(operation: "step", shape: shape, flops: 3 * product + 2 * Double(n * m),
                          blas: step, naive: naiveStep.0, naiveSkipped: naiveStep.1))
    }
    report.printFootnotes()
    return report
}

/// The processor's model name, as the kernel reports it.
func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let colon = line.firstIndex(of: ":")
    else { return "unknown CPU" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
}

// MARK: - Entry point

// Line-buffered output, so that a table piped to a file or `tee` appears row by row.
setvbuf(stdout, nil, _IOLBF, 0)

let options: Options
switch Options.parse(Array(CommandLine.arguments.dropFirst())) {
case .success(let parsed):
    options = parsed
case .failure(let error):
    if let message = error.message {
        FileHandle.standardError.write(Data("perceptron-bench: \(message)\n\n\(Options.usage)\n".utf8))
        exit(2)
    }
    print(Options.usage)
    exit(0)
}

#if DEBUG
FileHandle.standardError.write(Data("warning: a debug build; timings mean little (use swift run -c release)\n".utf8))
#endif

if let threads = options.threads { BLAS.threadCount = threads }

do {
    let report = switch options.dtype {
    case .float: try run(Float.self, options: options)
    case .double: try run(Double.self, options: options)
    }
    if let path = options.jsonPath {
        let chartPath = (path.hasSuffix(".json") ? String(path.dropLast(5)) : path) + ".svg"
        try report.writeJSON(to: path)
        try report.writeChart(to: chartPath)
        print("Wrote \(path) and \(chartPath)")
    }
} catch {
    FileHandle.standardError.write(Data("perceptron-bench: \(error)\n".utf8))
    exit(1)
}
