// perceptron-digits: a handwritten-digit classifier trained with Perceptron.
//
// Loads the bundled UCI digits (8×8 images), splits them 80/20 by class,
// standardises the features on the training split, fits a 64-64-10 multilayer
// perceptron with Adam (optionally with dropout, a learning-rate schedule and
// gradient clipping), then reports test accuracy and a confusion matrix and
// saves the parameters as .npy files that numpy (or PyTorch) can read, and
// with --save as one safetensors file in PyTorch's layout; --load evaluates
// such a file instead of training. Every piece of the training loop is the
// library's: MiniBatches, Standardizer, accuracy, argmax, the schedules and
// clipGradientNorm.

import ArgumentParser
import CommandLineSupport
@preconcurrency import Glibc
import Foundation
import Perceptron
import PerceptronDistributed

/// The train/test split is the same for every `--seed`, so that seeds compare
/// models, not test sets.
let splitSeed: UInt64 = 0

/// Prints `message` to standard error and exits with `status`.
func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("perceptron-digits: \(message)\n".utf8))
    exit(status)
}

/// The command: parses the options (`Options`), then loads, trains, evaluates and saves.
@main
struct PerceptronDigits: ParsableCommand {
    /// The name and the summary that `--help` shows.
    static let configuration = CommandConfiguration(
        commandName: "perceptron-digits",
        abstract: "Trains a digit classifier on the bundled UCI handwritten digits.",
        discussion: """
            Trains a 64-N-10 multilayer perceptron (ReLU, softmax cross-entropy, Adam) on the bundled UCI \
            handwritten digits, with a stratified 80/20 split, and reports test accuracy and a confusion \
            matrix. The trained parameters are saved as .npy files, then read back into a fresh model that \
            must make the same test predictions (exit status 1 if not). --save also writes the model to one \
            .safetensors file in PyTorch's layout (nn.Sequential(...).load_state_dict(load_file(path)) takes it), \
            rebuilt from the file alone for the same check; --load evaluates such a file on the same test split \
            (the split and the standardisation do not depend on the seed) without training.
            """)

    /// Everything the command line says.
    @OptionGroup var options: Options

    /// Argument parser's entry point, after the options have parsed and validated.
    func run() throws {
        start(threads: options.threadsOption, debugCost: "training is slow")
        let world = distributedWorld()

        let (train, test, standardizer) = loadData()
        if let loadPath = options.loadPath {
            if !evaluateSaved(at: loadPath, on: test) { throw ExitCode.failure }
            return
        }
        let trainer = makeTrainer(seed: options.seed, communicator: world)
        trainer.model.precision = options.precision
        options.precisionOptions.apply()
        let dropout = options.dropout > 0 ? " and dropout \(options.dropout)" : ""
        let clipping = options.clipNorm.map { ", gradients clipped at norm \($0)" } ?? ""
        let processes = world.map { ", data-parallel on \($0.size) process\($0.size == 1 ? "" : "es")" } ?? ""
        print("model: \(DigitsDataset.featureCount)-\(options.hidden)-\(DigitsDataset.classCount) MLP with ReLU\(dropout),",
              "\(trainer.model.parameterCount) parameters, Float\(options.precision == .bfloat16 ? " in bfloat16" : "");",
              "Adam (learning rate \(options.learningRate), schedule \(options.schedule.rawValue)\(clipping)),",
              "batch \(options.batchSize), \(options.epochs) epochs, seed \(options.seed)\(processes)")
        print("")
        fit(trainer, on: train)
        evaluate(trainer.predict, on: test)
        // Every process holds the same model: rank 0 alone saves it.
        if (world?.rank ?? 0) == 0 {
            if !save(trainer, standardizer, checkingOn: test) { throw ExitCode.failure }
            if let savePath = options.savePath, !saveModel(trainer, to: savePath, checkingOn: test) { throw ExitCode.failure }
        }
    }

