// perceptron-bench: what BLAS buys over a naive matrix multiply, and the
// measurements behind the library's tuning knobs.

import ArgumentParser
import CommandLineSupport
@_spi(Benchmarking) import Perceptron

/// The command: parses the options (`Options`) and runs the measurement they select.
@main
struct PerceptronBench: ParsableCommand {
    /// The name, the summary and the usage lines that `--help` shows.
    static let configuration = CommandConfiguration(
        commandName: "perceptron-bench",
        abstract: "What BLAS buys over a naive matrix multiply, and where the library's tuning knobs belong.",
        usage: """
            perceptron-bench [--dtype <dtype>] [--quick] [--threads <n>] [--vs-raw] [--json <path>]
            perceptron-bench --steps [--shape <n,f,m>] [--matmul <n>] [--dtype <dtype>] [--threads <n>] [--json <path>]
            perceptron-bench --threading | --small-kernels [--dtype <dtype>] [--quick] [--threads <n>]
            perceptron-bench --pairing [--shape <n,f,m>] [--precision <precision>] [--dtype <dtype>] [--quick] [--threads <n>]
            perceptron-bench --peak [--quick] [--threads <n>] [--json <path>]
            perceptron-bench --profile [--shape <n,f,m>] [--dtype <dtype>] [--quick] [--threads <n>]
            perceptron-bench --mlp [--dtype <dtype>] [--quick] [--threads <n>] [--json <path>]
            perceptron-bench --serve [--rounds <n>] [--window <seconds>] [--widths <n,n,...>] [--dtype <dtype>] [--quick] [--threads <n>] [--json <path>]
            perceptron-bench --soak <seconds> [--dtype <dtype>] [--threads <n>]
            """,
        discussion: """
            Without a mode flag, times a square matmul sweep and the linear layer's forward, backward and \
            step at typical shapes, each through Perceptron (OpenBLAS) and as naive triple loops on the same \
            buffers. A mode flag or --soak runs one other measurement instead. Build in release \
            (swift run -c release --package-path Benchmarks perceptron-bench …): a debug build's timings mean little.
            """)

    /// Everything the command line says.
    @OptionGroup var options: Options

    /// Argument parser's entry point, after the options have parsed and validated.
    func run() throws {
        start(threads: options.threadsOption, debugCost: "timings mean little")
        let status = measure()
        if status != 0 { throw ExitCode(status) }
    }

    /// Runs the measurement the options select; returns the exit status.
    private func measure() -> Int32 {
        if let seconds = options.soakSeconds { return Soak.run(seconds: seconds, dtype: options.dtype) }
        options.precisionOptions.apply()
        if let reason = options.precision.unavailability {
            printError("--precision bfloat16: \(reason)")
            return 1
        }
        // The modes that need more than one thread to mean anything.
        let threads = options.threads ?? max(2, BLAS.threadCount)
        let shapes = options.shape.map { [$0] } ?? Plan.comparisonShapes
        switch options.mode {
        case .peak:
            return Peak.run(threads: threads, quick: options.quick, jsonPath: options.jsonPath)
        case .profile:
            switch options.dtype {
            case .float: return ProductProfile<Float>.run(shapes: shapes, threads: threads, quick: options.quick)
            case .double: return ProductProfile<Double>.run(shapes: shapes, threads: threads, quick: options.quick)
            }
        case .threading:
            let timer = Timer(budget: .milliseconds(options.quick ? 100 : 500), minimumSamples: 7)
            switch options.dtype {
            case .float: ThreadingSweep<Float>.run(threads: threads, timer: timer)
            case .double: ThreadingSweep<Double>.run(threads: threads, timer: timer)
            }
        case .smallKernels:
            switch options.dtype {
            case .float: SmallKernelSweep<Float>.run(quick: options.quick)
            case .double: SmallKernelSweep<Double>.run(quick: options.quick)
            }
        case .pairing:
            switch options.dtype {
            case .float: PairingSweep<Float>.run(shapes: shapes, precision: options.precision, quick: options.quick)
            case .double: PairingSweep<Double>.run(shapes: shapes, precision: options.precision, quick: options.quick)
            }
        case .mlp:
            return MLPStep.run(dtype: options.dtype, precision: options.precision, quick: options.quick, jsonPath: options.jsonPath)
        case .bf16Crossover:
            return MixedPrecisionSweep.run(quick: options.quick)
        case .serve:
            return Serve.run(dtype: options.dtype, widths: options.serveWidths, rounds: options.serveRounds, window: options.serveWindow,
                             jsonPath: options.jsonPath)
        case .steps, nil:
            return benchmark()
        }
        return 0
    }

    /// The full benchmark (or `--steps`): prints the table, and with `--json`
    /// writes the report and its chart; returns the exit status.
    private func benchmark() -> Int32 {
        let report: Report
        switch options.dtype {
        case .float:
            var benchmark = Benchmark<Float>(options: options)
            report = benchmark.run()
        case .double:
            var benchmark = Benchmark<Double>(options: options)
            report = benchmark.run()
        }
        guard let path = options.jsonPath else { return 0 }
        let chartPath = (path.hasSuffix(".json") ? String(path.dropLast(5)) : path) + ".svg"
        do {
            try report.writeJSON(to: path)
            try report.writeChart(to: chartPath)
        } catch {
            printError("\(error)")
            return 1
        }
        print("Wrote \(path) and \(chartPath)")
        return 0
    }
}
