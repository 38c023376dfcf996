import Foundation
import Perceptron
import Testing

/// The documented traps keep their messages in release builds: each runs in
/// a child process (an exit test), which must stop with a failure and print
/// the message that names what was expected and what came. This target is
/// built with `-c release`, where `precondition` would print no message at all.
@Suite("Trap messages in release builds")
struct TrapMessageTests {
    /// What the child process printed on standard error.
    static func standardError(of result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test func negativeDimensionToANonThrowingInitializer() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(shape: [2, -3])
        }
        #expect(Self.standardError(of: result).contains(
            "Tensor(shape:repeating:): shape [2, -3] has a negative dimension -3 at axis 1; dimensions must be ≥ 0"))
    }

    @Test func subscriptOutOfRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let t = Tensor<Double>(shape: [2, 3])
            _ = t[1, 3]
        }
        #expect(Self.standardError(of: result).contains(
            "Tensor subscript: index 3 is out of range 0..<3 for axis 1 of shape [2, 3]"))
    }

    @Test func subscriptWithTheWrongNumberOfIndices() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var t = Tensor<Float>(shape: [4])
            t[0, 0] = 1
        }
        #expect(Self.standardError(of: result).contains(
            "Tensor subscript: a tensor of shape [4] takes 1 indices, got 2"))
    }

    @Test func negativeFeatureCountToLinear() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Linear<Float>(inputFeatures: -1, outputFeatures: 2)
        }
        #expect(Self.standardError(of: result).contains(
            "Linear: feature counts must be ≥ 0, got inputFeatures -1, outputFeatures 2"))
    }
}