    /// With `--distributed`, the processes mpirun started; only rank 0 prints.
    private func distributedWorld() -> Communicator? {
        guard options.distributed else { return nil }
        do {
            let world = try Communicator.world()
            if world.rank != 0 { _ = freopen("/dev/null", "w", stdout) }
            return world
        } catch {
            fail("could not start MPI: \(error)")
        }
    }

    /// The bundled digits, split and standardised on the training split.
    private func loadData() -> (train: DigitsDataset, test: DigitsDataset, standardizer: Standardizer<Float>) {
        do {
            let digits = try DigitsDataset.bundled()
            var splitGenerator = SeededRandomNumberGenerator(seed: splitSeed)
            var (train, test) = try digits.stratifiedSplit(testFraction: 0.2, using: &splitGenerator)
            // Statistics from the training split only: the test set stays unseen.
            let standardizer = try Standardizer(fitting: train.features)
            train.features = try standardizer.transform(train.features)
            test.features = try standardizer.transform(test.features)
            print("data:  \(digits.count) digits (8×8, 0…16), \(train.count) for training and \(test.count) for testing,",
                  "stratified; standardised on the training split")
            return (train, test, standardizer)
        } catch {
            fail("could not load the digits: \(error)")
        }
    }

    /// A fresh, untrained network of the size the options give, its weights
    /// drawn from `seed`, trained data-parallel with `communicator`.
    private func makeTrainer(seed: UInt64, communicator: Communicator? = nil) -> Trainer {
        do {
            return try Trainer(
                features: DigitsDataset.featureCount, hidden: options.hidden.value, classes: DigitsDataset.classCount,
                dropout: options.dropout, learningRate: options.learningRate.value,
                batchSize: options.batchSize.value, seed: seed, communicator: communicator)
        } catch {
            fail("could not build the model: \(error)")
        }
    }

    /// Trains for the options' epochs, showing progress.
    private func fit(_ trainer: Trainer, on train: DigitsDataset) {
        let progress = Progress(epochs: options.epochs.value)
        let clock = ContinuousClock()
        do {
            let fitTime = try clock.measure {
                try trainer.fit(
                    train, epochs: options.epochs.value, schedule: options.schedule,
                    clipNorm: options.clipNorm?.value, report: progress.show)
            }
            progress.clear()
            print("fit: \(seconds(fitTime))")
        } catch {
            progress.clear()
            fail("training failed: \(error)")
        }
    }

    /// Prints the test accuracy and the confusion matrix of `predict`'s digits.
    private func evaluate(_ predict: (DigitsDataset) throws(PerceptronError) -> [Int], on test: DigitsDataset) {
        do {
            let evaluation = Evaluation(labels: test.labels, predictions: try predict(test), classes: DigitsDataset.classCount)
            print("")
            print(String(format: "test accuracy: %.2f %%", evaluation.accuracy * 100), "(\(evaluation.correct) of \(evaluation.total))")
            print("")
            print(evaluation.confusionMatrixText())
        } catch {
            fail("evaluation failed: \(error)")
        }
    }

