import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

/// The `Optimizer` and `Loss` protocols: code written once against them
/// must do exactly what the concrete types do, and the layer protocols must
/// say which layers have parameters.
@Suite("Optimizer, Loss and Layer protocols")
struct ProtocolTests {
    /// A training step written once for any loss and any optimizer, with the
    /// learning rate set through the protocol.
    static func step<L: Loss<Double>>(
        _ model: some Layer<Double>, _ loss: L, _ optimizer: some Optimizer<Double>,
        _ x: Tensor<Double>, _ target: L.Target, learningRate: Double
    ) throws -> Double {
        optimizer.learningRate = learningRate
        let value = try loss.forward(model(x), target: target)
        _ = try model.backward(loss.backward())
        try optimizer.step(model)
        return value
    }

    static func model(seed: UInt64) -> Sequential<Double> {
        var generator = SeededRandomNumberGenerator(seed: seed)
        return Sequential<Double>([
            Linear(inputFeatures: 3, outputFeatures: 5, using: &generator), Tanh(),
            Linear(inputFeatures: 5, outputFeatures: 2, using: &generator),
        ])
    }

    static func parameters(_ model: some Layer<Double>) throws -> [Double] {
        var all: [Double] = []
        try model.forEachParameter { _, value, _ in all += value.scalars }
        return all
    }

    @Test(arguments: ["SGD", "Adam"])
    func genericStepEqualsConcreteStep(optimizerName: String) throws {
        let x = try Tensor<Double>([[0.5, -1, 2], [1, 0, 0.25], [-0.5, 1, 1], [2, 0.5, -1]])
        let targets = try Tensor<Double>([[1, 0], [0, 1], [0.5, 0.5], [-1, 2]])
        let labels = [0, 1, 1, 0]
        let rates = [0.1, 0.05, 0.02]

        // Through the protocols.
        let generic = Self.model(seed: 5)
        let genericOptimizer: any Optimizer<Double> =
            optimizerName == "SGD" ? SGD<Double>(learningRate: 1, momentum: 0.9) : Adam<Double>(learningRate: 1)
        var genericLosses: [Double] = []
        for rate in rates {
            genericLosses.append(try Self.step(generic, MeanSquaredError<Double>(), genericOptimizer, x, targets, learningRate: rate))
            genericLosses.append(try Self.step(generic, SoftmaxCrossEntropy<Double>(), genericOptimizer, x, labels, learningRate: rate))
        }

        // The same steps on the concrete types.
        let concrete = Self.model(seed: 5)
        let sgd = SGD<Double>(learningRate: 1, momentum: 0.9), adam = Adam<Double>(learningRate: 1)
        let mse = MeanSquaredError<Double>(), crossEntropy = SoftmaxCrossEntropy<Double>()
        var concreteLosses: [Double] = []
        for rate in rates {
            (sgd.learningRate, adam.learningRate) = (rate, rate)
            concreteLosses.append(try mse.forward(concrete(x), target: targets))
            _ = try concrete.backward(mse.backward())
            if optimizerName == "SGD" { try sgd.step(concrete) } else { try adam.step(concrete) }
            concreteLosses.append(try crossEntropy.forward(concrete(x), labels: labels))
            _ = try concrete.backward(crossEntropy.backward())
            if optimizerName == "SGD" { try sgd.step(concrete) } else { try adam.step(concrete) }
        }

        #expect(genericLosses == concreteLosses)
        #expect(try Self.parameters(generic) == Self.parameters(concrete))
        #expect(genericOptimizer.learningRate == rates.last)
        // The steps did something: the parameters moved from where they started.
        #expect(try Self.parameters(generic) != Self.parameters(Self.model(seed: 5)))
    }

    @Test func optimizerThrowsForABadLearningRateSetThroughTheProtocol() throws {
        let model = Self.model(seed: 6)
        let optimizer: any Optimizer<Double> = SGD<Double>(learningRate: 0.1)
        _ = try model.backward(model(Tensor<Double>(shape: [1, 3])))
        optimizer.learningRate = -.infinity
        #expect(throws: PerceptronError.invalidArgument(name: "learningRate", expected: "finite and ≥ 0.0", actual: "-inf")) {
            try optimizer.step(model)
        }
    }

    @Test func parameterlessLayersVisitNothing() throws {
        let layers: [any Layer<Float>] = [ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Softmax()]
        for layer in layers {
            #expect(layer is any ParameterlessLayer<Float>, "\(type(of: layer))")
            #expect(layer.parameterCount == 0, "\(type(of: layer))")
        }
        let linear = Linear<Float>(inputFeatures: 3, outputFeatures: 2)
        #expect(!(linear as any Layer<Float> is any ParameterlessLayer<Float>))
        #expect(linear.parameterCount == 3 * 2 + 2)
    }
}
