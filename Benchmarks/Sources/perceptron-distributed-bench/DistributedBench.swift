// perceptron-distributed-bench: data-parallel training on this machine, under
// mpirun or alone: the steady step of a 784-512-512-10 MLP at a global batch
// of 1024, how long its all-reduce takes and how much of it the overlap with
// the backward pass hides; and the all-reduce's bandwidth by message size.
// `make bench-distributed` runs it the ways Benchmarks/README.md compares.

import ArgumentParser
import CommandLineSupport
@preconcurrency import Glibc
import Foundation
import Perceptron
import PerceptronDistributed

@main
struct DistributedBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perceptron-distributed-bench",
        abstract: "Data-parallel training on this machine: step time, all-reduce time, overlap and bandwidth.",
        usage: """
            perceptron-distributed-bench [--threads <n>] [--quick]
            mpirun -np 2 perceptron-distributed-bench --threads 1 [--quick]
            mpirun -np 2 --mca btl tcp,self perceptron-distributed-bench --bandwidth [--quick]
            """,
        discussion: """
            Without --bandwidth, times the steady training step of a 784-512-512-10 ReLU MLP (softmax \
            cross-entropy, SGD) at a global batch of 1024 rows, shared by the processes mpirun started: the \
            step without any communication, the data-parallel step with the gradients sent in buckets of 1 MiB \
            while the backward pass goes on, the same with one bucket after it, and the all-reduce of all \
            gradients alone. With --bandwidth, times all-reduces of 4 KiB to 16 MiB. Rank 0 prints.
            """)

    @OptionGroup var threadsOption: ThreadsOption

    /// `--bandwidth`: the all-reduce by message size instead of the step.
    @Flag(help: "Time all-reduces of 4 KiB to 16 MiB instead of the training step.")
    var bandwidth = false

    /// `--quick`: fewer repetitions.
    @Flag(help: "Fewer repetitions: a first look.")
    var quick = false

    func run() throws {
        start(threads: threadsOption, debugCost: "timings mean little")
        let world = try Communicator.world()
        if world.rank != 0 { _ = freopen("/dev/null", "w", stdout) }
        print("CPU:   \(processorName()), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("BLAS:  \(BLAS.configuration)")
        print("MPI:   \(world.size) process\(world.size == 1 ? "" : "es")")
        print("")
        if bandwidth {
            try Bandwidth(world: world, repetitions: quick ? 5 : 20).run()
        } else {
            try StepTiming(world: world, steps: quick ? 10 : 40).run()
        }
    }
}

/// Times from repeated runs: the median and the spread.
struct Samples {
    var seconds: [Double] = []

    var median: Double {
        let sorted = seconds.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// `12.345 ms (11.9–14.2)`.
    var summary: String {
        "\(milliseconds(median)) ms (\(milliseconds(seconds.min() ?? 0))–\(milliseconds(seconds.max() ?? 0)))"
    }

    /// Runs `body` `count` times after `warmUp` untimed runs, timing each.
    static func measure(count: Int, warmUp: Int = 3, _ body: () throws -> Void) rethrows -> Samples {
        for _ in 0..<warmUp { try body() }
        let clock = ContinuousClock()
        var samples = Samples()
        for _ in 0..<count {
            let elapsed = try clock.measure(body).components
            samples.seconds.append(Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18)
        }
        return samples
    }
}

/// `12.345`: seconds as milliseconds, to the microsecond.
func milliseconds(_ seconds: Double) -> String {
    String(format: "%.3f", seconds * 1000)
}

/// The processor's model name, as the kernel reports it.
func processorName() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let colon = line.firstIndex(of: ":")
    else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
}
