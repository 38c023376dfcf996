import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

/// The seed's contract (a layer keeps its input for the backward pass) and
/// evaluation that disturbs nothing: `backward` may be called any number of
/// times for the last `forward`, and `predict` may run at any point between.
@Suite("Repeated backward passes and predict")
struct SeedContractTests {
    /// An MLP with every built-in layer kind that has a backward pass.
    static func model(seed: UInt64) -> Sequential<Double> {
        var generator = SeededRandomNumberGenerator(seed: seed)
        return Sequential<Double>([
            Linear(inputFeatures: 6, outputFeatures: 8, using: &generator), ReLU(),
            Linear(inputFeatures: 8, outputFeatures: 8, using: &generator), Tanh(),
            Linear(inputFeatures: 8, outputFeatures: 8, using: &generator), Sigmoid(),
            Linear(inputFeatures: 8, outputFeatures: 8, using: &generator), LeakyReLU(slope: 0.1),
            Linear(inputFeatures: 8, outputFeatures: 4, using: &generator), Softmax(),
        ])
    }

    /// Every gradient of `model`, in visiting order.
    static func gradients(_ model: some Layer<Double>) throws -> [Tensor<Double>] {
        var all: [Tensor<Double>] = []
        try model.forEachParameter { _, _, gradient in all.append(gradient) }
        return all
    }

    static func bits(_ tensors: [Tensor<Double>]) -> [[UInt64]] {
        tensors.map { $0.scalars.map(\.bitPattern) }
    }

    @Test func repeatedBackwardEqualsTheFirst() throws {
        var generator = SeededRandomNumberGenerator(seed: 1)
        let model = Self.model(seed: 2)
        let x = Tensor<Double>(shape: [5, 6], randomIn: -1...1, using: &generator)
        let g = Tensor<Double>(shape: [5, 4], randomIn: -1...1, using: &generator)
        _ = try model.forward(x)
        let first = try model.backward(g)
        let firstGradients = try Self.gradients(model)
        for _ in 0..<3 {
            let again = try model.backward(g)
            #expect(again.scalars.map(\.bitPattern) == first.scalars.map(\.bitPattern))
            #expect(Self.bits(try Self.gradients(model)) == Self.bits(firstGradients))
        }
    }

    @Test func accumulatingTwiceIsTwiceTheGradient() throws {
        var generator = SeededRandomNumberGenerator(seed: 3)
        let model = Self.model(seed: 4)
        let x = Tensor<Double>(shape: [7, 6], randomIn: -1...1, using: &generator)
        let g = Tensor<Double>(shape: [7, 4], randomIn: -1...1, using: &generator)
        _ = try model.forward(x)
        _ = try model.backward(g)
        let once = try Self.gradients(model)
        model.zeroGradients()
        _ = try model.backward(g, accumulate: true)
        _ = try model.backward(g, accumulate: true)
        // Equal up to rounding: with β = 1 the GEMM may add the stored
        // gradient inside its sums rather than after them, and the
        // products run on β-specific kernels. Each element is a sum of 7
        // products (the batch), so (7 + 2)·ε of the largest magnitude bounds it.
        for (twice, single) in zip(try Self.gradients(model), once) {
            let scale = single.scalars.map(abs).max() ?? 0
            for (got, value) in zip(twice.scalars, single.scalars) {
                #expect(abs(got - 2 * value) <= 9 * Double.ulpOfOne * 2 * scale, "\(got) vs 2 × \(value)")
            }
        }
        #expect(once.contains { $0.scalars.contains { $0 != 0 } }, "the gradients are not all zero")
    }

    @Test func predictEqualsForwardBitForBit() throws {
        var generator = SeededRandomNumberGenerator(seed: 5)
        let model = Self.model(seed: 6)
        for rows in [1, 3, 64, 300] {
            let x = Tensor<Double>(shape: [rows, 6], randomIn: -2...2, using: &generator)
            let predicted = try model.predict(x)
            let forward = try model.forward(x)
            #expect(predicted.shape == forward.shape)
            #expect(predicted.scalars.map(\.bitPattern) == forward.scalars.map(\.bitPattern), "\(rows) rows")
        }
    }

    /// Forward on a training batch, predict on a validation batch of the
    /// same size, then backward for the training batch: the gradients must
    /// be those of the training batch, bit for bit.
    @Test func predictBetweenForwardAndBackwardChangesNothing() throws {
        var generator = SeededRandomNumberGenerator(seed: 7)
        let x = Tensor<Double>(shape: [16, 6], randomIn: -1...1, using: &generator)
        let validation = Tensor<Double>(shape: [16, 6], randomIn: -1...1, using: &generator)
        let g = Tensor<Double>(shape: [16, 4], randomIn: -1...1, using: &generator)

        let undisturbed = Self.model(seed: 8)
        _ = try undisturbed.forward(x)
        let expected = try undisturbed.backward(g)

        let disturbed = Self.model(seed: 8)
        _ = try disturbed.forward(x)
        _ = try disturbed.predict(validation)
        let got = try disturbed.backward(g)
        #expect(got.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern))
        #expect(Self.bits(try Self.gradients(disturbed)) == Self.bits(try Self.gradients(undisturbed)))
    }

    /// `predict` keeps no reference to its input: writing to the input
    /// afterwards does not copy it (a kept reference would make it shared),
    /// where after `forward` it does.
    @Test func predictKeepsNoReferenceToItsInput() throws {
        let model = Self.model(seed: 9)
        var x = Tensor<Double>(shape: [4, 6], repeating: 0.5)
        let before = x.withUnsafeBufferPointer { $0.baseAddress }
        _ = try model.predict(x)
        x[0, 0] = 1
        #expect(x.withUnsafeBufferPointer { $0.baseAddress } == before, "predict kept the input")
        _ = try model.forward(x)
        x[0, 0] = 2
        #expect(x.withUnsafeBufferPointer { $0.baseAddress } != before, "forward keeps the input for backward")
    }

    @Test func releasedCachesNeedAForwardPassAgain() throws {
        let model = Self.model(seed: 10)
        _ = try model.forward(Tensor(shape: [2, 6]))
        model.releaseCaches()
        #expect(throws: PerceptronError.inLayer(index: 9, type: "Softmax", error: .backwardBeforeForward(layer: "Softmax"))) {
            try model.backward(Tensor(shape: [2, 4]))
        }
    }
}
