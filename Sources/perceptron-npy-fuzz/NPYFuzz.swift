/// A fuzz target for the `.npy` reader, and the replayer of its corpus.
///
/// Built with `-DFUZZING -sanitize=fuzzer` (`make fuzz`), it runs libFuzzer's
/// driver (`Sources/FuzzDriver`), which feeds the check below mutated bytes.
/// Built normally (as `swift build` does), it is a plain executable,
/// `perceptron-npy-fuzz FILE|DIRECTORY...`, that runs every file through the
/// same check: that is how a crasher found by the fuzzer is reproduced in a
/// debugger without libFuzzer.
///
/// The check is the readers' contract: any bytes give either a tensor whose
/// scalar count matches its shape (and which survives a write and re-read
/// unchanged) or `PerceptronError.invalidNPY`; read as integer labels, either
/// an array that survives a write and re-read or `.invalidNPY`. A crash, a
/// hang, a sanitizer report, another error or a broken result is a finding.
///
/// The readers' entry points on bytes, `Tensor(npyData:source:)` and
/// `[Int](npyData:source:)`, are internal,
/// so this target imports the library `@testable`: debug builds, which both
/// `make fuzz` and `swift build` use, compile it with `-enable-testing`. A
/// release build (`make build` builds every target) cannot import it so, and
/// gets a stub that says so instead of failing the whole build.
import Foundation

#if DEBUG

import FuzzDriver
@testable import Perceptron

/// Why an input broke the reader's contract.
typealias Finding = FuzzFinding

/// Reads `data` as both scalar types and as labels, checking the contract;
/// returns a one-line summary of what the readers made of it.
func check(_ data: Data) throws(Finding) -> String {
    let asFloat = try check(data, as: Float.self)
    let asDouble = try check(data, as: Double.self)
    let asLabels = try checkLabels(data)
    // The readers must not depend on where a `Data`'s indices start: a slice
    // of a larger buffer (start index 1, so unaligned) must read exactly as a fresh copy.
    let slice = (Data([0x00]) + data).dropFirst()
    guard try check(slice, as: Float.self) == asFloat, try check(slice, as: Double.self) == asDouble,
          try checkLabels(slice) == asLabels else {
        throw Finding(description: "a Data slice (start index 1) reads differently from the same bytes at index 0")
    }
    return "Float: \(asFloat); Double: \(asDouble); labels: \(asLabels)"
}

/// Reads `data` as integer labels: a summary of the labels, or of the
/// refusal. Anything but labels that survive a write and re-read, or
/// `.invalidNPY`, throws.
func checkLabels(_ data: Data) throws(Finding) -> String {
    let labels: [Int]
    do {
        labels = try [Int](npyData: data, source: "<fuzz>")
    } catch {
        guard case .invalidNPY(path: "<fuzz>", let reason) = error else {
            throw Finding(description: "[Int]: threw \(error), not .invalidNPY")
        }
        guard !reason.isEmpty else { throw Finding(description: "[Int]: .invalidNPY with no reason") }
        return "invalid (\(reason))"
    }
    guard let again = try? [Int](npyData: labels.npyData()), again == labels else {
        throw Finding(description: "[Int]: \(labels.count) labels do not survive a write and re-read")
    }
    return "\(labels.count) labels"
}

/// Reads `data` as `Tensor<Scalar>`: a summary of the tensor, or of the
/// refusal. Anything but a consistent tensor or `.invalidNPY` throws.
func check<Scalar: BLASScalar>(_ data: Data, as _: Scalar.Type) throws(Finding) -> String {
    let tensor: Tensor<Scalar>
    do {
        tensor = try Tensor<Scalar>(npyData: data, source: "<fuzz>")
    } catch {
        guard case .invalidNPY(path: "<fuzz>", let reason) = error else {
            throw Finding(description: "Tensor<\(Scalar.self)>: threw \(error), not .invalidNPY")
        }
        guard !reason.isEmpty else { throw Finding(description: "Tensor<\(Scalar.self)>: .invalidNPY with no reason") }
        return "invalid (\(reason))"
    }
    let shape = tensor.shape
    // Multiplying with overflow checks: a shape whose product overflows must
    // never have produced a tensor in the first place.
    var product = 1
    for dimension in shape {
        let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
        guard dimension >= 0, !overflow else {
            throw Finding(description: "Tensor<\(Scalar.self)>: impossible shape \(shape)")
        }
        product = next
    }
    guard tensor.count == product, tensor.withUnsafeBufferPointer({ $0.count }) == product else {
        throw Finding(description: "Tensor<\(Scalar.self)>: shape \(shape) but count \(tensor.count)")
    }
    // What was read must be what would be written: write it and read it back.
    let bytes = tensor.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) }
    guard let again = try? Tensor<Scalar>(npyData: tensor.npyData()), again.shape == shape,
          again.withUnsafeBufferPointer({ Array(UnsafeRawBufferPointer($0)) }) == bytes else {
        throw Finding(description: "Tensor<\(Scalar.self)>: shape \(shape) does not survive a write and re-read")
    }
    return "shape \(shape)"
}

/// Fuzzes (`make fuzz`) or replays files through ``check(_:)``.
@main
struct NPYFuzz {
    static func main() {
        FuzzDriver.main(reader: "npy reader", usage: """
                usage: perceptron-npy-fuzz FILE|DIRECTORY...
                Reads each file as a .npy Tensor<Float>, Tensor<Double> and [Int] (labels) and
                checks that each reader returns a consistent result or throws .invalidNPY.
                Exits 1 on a finding.
                Fuzzing itself needs the FUZZING build: see `make fuzz`.
                """, check: check)
    }
}

#else

/// The release build's stand-in: without `-enable-testing` the reader's
/// internal entry point is out of reach, so there is nothing to run.
@main
struct NPYFuzzReleaseStub {
    static func main() {
        FileHandle.standardError.write(Data("perceptron-npy-fuzz needs a debug build: swift run perceptron-npy-fuzz FILE...\n".utf8))
        exit(2)
    }
}

#endif
