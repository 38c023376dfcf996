// perceptron-bench --serve: serving throughput and latency of one
// InferenceModel shared by concurrent tasks.
//
// The model is the digits example's architecture, 64-64-10 with ReLU, with
// seeded random weights (timing does not depend on their values). It is
// served by three snapshots where the CPU or the build can pack (the
// library's packed kernel runs, or the library has oneDNN): one on the layers'
// own kernels (OpenBLAS), one made with `kernels: .packedWeights`, which
// serves packed the requests of the sizes where the packed model measured
// faster at the snapshot, and one with every layer packed for every request
// (forced, so that the packed kernels are timed beside OpenBLAS on every CPU
// and at every size); `--widths` serves another MLP. Each configuration, a snapshot with
// 1 or 2 tasks calling it at a batch of 1 or 32 rows, runs as a closed loop:
// every task sends its next request as soon as the last is answered, until a
// common deadline. A request's latency is the
// time from one answer to the next on its task (the loop adds a few
// nanoseconds to the call); throughput is the requests answered by all tasks
// over the time from the first task's start to the last one's end.
//
// The configurations take turns: a round runs each for one window, starting
// with a different one each round, so that the machine's drift reaches all
// of them alike. Requests per second and each percentile are medians over the
// rounds. compare_numpy.py times numpy's `x @ W + b` chain the same way
// (Benchmarks/README.md, "Serving").

import CAllocationCounter
import Dispatch
import Foundation
import Glibc
@_spi(Benchmarking) import Perceptron
import Synchronization

enum Serve {
    /// The digits model's widths: its features, the example's default hidden width, its classes.
    static let digitsWidths = [64, 64, 10]
    /// The concurrent tasks and the request sizes measured, each with each.
    static let taskCounts = [1, 2]
    static let batchSizes = [1, 32]
    static let seed: UInt64 = 2026

    /// One configuration's figures, medians over the rounds.
    struct Figures: Codable {
        /// The snapshot: `layers`, `packed, chosen` (`.packedWeights` as it
        /// chose on this machine) or `packed, forced` (every layer packed).
        var kernels: String
        var tasks: Int
        var batch: Int
        var requestsPerSecond: Double
        /// Rows answered per second: requests per second times the batch.
        var samplesPerSecond: Double
        var p50Seconds: Double
        var p99Seconds: Double
        /// Requests answered over all rounds, by all tasks.
        var requests: Int
        /// Heap allocations per request, counted on one task after warm-up (nil where malloc cannot be counted).
        var allocationsPerRequest: Double?
    }

    /// What one run measured, with the machine and library it ran on.
    struct Report: Codable {
        var cpu: String
        var cores: Int
        var blas: String
        var dtype: String
        var model: String
        var rounds: Int
        var windowSeconds: Double
        var results: [Figures]
    }

    /// Runs the measurement; prints the table and, with `jsonPath`, writes the report there.
    /// Returns the exit status.
    static func run(dtype: Options.DType, widths: [Int], rounds: Int, window: Double, jsonPath: String?) -> Int32 {
        let report: Report
        do {
            switch dtype {
            case .float: report = try measure(Float.self, widths: widths, rounds: rounds, window: window)
            case .double: report = try measure(Double.self, widths: widths, rounds: rounds, window: window)
            }
        } catch {
            printError("--serve: \(error)")
            return 1
        }
        guard let jsonPath else { return 0 }
        do {
            try writeAsJSON(report, to: jsonPath)
        } catch {
            printError("cannot write \(jsonPath): \(error)")
            return 1
        }
        print("Wrote \(jsonPath)")
        return 0
    }

    /// A configuration: which snapshot, how many tasks, how many rows per request.
    struct Configuration {
        var server: Int
        var tasks: Int
        var batch: Int
    }

    /// The snapshots of `model` to time: its layers' kernels and, for Float
    /// where something packs (the library's kernel or oneDNN), packed weights
    /// as `.packedWeights` chooses them here (by timing each layer at the
    /// snapshot) and packed for every request (forced), each with a line saying
    /// what it runs on.
    private static func servers<S: BLASScalar>(
        of model: some Layer<S>
    ) throws -> [(server: InferenceModel<S>, label: String, about: String)] {
        var servers = [(try InferenceModel(model), "layers", "the layers' kernels (OpenBLAS)")]
        let configuration = BLAS.configuration
        guard configuration.packedWeightKernel != nil || configuration.oneDNN != nil, S.self == Float.self else {
            return servers
        }
        let chosen = try InferenceModel(model, kernels: .packedWeights)
        let routes = chosen.packedImplementations.joined(separator: ", ")
        let packedRequests = chosen.packedFromRows.map { from in
            switch (from, chosen.packedThroughRows) {
            case (1, nil): "packed for every request (\(routes))"
            case (_, nil): "packed from \(from) rows (\(routes)), the layers' kernels below"
            case (_, let through?): "packed from \(from) through \(through) rows (\(routes)), the layers' kernels otherwise"
            }
        }
        servers.append((chosen, "packed, chosen", ".packedWeights as it chose here: "
            + (packedRequests ?? "the layers' kernels for every request (packed never measured faster)")))
        let saved = BLAS.forcesWeightPacking
        BLAS.forcesWeightPacking = true
        defer { BLAS.forcesWeightPacking = saved }
        let forced = try InferenceModel(model, kernels: .packedWeights)
        servers.append((forced, "packed, forced", "every layer packed for every request (forced): \(forced.packedImplementations.joined(separator: ", "))"))
        return servers
    }

