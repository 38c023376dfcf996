import Foundation
import Testing

/// A run of the test worker (`perceptron-distributed-worker`, built beside
/// the tests) under `mpirun`, or on its own.
///
/// `mpirun` gets `--oversubscribe`, so that 3 processes run on 2 cores, and
/// the environment that lets it run as root, as CI does.
struct MPIRun {
    /// What a finished run printed, and how it ended.
    struct Outcome {
        var status: Int32
        /// Whether the process was ended by a signal rather than exiting.
        var wasSignalled: Bool
        var output: String
        var errors: String
        /// Seconds from start to exit.
        var seconds: Double

        /// The lines rank `rank` printed, without the `rank R: ` prefix.
        func lines(of rank: Int) -> [String] {
            let prefix = "rank \(rank): "
            return output.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }
    }

    /// The worker program, in the directory of the test program.
    static var worker: URL {
        get throws {
            let directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            let url = directory.appendingPathComponent("perceptron-distributed-worker")
            try #require(
                FileManager.default.isExecutableFile(atPath: url.path),
                "the worker should be built beside the tests, at \(url.path)")
            return url
        }
    }

    /// `mpirun`, found on the PATH.
    static var mpirun: URL {
        get throws {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            let found = path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
                .first { FileManager.default.isExecutableFile(atPath: $0.path) }
            return try #require(found, "mpirun (openmpi-bin) should be on the PATH; make setup installs it")
        }
    }

    let process = Process()
    private let output = Pipe()
    private let errors = Pipe()
    private let collected = Collected()
    private let clock = ContinuousClock()
    private var start: ContinuousClock.Instant

    /// Starts `arguments` of the worker on `processes` processes under
    /// `mpirun` (with `transport`: `tcp` for `--mca btl tcp,self`), or,
    /// with `processes` nil, the worker alone.
    init(_ arguments: [String], processes: Int?, transport: String? = nil) throws {
        let worker = try Self.worker
        if let processes {
            process.executableURL = try Self.mpirun
            var launch = ["-np", "\(processes)", "--oversubscribe"]
            if let transport { launch += ["--mca", "btl", "\(transport),self"] }
            process.arguments = launch + [worker.path] + arguments
        } else {
            process.executableURL = worker
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        process.standardOutput = output
        process.standardError = errors
        let collected = self.collected
        output.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData, error: false) }
        errors.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData, error: true) }
        start = clock.now
        try process.run()
    }

    /// Runs to the end and returns the outcome.
    static func run(_ arguments: [String], processes: Int?, transport: String? = nil) throws -> Outcome {
        let run = try MPIRun(arguments, processes: processes, transport: transport)
        return run.waitForExit()
    }

    /// What the run has printed on standard output so far.
    var outputSoFar: String { collected.text(error: false) }

    /// Waits until the standard output so far satisfies `condition`, or the
    /// process has exited, or `seconds` have passed; returns whether it does.
    func wait(seconds: Double, until condition: (String) -> Bool) -> Bool {
        let deadline = clock.now + .milliseconds(Int(seconds * 1000))
        while clock.now < deadline {
            if condition(outputSoFar) { return true }
            if !process.isRunning { return condition(outputSoFar) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition(outputSoFar)
    }

    /// Waits for the process to exit: at most `seconds`, after which it is
    /// killed (and the outcome says it was signalled).
    func waitForExit(seconds: Double = 120) -> Outcome {
        let deadline = clock.now + .milliseconds(Int(seconds * 1000))
        while process.isRunning && clock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        process.waitUntilExit()
        let elapsed = clock.now - start
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
        collected.append(output.fileHandleForReading.readDataToEndOfFile(), error: false)
        collected.append(errors.fileHandleForReading.readDataToEndOfFile(), error: true)
        let (whole, attoseconds) = elapsed.components
        return Outcome(
            status: process.terminationStatus, wasSignalled: process.terminationReason == .uncaughtSignal,
            output: collected.text(error: false), errors: collected.text(error: true),
            seconds: Double(whole) + Double(attoseconds) * 1e-18)
    }
}

/// Output gathered from the pipes' handlers, which run on other threads.
private final class Collected: @unchecked Sendable {
    // @unchecked Sendable: every access holds `lock`.
    private let lock = NSLock()
    private var output = Data()
    private var errors = Data()

    func append(_ data: Data, error: Bool) {
        lock.withLock { if error { errors.append(data) } else { output.append(data) } }
    }

    func text(error: Bool) -> String {
        lock.withLock { String(decoding: error ? errors : output, as: UTF8.self) }
    }
}

/// A fresh temporary directory for one test's files.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("perceptron-mpi-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
