#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Work the pool splits into numbered parts that may run at the same time.
///
/// A job is a small value (at most three words, so that an `any PoolJob`
/// holds it inline, without a heap box) that points at what it works on,
/// which stays on the submitter's stack for the duration of the run.
protocol PoolJob {
    /// How many parts there are, numbered `0..<parts`.
    var parts: Int { get }

    /// Runs part `part`. Parts must not write memory another part reads or writes.
    func run(part: Int)
}

/// A few long-lived threads that run the parts of one job at a time,
/// allocating nothing per job.
///
/// `DispatchQueue.concurrentPerform` allocates on every call, and so does
/// handing a closure to another thread; Perceptron promises a training step
/// that allocates nothing. So the pool keeps its threads, a job is a plain
/// value (``PoolJob``), and parts are handed over through an atomic state per thread.
/// A thread that has just finished polls for a while, since a training loop
/// or a stream of requests submits the next job within microseconds, then
/// sleeps on a condition variable; the caller waiting for the others does
/// the same. Both bounds are times, not counts of polls, because what they
/// must outlast is a time: waking a sleeping thread, which on a virtual
/// machine can take tens of microseconds, more than a split product's part.
/// Nothing spins without bound.
///
/// One job runs at a time. A caller that finds the pool busy (another task's
/// layer is using it) runs every part itself instead of waiting: correct,
/// never deadlocked, and no slower than having no pool.
final class WorkerPool: @unchecked Sendable {
    // @unchecked Sendable: `workers` is read and written only by the thread
    // that holds `busy`.

    /// The process-wide pool that ``Kernels`` splits products across.
    static let shared = WorkerPool()

    private let busy = Atomic<Bool>(false)
    private var workers: [Worker] = []

    /// Creates a pool with no threads; they start as jobs need them.
    init() {}

    /// Runs every part of `job` and returns when all have finished; the
    /// calling thread runs part 0, a pool thread each other part.
    func run(_ job: some PoolJob) {
        assert(MemoryLayout.size(ofValue: job) <= 3 * MemoryLayout<Int>.size,
               "a PoolJob must fit an existential's inline buffer, or handing it over allocates")
        let parts = job.parts
        guard parts > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { job.run(part: part) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        while workers.count < parts - 1, let worker = Worker() {
            workers.append(worker)
        }
        let helpers = min(parts - 1, workers.count)
        for index in 0..<helpers { workers[index].start(part: index + 1, of: job) }
        job.run(part: 0)
        // Parts without a thread (the system refused one) run here too.
        for part in (helpers + 1)..<parts { job.run(part: part) }
        for index in 0..<helpers { workers[index].wait() }
    }

    /// Stops every thread of the pool and waits for each to exit, returning
    /// how many there were. A later ``run(_:)`` starts new ones.
    @discardableResult
    func shutDown() -> Int {
        while !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            sched_yield()
        }
        defer { busy.store(false, ordering: .releasing) }
        let stopped = workers.count
        for worker in workers { worker.stop() }
        workers = []
        return stopped
    }

    deinit {
        for worker in workers { worker.stop() }
    }
}

/// One thread of the pool, with its hand-off state.
private final class Worker: @unchecked Sendable {
    // @unchecked Sendable: `part` and `job` are written by the submitter
    // before the release store of `state` that hands the work over, read by
    // the thread after the acquire load that sees it, and cleared by the
    // submitter only after it has seen `done`, stored with release ordering.

    private enum State: Int { case idle, started, done, stopping }

    /// How long, in nanoseconds, a thread polls for its next part before it
    /// sleeps: long enough to catch the next product of a step or of a
    /// request that follows within microseconds, short enough that an idle
    /// pool soon stops using a core.
    private static let pollingBeforeSleeping = 100_000

    /// How long, in nanoseconds, the submitter polls for a part to finish
    /// before it sleeps. Parts are of equal size, so the others finish about
    /// when the submitter's does, later by the time a sleeping thread takes
    /// to wake; sleeping sooner would add the submitter's own wake-up to
    /// every split product, which costs more than small parts take.
    private static let pollingBeforeWaiting = 200_000

    private let state = Atomic<Int>(State.idle.rawValue)
    private var part = 0
    private var job: (any PoolJob)?
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread = pthread_t()

    /// Starts the thread, or returns `nil` if the system refuses one.
    init?() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        // The thread holds a reference to its worker until it exits.
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            let worker = Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue()
            worker.loop()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Worker>.fromOpaque(context).release()
            return nil
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Hands `part` of `job` to the thread and wakes it if it sleeps.
    func start(part: Int, of job: any PoolJob) {
        self.part = part
        self.job = job
        transition(to: .started)
    }

    /// Waits until the thread has finished its part, and lets go of the job.
    func wait() {
        waitUntil(.done, pollingFor: Self.pollingBeforeWaiting)
        job = nil
        state.store(State.idle.rawValue, ordering: .relaxed)
    }

    /// Tells the thread to exit and waits until it has.
    func stop() {
        transition(to: .stopping)
        pthread_join(thread, nil)
    }

    private func loop() {
        while true {
            let next = waitUntil(.started, or: .stopping, pollingFor: Self.pollingBeforeSleeping)
            guard next == .started else { return }
            runPart()
            transition(to: .done)
        }
    }

    /// Runs the part handed over.
    private func runPart() {
        job?.run(part: part)
    }

    /// Publishes `new` and wakes whoever sleeps on the condition.
    private func transition(to new: State) {
        pthread_mutex_lock(mutex)
        state.store(new.rawValue, ordering: .releasing)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Returns once the state is `wanted` (or `alternative`): polls for
    /// `nanoseconds`, then sleeps on the condition until a transition wakes it.
    @discardableResult
    private func waitUntil(_ wanted: State, or alternative: State? = nil, pollingFor nanoseconds: Int) -> State {
        func arrived() -> State? {
            let current = State(rawValue: state.load(ordering: .acquiring))!
            return current == wanted || current == alternative ? current : nil
        }
        let deadline = Self.monotonicNanoseconds() + nanoseconds
        var polls = 0
        while true {
            if let current = arrived() { return current }
            polls &+= 1
            // Reading the clock costs tens of polls; read it every 256th.
            if polls & 255 == 0, Self.monotonicNanoseconds() >= deadline { break }
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let current = arrived() { return current }
            pthread_cond_wait(condition, mutex)
        }
    }

    /// `CLOCK_MONOTONIC` in nanoseconds (read without a system call, through the vDSO).
    private static func monotonicNanoseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }
}
