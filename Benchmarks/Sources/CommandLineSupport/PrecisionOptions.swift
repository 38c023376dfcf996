import ArgumentParser
@_spi(Benchmarking) import Perceptron

/// `--precision`, `--bf16-threshold` and `--bf16-kernel`, which the benchmark and the digits example share.
public struct PrecisionOptions: ParsableArguments {
    /// `--precision`: the products of the Linear layers in float32 or bfloat16 (``Linear/precision``).
    @Option(help: ArgumentHelp(
        """
        The precision of the Linear layers' products: float32 or bfloat16 (bf16; needs the OneDNN trait, which \
        the Makefile builds with); products too small for bfloat16 to pay run in float32.
        """))
    public var precision: Precision = .float32

    /// `--bf16-threshold`: overrides where bfloat16 starts (`BLAS.mixedPrecisionThreshold`).
    @Option(
        name: .customLong("bf16-threshold"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "With --precision bf16: the smallest product (m·n·k) run in bfloat16; 0 sends all (default: this CPU's).",
            valueName: "multiply-adds"),
        transform: NonNegative.parse)
    public var threshold: NonNegative?

    /// `--bf16-kernel`: overrides which kernel computes bfloat16 products (`BLAS.bfloat16Backend`).
    @Option(
        name: .customLong("bf16-kernel"),
        help: ArgumentHelp(
            "The kernel of the bfloat16 products, perceptron or onednn, with --precision bf16 or --bf16-crossover (default: this CPU's).",
            valueName: "kernel"),
        transform: { argument in
            switch argument.lowercased() {
            case "perceptron": BLAS.BFloat16Backend.perceptron
            case "onednn": BLAS.BFloat16Backend.oneDNN
            default: throw ValidationError("--bf16-kernel takes perceptron or onednn, not \(argument)")
            }
        })
    var kernel: BLAS.BFloat16Backend?

    /// float32 and no threshold; argument parser fills in what the command line says.
    public init() {}

    /// `--bf16-threshold` is for `--precision bf16`.
    public func validate() throws {
        if threshold != nil && precision != .bfloat16 {
            throw ValidationError("--bf16-threshold needs --precision bf16")
        }
        // Where bfloat16 runs, the CPU has AVX512_BF16 (AMX comes with it), which Perceptron's kernel needs.
        if kernel != nil, let reason = Precision.bfloat16.unavailability {
            throw ValidationError("--bf16-kernel: bfloat16 cannot run here (\(reason))")
        }
    }

    /// Sets `--bf16-threshold` and `--bf16-kernel`, if given, as
    /// `BLAS.mixedPrecisionThreshold` and `BLAS.bfloat16Backend`.
    public func apply() {
        if let threshold { BLAS.mixedPrecisionThreshold = threshold.value }
        if let kernel { BLAS.bfloat16Backend = kernel }
    }
}
