/// What the fuzz targets share: libFuzzer's driver in a `FUZZING` build
/// (`make fuzz`), the corpus replayer in any other.
///
/// A target supplies only its check, the reader's contract: given any bytes,
/// it returns a one-line summary of what the reader made of them, or throws a
/// ``FuzzFinding`` when the contract is broken. Fuzzing, a finding traps,
/// which libFuzzer catches, reports and saves as `crash-<sha1>`; replaying,
/// each file's summary or finding is printed, and the exit status is 1 if
/// there was any finding, so a crasher can be reproduced without libFuzzer.
import Foundation

/// Why an input broke a reader's contract.
public struct FuzzFinding: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

/// The entry point both fuzz targets' `main` calls.
public enum FuzzDriver {
    /// Runs `check` on libFuzzer's inputs (in a `FUZZING` build) or on every
    /// file named on the command line, and every file in every directory named.
    ///
    /// - Parameters:
    ///   - reader: what is fuzzed, for messages (`"npy reader"`).
    ///   - usage: the replayer's help text.
    public static func main(reader: String, usage: String, check: @escaping (Data) throws -> String) -> Never {
        #if FUZZING
        fuzzed = (reader, check)
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
        #else
        replay(usage: usage, check: check)
        #endif
    }

    /// Replays the files named on the command line through `check`.
    static func replay(usage: String, check: (Data) throws -> String) -> Never {
        let arguments = CommandLine.arguments.dropFirst()
        guard !arguments.isEmpty, !arguments.contains("--help"), !arguments.contains("-h") else {
            print(usage)
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

#if FUZZING

/// The reader and check being fuzzed; set once, before libFuzzer's driver starts.
nonisolated(unsafe) private var fuzzed: (reader: String, check: (Data) throws -> String)?

/// libFuzzer's entry point: one input per call.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    guard let (reader, check) = fuzzed else { fatalError("FuzzDriver.main sets the check before fuzzing starts") }
    do {
        _ = try check(data)
    } catch {
        fatalError("\(reader) contract broken: \(error)")
    }
    return 0
}

/// libFuzzer's driver (in `-sanitize=fuzzer`'s runtime), declared with C's
/// calling convention: `@_extern(c)` needs `-enable-experimental-feature Extern`,
/// which `make fuzz` passes.
///
/// libFuzzer's runtime brings a `main` of its own, but SwiftPM's debug builds
/// link an executable with `main` aliased to the module's entry point (so that
/// tests can link executables), so the entry point must exist and start the
/// driver itself.
@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

#endif
