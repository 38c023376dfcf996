import ArgumentParser
import CommandLineSupport
import Perceptron

/// The benchmark's command line: what to measure, in which precision, and how long.
///
/// Without a mode flag it runs the full benchmark: a square matmul sweep and
/// the linear layer's forward, backward and step at typical shapes, each
/// against naive loops. A mode flag (`--steps`, `--peak`, …) or `--soak`
/// runs one other measurement instead.
struct Options: ParsableArguments {
    /// The precision a run measures.
    enum DType: String, CaseIterable, ExpressibleByArgument {
        /// `Float` or `Double` arithmetic throughout the run.
        case float, double
    }

    /// The measurements that run instead of the full benchmark; at most one is given.
    enum Mode: String, EnumerableFlag {
        /// Each is the flag of its raw value (`--small-kernels`); `help(for:)` says what it runs.
        case steps, threading, smallKernels = "small-kernels", pairing, peak, profile, mlp, serve
        case bf16Crossover = "bf16-crossover"

        /// The help for each flag, in the order `--help` lists them.
        static func help(for value: Mode) -> ArgumentHelp? {
            switch value {
            case .steps:
                "Only the layer step at the shapes compared with numpy (Benchmarks/compare_numpy.py runs this)."
            case .threading:
                """
                Time products split across threads (--threads, at least 2 by default) against whole, by size: \
                where BLAS.parallelThreshold belongs.
                """
            case .smallKernels:
                """
                Time products and layer steps with OpenBLAS's small-matrix kernels (BLAS.smallKernelLimit) \
                against without, interleaved.
                """
            case .pairing:
                """
                Time layer steps with the backward products side by side \
                (BLAS.runsIndependentProductsSideBySide) against in turn.
                """
            case .peak:
                """
                Measure the FMA units' peak GFLOP/s on 1 and N threads (--threads, at least 2 by default): \
                the ceiling no GEMM can pass (with --json, written there).
                """
            case .profile:
                """
                Where a layer step's time goes: each of its products alone on CBLAS, then the library's passes, \
                on 1 and N threads (N as for --peak), as GFLOP/s and as a share of the FMA peak (about 40 seconds; with --quick about 20).
                """
            case .mlp:
                """
                Time the steady training step of an MLP 784-256-256-10 with LayerNorm, ReLU and Dropout, \
                softmax cross-entropy and Adam, batch 128: median and min–max per step, and heap allocations per step \
                (with --json, written there).
                """
            case .serve:
                """
                Serve the digits model (64-64-10, ReLU; another MLP with --widths) from one InferenceModel to 1 and 2 \
                concurrent tasks at batches of 1 and 32: requests/s and p50/p99 latency (--rounds, --window; with \
                --json, written there).
                """
            case .bf16Crossover:
                """
                Time layer steps in bfloat16 (every product sent to the bfloat16 kernel) against float32, interleaved, \
                from 8×32×32 up: where bfloat16 starts to pay, and the kernel that runs (needs the OneDNN trait).
                """
            }
        }
    }

    /// `--dtype`: the precision of every measurement.
    @Option(help: "Precision to measure.")
    var dtype: DType = .float

    /// `--precision` and `--bf16-threshold`.
    @OptionGroup var precisionOptions: PrecisionOptions

    /// `--precision`.
    var precision: Precision { precisionOptions.precision }

    /// `--quick`: a shorter run, for a first look.
    @Flag(help: "Fewer sizes and repetitions: about 10 seconds.")
    var quick = false

    /// `--threads`, which the example has too; --threading, --peak and
    /// --profile take at least 2 when it is not given.
    @OptionGroup var threadsOption: ThreadsOption

    /// `--vs-raw`: the bare-GEMM baseline in the full benchmark too (`--steps` always has it).
    @Flag(help: "Also time the three bare GEMM calls of each layer step on the same buffers, and report the layer's overhead.")
    var vsRaw = false

    /// The mode flag given, if any; nil runs the full benchmark.
    @Flag(exclusivity: .exclusive)
    var mode: Mode?

    /// `--shape`: one layer shape instead of the shapes compared with numpy.
    @Option(
        name: .customLong("shape"),
        parsing: .unconditional,
        help: ArgumentHelp(
            """
            With --steps, --profile or --pairing: only the step of a layer with F inputs and M outputs on a \
            batch of N (with --steps, and no matmul unless --matmul).
            """,
            valueName: "n,f,m"),
        transform: LayerShape.parse)
    var layerShape: LayerShape?

    /// `--matmul`: one square matmul size, with `--steps`.
    @Option(
        name: .customLong("matmul"),
        parsing: .unconditional,
        help: ArgumentHelp("With --steps: only the N³ matmul (and no layer step, unless --shape).", valueName: "n"),
        transform: Count.parse)
    var matmul: Count?

    /// `--json`: where the report, and beside it its chart, are written.
    @Option(
        name: .customLong("json"),
        help: ArgumentHelp("Write results as JSON to PATH and a chart to PATH with .svg.", valueName: "path"))
    var jsonPath: String?

    /// `--soak`: how long to train instead of benchmarking.
    @Option(
        name: .customLong("soak"),
        parsing: .unconditional,
        help: ArgumentHelp(
            """
            Instead of the benchmark, train an MLP 784-256-10 for SECONDS, report resident memory at start and \
            end and steps/s, then check that two fresh runs end bitwise identical; exits 1 if they differ or \
            memory grew over max(5 MiB, 5%).
            """,
            valueName: "seconds"),
        transform: Positive<Double>.parse)
    var soak: Positive<Double>?