    /// Saves the parameters and the standardisation statistics as .npy files
    /// in the output directory, lists them, then reads them back into a fresh
    /// model; returns whether it predicts `test` the same.
    private func save(_ trainer: Trainer, _ standardizer: Standardizer<Float>, checkingOn test: DigitsDataset) -> Bool {
        let directory = URL(fileURLWithPath: options.outputPath, isDirectory: true).standardizedFileURL
        do {
            try trainer.model.saveParameters(to: directory)
            // The model expects standardised pixels: keep the statistics with it, so
            // that the files alone are enough to classify new images.
            let inputDirectory = directory.appendingPathComponent("input", isDirectory: true)
            try standardizer.save(to: inputDirectory)
            print("")
            print("parameters saved to \(directory.path):")
            var files: [(name: String, shape: [Int])] = []
            try trainer.model.forEachParameter { name, value, _ in files.append((name + ".npy", value.shape)) }
            files += ["mean", "scale"].map { ("input/\($0).npy", standardizer.mean.shape) }
            func padded(_ text: String, _ width: Int) -> String {
                text + String(repeating: " ", count: max(0, width - text.count))
            }
            let nameWidth = files.map(\.name.count).max() ?? 0
            let shapeWidth = files.map { "\($0.shape)".count }.max() ?? 0
            for file in files {
                let attributes = try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(file.name).path)
                let size = (attributes?[.size] as? Int).map { "  \($0) bytes" } ?? ""
                print("  " + padded(file.name, nameWidth) + "  " + padded("\(file.shape)", shapeWidth) + size)
            }

            print("  (weights are inputs × outputs, the transpose of PyTorch's; the model's input is",
                  "(pixels − input/mean) / input/scale, as Standardizer(contentsOf:) reads them back)")

            // Read them back into a fresh model: the file format round-trips exactly.
            let reloaded = makeTrainer(seed: options.seed &+ 1)
            try reloaded.model.loadParameters(from: directory)
            let same = try reloaded.predict(test) == trainer.predict(test)
            print(same ? "reloaded: same test predictions" : "reloaded: the predictions differ (the saved files do not match the model)")
            return same
        } catch {
            fail("could not save or reload the parameters in \(directory.path): \(error)")
        }
    }

    /// Saves the trained model as one safetensors file in PyTorch's layout,
    /// then rebuilds a model from that file alone; returns whether it predicts
    /// `test` the same.
    private func saveModel(_ trainer: Trainer, to path: SafeTensorsPath, checkingOn test: DigitsDataset) -> Bool {
        let url = URL(fileURLWithPath: path.path).standardizedFileURL
        do {
            try trainer.model.save(to: url)
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int).flatMap { $0 }
            print("")
            print("model saved to \(url.path)\(size.map { " (\($0) bytes)" } ?? ""): PyTorch's state_dict layout,",
                  "weights [out, in], with the architecture in its metadata")
            let rebuilt = try Sequential<Float>(contentsOf: url)
            let same = try Self.predictions(of: rebuilt, on: test) == trainer.predict(test)
            print(same ? "rebuilt from the file: same test predictions" : "rebuilt from the file: the predictions differ")
            return same
        } catch {
            fail("could not save or rebuild the model in \(url.path): \(error)")
        }
    }

    /// Rebuilds the model saved at `path` and evaluates it on `test`; returns
    /// whether it is a classifier of the digits at all (64 inputs, 10 outputs).
    private func evaluateSaved(at path: SafeTensorsPath, on test: DigitsDataset) -> Bool {
        let url = URL(fileURLWithPath: path.path).standardizedFileURL
        let model: Sequential<Float>
        do {
            model = try Sequential<Float>(contentsOf: url)
        } catch {
            fail("could not load a model from \(url.path): \(error)")
        }
        print("model: \(model.layers.count) layers, \(model.parameterCount) parameters, from \(url.path)")
        do {
            let outputs = try model.predict(test.features).shape
            guard outputs == [test.count, DigitsDataset.classCount] else {
                fail("the model gives outputs of shape \(outputs) for \(test.count) test digits; "
                     + "a digit classifier gives [\(test.count), \(DigitsDataset.classCount)]")
            }
        } catch {
            fail("the model does not take the digits' \(DigitsDataset.featureCount) features: \(error)")
        }
        evaluate({ (data: DigitsDataset) throws(PerceptronError) in try Self.predictions(of: model, on: data) }, on: test)
        return true
    }

    /// The predicted digit of every sample of `data`, in one inference pass.
    private static func predictions(of model: Sequential<Float>, on data: DigitsDataset) throws(PerceptronError) -> [Int] {
        try model.predict(data.features).argmax()
    }
}
