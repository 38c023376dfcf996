internal import CMPI
#if canImport(Glibc)
import Glibc
#endif
import Perceptron

/// MPI in this process: started once, on first use, on its own thread
/// (``MPIThread``), and ended when the process exits.
///
/// **Starting.** A process that no MPI launcher started (no `mpirun`, no
/// PMIx or PMI environment) does not start MPI at all: it is a world of one,
/// and ``shared`` is `nil`. Otherwise the MPI thread initialises MPI with
/// `MPI_THREAD_FUNNELED` (it alone calls MPI) and checks that level was
/// granted, or, if the program initialised MPI itself, checks that it
/// granted `MPI_THREAD_MULTIPLE`. Either way the library works on its own
/// duplicate of `MPI_COMM_WORLD` whose error handler is `MPI_ERRORS_RETURN`,
/// so that an MPI error comes back as a ``/Perceptron/PerceptronError``.
///
/// **Ending.** An `on_exit` handler sees the exit status. On a clean exit
/// (status 0, no failure) it waits, within the timeout, until every process
/// is exiting (``MPIExit``), and finalises MPI only then. A process that
/// exits while the others wait in a collective for it so never enters an
/// `MPI_Finalize` that cannot finish: once the others' collective times out,
/// so does its wait, and it ends the job with `MPI_Abort`. (A process that
/// leaves Open MPI's `MPI_Finalize` halfway, exiting inside it, can leave
/// `mpirun` hung in its own teardown after every process has ended.) On any
/// other exit (status not 0, or after a collective failed or timed out) it
/// calls `MPI_Abort` with that status, and `mpirun` ends every process at
/// once, instead of leaving them waiting in `MPI_Finalize` for processes
/// that wait in a collective for this one.
final class MPIRuntime: Sendable {
    /// The process's MPI, started by the first call; `nil` when no launcher
    /// started the process, which is then a world of one.
    static let shared: Result<MPIRuntime?, PerceptronError> = Result { () throws(PerceptronError) in
        guard launchedByMPI else { return nil }
        return try MPIRuntime()
    }

    /// How long a collective waits for every process unless told otherwise.
    static let defaultTimeout = Duration.seconds(600)

    let thread: MPIThread
    let state: MPISharedState
    let rank: Int
    let size: Int

    private init() throws(PerceptronError) {
        state = MPISharedState(timeout: Self.defaultTimeout)
        let context = MPIContext(shared: state)
        let start = MPIStart()
        thread = try MPIThread(context: context, first: start)
        if let failure = thread.wait(for: start) { throw failure }
        // The start finished on the MPI thread; the mutex that `wait` took orders its writes before these reads.
        rank = context.rank
        size = context.size
        if context.ownsMPI {
            let handle = Unmanaged.passUnretained(self).toOpaque()
            on_exit({ status, handle in
                Unmanaged<MPIRuntime>.fromOpaque(handle!).takeUnretainedValue().end(status: status)
            }, handle)
        }
    }

    /// Whether an MPI launcher started this process: `mpirun` (Open MPI),
    /// or a PMIx or PMI launcher such as `srun`, each of which says so in the
    /// environment.
    static var launchedByMPI: Bool {
        let variables: [String] = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"]
        return variables.contains { getenv($0) != nil }
    }

    /// Runs `work` on the MPI thread and waits for it; returns why it failed, or `nil`.
    func run(_ work: MPIWork) -> PerceptronError? {
        thread.submit(work)
        return thread.wait(for: work)
    }

    /// Ends every process of the job with `status`, through `MPI_Abort` on the MPI thread.
    func abort(status: Int32) -> Never {
        state.abortStatus.store(Int64(status == 0 ? 1 : status), ordering: .releasing)
        thread.wake()
        // MPI_Abort ends this process too; if it has not within a few seconds
        // (the MPI thread is inside a call that cannot be interrupted), end it here.
        sleep(10)
        _exit(status == 0 ? 1 : status)
    }

    /// The `on_exit` handler's work: finalise on a clean exit, abort otherwise.
    private func end(status: Int32) {
        let failed = state.failure.withLock { $0 != nil }
        if status != 0 || failed { abort(status: status == 0 ? 1 : status) }
        let exit = MPIExit()
        thread.submit(exit)
        // The wait for the others gives up after the timeout; once every
        // process is there, MPI_Finalize has only its own work left, for
        // which `finalizationSeconds` is ample.
        let timeout = state.timeoutNanoseconds.load(ordering: .relaxed)
        switch thread.wait(for: exit, seconds: Double(timeout) / 1e9 + Self.finalizationSeconds) {
        case .finished(nil):
            return
        case .finished(let failure?):
            report("the other processes did not all exit with this one, so the job is aborted: \(failure)")
            abort(status: 1)
        case .timedOut:
            report("MPI_Finalize did not finish \(Int(Self.finalizationSeconds)) s after every process was exiting; "
                + "ending without it")
            _exit(1)
        }
    }