    private static func measure<S: BLASScalar>(_: S.Type, widths: [Int], rounds: Int, window: Double) throws -> Report {
        var generator = SeededRandomNumberGenerator(seed: seed)
        // Linear layers between consecutive widths, a ReLU between each two.
        var layers: [any Layer<S>] = []
        for (inputs, outputs) in zip(widths, widths.dropFirst()) {
            if !layers.isEmpty { layers.append(ReLU<S>()) }
            layers.append(Linear<S>(inputFeatures: inputs, outputFeatures: outputs, using: &generator))
        }
        let model = Sequential<S>(layers)
        let (features, classes) = (widths[0], widths[widths.count - 1])
        let servers = try servers(of: model)
        let configurations = servers.indices.flatMap { server in
            batchSizes.flatMap { batch in taskCounts.map { Configuration(server: server, tasks: $0, batch: batch) } }
        }
        // Each task sends its own request, the same one every time.
        let maximumTasks = taskCounts.max() ?? 1
        var requests: [Int: [Tensor<S>]] = [:]
        for batch in batchSizes {
            requests[batch] = (0..<maximumTasks).map { _ in
                Tensor<S>(shape: [batch, features], randomIn: -2...2, using: &generator)
            }
        }
        let modelName = widths.map(String.init).joined(separator: "-") + " MLP (ReLU)"
            + (widths == digitsWidths ? ", the digits model" : "")
        print("""
            Serving: \(modelName), \(S.self), one InferenceModel shared by the tasks, \
            random weights (seed \(seed))
            CPU:  \(cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores
            BLAS: \(BLAS.configuration)
            \(servers.map { "\($0.label): \($0.about)" }.joined(separator: "\n"))
            \(rounds) round\(rounds == 1 ? "" : "s") of \(String(format: "%g", window)) s per configuration, \
            the configurations taking turns; medians over the rounds
            """)
        print("")

        // Warm-up, one window per configuration (caches, the tasks' threads, the
        // allocator's free lists), which also tells how many latencies a task can record.
        var capacities: [Int] = []
        for configuration in configurations {
            let samples = runWindow(servers[configuration.server].server, requests[configuration.batch]!, classes: classes,
                                    tasks: configuration.tasks, seconds: min(window, 0.1), capacity: 1 << 20)
            // Twice the fastest task's rate over a window, and some.
            let rate = samples.map { Double($0.latencies.count) / max(Double($0.end &- $0.start) * 1e-9, 1e-6) }.max() ?? 0
            capacities.append(Int(rate * window * 2) + 4096)
        }

        var perRound = Array(repeating: [(requestsPerSecond: Double, p50: Double, p99: Double, requests: Int)](),
                             count: configurations.count)
        let progress = Progress(total: rounds)
        for round in 0..<rounds {
            progress.start("round \(round + 1) of \(rounds)")
            for turn in 0..<configurations.count {
                let index = (round + turn) % configurations.count
                let configuration = configurations[index]
                let samples = runWindow(servers[configuration.server].server, requests[configuration.batch]!, classes: classes,
                                        tasks: configuration.tasks, seconds: window, capacity: capacities[index])
                perRound[index].append(summary(samples))
            }
        }
        progress.clear()

        var results: [Figures] = []
        print(pad("kernels", 16), pad("tasks", 7), rpad("batch", 6), rpad("requests/s", 14), rpad("samples/s", 14),
              rpad("p50 latency", 13), rpad("p99 latency", 13), rpad("allocs/request", 16))
        print(String(repeating: "─", count: 103))
        for (index, configuration) in configurations.enumerated() {
            let rates = perRound[index]
            let rate = median(rates.map(\.requestsPerSecond))
            let (server, label, _) = servers[configuration.server]
            let figures = Figures(
                kernels: label, tasks: configuration.tasks, batch: configuration.batch, requestsPerSecond: rate,
                samplesPerSecond: rate * Double(configuration.batch),
                p50Seconds: median(rates.map(\.p50)), p99Seconds: median(rates.map(\.p99)),
                requests: rates.reduce(0) { $0 + $1.requests },
                allocationsPerRequest: allocationsPerRequest(server, requests[configuration.batch]![0]))
            results.append(figures)
            print(pad(figures.kernels, 16), pad("\(figures.tasks)", 7), rpad("\(figures.batch)", 6),
                  rpad(String(format: "%.0f", figures.requestsPerSecond), 14),
                  rpad(String(format: "%.0f", figures.samplesPerSecond), 14),
                  rpad(time(figures.p50Seconds), 13), rpad(time(figures.p99Seconds), 13),
                  rpad(figures.allocationsPerRequest.map { String(format: "%g", $0) } ?? "–", 16))
        }
        print("")
        print("Latency: one request's call on its task; requests/s: all tasks' requests over the window's wall time.")
        return Report(
            cpu: cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount,
            blas: BLAS.configuration.description, dtype: "\(S.self)".lowercased(), model: modelName,
            rounds: rounds, windowSeconds: window, results: results)
    }

