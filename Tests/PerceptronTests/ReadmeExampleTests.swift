import Foundation
import Perceptron
import Testing

/// Keeps the README's usage example honest: the code between the markers
/// below must be the README's example to the letter, and it must run.
@Suite("README example")
struct ReadmeExampleTests {
    @Test func exampleRunsAndGivesTheDocumentedShapes() throws {
        // BEGIN README EXAMPLE
        var generator = SeededRandomNumberGenerator(seed: 42)
        let layer = Linear<Float>(inputFeatures: 3, outputFeatures: 2, using: &generator)

        // A batch of four samples, three features each (samples on rows).
        let x = try Tensor<Float>([[0.5, -1, 2], [1, 0, 0], [0, 1, 0], [-2, 0.25, 1]])
        let z = try layer(x)                       // Z = XW + b, shape [4, 2]

        // For E = ½‖Z‖², the gradient ∂E/∂Z is Z itself.
        let dx = try layer.backward(z)             // ∂E/∂X = GWᵀ, shape [4, 3]
        print(layer.weightGradient.shape)          // ∂E/∂W = XᵀG: [3, 2]
        print(layer.biasGradient!.shape)           // ∂E/∂b = column sums of G: [2]
        // END README EXAMPLE

        #expect(z.shape == [4, 2] && dx.shape == [4, 3])
        #expect(layer.weightGradient.shape == [3, 2] && layer.biasGradient?.shape == [2])
        expectMatches(z, NaiveLinear.forward(
            x: x.doubles, w: layer.weight.doubles, b: layer.bias?.doubles, n: 4, f: 3, m: 2), "Z")
    }

    @Test func readmeShowsThisExample() throws {
        let testFile = URL(fileURLWithPath: #filePath)
        let readme = testFile.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let example = try Self.lines(of: String(contentsOf: testFile, encoding: .utf8),
                                     from: "// BEGIN README EXAMPLE", to: "// END README EXAMPLE")
        let shown = try Self.lines(of: String(contentsOf: readme, encoding: .utf8),
                                   from: "<!-- BEGIN EXAMPLE -->", to: "<!-- END EXAMPLE -->")
        #expect(!example.isEmpty)
        // The README wraps the lines in a fence and `import Perceptron`.
        #expect(shown.filter { !$0.hasPrefix("```") && $0 != "import Perceptron" && !$0.isEmpty }
            == example.filter { !$0.isEmpty })
    }

    /// The trimmed lines strictly between two marker lines.
    static func lines(of text: String, from start: String, to end: String) throws -> [String] {
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let first = try #require(all.firstIndex(of: start))
        let last = try #require(all.firstIndex(of: end))
        return Array(all[(first + 1)..<last])
    }
}
