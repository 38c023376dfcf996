import ArgumentParser
@_spi(Benchmarking) import Perceptron

/// `--precision` and `--bf16-threshold`, which the benchmark and the digits example share.
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

    /// float32 and no threshold; argument parser fills in what the command line says.
    public init() {}

    /// `--bf16-threshold` is for `--precision bf16`.
    public func validate() throws {
        if threshold != nil && precision != .bfloat16 {
            throw ValidationError("--bf16-threshold needs --precision bf16")
        }
    }

    /// Sets `--bf16-threshold`, if given, as `BLAS.mixedPrecisionThreshold`.
    public func apply() {
        if let threshold { BLAS.mixedPrecisionThreshold = threshold.value }
    }
}
