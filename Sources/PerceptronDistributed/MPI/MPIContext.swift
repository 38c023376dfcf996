internal import CMPI
#if canImport(Glibc)
import Glibc
#endif
import Perceptron
import Synchronization

/// What the MPI thread and the threads that submit work share: the timeout,
/// whether an earlier failure left the processes out of step, and whether
/// the job is to be aborted.
final class MPISharedState: Sendable {
    /// The longest a collective waits for every process, in nanoseconds.
    let timeoutNanoseconds: Atomic<Int64>
    /// The status MPI_Abort is to end the job with; `Int64.min` while none is asked for.
    let abortStatus = Atomic<Int64>(.min)
    /// The first failure that left the processes out of step, after which
    /// nothing more is sent.
    let failure = Mutex<PerceptronError?>(nil)

    init(timeout: Duration) {
        timeoutNanoseconds = Atomic(Self.nanoseconds(timeout))
    }

    /// `duration` in whole nanoseconds, at least 1, saturating.
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64.max / 1_000_000_000 else { return .max }
        return max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Records `error` as the failure that put the processes out of step,
    /// unless one is recorded already; returns `error`.
    @discardableResult
    func fail(_ error: PerceptronError) -> PerceptronError {
        failure.withLock { if $0 == nil { $0 = error } }
        return error
    }
}

/// The MPI thread's side of MPI: the library's communicator, and the calls
/// that every piece of work makes through it. Used by the MPI thread alone.
final class MPIContext: @unchecked Sendable {
    // @unchecked Sendable: created on the submitting thread, then used only
    // on the MPI thread (its fields are set by the first work item there).

    let shared: MPISharedState
    /// The library's own duplicate of `MPI_COMM_WORLD`, with `MPI_ERRORS_RETURN`.
    var communicator: MPI_Comm?
    /// A second duplicate, used only to wait for every process at a clean exit (``MPIExit``).
    var exitCommunicator: MPI_Comm?
    var rank = 0
    var size = 1
    /// Whether this process initialised MPI (and so finalises it).
    var ownsMPI = false
    /// Set once MPI has been finalised: the thread then stops.
    private(set) var hasEnded = false

    init(shared: MPISharedState) {
        self.shared = shared
    }

    /// Runs `work`, unless an earlier failure left the processes out of step.
    func run(_ work: MPIWork) -> PerceptronError? {
        if !(work is MPIExit), let earlier = shared.failure.withLock({ $0 }) {
            return outOfStep(after: earlier)
        }
        return work.perform(self)
    }

    /// The error for any operation after `earlier` put the processes out of step.
    func outOfStep(after earlier: PerceptronError) -> PerceptronError {
        .communicationFailed(
            operation: "a collective operation",
            reason: "an earlier failure left the processes out of step, so nothing more is sent (\(earlier))")
    }

    // MARK: Calls

    /// Checks the status an MPI call returned: `nil` for `MPI_SUCCESS`,
    /// otherwise the failure (recorded as putting the processes out of step)
    /// naming `operation` and MPI's own description.
    func check(_ status: Int32, _ operation: @autoclosure () -> String) -> PerceptronError? {
        guard status != MPI_SUCCESS else { return nil }
        return shared.fail(.communicationFailed(operation: operation(), reason: Self.describe(status)))
    }

