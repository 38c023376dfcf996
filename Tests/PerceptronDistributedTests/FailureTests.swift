@preconcurrency import Glibc
import Foundation
import Perceptron
@testable import perceptron_distributed_worker
import Testing

extension DistributedTests {
    /// A process that dies, throws, hangs or leaves early ends the whole job
    /// within a bounded time, never leaving the others waiting; checkpoints
    /// written by rank 0 survive, and every process resumes from them exactly.
    @Suite("Failures and checkpoints")
    struct FailureTests {
        /// The most the job may take to end after a process fails, as the
        /// documentation promises (the failures with a timeout set it to 2 s).
        static let bound = 30.0

        /// The worker's `checkpoints` run on K processes (Dropout seeded per
        /// rank, Adam, StepLR, shuffled MiniBatches sharded by rank, a
        /// checkpoint every third step but at the end of a pass) has one
        /// process killed after two checkpoints; the job ends, and resumed on K
        /// processes from the last checkpoint, which stands in the middle of
        /// a pass, it ends with the parameters of an uninterrupted run, bit for bit.
        @Test(arguments: [2, 3])
        func killingOneProcessEndsTheJobAndTheLastCheckpointResumes(processes: Int) throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let checkpoint = directory.appendingPathComponent("run.checkpoint")
            let killed = processes - 1
            let run = try MPIRun(
                ["checkpoints", "--epochs", "1000000", "--pause", "20", "--output", checkpoint.path], processes: processes)
            let started = run.wait(seconds: 60) { $0.contains("rank 0: checkpoint 6\n") && $0.contains("rank \(killed): pid ") }
            try #require(started, "the job should have written two checkpoints: \(run.outputSoFar)")
            let pidLine = try #require(run.outputSoFar.split(separator: "\n").first { $0.hasPrefix("rank \(killed): pid ") })
            let pid = try #require(Int32(pidLine.dropFirst("rank \(killed): pid ".count)))

            let clock = ContinuousClock()
            let killedAt = clock.now
            #expect(kill(pid, SIGKILL) == 0)
            let outcome = run.waitForExit(seconds: 2 * Self.bound)
            let ended = (clock.now - killedAt).components
            #expect(Double(ended.seconds) + Double(ended.attoseconds) * 1e-18 <= Self.bound, "mpirun took too long to end the job")
            #expect(outcome.status != 0)
            #expect(!outcome.wasSignalled, "mpirun should have ended by itself, not by the test's kill")

            // The last checkpoint is whole (written atomically), in the middle
            // of a pass of 4 batches, and holds every process's own generators.
            let file = try SafeTensors<Float>(contentsOf: checkpoint)
            let step = try #require(file.metadata["state.step"].flatMap(Int.init))
            let epoch = try #require(file.metadata["state.epoch"].flatMap(Int.init))
            #expect(step >= 6 && step % 3 == 0 && step % 4 != 0 && epoch == step / 4)
            #expect(file.metadata["batches.pass.batches"] == "\(step % 4)")
            #expect(file.metadata["model.replicas"] == "\(processes)")
            #expect(file.metadata["batches.shardCount"] == "\(processes)")
            for layer in ["2", "3.2"] {
                let generators = try (0..<processes).map { replica in
                    try #require(file.metadata["model.\(layer).generator" + (replica == 0 ? "" : ".replica\(replica)")])
                }
                #expect(Set(generators).count == processes, "layer \(layer): the processes' generators should differ")
            }

            // Every process resumes from it, and ends where an uninterrupted run does.
            let epochs = epoch + 2
            let resumed = directory.appendingPathComponent("resumed.safetensors")
            let straight = directory.appendingPathComponent("straight.safetensors")
            let resuming = try MPIRun.run(
                ["checkpoints", "--resume", "yes", "--epochs", "\(epochs)", "--output", checkpoint.path,
                 "--final", resumed.path], processes: processes)
            #expect(resuming.status == 0, "\(resuming.errors)")
            for rank in 0..<processes {
                let lines = resuming.lines(of: rank)
                #expect(lines.contains("resumed at step \(step)") && lines.contains("replicas agree"), "rank \(rank): \(lines)")
            }
            let uninterrupted = try MPIRun.run(
                ["checkpoints", "--epochs", "\(epochs)", "--output", directory.appendingPathComponent("other").path,
                 "--final", straight.path], processes: processes)
            #expect(uninterrupted.status == 0, "\(uninterrupted.errors)")
            let resumedFile = try SafeTensors<Float>(contentsOf: resumed)
            let straightFile = try SafeTensors<Float>(contentsOf: straight)
            #expect(straightFile.metadata["steps"] == "\(4 * epochs)" && resumedFile.metadata == straightFile.metadata)
            #expect(straightFile.tensors.count == 6)
            #expect(resumedFile.tensors.mapValues { $0.scalars.map(\.bitPattern) }
                == straightFile.tensors.mapValues { $0.scalars.map(\.bitPattern) })

            // On another number of processes (here, one), the checkpoint is refused.
            let alone = try MPIRun.run(
                ["checkpoints", "--resume", "yes", "--epochs", "\(epochs)", "--output", checkpoint.path], processes: nil)
            #expect(alone.status == 1)
            #expect(alone.errors == "rank 0: error: the checkpoint '\(checkpoint.path)' does not fit what it is restored "
                + "into: the number of processes training the model is \(processes) in it, but 1 here\n")
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
        /// waits for them in turn, never entering an MPI_Finalize that could
        /// not finish, and aborts the job once the timeout has passed.
        @Test(arguments: [2, 3])
        func aProcessThatLeavesEarlyEndsTheJob(processes: Int) throws {
            let outcome = try MPIRun.run(
                ["fail", "--failure", "exit", "--rank", "1", "--step", "2", "--timeout", "2"], processes: processes)
            #expect(outcome.status != 0)
            #expect(outcome.seconds <= Self.bound)
            #expect(!outcome.output.contains("step 3"), "a process went on after the failure")
            // Whichever times out first reports it: the one that left, or another.
            #expect(outcome.errors.contains("not every process took part within 2 s"), "\(outcome.errors)")
            #expect(!outcome.errors.contains("MPI_Finalize"), "\(outcome.errors)")
        }
    }
}
