import Foundation
import Perceptron
import Testing

// BEGIN DOC EXAMPLE square
/// y = x², elementwise.
final class Square: ParameterlessLayer {
    /// The last forward pass's input, for any number of backward passes.
    private var input: Tensor<Double>?

    func forward(_ input: Tensor<Double>) throws(PerceptronError) -> Tensor<Double> {
        self.input = input
        return try predict(input)
    }

    func predict(_ input: Tensor<Double>) throws(PerceptronError) -> Tensor<Double> {
        var y = input
        y.withUnsafeMutableBufferPointer { y in
            for i in y.indices { y[i] *= y[i] }
        }
        return y
    }

    func backward(_ outputGradient: Tensor<Double>, accumulate: Bool) throws(PerceptronError) -> Tensor<Double> {
        guard let input else { throw .backwardBeforeForward(layer: "Square") }
        guard outputGradient.shape == input.shape else {
            throw .shapeMismatch(what: "Square output gradient", expected: input.shape, actual: outputGradient.shape)
        }
        var dx = outputGradient
        input.withUnsafeBufferPointer { x in
            dx.withUnsafeMutableBufferPointer { dx in
                for i in dx.indices { dx[i] *= 2 * x[i] }
            }
        }
        return dx
    }

    func releaseCaches() { input = nil }
}
// END DOC EXAMPLE square

/// The "Your own layer" example of GettingStarted.md, as printed there: it
/// compiles as a `Layer`, passes the gradient check the article shows, and
/// keeps the layer contract (repeated backward passes, predict keeps nothing).
@Suite("Getting started: your own layer")
struct GettingStartedLayerTests {
    @Test func theArticleShowsThisSquare() throws {
        let testFile = URL(fileURLWithPath: #filePath)
        let article = testFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Perceptron/Perceptron.docc/GettingStarted.md")
        let example = try ReadmeExampleTests.lines(
            of: String(contentsOf: testFile, encoding: .utf8),
            from: "// BEGIN DOC EXAMPLE square", to: "// END DOC EXAMPLE square")
        let shown = try ReadmeExampleTests.lines(
            of: String(contentsOf: article, encoding: .utf8),
            from: "<!-- BEGIN EXAMPLE square -->", to: "<!-- END EXAMPLE square -->")
        #expect(!example.isEmpty)
        #expect(shown.filter { !$0.hasPrefix("```") } == example)
    }

    @Test func passesTheGradientCheckAndKeepsTheLayerContract() throws {
        var generator = SeededRandomNumberGenerator(seed: 1)
        let input = Tensor<Double>(shape: [5, 3], randomIn: -1...1, using: &generator)
        let result = try GradientCheck.check(Square(), input: input)
        #expect(result.maximumError < 1e-6, "\(result.maximumError)")

        let square = Square()
        let y = try square.forward(input)
        let g = Tensor<Double>(shape: [5, 3], randomIn: -1...1, using: &generator)
        let first = try square.backward(g)
        _ = try square.predict(Tensor<Double>(shape: [2, 3], randomIn: -1...1, using: &generator))
        let second = try square.backward(g)
        #expect(first.scalars == second.scalars, "a second backward pass, after predict, differs")
        for i in 0..<15 {
            #expect(y.scalars[i] == input.scalars[i] * input.scalars[i])
            #expect(first.scalars[i] == g.scalars[i] * 2 * input.scalars[i])
        }
        square.releaseCaches()
        #expect(throws: PerceptronError.self) { try square.backward(g) }
    }
}