    /// How long MPI_Finalize may take once every process is exiting.
    static let finalizationSeconds = 10.0

    /// Writes `message` to standard error in one call, as the process ends.
    private func report(_ message: String) {
        let line = "PerceptronDistributed: " + message + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

/// The first work of the MPI thread: initialising MPI and making the library's communicator.
final class MPIStart: MPIWork, @unchecked Sendable {
    override func perform(_ context: MPIContext) -> PerceptronError? {
        var initialised: Int32 = 0
        if let failure = context.check(MPI_Initialized(&initialised), "asking whether MPI is initialised") { return failure }
        var provided: Int32 = 0
        if initialised != 0 {
            // The program's own threads may call MPI while this one does.
            if let failure = context.check(MPI_Query_thread(&provided), "asking MPI's thread level") { return failure }
            guard provided == Int32(MPI_THREAD_MULTIPLE) else {
                return .communicationFailed(
                    operation: "starting MPI",
                    reason: "the program initialised MPI with thread level \(Self.levelName(provided)), but "
                        + "PerceptronDistributed calls MPI from a thread of its own and needs MPI_THREAD_MULTIPLE "
                        + "when it does not initialise MPI itself")
            }
        } else {
            if let failure = context.check(
                MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided), "initialising MPI") { return failure }
            context.ownsMPI = true
            guard provided >= Int32(MPI_THREAD_FUNNELED) else {
                _ = MPI_Finalize()
                context.ownsMPI = false
                return .communicationFailed(
                    operation: "starting MPI",
                    reason: "MPI granted thread level \(Self.levelName(provided)), but PerceptronDistributed "
                        + "needs MPI_THREAD_FUNNELED (every call from the thread that initialised MPI)")
            }
            // Errors in calls on the world (duplicating it) come back too.
            _ = MPI_Comm_set_errhandler(perceptron_mpi_comm_world(), perceptron_mpi_errors_return())
        }
        var request: MPI_Request?
        if let failure = context.check(
            MPI_Comm_idup(perceptron_mpi_comm_world(), &context.communicator, &request), "duplicating MPI_COMM_WORLD")
            ?? context.complete(&request, "duplicating MPI_COMM_WORLD")
        {
            return failure
        }
        if let failure = context.check(
            MPI_Comm_set_errhandler(context.communicator, perceptron_mpi_errors_return()), "setting MPI_ERRORS_RETURN")
        {
            return failure
        }
        // Only a process that finalises MPI waits at its exit (MPIExit). The duplicate inherits MPI_ERRORS_RETURN.
        if context.ownsMPI {
            if let failure = context.check(
                MPI_Comm_idup(context.communicator, &context.exitCommunicator, &request), "duplicating the communicator")
                ?? context.complete(&request, "duplicating the communicator")
            {
                return failure
            }
        }
        var rank: Int32 = 0
        var size: Int32 = 0
        if let failure = context.check(MPI_Comm_rank(context.communicator, &rank), "asking the process's rank") { return failure }
        if let failure = context.check(MPI_Comm_size(context.communicator, &size), "asking the number of processes") { return failure }
        context.rank = Int(rank)
        context.size = Int(size)
        return nil
    }

    /// `MPI_THREAD_SERIALIZED`, for a level MPI reports.
    static func levelName(_ level: Int32) -> String {
        switch level {
        case Int32(MPI_THREAD_SINGLE): "MPI_THREAD_SINGLE"
        case Int32(MPI_THREAD_FUNNELED): "MPI_THREAD_FUNNELED"
        case Int32(MPI_THREAD_SERIALIZED): "MPI_THREAD_SERIALIZED"
        case Int32(MPI_THREAD_MULTIPLE): "MPI_THREAD_MULTIPLE"
        default: "\(level)"
        }
    }
}

/// The last work of the MPI thread on a clean exit: waiting, within the
/// timeout, until every process is exiting, then finalising MPI.
///
/// The wait is a barrier on a communicator of its own, which nothing else
/// uses: on the library's communicator it could be matched with a
/// collective the others are waiting in. If they never come, it times out
/// like any collective, and this process never starts an `MPI_Finalize`
/// that could not finish.
final class MPIExit: MPIWork, @unchecked Sendable {
    override func perform(_ context: MPIContext) -> PerceptronError? {
        if context.exitCommunicator != nil {
            var request: MPI_Request?
            let what = "waiting for every process to exit"
            if let failure = context.check(MPI_Ibarrier(context.exitCommunicator, &request), what)
                ?? context.complete(&request, what)
            {
                return failure
            }
        }
        return context.finalize()
    }
}
