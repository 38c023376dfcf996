import ArgumentParser
import CommandLineSupport
import Perceptron

extension Trainer.Schedule: ExpressibleByArgument {}

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

    /// `--save`: also save the trained model as one safetensors file, in PyTorch's layout.
    @Option(
        name: .customLong("save"),
        help: ArgumentHelp(
            "Also save the trained model to this .safetensors file: PyTorch's state_dict layout, with the architecture.",
            valueName: "file"),
        transform: SafeTensorsPath.parse)
    var savePath: SafeTensorsPath?

    /// `--load`: evaluate a saved model instead of training one.
    @Option(
        name: .customLong("load"),
        help: ArgumentHelp(
            "Evaluate the model in this .safetensors file (saved with --save) on the test split instead of training.",
            valueName: "file"),
        transform: SafeTensorsPath.parse)
    var loadPath: SafeTensorsPath?

    /// `--dropout`: the probability of zeroing a hidden unit in training (0: no dropout layer).
    @Option(help: ArgumentHelp("Dropout probability after the hidden layer, in 0..<1 (0: none).", valueName: "p"))
    var dropout: Float = 0

    /// `--schedule`: how the learning rate changes over the epochs.
    @Option(help: ArgumentHelp(
        "Learning-rate schedule: none, cosine (to a hundredth over all epochs) or step (a tenth every third of them).",
        valueName: "kind"))
    var schedule: Trainer.Schedule = .none

    /// `--clip-norm`: the largest global gradient norm before each step, if given.
    @Option(
        name: .customLong("clip-norm"),
        help: ArgumentHelp("Scale gradients so their global L2 norm is at most x before each step.", valueName: "x"),
        transform: Positive<Float>.parse)
    var clipNorm: Positive<Float>?

    /// `--distributed`: data-parallel training on the processes `mpirun` started.
    @Flag(help: ArgumentHelp(
        "Train data-parallel on the processes mpirun started (mpirun -np 2 perceptron-digits --distributed); rank 0 prints and saves."))
    var distributed = false

    /// `--precision` and `--bf16-threshold`.
    @OptionGroup var precisionOptions: PrecisionOptions

    /// `--precision`.
    var precision: Precision { precisionOptions.precision }

    /// `--threads`, which the bench has too.
    @OptionGroup var threadsOption: ThreadsOption

    /// The rules no option's type checks: a directory needs a name, and a
    /// model is either trained (and perhaps saved) or loaded.
    func validate() throws {
        if outputPath.isEmpty { throw ValidationError("--output needs a directory, got an empty path") }
        if savePath != nil && loadPath != nil {
            throw ValidationError("--load evaluates a saved model and --save saves a trained one: give one of them")
        }
        if !(0..<1).contains(dropout) { throw ValidationError("--dropout must be in 0..<1, got \(dropout)") }
    }
}
