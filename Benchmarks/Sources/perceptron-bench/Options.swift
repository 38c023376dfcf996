/// The benchmark's command line.
struct Options {
    enum DType: String { case float, double }

    var dtype = DType.float
    var quick = false
    var jsonPath: String?
    var threads: Int?
    var vsRaw = false
    var stepsOnly = false
    var shape: (n: Int, f: Int, m: Int)?
    var matmulSize: Int?
    var threading = false
    var smallKernels = false
    var pairing = false
    var peak = false
    var profile = false
    var soakSeconds: Double?

    static let usage = """
        usage: perceptron-bench [--dtype float|double] [--quick] [--threads N] [--vs-raw]
                                [--steps [--shape N,F,M] [--matmul N]] [--threading]
                                [--small-kernels] [--pairing] [--peak] [--profile [--shape N,F,M]]
                                [--json PATH] [--soak SECONDS]

          --dtype float|double  precision to measure (default float)
          --quick               fewer sizes and repetitions: about 10 seconds
          --threads N           threads (default: OpenBLAS's own choice; at least 2 for
                                --threading, --peak and --profile)
          --vs-raw              also time the three bare GEMM calls of each layer step
                                on the same buffers, and report the layer's overhead
          --steps               only the layer step at the shapes compared with numpy
                                (Benchmarks/compare_numpy.py runs this)
          --shape N,F,M         with --steps or --profile: only the step of a layer with
                                F inputs and M outputs on a batch of N (with --steps, and
                                no matmul unless --matmul)
          --matmul N            with --steps: only the N³ matmul (and no layer step,
                                unless --shape)
          --threading           time products split across threads against whole, by
                                size: where BLAS.parallelThreshold belongs
          --small-kernels       time products and layer steps with OpenBLAS's small-matrix
                                kernels (BLAS.smallKernelLimit) against without, interleaved
          --pairing             time layer steps with the backward products side by side
                                (BLAS.runsIndependentProductsSideBySide) against in turn
          --peak                measure the FMA units' peak GFLOP/s on 1 and N threads:
                                the ceiling no GEMM can pass (with --json, written there)
          --profile             where a layer step's time goes: each of its products alone
                                on CBLAS, then the library's passes, on 1 and N threads, as
                                GFLOP/s and as a share of the FMA peak (about 40 seconds;
                                with --quick about 20)
          --json PATH           write results as JSON to PATH and a chart to PATH with .svg
          --soak SECONDS        instead of the benchmark, train an MLP 784-256-10 for SECONDS,
                                report resident memory at start and end and steps/s, then
                                check that two fresh runs end bitwise identical; exits 1 if
                                they differ or memory grew over max(5 MiB, 5%)
          --help                show this text
        """

    /// Parses `arguments` (without the program name), or returns a message saying what is wrong.
    static func parse(_ arguments: [String]) -> Result<Options, OptionsError> {
        var options = Options()
        var remaining = arguments[...]
        func value(for flag: String) throws(OptionsError) -> String {
            guard let next = remaining.popFirst() else { throw OptionsError("\(flag) needs a value") }
            return next
        }
        func count(for flag: String) throws(OptionsError) -> Int {
            let text = try value(for: flag)
            guard let number = Int(text), number >= 1 else {
                throw OptionsError("\(flag) must be a whole number ≥ 1, got \(text)")
            }
            return number
        }
        do throws(OptionsError) {
            while let argument = remaining.popFirst() {
                switch argument {
                case "--dtype":
                    let text = try value(for: argument)
                    guard let dtype = DType(rawValue: text) else {
                        throw OptionsError("--dtype must be float or double, got \(text)")
                    }
                    options.dtype = dtype
                case "--quick":
                    options.quick = true
                case "--json":
                    options.jsonPath = try value(for: argument)
                case "--threads":
                    options.threads = try count(for: argument)
                case "--vs-raw":
                    options.vsRaw = true
                case "--steps":
                    options.stepsOnly = true
                case "--shape":
                    let text = try value(for: argument)
                    let sizes = text.split(separator: ",").compactMap { Int($0) }
                    guard sizes.count == 3, sizes.allSatisfy({ $0 >= 1 }) else {
                        throw OptionsError("--shape must be three whole numbers ≥ 1 as N,F,M, got \(text)")
                    }
                    options.shape = (sizes[0], sizes[1], sizes[2])
                case "--matmul":
                    options.matmulSize = try count(for: argument)
                case "--soak":
                    let text = try value(for: argument)
                    guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
                        throw OptionsError("--soak must be a number of seconds > 0, got \(text)")
                    }
                    options.soakSeconds = seconds
                case "--threading":
                    options.threading = true
                case "--small-kernels":
                    options.smallKernels = true
                case "--pairing":
                    options.pairing = true
                case "--peak":
                    options.peak = true
                case "--profile":
                    options.profile = true
                case "--help", "-h":
                    throw OptionsError(nil)
                default:
                    throw OptionsError("unknown option \(argument)")
                }
            }
            if options.matmulSize != nil && !options.stepsOnly {
                throw OptionsError("--matmul needs --steps")
            }
            if options.profile && options.jsonPath != nil {
                throw OptionsError("--profile prints a table only; --json does not apply to it")
            }
            if options.shape != nil && !options.stepsOnly && !options.profile {
                throw OptionsError("--shape needs --steps or --profile")
            }
        } catch {
            return .failure(error)
        }
        return .success(options)
    }
}

/// A command-line mistake, or a request for help (no message).
struct OptionsError: Error {
    var message: String?
    init(_ message: String?) { self.message = message }
}
