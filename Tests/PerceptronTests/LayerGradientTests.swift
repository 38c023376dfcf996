import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

/// A layer to check, built fresh for each test (layers are stateful).
struct LayerCase: Sendable, CustomTestStringConvertible {
    var name: String
    var inputShape: [Int]
    var make: @Sendable () -> any Layer<Double>
    var testDescription: String { "\(name) on \(inputShape)" }

    static let all: [LayerCase] = [
        LayerCase(name: "Linear", inputShape: [5, 3]) {
            var generator = SeededRandomNumberGenerator(seed: 1)
            return Linear<Double>(inputFeatures: 3, outputFeatures: 7, using: &generator)
        },
        LayerCase(name: "Linear without bias, rank 3", inputShape: [2, 3, 4]) {
            var generator = SeededRandomNumberGenerator(seed: 2)
            return Linear<Double>(inputFeatures: 4, outputFeatures: 5, bias: false, using: &generator)
        },
        LayerCase(name: "ReLU", inputShape: [7, 3]) { ReLU<Double>() },
        LayerCase(name: "LeakyReLU", inputShape: [3, 5]) { LeakyReLU<Double>(slope: 0.2) },
        LayerCase(name: "Tanh", inputShape: [11]) { Tanh<Double>() },
        LayerCase(name: "Sigmoid", inputShape: [3, 1, 5]) { Sigmoid<Double>() },
        LayerCase(name: "Softmax", inputShape: [4, 7]) { Softmax<Double>() },
        LayerCase(name: "Sequential MLP", inputShape: [6, 5]) {
            var generator = SeededRandomNumberGenerator(seed: 3)
            return Sequential<Double>([
                Linear(inputFeatures: 5, outputFeatures: 9, using: &generator), Tanh(),
                Linear(inputFeatures: 9, outputFeatures: 3, using: &generator), Sigmoid(),
            ])
        },
    ]
}

@Suite("Layer gradients against finite differences")
struct LayerGradientTests {
    @Test(arguments: LayerCase.all)
    func backwardMatchesCentralDifferences(_ c: LayerCase) throws {
        var generator = SeededRandomNumberGenerator(seed: 99)
        // Inputs away from 0, so that ReLU's kink is never within the step.
        let input = Tensor<Double>(shape: c.inputShape, randomIn: -2...2, using: &generator)
        let nudged = try Tensor(shape: input.shape, scalars: input.scalars.map { abs($0) < 0.05 ? $0 + 0.1 : $0 })
        let result = try GradientCheck.check(c.make(), input: nudged)
        #expect(result.maximumError < 1e-6, "\(result)")
    }

    /// A layer whose backward pass is wrong by a factor: the check must catch it.
    final class WrongGradient: ParameterlessLayer {
        typealias Scalar = Double
        func forward(_ input: Tensor<Double>) throws(PerceptronError) -> Tensor<Double> {
            try predict(input)
        }
        func predict(_ input: Tensor<Double>) throws(PerceptronError) -> Tensor<Double> {
            try Tensor(shape: input.shape, scalars: input.scalars.map { $0 * $0 })
        }
        func backward(_ outputGradient: Tensor<Double>, accumulate: Bool) throws(PerceptronError) -> Tensor<Double> {
            outputGradient   // should be 2x·g
        }
    }

    @Test func theCheckCatchesAWrongBackwardPass() throws {
        var generator = SeededRandomNumberGenerator(seed: 5)
        let input = Tensor<Double>(shape: [4, 3], randomIn: 1...2, using: &generator)
        let result = try GradientCheck.check(WrongGradient(), input: input)
        #expect(result.inputError > 0.1)
    }

