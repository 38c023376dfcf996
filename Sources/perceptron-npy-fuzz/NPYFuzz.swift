/// A fuzz target for the `.npy` reader, and the replayer of its corpus.
///
/// Built with `-DFUZZING -sanitize=fuzzer` (`make fuzz`), this file exports
/// `LLVMFuzzerTestOneInput` and starts libFuzzer's driver, which feeds it
/// mutated bytes. Built normally (as `swift build` does), it is a plain executable,
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

@testable import Perceptron

/// Why an input broke the reader's contract.
struct Finding: Error, CustomStringConvertible {
    var description: String
}

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

#if FUZZING

/// libFuzzer's entry point: one input per call. A finding traps, which
/// libFuzzer catches, reports and saves as `crash-<sha1>`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    do {
        _ = try check(data)
    } catch {
        fatalError("npy reader contract broken: \(error)")
    }
    return 0
}

/// libFuzzer's driver (in `-sanitize=fuzzer`'s runtime), declared with C's
/// calling convention: `@_extern(c)` needs `-enable-experimental-feature Extern`,
/// which `make fuzz` passes.
@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Starts libFuzzer with this process's arguments (`-max_len=…`, corpus directories).
///
/// libFuzzer's runtime brings a `main` of its own, but SwiftPM's debug builds
/// link an executable with `main` aliased to this module's entry point (so that
/// tests can link executables), so the entry point must exist and start the
/// driver itself.
@main
struct NPYFuzzer {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
    }
}

#else

/// The corpus replayer: every file named, and every file in every directory named.
@main
struct NPYFuzzReplayer {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard !arguments.isEmpty, !arguments.contains("--help"), !arguments.contains("-h") else {
            print("""
                usage: perceptron-npy-fuzz FILE|DIRECTORY...
                Reads each file as a .npy Tensor<Float>, Tensor<Double> and [Int] (labels) and
                checks that each reader returns a consistent result or throws .invalidNPY.
                Exits 1 on a finding.
                Fuzzing itself needs the FUZZING build: see `make fuzz`.
                """)
            exit(arguments.isEmpty ? 2 : 0)
        }
        var findings = 0
        var inputs = 0
        for path in files(in: arguments) {
            inputs += 1
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                findings += 1
                continue
            }
            do {
                print("\(path): \(try check(data))")
            } catch {
                print("\(path): FINDING: \(error)")
                findings += 1
            }
        }
        print("\(inputs) inputs, \(findings) findings")
        exit(findings == 0 ? 0 : 1)
    }

    /// The paths given, with each directory replaced by the files in it, sorted.
    static func files(in paths: some Sequence<String>) -> [String] {
        paths.flatMap { path -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [path] }
            return names.sorted().map { (path as NSString).appendingPathComponent($0) }
        }
    }
}

#endif

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