    /// Polls `request` until it completes, the timeout passes, or an abort is
    /// requested; `nil` when it completed.
    ///
    /// Open MPI makes a non-blocking collective progress only inside MPI
    /// calls (its shared-memory and TCP transports have no thread of their
    /// own that would wake this one), so the request is polled. Polling
    /// without pause, or yielding the processor between polls
    /// (`sched_yield`, which is also what Open MPI's `mpi_yield_when_idle`
    /// does), keeps the thread runnable for as long as another process keeps
    /// it waiting: when every core is busy (a process per core, each with its
    /// backward pass, or other programs beside them) it takes its share of a
    /// core from a backward pass, this process's or another's, which then
    /// ends later; and having used its share, it is itself scheduled late
    /// when the data does arrive, so the collective's rounds are slow too.
    /// So the thread polls without pause only for
    /// ``PollingBackoff/spinNanoseconds``, which covers a small message among
    /// processes that are all there, then sleeps between polls, for
    /// intervals doubling up to ``PollingBackoff/longestSleepNanoseconds``. A
    /// sleeping thread uses almost no processor time, the scheduler runs it
    /// soon after it wakes, and a step of the collective is seen at most that
    /// interval late; the thread's timer slack is set small
    /// (``MPIThread``) so that the sleeps are as short as asked.
    func complete(_ request: inout MPI_Request?, _ operation: @autoclosure () -> String) -> PerceptronError? {
        let start = PollingBackoff.now()
        var backoff = PollingBackoff()
        var polls = 0
        while true {
            var done: Int32 = 0
            if let failure = check(perceptron_mpi_test(&request, &done), operation()) { return failure }
            if done != 0 { return nil }
            polls &+= 1
            let now = PollingBackoff.now()
            let sleeping = backoff.pause(waited: now &- start)
            if sleeping || polls & 255 == 0 {
                if abortIsRequested {
                    return shared.fail(.communicationFailed(operation: operation(), reason: "the job is being aborted"))
                }
                let timeout = shared.timeoutNanoseconds.load(ordering: .relaxed)
                if now &- start >= timeout {
                    return shared.fail(.communicationFailed(
                        operation: operation(),
                        reason: "not every process took part within \(Self.seconds(timeout)) (the communicator's "
                            + "timeout): another process has stopped, failed, or is making other calls"))
                }
            }
        }
    }

    // MARK: Ending

    /// Whether ``MPISharedState/abortStatus`` asks for an abort.
    var abortIsRequested: Bool {
        shared.abortStatus.load(ordering: .acquiring) != .min
    }

    /// Ends every process of the job with the requested status.
    func abortNow() -> Never {
        let status = Int32(clamping: shared.abortStatus.load(ordering: .acquiring))
        if ownsMPI || communicator != nil {
            MPI_Abort(communicator ?? perceptron_mpi_comm_world(), status)
        }
        // MPI_Abort does not return; without MPI there is only this process to end.
        _exit(status)
    }

    /// Finalises MPI, if this process initialised it.
    func finalize() -> PerceptronError? {
        defer { hasEnded = true }
        guard ownsMPI else { return nil }
        if exitCommunicator != nil {
            _ = MPI_Comm_free(&exitCommunicator)
        }
        if communicator != nil {
            _ = MPI_Comm_free(&communicator)
        }
        return check(MPI_Finalize(), "finalising MPI")
    }

    // MARK: Descriptions

    /// MPI's own description of an error code, with its name.
    static func describe(_ status: Int32) -> String {
        var length: Int32 = 0
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        guard MPI_Error_string(status, &text, &length) == MPI_SUCCESS else { return "MPI error \(status)" }
        let bytes = text.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        return "MPI error \(status): " + String(decoding: bytes, as: UTF8.self)
    }

    /// `600 s`, `2.5 s`: a timeout as it is set.
    static func seconds(_ nanoseconds: Int64) -> String {
        let seconds = Double(nanoseconds) / 1e9
        return seconds == seconds.rounded() ? "\(Int64(seconds)) s" : "\(seconds) s"
    }
}

/// How the MPI thread waits between two polls of a request: not at all at
/// first, then sleeping for intervals that double, from
/// ``shortestSleepNanoseconds`` to ``longestSleepNanoseconds``
/// (``MPIContext/complete(_:_:)`` says why).
///
/// The longest sleep trades latency for processor time: each step of a
/// collective (a message arriving, a round of the reduction) is noticed up
/// to that late, and a waiting thread wakes about 20 times a millisecond.
struct PollingBackoff {
    /// How long a wait polls without pause: long enough for a small
    /// collective among processes that are all there (tens of microseconds).
    static let spinNanoseconds: Int64 = 50_000
    /// The first sleep.
    static let shortestSleepNanoseconds: Int64 = 2_000
    /// The longest sleep, and so the most a completion is seen late.
    static let longestSleepNanoseconds: Int64 = 50_000

    private var sleep = Self.shortestSleepNanoseconds

    /// Sleeps before the next poll if the wait has lasted `waited`
    /// nanoseconds, longer than the spinning phase; returns whether it slept.
    mutating func pause(waited: Int64) -> Bool {
        guard waited >= Self.spinNanoseconds else { return false }
        var interval = timespec(tv_sec: 0, tv_nsec: Int(sleep))
        _ = nanosleep(&interval, nil)
        sleep = Swift.min(sleep * 2, Self.longestSleepNanoseconds)
        return true
    }

    /// The monotonic clock, in nanoseconds.
    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
