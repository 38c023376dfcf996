@_spi(Benchmarking) @testable import Perceptron
import Synchronization
import Testing

/// The worker pool's life cycle: its threads start when a job needs them,
/// run every part exactly once, and exit when the pool is shut down.
@Suite("Worker pool")
struct WorkerPoolTests {
    /// Counts the parts it runs, and where each ran.
    struct CountingJob: PoolJob {
        let counts: UnsafePointer<Atomic<Int>>
        let parts: Int
        func run(part: Int) { counts[part].add(1, ordering: .relaxed) }
    }

    /// Runs a job of `parts` parts on `pool` and returns how often each part ran.
    static func runCounting(_ pool: WorkerPool, parts: Int) -> [Int] {
        let counts = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: parts)
        for part in 0..<parts { (counts + part).initialize(to: Atomic(0)) }
        defer { counts.deinitialize(count: parts); counts.deallocate() }
        pool.run(CountingJob(counts: counts, parts: parts))
        return (0..<parts).map { counts[$0].load(ordering: .relaxed) }
    }

    @Test(arguments: [1, 2, 3, 5])
    func everyPartRunsOnce(parts: Int) {
        let pool = WorkerPool()
        for _ in 0..<50 {
            #expect(Self.runCounting(pool, parts: parts) == Array(repeating: 1, count: parts))
        }
        #expect(pool.shutDown() == parts - 1, "one thread per part beyond the caller's")
    }

    @Test func threadsExitOnShutDownAndRestartOnDemand() {
        let pool = WorkerPool()
        #expect(pool.shutDown() == 0, "a new pool has no threads")
        _ = Self.runCounting(pool, parts: 4)
        _ = Self.runCounting(pool, parts: 2)
        #expect(pool.shutDown() == 3, "the pool keeps the threads of its largest job")
        #expect(pool.shutDown() == 0)
        #expect(Self.runCounting(pool, parts: 3) == [1, 1, 1], "a shut-down pool starts new threads")
        #expect(pool.shutDown() == 2)
    }

    @Test func threadsThatSleptWakeForTheNextJob() async throws {
        let pool = WorkerPool()
        _ = Self.runCounting(pool, parts: 3)
        // Long enough for the threads to stop polling and sleep on their condition variable.
        try await Task.sleep(for: .milliseconds(50))
        #expect(Self.runCounting(pool, parts: 3) == [1, 1, 1])
        pool.shutDown()
    }
}
