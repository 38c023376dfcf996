/// The example's command line, parsed by hand: the package takes no dependencies.
struct Options {
    var epochs = 100
    var batchSize = 32
    var learningRate: Float = 1e-3
    var hidden = 64
    var seed: UInt64 = 0
    var outputPath = ".build/digits-model"
    var threads: Int?

    static let usage = """
        usage: perceptron-digits [--epochs N] [--batch-size N] [--learning-rate X] [--hidden N]
                                 [--seed N] [--output DIR] [--threads N]

        Trains a 64-N-10 multilayer perceptron (ReLU, softmax cross-entropy, Adam) on the
        bundled UCI handwritten digits, with a stratified 80/20 split, and reports test
        accuracy and a confusion matrix.

          --epochs N            passes over the training set (default 100)
          --batch-size N        samples per Adam step (default 32)
          --learning-rate X     Adam's learning rate (default 0.001)
          --hidden N            hidden units (default 64)
          --seed N              seeds the weights and the per-epoch shuffles (default 0);
                                the train/test split is fixed whatever the seed
          --output DIR          where the trained parameters are saved as .npy files
                                (default .build/digits-model)
          --threads N           threads a large product is split across (default: OpenBLAS's)
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
                // Accept `--flag=value` as well as `--flag value`.
                if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                    remaining.insert(String(argument[argument.index(after: equals)...]), at: remaining.startIndex)
                    try options.apply(String(argument[..<equals]), value: value, count: count)
                } else {
                    try options.apply(argument, value: value, count: count)
                }
            }
        } catch {
            return .failure(error)
        }
        return .success(options)
    }

    /// Applies one flag, reading its value (if it takes one) through `value` or `count`.
    private mutating func apply(
        _ flag: String,
        value: (String) throws(OptionsError) -> String,
        count: (String) throws(OptionsError) -> Int
    ) throws(OptionsError) {
        switch flag {
        case "--epochs":
            epochs = try count(flag)
        case "--batch-size":
            batchSize = try count(flag)
        case "--hidden":
            hidden = try count(flag)
        case "--threads":
            threads = try count(flag)
        case "--learning-rate":
            let text = try value(flag)
            guard let rate = Float(text), rate.isFinite, rate > 0 else {
                throw OptionsError("--learning-rate must be a positive number, got \(text)")
            }
            learningRate = rate
        case "--seed":
            let text = try value(flag)
            guard let seed = UInt64(text) else {
                throw OptionsError("--seed must be a whole number in 0...\(UInt64.max), got \(text)")
            }
            self.seed = seed
        case "--output":
            let text = try value(flag)
            guard !text.isEmpty else { throw OptionsError("--output needs a directory, got an empty path") }
            outputPath = text
        case "--help", "-h":
            throw OptionsError(nil)
        default:
            throw OptionsError("unknown option \(flag)")
        }
    }
}

/// A command-line mistake, or a request for help (no message).
struct OptionsError: Error {
    var message: String?
    init(_ message: String?) { self.message = message }
}
