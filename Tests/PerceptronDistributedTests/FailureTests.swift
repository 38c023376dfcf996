@preconcurrency import Glibc
import Foundation
import Perceptron
@testable import perceptron_distributed_worker
import Testing

extension DistributedTests {
    /// A process that dies, throws, hangs or leaves early ends the whole job
    /// within a bounded time, never leaving the others waiting; checkpoints
    /// written by rank 0 survive, and every process resumes from them.
    @Suite("Failures and checkpoints")
    struct FailureTests {
        /// The most the job may take to end after a process fails, as the
        /// documentation promises (the failures with a timeout set it to 2 s).
        static let bound = 30.0

        @Test func killingOneProcessEndsTheJobAndTheLastCheckpointResumes() throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let checkpoint = directory.appendingPathComponent("checkpoint.safetensors")
            let run = try MPIRun(
                ["checkpoints", "--epochs", "1000000", "--pause", "20", "--output", checkpoint.path], processes: 2)
            let started = run.wait(seconds: 60) { $0.contains("rank 0: checkpoint 2\n") && $0.contains("rank 1: pid ") }
            try #require(started, "the job should have written two checkpoints: \(run.outputSoFar)")
            let pidLine = try #require(run.outputSoFar.split(separator: "\n").first { $0.hasPrefix("rank 1: pid ") })
            let pid = try #require(Int32(pidLine.dropFirst("rank 1: pid ".count)))

            let clock = ContinuousClock()
            let killed = clock.now
            #expect(kill(pid, SIGKILL) == 0)
            let outcome = run.waitForExit(seconds: 2 * Self.bound)
            let ended = (clock.now - killed).components
            #expect(Double(ended.seconds) + Double(ended.attoseconds) * 1e-18 <= Self.bound, "mpirun took too long to end the job")
            #expect(outcome.status != 0)
            #expect(!outcome.wasSignalled, "mpirun should have ended by itself, not by the test's kill")

            // The last checkpoint is whole (written atomically) and loads into the model.
            let file = try SafeTensors<Float>(contentsOf: checkpoint)
            let epoch = try #require(file.metadata["epoch"].flatMap(Int.init))
            #expect(epoch >= 2)
            try Scenario.model(seed: 0).loadParameters(file.tensors)

            // Every process resumes from it, and ends where an uninterrupted run does.
            let resumed = directory.appendingPathComponent("resumed.safetensors")
            let straight = directory.appendingPathComponent("straight.safetensors")
            let resuming = try MPIRun.run(
                ["checkpoints", "--resume", "yes", "--epochs", "\(epoch + 2)", "--output", checkpoint.path,
                 "--final", resumed.path], processes: 2)
            #expect(resuming.status == 0, "\(resuming.errors)")
            for rank in 0..<2 { #expect(resuming.lines(of: rank).contains("resumed after epoch \(epoch)")) }
            let uninterrupted = try MPIRun.run(
                ["checkpoints", "--epochs", "\(epoch + 2)", "--output", directory.appendingPathComponent("other").path,
                 "--final", straight.path], processes: 2)
            #expect(uninterrupted.status == 0, "\(uninterrupted.errors)")
            #expect(try SafeTensors<Float>.read(from: resumed) == SafeTensors<Float>.read(from: straight))
        }

        /// Bad input on one process is an error on that process before it
        /// sends anything; its exit with status 1 aborts the job.
        @Test func aProcessThatThrowsEndsTheJob() throws {
            let outcome = try MPIRun.run(["fail", "--failure", "throw", "--rank", "1", "--step", "3"], processes: 2)
            #expect(outcome.status != 0)
            #expect(outcome.seconds <= Self.bound)
            #expect(outcome.errors.contains(
                "rank 1: error: layer 4 (Linear): Linear output gradient must have shape [2, 3], but has shape [2, 4]\n"))
            #expect(!outcome.output.contains("step 4"), "a process went on after the failure")
        }

        /// A process that stops taking part makes the others' all-reduce
        /// throw once the timeout has passed; their exit aborts the job.
        @Test func aProcessThatHangsEndsTheJobAfterTheTimeout() throws {
            let outcome = try MPIRun.run(
                ["fail", "--failure", "hang", "--rank", "1", "--step", "3", "--timeout", "2"], processes: 2)
            #expect(outcome.status != 0)
            #expect(outcome.seconds <= Self.bound)
            #expect(outcome.errors.contains(
                "rank 0: error: all-reduce of 6 gradients (435 scalars) failed: not every process took part within 2 s "
                    + "(the communicator's timeout): another process has stopped, failed, or is making other calls\n"))
        }

        /// A process that exits with status 0 while the others wait for it
        /// cannot finish MPI_Finalize; the job still ends.
        @Test(arguments: [2, 3])
        func aProcessThatLeavesEarlyEndsTheJob(processes: Int) throws {
            let outcome = try MPIRun.run(
                ["fail", "--failure", "exit", "--rank", "1", "--step", "2", "--timeout", "2"], processes: processes)
            #expect(outcome.status != 0)
            #expect(outcome.seconds <= Self.bound)
            #expect(!outcome.output.contains("step 3"), "a process went on after the failure")
        }
    }
}