    /// `--rounds`: how many times `--serve` measures each configuration.
    @Option(
        name: .customLong("rounds"),
        parsing: .unconditional,
        help: ArgumentHelp("With --serve: rounds, each measuring every configuration once (default: 5; with --quick 2).",
                           valueName: "n"),
        transform: Count.parse)
    var roundsOption: Count?

    /// `--window`: how long `--serve` measures a configuration in each round.
    @Option(
        name: .customLong("window"),
        parsing: .unconditional,
        help: ArgumentHelp("With --serve: seconds each configuration runs per round (default: 0.5; with --quick 0.2).",
                           valueName: "seconds"),
        transform: Positive<Double>.parse)
    var windowOption: Positive<Double>?

    /// `--widths`: the MLP `--serve` serves.
    @Option(
        name: .customLong("widths"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "With --serve: the served MLP's layer widths, inputs first (default: 64,64,10, the digits model).",
            valueName: "w0,w1,…"),
        transform: LayerWidths.parse)
    var widthsOption: LayerWidths?

    /// The rules between options, which no single option's type can check.
    func validate() throws {
        if precision == .bfloat16 && dtype != .float {
            throw ValidationError("--precision bfloat16 is for --dtype float")
        }
        if precision == .bfloat16, let mode, ![.steps, .mlp, .pairing].contains(mode) {
            throw ValidationError("--precision bfloat16 applies to the full benchmark, --steps, --mlp and --pairing; --\(mode.rawValue) sets precisions itself or has none")
        }
        if matmul != nil && mode != .steps {
            throw ValidationError("--matmul needs --steps")
        }
        if mode == .profile && jsonPath != nil {
            throw ValidationError("--profile prints a table only; --json does not apply to it")
        }
        if layerShape != nil && mode != .steps && mode != .profile && mode != .pairing {
            throw ValidationError("--shape needs --steps, --profile or --pairing")
        }
        if (roundsOption != nil || windowOption != nil || widthsOption != nil) && mode != .serve {
            throw ValidationError("--rounds, --window and --widths need --serve")
        }
        if mode == .serve && vsRaw {
            throw ValidationError("--vs-raw times layer steps; it does not apply to --serve")
        }
        if soak != nil, let mode {
            throw ValidationError("--soak runs instead of the benchmark; it does not combine with --\(mode.rawValue)")
        }
        #if DEBUG
        if let mode, mode == .peak || mode == .profile {
            // The peak's C code is not optimised in a debug build: it would measure a
            // fraction of the real peak, and every share of it would come out too high.
            throw ValidationError(
                "--\(mode.rawValue) needs a release build (swift run -c release --package-path Benchmarks perceptron-bench …)")
        }
        #endif
    }

    /// `--threads`, if given.
    var threads: Int? { threadsOption.count?.value }
    /// `--steps`: only the layer steps (or what `--shape` and `--matmul` name).
    var stepsOnly: Bool { mode == .steps }
    /// `--shape`, if given.
    var shape: (n: Int, f: Int, m: Int)? { layerShape.map { ($0.n, $0.f, $0.m) } }
    /// `--matmul`, if given.
    var matmulSize: Int? { matmul?.value }
    /// `--soak`, if given.
    var soakSeconds: Double? { soak?.value }
    /// `--rounds` for `--serve`, or its default.
    var serveRounds: Int { roundsOption?.value ?? (quick ? 2 : 5) }
    /// `--window` for `--serve`, in seconds, or its default.
    var serveWindow: Double { windowOption?.value ?? (quick ? 0.2 : 0.5) }
    /// `--widths` for `--serve`, or the digits model's.
    var serveWidths: [Int] { widthsOption?.widths ?? Serve.digitsWidths }
}

/// `--widths W0,W1,…`: an MLP's layer widths, its inputs first and its outputs last.
struct LayerWidths: CheckedArgument {
    var widths: [Int]

    /// Parses two or more comma-separated whole numbers ≥ 1; nil for anything else.
    init?(argument: String) {
        let fields = argument.split(separator: ",", omittingEmptySubsequences: false)
        let sizes = fields.compactMap { Count(argument: String($0)) }
        guard fields.count >= 2, sizes.count == fields.count else { return nil }
        widths = sizes.map(\.value)
    }

    /// The rule, for the error that refuses a value.
    static let expectation = "two or more whole numbers ≥ 1 as W0,W1,…, such as 784,256,256,10"

    /// The widths as they are typed: `64,64,10`.
    var description: String { widths.map(String.init).joined(separator: ",") }
}

/// `--shape N,F,M`: a layer with F inputs and M outputs on a batch of N.
struct LayerShape: CheckedArgument {
    /// The batch size.
    var n: Int
    /// The input features.
    var f: Int
    /// The output features.
    var m: Int

    /// Parses exactly three comma-separated whole numbers ≥ 1; nil for anything else.
    init?(argument: String) {
        let fields = argument.split(separator: ",", omittingEmptySubsequences: false)
        let sizes = fields.compactMap { Count(argument: String($0)) }
        guard fields.count == 3, sizes.count == 3 else { return nil }
        (n, f, m) = (sizes[0].value, sizes[1].value, sizes[2].value)
    }

    /// The rule, for the error that refuses a value.
    static let expectation = "three whole numbers ≥ 1 as N,F,M, such as 64,256,256"

    /// The shape as it is typed: `64,256,256`.
    var description: String { "\(n),\(f),\(m)" }
}
