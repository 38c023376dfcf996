/// A fuzz target for the safetensors reader, and the replayer of its corpus.
///
/// Built with `-DFUZZING -sanitize=fuzzer` (`make fuzz FUZZ_TARGET=safetensors`),
/// it runs libFuzzer's driver (`Sources/FuzzDriver`), which feeds the check
/// below mutated bytes. Built normally (as `swift build` does), it is
/// a plain executable, `perceptron-safetensors-fuzz FILE|DIRECTORY...`, that
/// runs every file through the same check: that is how a crasher found by the
/// fuzzer is reproduced in a debugger without libFuzzer.
///
/// The check is the reader's contract: any bytes give either tensors whose
/// scalar counts match their shapes (and which survive a write and re-read
/// unchanged, metadata included) or `PerceptronError.invalidSafeTensors`.
/// Read as `Float`, a file must give the `Double` reading rounded. A file read
/// is then rebuilt as a model (`Sequential(contentsOf:)`'s path), which must
/// give a model or `PerceptronError.invalidModelFile`: so an architecture in
/// the metadata is fuzzed too. A crash, a hang, a sanitizer report, another
/// error or a broken tensor is a finding.
///
/// The reader's entry point on bytes, `SafeTensors(safeTensorsData:source:)`,
/// is internal, so this target imports the library `@testable`: debug builds,
/// which both `make fuzz` and `swift build` use, compile it with
/// `-enable-testing`. A release build (`make build` builds every target)
/// cannot import it so, and gets a stub that says so instead of failing the
/// whole build.
import Foundation

#if DEBUG

import FuzzDriver
@testable import Perceptron

/// Why an input broke the reader's contract.
typealias Finding = FuzzFinding

/// Reads `data` as both scalar types, checking the contract; returns a
/// one-line summary of what the reader made of it.
func check(_ data: Data) throws(Finding) -> String {
    let (asFloat, floats) = try check(data, as: Float.self)
    let (asDouble, doubles) = try check(data, as: Double.self)
    // A shape that fits as Double fits as Float, and every dtype converts to
    // Float as its Double value rounds: the two readings must agree.
    if let doubles {
        guard let floats else { throw Finding(description: "read as Double but not as Float: \(asFloat)") }
        try checkRounding(floats, of: doubles)
    }
    // The reader must not depend on where a `Data`'s indices start: a slice
    // of a larger buffer (start index 1) must read exactly as a fresh copy.
    let slice = (Data([0x00]) + data).dropFirst()
    guard try check(slice, as: Float.self).summary == asFloat, try check(slice, as: Double.self).summary == asDouble else {
        throw Finding(description: "a Data slice (start index 1) reads differently from the same bytes at index 0")
    }
    return "Float: \(asFloat); Double: \(asDouble)"
}

/// Reads `data` as `SafeTensors<Scalar>`: a summary of the file, or of the
/// refusal, and the file if it was read. Anything but consistent tensors or
/// `.invalidSafeTensors` throws.
func check<Scalar: BLASScalar>(
    _ data: Data, as _: Scalar.Type
) throws(Finding) -> (summary: String, file: SafeTensors<Scalar>?) {
    let file: SafeTensors<Scalar>
    do {
        file = try SafeTensors<Scalar>(safeTensorsData: data, source: "<fuzz>")
    } catch {
        guard case .invalidSafeTensors(path: "<fuzz>", let reason) = error else {
            throw Finding(description: "SafeTensors<\(Scalar.self)>: threw \(error), not .invalidSafeTensors")
        }
        guard !reason.isEmpty else {
            throw Finding(description: "SafeTensors<\(Scalar.self)>: .invalidSafeTensors with no reason")
        }
        return ("invalid (\(reason))", nil)
    }
    for (name, tensor) in file.tensors {
        let shape = tensor.shape
        // Multiplying with overflow checks: a shape whose product overflows
        // must never have produced a tensor in the first place.
        var product = 1
        for dimension in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow else {
                throw Finding(description: "SafeTensors<\(Scalar.self)>: tensor \(name.debugDescription) has impossible shape \(shape)")
            }
            product = next
        }
        guard tensor.count == product, tensor.withUnsafeBufferPointer({ $0.count }) == product else {
            throw Finding(description: "SafeTensors<\(Scalar.self)>: tensor \(name.debugDescription) has shape \(shape) but count \(tensor.count)")
        }
    }
    // What was read must be what would be written: write it and read it back.
    guard let written = try? file.safeTensorsData(), let again = try? SafeTensors<Scalar>(safeTensorsData: written),
          again.metadata == file.metadata, again.tensors.count == file.tensors.count,
          file.tensors.allSatisfy({ name, tensor in
              again.tensors[name].map { $0.shape == tensor.shape && bytes($0) == bytes(tensor) } ?? false
          }) else {
        throw Finding(description: "SafeTensors<\(Scalar.self)>: the file does not survive a write and re-read")
    }
    // A model file's architecture: a model, or a refusal that says why.
    do {
        _ = try Sequential<Scalar>(file, source: "<fuzz>")
    } catch {
        guard case .invalidModelFile(path: "<fuzz>", let reason) = error, !reason.isEmpty else {
            throw Finding(description: "Sequential<\(Scalar.self)>(contentsOf:): threw \(error), not .invalidModelFile")
        }
    }
    let names = file.tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    let shapes = names.map { "\($0.debugDescription): \(file.tensors[$0]!.shape)" }.joined(separator: ", ")
    return ("\(names.count) tensors [\(shapes)], \(file.metadata.count) metadata pairs", file)
}

/// Checks that every Float scalar is its Double counterpart rounded.
func checkRounding(_ floats: SafeTensors<Float>, of doubles: SafeTensors<Double>) throws(Finding) {
    guard floats.metadata == doubles.metadata, Set(floats.tensors.keys) == Set(doubles.tensors.keys) else {
        throw Finding(description: "Float and Double readings have different names or metadata")
    }
    for (name, double) in doubles.tensors {
        let float = floats.tensors[name]!
        guard float.shape == double.shape,
              zip(float.scalars, double.scalars).allSatisfy({ $0.isNaN ? $1.isNaN : $0 == Float($1) && $0.sign == Float($1).sign })
        else {
            throw Finding(description: "tensor \(name.debugDescription) read as Float is not its Double reading rounded")
        }
    }
}

/// The scalars' bytes, so that comparisons are bitwise.
func bytes<Scalar: BLASScalar>(_ tensor: Tensor<Scalar>) -> [UInt8] {
    tensor.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) }
}

/// Fuzzes (`make fuzz`) or replays files through ``check(_:)``.
@main
struct SafeTensorsFuzz {
    static func main() {
        FuzzDriver.main(reader: "safetensors reader", usage: """
                usage: perceptron-safetensors-fuzz FILE|DIRECTORY...
                Reads each file as SafeTensors<Float> and SafeTensors<Double> and checks that the
                reader returns consistent tensors or throws .invalidSafeTensors. Exits 1 on a finding.
                Fuzzing itself needs the FUZZING build: see `make fuzz FUZZ_TARGET=safetensors`.
                """, check: check)
    }
}

#else

/// The release build's stand-in: without `-enable-testing` the reader's
/// internal entry point is out of reach, so there is nothing to run.
@main
struct SafeTensorsFuzzReleaseStub {
    static func main() {
        FileHandle.standardError.write(
            Data("perceptron-safetensors-fuzz needs a debug build: swift run perceptron-safetensors-fuzz FILE...\n".utf8))
        exit(2)
    }
}

#endif
