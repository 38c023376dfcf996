@preconcurrency import Glibc
import Foundation
import Testing

/// A run of the test worker (`perceptron-distributed-worker`, built beside
/// the tests) under `mpirun`, or on its own.
///
/// `mpirun` gets `--oversubscribe`, so that 3 processes run on 2 cores, and
/// the environment that lets it run as root, as CI does. The process is
/// started with `posix_spawn`, its output going to files, rather than with
/// Foundation's `Process`, which leaks a little on every run and would fail
/// the tests under LeakSanitizer.
final class MPIRun {
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

    private let pid: pid_t
    private let directory: URL
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var outcome: Outcome?

    /// Starts `arguments` of the worker on `processes` processes under
    /// `mpirun` (with `transport`: `tcp` for `--mca btl tcp,self` over the
    /// loopback interface), or, with `processes` nil, the worker alone.
    init(_ arguments: [String], processes: Int?, transport: String? = nil) throws {
        let worker = try Self.worker
        var command: [String]
        if let processes {
            command = [try Self.mpirun.path, "-np", "\(processes)", "--oversubscribe"]
            if let transport {
                command += ["--mca", "btl", "\(transport),self"]
                // TCP leaves loopback out unless told: a test machine may have no other interface.
                if transport == "tcp" { command += ["--mca", "btl_tcp_if_include", "lo"] }
            }
            command += [worker.path] + arguments
        } else {
            command = [worker.path] + arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        // Under AddressSanitizer (make test-sanitize), the workers run without
        // its leak check: Open MPI 4.1 leaves memory allocated at MPI_Finalize
        // that no program can free. Their memory errors are still caught.
        if let options = environment["ASAN_OPTIONS"] { environment["ASAN_OPTIONS"] = options + ":detect_leaks=0" }

        directory = try temporaryDirectory()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, directory.appendingPathComponent("out").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, directory.appendingPathComponent("err").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        start = clock.now
        let status = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        try #require(status == 0, "could not start \(command[0]): \(String(cString: strerror(status)))")
        self.pid = pid
    }

    deinit {
        if outcome == nil {
            kill(pid, SIGKILL)
            _ = waitForExit(seconds: 10)
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs to the end and returns the outcome.
    static func run(_ arguments: [String], processes: Int?, transport: String? = nil) throws -> Outcome {
        try MPIRun(arguments, processes: processes, transport: transport).waitForExit()
    }

    /// What the run has printed on standard output so far.
    var outputSoFar: String { read("out") }

    /// Waits until the standard output so far satisfies `condition`, or the
    /// process has exited, or `seconds` have passed; returns whether it does.
    func wait(seconds: Double, until condition: (String) -> Bool) -> Bool {
        let deadline = clock.now + .milliseconds(Int(seconds * 1000))
        while clock.now < deadline && outcome == nil {
            if condition(outputSoFar) { return true }
            if let status = poll() { outcome = finish(status) }
            usleep(20_000)
        }
        return condition(outputSoFar)
    }

    /// Waits for the process to exit: at most `seconds`, after which it is
    /// killed (and the outcome says it was signalled).
    func waitForExit(seconds: Double = 120) -> Outcome {
        if let outcome { return outcome }
        let deadline = clock.now + .milliseconds(Int(seconds * 1000))
        var status = poll()
        while status == nil && clock.now < deadline {
            usleep(10_000)
            status = poll()
        }
        if status == nil {
            kill(pid, SIGKILL)
            var code: Int32 = 0
            waitpid(pid, &code, 0)
            status = code
        }
        let outcome = finish(status!)
        self.outcome = outcome
        return outcome
    }

    /// The wait status, if the process has exited.
    private func poll() -> Int32? {
        var code: Int32 = 0
        return waitpid(pid, &code, WNOHANG) == pid ? code : nil
    }

    private func finish(_ status: Int32) -> Outcome {
        let elapsed = (clock.now - start).components
        // The wait status: the exit status in bits 8–15, or the signal in bits 0–6.
        let signal = status & 0x7f
        return Outcome(
            status: signal == 0 ? (status >> 8) & 0xff : 128 + signal, wasSignalled: signal != 0,
            output: read("out"), errors: read("err"),
            seconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18)
    }

    /// The file's text, read with POSIX calls (Foundation's readers leak
    /// under LeakSanitizer on Linux).
    private func read(_ name: String) -> String {
        let descriptor = open(directory.appendingPathComponent(name).path, O_RDONLY)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A fresh temporary directory for one test's files.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("perceptron-mpi-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
