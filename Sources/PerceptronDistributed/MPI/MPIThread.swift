#if canImport(Glibc)
import Glibc
#endif
internal import CMPI
import Perceptron

/// Something the MPI thread does from start to finish: one collective
/// operation (with the agreement that precedes it), or starting or ending MPI.
///
/// A subclass overrides ``perform(_:)``. The submitting thread hands an item
/// over with ``MPIThread/submit(_:)`` and learns its outcome from
/// ``MPIThread/wait(for:)``; an item may be submitted again once it has been
/// waited for, so that a training step reuses its items and allocates none.
class MPIWork: @unchecked Sendable {
    // @unchecked Sendable: `next`, `isFinished` and `failure` are read and
    // written only under the MPI thread's mutex; what a subclass's
    // `perform(_:)` touches is left alone by the submitter between `submit`
    // and the `wait` that sees `isFinished`, and the mutex orders the two.

    /// The next item in the queue.
    fileprivate var next: MPIWork?
    /// Whether the MPI thread has finished the item since it was last submitted.
    fileprivate var isFinished = false
    /// Whether the item is submitted and not yet finished.
    fileprivate var isQueued = false
    /// Why the item failed, if it did.
    fileprivate var failure: PerceptronError?

    /// Does the work on the MPI thread; returns why it failed, or `nil`.
    func perform(_ context: MPIContext) -> PerceptronError? {
        fatalError("MPIWork.perform(_:) must be overridden by \(type(of: self))")
    }
}

/// The one thread that makes every MPI call of the process.
///
/// MPI is initialised on it and asked for `MPI_THREAD_FUNNELED` only, so the
/// rest of the process never calls MPI: work is queued here, in submission
/// order (which keeps every process's collectives in the same order), and
/// runs one item at a time while the submitter computes, which is how
/// gradients are sent while the backward pass goes on. The thread sleeps on a
/// condition variable when the queue is empty, sleeps between polls while a
/// collective waits for the other processes (``PollingBackoff``), so that it
/// takes little processor time from the computation beside it, and is left
/// running at exit.
final class MPIThread: @unchecked Sendable {
    // @unchecked Sendable: the queue and the items' state are guarded by
    // `mutex`; `context` is used by the thread alone.

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when work is queued.
    private let queued = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Signalled when an item finishes.
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var head: MPIWork?
    private var tail: MPIWork?
    private let context: MPIContext
    private var thread = pthread_t()

    /// Starts the thread, which runs `first` before any other work.
    ///
    /// - Throws: ``/Perceptron/PerceptronError/communicationFailed(operation:reason:)``
    ///   if the system refuses a thread.
    init(context: MPIContext, first: MPIWork) throws(PerceptronError) {
        self.context = context
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(queued, nil)
        pthread_cond_init(finished, nil)
        head = first
        tail = first
        first.isQueued = true
        // The thread holds a reference to this object for as long as it runs,
        // which is until the process ends.
        let handle = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { handle in
            Unmanaged<MPIThread>.fromOpaque(handle!).takeRetainedValue().loop()
            return nil
        }, handle)
        guard status == 0 else {
            Unmanaged<MPIThread>.fromOpaque(handle).release()
            throw .communicationFailed(
                operation: "starting MPI", reason: "could not start a thread for MPI: \(String(cString: strerror(status)))")
        }
    }

    /// Queues `work` behind what is already queued.
    func submit(_ work: MPIWork) {
        pthread_mutex_lock(mutex)
        precondition(!work.isQueued, "MPIThread: \(type(of: work)) submitted again before it finished")
        work.isQueued = true
        work.isFinished = false
        work.failure = nil
        work.next = nil
        if let tail { tail.next = work } else { head = work }
        tail = work
        pthread_cond_signal(queued)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until `work`, submitted before, has finished; returns why it
    /// failed, or `nil`.
    func wait(for work: MPIWork) -> PerceptronError? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !work.isFinished { pthread_cond_wait(finished, mutex) }
        return work.failure
    }

    /// ``wait(for:)`` for at most `seconds`: why the work failed, `nil` if it
    /// succeeded, or ``TimedWait/timedOut`` if it has not finished by then.
    func wait(for work: MPIWork, seconds: Double) -> TimedWait {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let whole = seconds.rounded(.down)
        deadline.tv_sec += Int(whole)
        deadline.tv_nsec += Int((seconds - whole) * 1e9)
        if deadline.tv_nsec >= 1_000_000_000 {
            deadline.tv_sec += 1
            deadline.tv_nsec -= 1_000_000_000
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !work.isFinished {
            if pthread_cond_timedwait(finished, mutex, &deadline) == ETIMEDOUT, !work.isFinished { return .timedOut }
        }
        return .finished(work.failure)
    }

    /// How a wait with a time limit ended.
    enum TimedWait {
        /// The work finished, with this failure or none.
        case finished(PerceptronError?)
        /// The time passed first.
        case timedOut
    }

    /// Wakes the thread if it sleeps, so that it sees an abort requested.
    func wake() {
        pthread_mutex_lock(mutex)
        pthread_cond_signal(queued)
        pthread_mutex_unlock(mutex)
    }

    private func loop() {
        // The sleeps between polls (PollingBackoff) end when asked, not up
        // to 50 µs later, the kernel's default timer slack for a thread;
        // the setting is this thread's alone.
        _ = perceptron_set_timer_slack(1_000)
        while true {
            pthread_mutex_lock(mutex)
            while head == nil && !context.abortIsRequested { pthread_cond_wait(queued, mutex) }
            let work = head
            if let work {
                head = work.next
                if head == nil { tail = nil }
                work.next = nil
            }
            pthread_mutex_unlock(mutex)
            if context.abortIsRequested { context.abortNow() }
            guard let work else { continue }

            let failure = context.run(work)

            pthread_mutex_lock(mutex)
            work.failure = failure
            work.isFinished = true
            work.isQueued = false
            pthread_cond_broadcast(finished)
            pthread_mutex_unlock(mutex)
            if context.hasEnded { return }
        }
    }
}
