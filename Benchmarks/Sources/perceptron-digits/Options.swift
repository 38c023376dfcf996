import ArgumentParser
import CommandLineSupport

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

    /// `--epochs`: how many times the training set is seen.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Passes over the training set.", default: Default.epochs, valueName: "n"),
        transform: Count.parse)
    var epochs = Default.epochs

    /// `--batch-size`: samples per optimizer step.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Samples per Adam step.", default: Default.batchSize, valueName: "n"),
        transform: Count.parse)
    var batchSize = Default.batchSize

    /// `--learning-rate`: Adam's step size.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Adam's learning rate.", default: Default.learningRate, valueName: "x"),
        transform: Positive<Float>.parse)
    var learningRate = Default.learningRate

    /// `--hidden`: the width of the hidden layer.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Hidden units.", default: Default.hidden, valueName: "n"),
        transform: Count.parse)
    var hidden = Default.hidden

    /// `--seed`: the initial weights and the shuffles, not the split.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seeds the weights and the per-epoch shuffles; the train/test split is fixed whatever the seed.",
            default: Default.seed, valueName: "n"),
        transform: UInt64.parse)
    var seed = Default.seed

    /// `--output`: the directory the parameters are saved to.
    @Option(
        name: .customLong("output"),
        help: ArgumentHelp("Where the trained parameters are saved as .npy files.", valueName: "dir"))
    var outputPath = Default.outputPath

    /// `--threads`, which the bench has too.
    @OptionGroup var threadsOption: ThreadsOption

    /// The rule no option's type checks: a directory needs a name.
    func validate() throws {
        if outputPath.isEmpty { throw ValidationError("--output needs a directory, got an empty path") }
    }
}