    @Test func sequentialNamesParametersLikePyTorch() {
        let model = Sequential<Float>([
            Linear(inputFeatures: 4, outputFeatures: 8), ReLU(),
            Linear(inputFeatures: 8, outputFeatures: 2, bias: false),
        ])
        var names: [String] = []
        var shapes: [[Int]] = []
        try? model.forEachParameter { name, value, gradient in
            names.append(name)
            shapes.append(value.shape)
            #expect(gradient.shape == value.shape)
        }
        #expect(names == ["0.weight", "0.bias", "2.weight"])
        #expect(shapes == [[4, 8], [8], [8, 2]])
        #expect(model.parameterCount == 4 * 8 + 8 + 8 * 2)
    }

    @Test func backwardWithoutForwardThrows() throws {
        let layers: [(String, any Layer<Float>)] = [
            ("ReLU", ReLU()), ("LeakyReLU", LeakyReLU()), ("Tanh", Tanh()), ("Sigmoid", Sigmoid()), ("Softmax", Softmax()),
        ]
        for (name, layer) in layers {
            #expect(throws: PerceptronError.backwardBeforeForward(layer: name)) {
                try layer.backward(Tensor(shape: [2]), accumulate: false)
            }
            _ = try layer.forward(Tensor(shape: [2, 3]))
            #expect(throws: PerceptronError.shapeMismatch(what: "\(name) output gradient", expected: [2, 3], actual: [3, 2])) {
                try layer.backward(Tensor(shape: [3, 2]), accumulate: false)
            }
            let first = try layer.backward(Tensor(shape: [2, 3]), accumulate: false)
            // The last forward pass serves any number of backward passes, until its caches are released.
            #expect(try layer.backward(Tensor(shape: [2, 3]), accumulate: false) == first)
            layer.releaseCaches()
            #expect(throws: PerceptronError.backwardBeforeForward(layer: name)) {
                try layer.backward(Tensor(shape: [2, 3]), accumulate: false)
            }
        }
    }
}

@Suite("Activation values")
struct ActivationValueTests {
    static let x: [Double] = [-30, -2.5, -1, -0.1, 0, 0.1, 1, 2.5, 30]

    func apply(_ layer: some Layer<Double>) throws -> [Double] {
        try layer.forward(Tensor(shape: [Self.x.count], scalars: Self.x)).scalars
    }

    @Test func elementwiseFormulas() throws {
        #expect(try apply(ReLU()) == Self.x.map { max($0, 0) })
        #expect(try apply(LeakyReLU(slope: 0.25)) == Self.x.map { $0 > 0 ? $0 : 0.25 * $0 })
        for (got, x) in zip(try apply(Tanh()), Self.x) { #expect(abs(got - Foundation.tanh(x)) <= 1e-15) }
        for (got, x) in zip(try apply(Sigmoid()), Self.x) {
            #expect(abs(got - 1 / (1 + Foundation.exp(-x))) <= 1e-15 * max(1, got))
        }
    }

    @Test func softmaxRowsAreDistributionsEvenForHugeLogits() throws {
        let logits = try Tensor<Float>([[1, 2, 3], [1e4, -1e4, 0], [-5, -5, -5]])
        let y = try Softmax<Float>().forward(logits)
        for row in 0..<3 {
            let values = (0..<3).map { y[row, $0] }
            #expect(values.allSatisfy { $0.isFinite && $0 >= 0 })
            #expect(abs(values.reduce(0, +) - 1) <= 1e-6)
        }
        let e = [1.0, 2, 3].map { Foundation.exp($0 - 3) }
        for j in 0..<3 { #expect(abs(Double(y[0, j]) - e[j] / e.reduce(0, +)) <= 1e-6) }
        #expect(y[1, 0] == 1 && y[2, 1] == y[2, 2])
    }

    @Test func nanPropagates() throws {
        let nan = try Tensor<Float>(shape: [1], scalars: [.nan])
        for layer in [ReLU(), LeakyReLU(), Tanh(), Sigmoid(), Softmax()] as [any Layer<Float>] {
            #expect(try layer.forward(nan)[0].isNaN, "\(type(of: layer))")
        }
    }
}
