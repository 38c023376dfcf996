import Foundation
import Perceptron
import Testing

/// Resident memory around inference on a large batch, read from
/// /proc/self/statm. Large buffers are mapped and unmapped by malloc, so a
/// buffer let go of leaves the resident set at once. Here, in the release-built
/// tests, rather than with the library's tests: under AddressSanitizer
/// (`make test-sanitize`) freed memory is held in quarantine and stays resident.
@Suite("Memory after predict", .serialized)
struct PredictMemoryTests {
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test func residentMemoryReturnsAfterPredictAndAfterReleasingCaches() throws {
        var generator = SeededRandomNumberGenerator(seed: 11)
        let model = Sequential<Float>([
            Linear(inputFeatures: 16, outputFeatures: 512, using: &generator), ReLU(),
            Linear(inputFeatures: 512, outputFeatures: 10, using: &generator),
        ])
        let rows = 200_000
        let hidden = rows * 512 * MemoryLayout<Float>.size   // 400 MB per hidden tensor
        var x = Tensor<Float>(shape: [rows, 16], repeating: 0.25)
        let start = Self.residentBytes()

        let y = try model.predict(x)
        #expect(y.shape == [rows, 10])
        let afterPredict = Self.residentBytes()
        #expect(afterPredict - start < hidden / 4, "predict left \(afterPredict - start) bytes resident")

        _ = try model.forward(x)
        let afterForward = Self.residentBytes()
        // The measurement can see what a layer keeps: forward keeps both hidden tensors.
        #expect(afterForward - start > hidden, "forward keeps \(afterForward - start) bytes")
        model.releaseCaches()
        x = Tensor(shape: [1, 16])
        let afterRelease = Self.residentBytes()
        #expect(afterRelease - start < hidden / 4, "releaseCaches left \(afterRelease - start) bytes resident")
    }
}
