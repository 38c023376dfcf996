// perceptron-moons: a binary classifier trained with Perceptron on the
// two-moons data set.
//
// Generates scikit-learn's two moons with seeded noise, holds a fifth of the
// points out, fits a 2-h-h-1 multilayer perceptron with one logit output
// (BinaryCrossEntropyWithLogits, Adam, a cosine learning-rate schedule, the
// library's RegressionBatches and Standardizer), and reports the accuracy on
// the held-out points. The companion of perceptron-digits, whose loss is the
// softmax cross-entropy of ten classes.

import ArgumentParser
import CommandLineSupport
import Foundation
import MoonsExample
import Perceptron

/// The command: parses the options, then generates, trains and evaluates.
@main
struct PerceptronMoons: ParsableCommand {
    /// The name and the summary that `--help` shows.
    static let configuration = CommandConfiguration(
        commandName: "perceptron-moons",
        abstract: "Trains a binary classifier on scikit-learn's two moons, generated with seeded noise.",
        discussion: """
            Generates the two-moons data set (make_moons: two interleaved half circles with Gaussian noise), \
            holds out a fifth of the points, trains a 2-N-N-1 multilayer perceptron (ReLU, one logit, binary \
            cross-entropy with logits, Adam with a cosine schedule) on the rest, and reports the accuracy on \
            the held-out points.
            """)

    /// `--samples`: points generated, training and held-out together.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Points generated; a fifth of them (rounded) is held out.", default: Count(MoonsDefaults.samples), valueName: "n"),
        transform: Count.parse)
    var samples = Count(MoonsDefaults.samples)

    /// `--noise`: the standard deviation of the noise on each coordinate.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Standard deviation of the Gaussian noise on each coordinate, ≥ 0.", valueName: "x"))
    var noise = MoonsDefaults.noise

    /// `--data-seed`: the points, their order and their noise.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Seeds the points' order and noise.", default: UInt64(0), valueName: "n"),
        transform: UInt64.parse)
    var dataSeed: UInt64 = 0

    /// `--epochs`: passes over the training points.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Passes over the training points.", default: Count(MoonsClassifier.Settings().epochs), valueName: "n"),
        transform: Count.parse)
    var epochs = Count(MoonsClassifier.Settings().epochs)

    /// `--batch-size`: points per optimizer step.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Points per Adam step.", default: Count(MoonsClassifier.Settings().batchSize), valueName: "n"),
        transform: Count.parse)
    var batchSize = Count(MoonsClassifier.Settings().batchSize)

    /// `--learning-rate`: Adam's initial step size.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Adam's initial learning rate, annealed to a hundredth of it along a cosine.",
            default: Positive<Float>(MoonsClassifier.Settings().learningRate), valueName: "x"),
        transform: Positive<Float>.parse)
    var learningRate = Positive<Float>(MoonsClassifier.Settings().learningRate)

    /// `--hidden`: the width of each hidden layer.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Units in each of the two hidden layers.", default: Count(MoonsDefaults.hidden), valueName: "n"),
        transform: Count.parse)
    var hidden = Count(MoonsDefaults.hidden)

    /// `--seed`: the initial weights and the per-epoch shuffles.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Seeds the weights and the per-epoch shuffles.", default: UInt64(0), valueName: "n"),
        transform: UInt64.parse)
    var seed: UInt64 = 0

    /// `--threads`, which the other commands have too.
    @OptionGroup var threadsOption: ThreadsOption

    /// The rules no option's type checks.
    func validate() throws {
        if !(noise.isFinite && noise >= 0) { throw ValidationError("--noise must be a finite number ≥ 0, got \(noise)") }
        if samples.value < 2 { throw ValidationError("--samples must be at least 2, one to train on and one to hold out, got \(samples)") }
    }

    /// Argument parser's entry point, after the options have parsed and validated.
    func run() throws {
        start(threads: threadsOption, debugCost: "training is slow")
        let moons = TwoMoons(count: samples.value, noise: noise, seed: dataSeed)
        let (train, test) = try moons.split(testCount: MoonsDefaults.heldOutCount(of: samples.value))
        print("data:  \(moons.count) points on two moons, noise \(noise), data seed \(dataSeed);",
              "\(train.count) for training, \(test.count) held out")

        var settings = MoonsClassifier.Settings()
        settings.epochs = epochs.value
        settings.batchSize = batchSize.value
        settings.learningRate = learningRate.value
        let classifier = MoonsClassifier(hiddenLayers: [hidden.value, hidden.value], seed: seed)
        print("model: 2-\(hidden)-\(hidden)-1 MLP with ReLU, one logit, \(classifier.model.parameterCount) parameters, Float;",
              "BinaryCrossEntropyWithLogits, Adam (learning rate \(learningRate), cosine to a hundredth),",
              "batch \(batchSize), \(epochs) epochs, seed \(seed)")
        print("")

        let interval = max(1, epochs.value / 10)
        let clock = ContinuousClock()
        let fitTime = try clock.measure {
            try classifier.fit(train, settings: settings) { epoch in
                guard epoch.number == 1 || epoch.number % interval == 0 else { return }
                print(String(format: "epoch %\(String(epochs.value).count)d/%d  loss %.4f  learning rate %.5f",
                             epoch.number, epochs.value, epoch.loss, epoch.learningRate))
            }
        }
        let (whole, attoseconds) = fitTime.components
        print(String(format: "fit: %.2f s", Double(whole) + Double(attoseconds) * 1e-18))
        print("")
        let testAccuracy = try classifier.accuracy(on: test)
        print(String(format: "train accuracy: %.2f %%", try classifier.accuracy(on: train) * 100))
        print(String(format: "test accuracy:  %.2f %% (%d of %d held-out points)",
                     testAccuracy * 100, Int((testAccuracy * Double(test.count)).rounded()), test.count))
    }
}
