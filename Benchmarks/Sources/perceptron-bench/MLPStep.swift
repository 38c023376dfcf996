// perceptron-bench --mlp: the steady training step of a whole model, not one
// layer: an MLP 784-256-256-10 with LayerNorm and Dropout, softmax
// cross-entropy and Adam, on one fixed batch.
//
// The step is what a training loop repeats: forward through the model, the
// loss and its gradient, the backward pass (every parameter's gradient, and
// the input's, as Sequential.backward returns it), and Adam's update. It is
// timed after warm-up steps (which allocate every buffer the step reuses and
// Adam's moments), each sample one step or more, and its heap allocations are
// counted over ten steady steps on all threads. compare_numpy.py times the
// same step written in numpy (`make compare`).

import CAllocationCounter
import Foundation
@_spi(Benchmarking) import Perceptron

enum MLPStep {
    /// The model's widths: inputs, the two hidden layers, classes.
    static let widths = [784, 256, 256, 10]
    /// Rows per step.
    static let batchSize = 128
    /// The dropout probability after each hidden layer.
    static let dropout = 0.1
    static let learningRate = 1e-3
    static let seed: UInt64 = 2026
    static let warmUpSteps = 5
    static let countedSteps = 10

    /// `Linear-LayerNorm-ReLU-Dropout`, twice, then `Linear`: how the report names the model.
    static let architecture = "Linear-LayerNorm-ReLU-Dropout(\(dropout)) ×2, Linear"

    /// The floating-point operations of one step's matrix products: each
    /// Linear's forward product and its two backward ones, `6·n·f·m` in all
    /// (the elementwise work, LayerNorm, the loss and Adam are not counted).
    static var productFLOPs: Double {
        zip(widths, widths.dropFirst()).map { 6 * Double(batchSize) * Double($0) * Double($1) }.reduce(0, +)
    }

    /// Runs the measurement in `dtype`, prints it and with `jsonPath` writes it; returns the exit status.
    static func run(dtype: Options.DType, precision: Precision, quick: Bool, jsonPath: String?) -> Int32 {
        let timer = Timer(budget: quick ? .milliseconds(500) : .seconds(2), minimumSamples: quick ? 9 : 25)
        do {
            let report = switch dtype {
            case .float: try measure(Float.self, precision: precision, timer: timer)
            case .double: try measure(Double.self, precision: precision, timer: timer)
            }
            report.printSummary()
            if let jsonPath {
                try writeAsJSON(report, to: jsonPath)
                print("Wrote \(jsonPath)")
            }
            return 0
        } catch {
            printError("--mlp: \(error)")
            return 1
        }
    }

    private static func measure<S: BLASScalar>(_: S.Type, precision: Precision, timer: Timer) throws -> MLPReport {
        var generator = SeededRandomNumberGenerator(seed: seed)
        var layers: [any Layer<S>] = []
        for (index, (inputs, outputs)) in zip(widths, widths.dropFirst()).enumerated() {
            layers.append(Linear(inputFeatures: inputs, outputFeatures: outputs, using: &generator))
            if index < widths.count - 2 {
                layers += [LayerNorm(features: outputs), ReLU(),
                           try Dropout(probability: S(dropout), seed: seed &+ UInt64(index) &+ 1)]
            }
        }
        let model = Sequential(layers)
        model.precision = precision
        let loss = SoftmaxCrossEntropy<S>()
        let adam = Adam<S>(learningRate: S(learningRate))
        let x = Tensor<S>(shape: [batchSize, widths[0]], randomIn: -1...1, using: &generator)
        let labels = (0..<batchSize).map { _ in Int.random(in: 0..<widths.last!, using: &generator) }
        var lastLoss: S = 0
        func step() throws {
            lastLoss = try loss.forward(model(x), labels: labels)
            _ = try model.backward(loss.backward())
            try adam.step(model)
        }
        for _ in 0..<warmUpSteps { try step() }
        // try! from here on: the warm-up steps have checked every shape and argument.
        let time = timer.measure { try! step() }
        var allocations: Double?
        if allocation_counter_is_available() {
            allocation_counter_start_process()
            for _ in 0..<countedSteps { try! step() }
            allocations = Double(allocation_counter_stop_process()) / Double(countedSteps)
        }
        guard lastLoss.isFinite else { throw MLPStepError("the loss became \(lastLoss) after \(adam.stepCount) steps") }
        let configuration = BLAS.configuration
        return MLPReport(
            cpu: cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount, blas: configuration.description,
            threads: configuration.threadCount, dtype: S.self == Float.self ? "float" : "double",
            precision: precision.rawValue, widths: widths, architecture: architecture, batchSize: batchSize, dropout: dropout,
            learningRate: learningRate, parameters: model.parameterCount, flops: productFLOPs,
            step: time, allocationsPerStep: allocations)
    }
}

/// A step that trained to a non-finite loss: the measurement would mean nothing.
struct MLPStepError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What `--mlp` measured, with the machine and library it ran on (its `--json`).
struct MLPReport: Codable {
    var cpu: String
    var cores: Int
    var blas: String
    var threads: Int
    var dtype: String
    /// The layers' ``Precision``, `float32` or `bfloat16`.
    var precision: String
    var widths: [Int]
    var architecture: String
    var batchSize: Int
    var dropout: Double
    var learningRate: Double
    var parameters: Int
    /// The floating-point operations of one step's matrix products.
    var flops: Double
    /// One training step: median, min–max and the number of samples.
    var step: Measurement
    /// Heap allocations per steady step, all threads; nil where they cannot be counted.
    var allocationsPerStep: Double?

    func printSummary() {
        print("Perceptron benchmark: the training step of an MLP \(widths.map(String.init).joined(separator: "-")) (\(dtype)\(precision == "bfloat16" ? ", layers in bfloat16" : ""))")
        print("CPU:      \(cpu), \(cores) cores")
        print("BLAS:     \(blas)")
        print("model:    \(architecture); SoftmaxCrossEntropy, Adam (learning rate \(learningRate));",
              "batch \(batchSize); \(parameters) parameters")
        print("")
        print(pad("", 6), rpad("median", 12), rpad("min–max", 23), rpad("samples", 8), rpad("GFLOP/s", 9), rpad("allocs/step", 12))
        print(pad("step", 6), rpad(time(step.medianSeconds), 12),
              rpad("\(time(step.minSeconds))–\(time(step.maxSeconds))", 23), rpad(String(step.samples), 8),
              rpad(String(format: "%.1f", flops / step.medianSeconds / 1e9), 9),
              rpad(allocationsPerStep.map { String(format: "%g", $0) } ?? "–", 12))
        print("")
        print("A step: forward, loss, backward (every gradient, and the input's), Adam's update; timed after",
              "\(MLPStep.warmUpSteps) warm-up steps on one fixed batch.")
        print("GFLOP/s counts the step's matrix products only (6·n·f·m per Linear); allocs/step: heap allocations",
              "per steady step, all threads.")
    }
}
