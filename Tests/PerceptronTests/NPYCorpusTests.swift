import Foundation
@_spi(Benchmarking) @testable import Perceptron
import Testing

/// Replays the fuzz corpus through the reader: whatever the bytes, it returns
/// a consistent tensor or throws `.invalidNPY`. A regression here is most
/// likely a crash, which takes the whole test process down: reproduce it with
/// `swift run perceptron-npy-fuzz Tests/PerceptronTests/Fixtures/npy-corpus`,
/// which names the file.
@Suite("NPY: fuzz corpus replay")
struct NPYCorpusTests {
    @Test func corpusIsPresent() {
        // Guards the parameterised test below from passing vacuously.
        #expect(CorpusFile.npy.count >= 20)
    }

    @Test(arguments: CorpusFile.npy)
    func readsOrRefuses(_ file: CorpusFile) throws {
        let data = try Data(contentsOf: file.url)
        expectTensorOrInvalid(data, as: Float.self)
        expectTensorOrInvalid(data, as: Double.self)
        // The file path goes through the POSIX reading code as well.
        expectTensorOrInvalid(fileAt: file.url, as: Float.self)
        expectTensorOrInvalid(fileAt: file.url, as: Double.self)
    }

    /// Reads `data`, which must give a tensor whose count matches its shape,
    /// and which survives a write and re-read, or `.invalidNPY` with a reason.
    func expectTensorOrInvalid<Scalar: BLASScalar>(
        _ data: Data, as _: Scalar.Type, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let tensor = try Tensor<Scalar>(npyData: data)
            expectConsistent(tensor, sourceLocation: sourceLocation)
        } catch {
            expectInvalidNPY(error, path: "<data>", sourceLocation: sourceLocation)
        }
    }

    func expectTensorOrInvalid<Scalar: BLASScalar>(
        fileAt url: URL, as _: Scalar.Type, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let tensor = try Tensor<Scalar>(contentsOfNPY: url)
            expectConsistent(tensor, sourceLocation: sourceLocation)
        } catch {
            expectInvalidNPY(error, path: url.path, sourceLocation: sourceLocation)
        }
    }

    func expectConsistent<Scalar: BLASScalar>(_ tensor: Tensor<Scalar>, sourceLocation: SourceLocation) {
        // Overflow-checked: a shape whose product overflows must never have given a tensor.
        var product: Int? = 1
        for dimension in tensor.shape {
            guard dimension >= 0, let sofar = product else { product = nil; break }
            let (next, overflow) = sofar.multipliedReportingOverflow(by: dimension)
            product = overflow ? nil : next
        }
        #expect(product == tensor.count, "shape \(tensor.shape), count \(tensor.count)", sourceLocation: sourceLocation)
        #expect(tensor.withUnsafeBufferPointer(\.count) == tensor.count, sourceLocation: sourceLocation)
        let again = try? Tensor<Scalar>(npyData: tensor.npyData())
        #expect(again?.shape == tensor.shape, sourceLocation: sourceLocation)
        #expect(again?.scalarBytes == tensor.scalarBytes, sourceLocation: sourceLocation)
    }

    func expectInvalidNPY(_ error: PerceptronError, path expectedPath: String, sourceLocation: SourceLocation) {
        guard case let .invalidNPY(path, reason) = error else {
            Issue.record("expected .invalidNPY, got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(path == expectedPath, sourceLocation: sourceLocation)
        #expect(!reason.isEmpty, sourceLocation: sourceLocation)
    }
}
