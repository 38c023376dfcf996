import Foundation
import Synchronization

/// A few long-lived threads that run the parts of one row-split GEMM, or of
/// two independent GEMMs side by side, at a time, allocating nothing per job.
///
/// `DispatchQueue.concurrentPerform` allocates several blocks per call, and so
/// does handing a closure to another thread; Perceptron promises a training
/// step that allocates nothing. So a job is a plain value (``ParallelGEMMs``),
/// the pool keeps its threads, hands each its part through an atomic flag, and
/// lets a thread that has just finished spin briefly (a training loop submits
/// the next job within microseconds) before it parks on a condition variable.
///
/// One job runs at a time. A caller that finds the pool busy (another thread's
/// layer is using it) runs all parts itself instead of waiting: correct, never
/// deadlocked, and no slower than having no pool.
final class WorkerPool: @unchecked Sendable {
    // @unchecked Sendable: `job` and the workers array are written only by the
    // thread holding `busy`, and read by workers only between a start flag
    // (release) and their done flag (release), which the submitter observes
    // (acquire) before it touches them again.

    /// The process-wide pool.
    static let shared = WorkerPool()

    private let busy = Atomic<Bool>(false)
    private var workers: [Worker] = []
    private var job: ParallelGEMMs?

    /// Runs every part of `job` and returns when all have finished; the
    /// calling thread runs part 0.
    func run(_ job: ParallelGEMMs) {
        let parts = job.parts
        guard parts > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { job.run(part: part) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        while workers.count < parts - 1 {
            workers.append(Worker(pool: self))
        }
        self.job = job
        for part in 1..<parts { workers[part - 1].start(part: part) }
        job.run(part: 0)
        for part in 1..<parts { workers[part - 1].wait() }
        self.job = nil
    }

    /// Called by a worker thread between `start` and its done flag.
    fileprivate func runPart(_ part: Int) {
        job?.run(part: part)
    }
}

/// One thread of the pool, with its hand-off state.
private final class Worker: @unchecked Sendable {
    // @unchecked Sendable: `part` is written before the release store of
    // `state` that hands the work over and read after the acquire load that
    // sees it; the mutex and condition variable are used only through pthreads.

    private enum State: Int { case idle, started, done }

    /// How long a worker polls for its next part before it parks, in polls.
    private static let spinPolls = 20_000

    private let state = Atomic<Int>(State.idle.rawValue)
    private var part = 0
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(pool: WorkerPool) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        let thread = Thread { [self] in loop(pool) }
        thread.name = "Perceptron worker"
        thread.start()
    }

    /// Hands `part` to the worker and wakes it if it is parked.
    func start(part: Int) {
        self.part = part
        state.store(State.started.rawValue, ordering: .releasing)
        pthread_mutex_lock(mutex)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until the worker has finished its part.
    func wait() {
        var polls = 0
        while state.load(ordering: .acquiring) != State.done.rawValue {
            polls += 1
            if polls > 64 { sched_yield() }
        }
        state.store(State.idle.rawValue, ordering: .relaxed)
    }

    private func loop(_ pool: WorkerPool) {
        while true {
            waitForWork()
            pool.runPart(part)
            state.store(State.done.rawValue, ordering: .releasing)
        }
    }

    /// Polls for a start flag for a while, then parks until one comes.
    private func waitForWork() {
        for _ in 0..<Self.spinPolls where state.load(ordering: .acquiring) == State.started.rawValue {
            return
        }
        pthread_mutex_lock(mutex)
        while state.load(ordering: .acquiring) != State.started.rawValue {
            pthread_cond_wait(condition, mutex)
        }
        pthread_mutex_unlock(mutex)
    }
}
