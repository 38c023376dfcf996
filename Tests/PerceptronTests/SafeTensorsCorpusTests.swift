import Foundation
@testable import Perceptron
import Testing

/// Replays the fuzz corpus through the reader: whatever the bytes, it returns
/// consistent tensors or throws `.invalidSafeTensors`. A regression here is
/// most likely a crash, which takes the whole test process down: reproduce it
/// with `swift run perceptron-safetensors-fuzz Tests/PerceptronTests/Fixtures/safetensors-corpus`,
/// which names the file.
@Suite("safetensors: fuzz corpus replay")
struct SafeTensorsCorpusTests {
    @Test func corpusIsPresent() {
        // Guards the parameterised test below from passing vacuously.
        #expect(CorpusFile.safeTensors.count >= 50)
    }

    @Test(arguments: CorpusFile.safeTensors)
    func readsOrRefuses(_ file: CorpusFile) throws {
        let data = try Data(contentsOf: file.url)
        expectTensorsOrInvalid(data, as: Float.self)
        expectTensorsOrInvalid(data, as: Double.self)
        // The file path goes through the POSIX reading code as well.
        expectTensorsOrInvalid(fileAt: file.url, as: Float.self)
        expectTensorsOrInvalid(fileAt: file.url, as: Double.self)
    }

    /// Reads `data`, which must give tensors whose counts match their shapes,
    /// and which survive a write and re-read, or `.invalidSafeTensors` with a reason.
    func expectTensorsOrInvalid<Scalar: BLASScalar>(
        _ data: Data, as _: Scalar.Type, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            expectConsistent(try SafeTensors<Scalar>(safeTensorsData: data), sourceLocation: sourceLocation)
        } catch {
            expectInvalid(error, path: "<data>", sourceLocation: sourceLocation)
        }
    }

    func expectTensorsOrInvalid<Scalar: BLASScalar>(
        fileAt url: URL, as _: Scalar.Type, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            expectConsistent(try SafeTensors<Scalar>(contentsOf: url), sourceLocation: sourceLocation)
        } catch {
            expectInvalid(error, path: url.path, sourceLocation: sourceLocation)
        }
    }

    func expectConsistent<Scalar: BLASScalar>(_ file: SafeTensors<Scalar>, sourceLocation: SourceLocation) {
        for (name, tensor) in file.tensors {
            // Overflow-checked: a shape whose product overflows must never have given a tensor.
            var product: Int? = 1
            for dimension in tensor.shape {
                guard dimension >= 0, let sofar = product else { product = nil; break }
                let (next, overflow) = sofar.multipliedReportingOverflow(by: dimension)
                product = overflow ? nil : next
            }
            #expect(product == tensor.count, "\(name): shape \(tensor.shape), count \(tensor.count)", sourceLocation: sourceLocation)
            #expect(tensor.withUnsafeBufferPointer(\.count) == tensor.count, sourceLocation: sourceLocation)
        }
        let again = try? SafeTensors<Scalar>(safeTensorsData: file.safeTensorsData())
        #expect(again?.metadata == file.metadata, sourceLocation: sourceLocation)
        #expect(again?.tensors.mapValues(\.shape) == file.tensors.mapValues(\.shape), sourceLocation: sourceLocation)
        #expect(again?.tensors.mapValues(\.scalarBytes) == file.tensors.mapValues(\.scalarBytes), sourceLocation: sourceLocation)
    }

    func expectInvalid(_ error: PerceptronError, path expectedPath: String, sourceLocation: SourceLocation) {
        guard case let .invalidSafeTensors(path, reason) = error else {
            Issue.record("expected .invalidSafeTensors, got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(path == expectedPath, sourceLocation: sourceLocation)
        #expect(!reason.isEmpty, sourceLocation: sourceLocation)
    }
}
