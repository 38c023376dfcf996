import ArgumentParser
import CheckedArguments

/// The example's command line: the network's size and how it is trained.
struct Options: ParsableArguments {
    /// The defaults, stated once for the properties and for their help.
    private enum Default {
        static let epochs = Count(100)
        static let batchSize = Count(32)
        static let learningRate = Positive<Float>(1e-3)
        static let hidden = Count(64)
        static let seed: UInt64 = 0
        static let outputPath = ".build/digits-model"
    }

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Passes over the training set.", default: Default.epochs, valueName: "n"),
        transform: Count.parse)
    var epochs = Default.epochs

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Samples per Adam step.", default: Default.batchSize, valueName: "n"),
        transform: Count.parse)
    var batchSize = Default.batchSize

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Adam's learning rate.", default: Default.learningRate, valueName: "x"),
        transform: Positive<Float>.parse)
    var learningRate = Default.learningRate

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Hidden units.", default: Default.hidden, valueName: "n"),
        transform: Count.parse)
    var hidden = Default.hidden

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seeds the weights and the per-epoch shuffles; the train/test split is fixed whatever the seed.",
            default: Default.seed, valueName: "n"),
        transform: UInt64.parse)
    var seed = Default.seed

    @Option(
        name: .customLong("output"),
        help: ArgumentHelp("Where the trained parameters are saved as .npy files.", valueName: "dir"))
    var outputPath = Default.outputPath

    @Option(
        name: .customLong("threads"),
        parsing: .unconditional,
        help: ArgumentHelp("Threads a large product is split across (default: OpenBLAS's).", valueName: "n"),
        transform: Count.parse)
    var threadCount: Count?

    /// The rule no option's type checks: a directory needs a name.
    func validate() throws {
        if outputPath.isEmpty { throw ValidationError("--output needs a directory, got an empty path") }
    }

    /// `--threads`, if given.
    var threads: Int? { threadCount?.value }
}