    /// What one task did in one window: when it started and ended, and each request's latency, in nanoseconds.
    struct TaskSample: Sendable {
        var start: UInt64
        var end: UInt64
        var latencies: [UInt64]
    }

    /// Requests per second, median and 99th-percentile latency (seconds), and the
    /// request count, of one window's samples.
    static func summary(_ samples: [TaskSample]) -> (requestsPerSecond: Double, p50: Double, p99: Double, requests: Int) {
        let latencies = samples.flatMap(\.latencies).sorted()
        let start = samples.map(\.start).min() ?? 0
        let end = samples.map(\.end).max() ?? 0
        let seconds = Double(end &- start) * 1e-9
        return (seconds > 0 ? Double(latencies.count) / seconds : 0,
                percentile(latencies, 0.50) * 1e-9, percentile(latencies, 0.99) * 1e-9, latencies.count)
    }

    /// The nearest-rank `fraction` percentile of `sorted` (0 when empty).
    static func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return Double(sorted[min(max(rank, 1), sorted.count) - 1])
    }

    /// `tasks` tasks, task `i` sending `inputs[i]` to `server` until `seconds` from now,
    /// each recording at most `capacity` latencies.
    private static func runWindow<S: BLASScalar>(
        _ server: InferenceModel<S>, _ inputs: [Tensor<S>], classes: Int, tasks: Int, seconds: Double, capacity: Int
    ) -> [TaskSample] {
        let deadline = now() + UInt64(seconds * 1e9)
        return concurrently(tasks) { task in
            serve(server, inputs[task], classes: classes, until: deadline, capacity: capacity)
        }
    }

    /// One task's closed loop: a request as soon as the last is answered, until `deadline`.
    @inline(never)
    private static func serve<S: BLASScalar>(
        _ server: InferenceModel<S>, _ input: Tensor<S>, classes: Int, until deadline: UInt64, capacity: Int
    ) -> TaskSample {
        // Written before the clock starts, so no page is first touched while timing.
        var latencies = [UInt64](repeating: 0, count: capacity)
        var count = 0
        var answered = 0
        let start = now()
        var last = start
        latencies.withUnsafeMutableBufferPointer { latencies in
            while count < capacity {
                guard let output = try? server(input) else { break }
                answered &+= output.count
                let time = now()
                latencies[count] = time &- last
                count += 1
                last = time
                if time >= deadline { break }
            }
        }
        precondition(answered == count * input.shape[0] * classes, "--serve: a request was not answered")
        return TaskSample(start: start, end: last, latencies: Array(latencies.prefix(count)))
    }

    /// Heap allocations per call of `server` on `input`, on all threads, after a warm-up call.
    private static func allocationsPerRequest<S: BLASScalar>(_ server: InferenceModel<S>, _ input: Tensor<S>) -> Double? {
        guard allocation_counter_is_available() else { return nil }
        _ = try? server(input)
        let calls = 100
        allocation_counter_start_process()
        for _ in 0..<calls { _ = try? server(input) }
        return Double(allocation_counter_stop_process()) / Double(calls)
    }

    /// CLOCK_MONOTONIC, in nanoseconds.
    @inline(__always)
    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Runs `body(0)` … `body(count − 1)` as `count` tasks of one task group and
    /// returns their results in that order, blocking this (synchronous) thread until all end.
    private static func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let results = Collected<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await withTaskGroup(of: (Int, T).self) { group in
                for index in 0..<count { group.addTask { (index, body(index)) } }
                for await (index, value) in group { results.values.withLock { $0[index] = value } }
            }
            done.signal()
        }
        done.wait()
        return results.values.withLock { values in (0..<count).map { values[$0]! } }
    }

    /// Results handed from the tasks to the waiting thread.
    private final class Collected<T: Sendable>: Sendable {
        let values = Mutex<[Int: T]>([:])
    }
}
