// Concurrency: layers, training loops, the worker pool and shared tensors
// used from many tasks at once must give, bit for bit, what the same work
// gives run one job at a time.
//
// Run it under ThreadSanitizer with `swift test --sanitize=thread --filter Concurrency`.
//
// Why bit for bit is the right test: every computation here is deterministic
// for a fixed split of its GEMMs. Large products (m·n·k ≥
// BLAS.parallelThreshold) are split by rows into BLAS.threadCount parts, and
// a caller that finds the WorkerPool busy runs the same parts itself, so
// concurrency must not change a single bit. The split itself can: OpenBLAS's
// kernels give different bits for some shapes split in 2, 3 or 5 parts
// (SkylakeX: Double [33, 257] · [257, 300] in 2 parts; Float Z of a
// [157, 137] → 113 layer in 3; the Zen kernel differs at other shapes). The
// "Parallel GEMM" tests in LinearTests.swift set BLAS.threadCount to 1, 2, 3
// and 5, so these tests live in the same serialized suite: the split stays
// put while each runs. The worker pool also gets split-sensitive shapes
// directly, with a fixed part count.

@_spi(Benchmarking) @testable import Perceptron
import Testing

/// Compiles only for `Sendable` types: the compile-time half of the checks below.
func requiresSendable<T: Sendable>(_: T.Type) {}

/// The scalars' bytes: equal bytes mean bitwise-identical results, with
/// −0 and +0 (and NaN payloads) told apart.
private func bytes<S: BLASScalar>(_ tensor: Tensor<S>) -> [UInt8] {
    tensor.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) }
}

/// One layer's work, described by plain values so that a task can be handed
/// it: the layer itself is built inside the task that uses it.
struct LayerJob: Sendable, CustomStringConvertible {
    var n: Int, f: Int, m: Int
    var seed: UInt64
    var double: Bool

    var description: String { "\(double ? "Double" : "Float") X[\(n), \(f)] → \(m), seed \(seed)" }

    /// Two forward and backward passes (the second accumulating): each output,
    /// input gradient and the final parameter gradients, as bytes.
    func run() throws -> [[UInt8]] {
        double ? try run(Double.self) : try run(Float.self)
    }

    private func run<S: BLASScalar>(_: S.Type) throws -> [[UInt8]] {
        var generator = SeededRandomNumberGenerator(seed: seed)
        let layer = Linear<S>(inputFeatures: f, outputFeatures: m, using: &generator)
        let x = Tensor<S>(shape: [n, f], randomIn: -1...1, using: &generator)
        let g = Tensor<S>(shape: [n, m], randomIn: -1...1, using: &generator)
        var results: [[UInt8]] = []
        for pass in 0..<2 {
            results.append(bytes(try layer(x)))
            results.append(bytes(try layer.backward(g, accumulate: pass == 1)))
        }
        results.append(bytes(layer.weightGradient))
        results.append(bytes(try #require(layer.biasGradient)))
        return results
    }
}

/// A small classifier and its training state, built from a seed.
///
/// Not `Sendable` (it holds layers, a loss and an optimizer): a task may be
/// handed one it alone will use, never one another task also uses.
final class TrainingRun {
    let model: Sequential<Float>
    let loss = SoftmaxCrossEntropy<Float>()
    let adam = Adam<Float>(learningRate: 1e-3)
    let x: Tensor<Float>
    let labels: [Int]

    /// An MLP 256-256-10 on a batch of 64: the first layer's three GEMMs are
    /// 64·256·256 ≈ 4.2 M multiply-adds, over the parallel threshold, and the
    /// second layer's are under it.
    init(seed: UInt64) {
        var generator = SeededRandomNumberGenerator(seed: seed)
        model = Sequential([
            Linear(inputFeatures: 256, outputFeatures: 256, using: &generator), ReLU(),
            Linear(inputFeatures: 256, outputFeatures: 10, using: &generator),
        ])
        x = Tensor(shape: [64, 256], randomIn: -1...1, using: &generator)
        labels = (0..<64).map { _ in Int.random(in: 0..<10, using: &generator) }
    }

    /// Trains for `steps` steps; returns every loss and the final parameters, as bytes.
    func train(steps: Int) throws -> [[UInt8]] {
        var results: [[UInt8]] = []
        for _ in 0..<steps {
            let value = try loss.forward(model(x), labels: labels)
            results.append(withUnsafeBytes(of: value) { Array($0) })
            _ = try model.backward(loss.backward())
            try adam.step(model)
        }
        try model.forEachParameter { _, value, _ in results.append(bytes(value)) }
        return results
    }
}

/// In the suite that owns the process-wide BLAS settings: no other test changes
/// `BLAS.threadCount` or the pairing of products while these run, so the
/// sequential reference and the concurrent runs split every product alike.
extension ProcessWideBLASSettings {
    @Suite("Concurrency: many tasks give the sequential results, bit for bit")
    struct ConcurrencyTests {
        /// Tensors and the value types that describe errors and the configuration
        /// cross tasks freely; this compiles only while they are `Sendable`.
        ///
        /// Layers (and losses and optimizers) are deliberately *not* `Sendable`:
        /// they keep their last input and reuse their result buffers, so one
        /// instance must be used from one task at a time. A negative check cannot
        /// be a test that compiles, so here is what Swift 6.3.1 says to
        /// `requiresSendable(Linear<Float>.self)` and
        /// `requiresSendable(Sequential<Float>.self)` (checked when this was written):
        ///
        ///     error: type 'Linear<Float>' does not conform to the 'Sendable' protocol
        ///     error: type 'Sequential<Float>' does not conform to the 'Sendable' protocol
        ///
        /// The tests below still hand layers to tasks, which Swift 6 allows only
        /// for a value no other code can reach any more (`sending`): a layer
        /// built for one task and not touched after.
        @Test func sendableTypes() {
            requiresSendable(Tensor<Float>.self)
            requiresSendable(Tensor<Double>.self)
            requiresSendable(PerceptronError.self)
            requiresSendable(SeededRandomNumberGenerator.self)
            requiresSendable(BLAS.Configuration.self)
            requiresSendable(BLAS.KernelSelection.self)
            requiresSendable(BLAS.KernelSelection.Source.self)
        }

        /// Layers of many shapes, each in its own task, all at once (twice, for
        /// other interleavings): the same bits as the same jobs run one by one.
        @Test func layersInManyTasks() async throws {
            let threads = BLAS.threadCount
            // Over the threshold (so split across the pool, or run in parts by a
            // caller that found it busy), at it, and under it, and empty.
            // Not among them: (100, 200, 100), whose Z takes OpenBLAS's small-matrix
            // kernel when split in two but not whole, and (256, 784, 128), whose Z
            // split in 4 or 5 parts goes to the small-matrix kernels
            // (BLAS.smallKernelLimit) but whole does not; either changes the last bits.
            let shapes = [(512, 784, 116), (64, 256, 256), (64, 128, 64), (7, 13, 5), (0, 3, 4)]
            var jobs: [LayerJob] = []
            for (index, (n, f, m)) in shapes.enumerated() {
                for double in [false, true] {
                    jobs.append(LayerJob(n: n, f: f, m: m, seed: UInt64(index * 2 + (double ? 1 : 0)), double: double))
                }
            }
            let expected = try jobs.map { try $0.run() }
            for round in 0..<2 {
                let results = try await withThrowingTaskGroup(of: (Int, [[UInt8]]).self) { group in
                    for (index, job) in jobs.enumerated() {
                        group.addTask { (index, try job.run()) }
                    }
                    var results = [[[UInt8]]](repeating: [], count: jobs.count)
                    for try await (index, result) in group { results[index] = result }
                    return results
                }
                for index in jobs.indices {
                    #expect(results[index] == expected[index], "round \(round), \(jobs[index]), \(threads) threads: differs from sequential use")
                }
            }
        }

        /// Whole training loops (forward, loss, backward, Adam) in parallel tasks,
        /// two per seed: each ends with the parameters and losses of the same loop
        /// run alone. The runs are built here and handed over, one per task.
        @Test func trainingLoopsInManyTasks() async throws {
            let seeds: [UInt64] = [1, 2, 3]
            let steps = 4
            var expected: [UInt64: [[UInt8]]] = [:]
            for seed in seeds { expected[seed] = try TrainingRun(seed: seed).train(steps: steps) }

            let results = try await withThrowingTaskGroup(of: (UInt64, [[UInt8]]).self) { group in
                for seed in seeds + seeds {
                    let run = TrainingRun(seed: seed)   // sent to the task: nothing else refers to it
                    group.addTask { (seed, try run.train(steps: steps)) }
                }
                var results: [(UInt64, [[UInt8]])] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.count == 2 * seeds.count)
            for (seed, result) in results {
                #expect(result == expected[seed], "training run with seed \(seed) differs from the same run alone")
            }
        }

        /// The worker pool itself, from many tasks at once, on shapes whose bits
        /// depend on the split, with a fixed part count (not BLAS.threadCount):
        /// whether a caller gets the pool or runs every part itself because it is
        /// busy, each part must be the same GEMM, so C must be the same bits.
        @Test(arguments: [2, 3, 5])
        func workerPoolFromManyTasks(parts: Int) async throws {
            OpenBLAS.setUp()
            // (m, n, k, transposeA, transposeB, Double); each shape gave split-dependent bits above.
            let cases: [(Int, Int, Int, Bool, Bool, Bool)] = [
                (33, 300, 257, false, false, true), (137, 113, 157, true, false, false),
                (157, 137, 113, false, true, true), (300, 250, 200, false, false, true),
            ]
            for (m, n, k, transposeA, transposeB, double) in cases {
                var generator = SeededRandomNumberGenerator(seed: UInt64(m * n * k + parts))
                if double {
                    let a = Tensor<Double>(shape: [m * k], randomIn: -1...1, using: &generator)
                    let b = Tensor<Double>(shape: [k * n], randomIn: -1...1, using: &generator)
                    let c = Tensor<Double>(shape: [m * n], randomIn: -1...1, using: &generator)
                    try await checkPool(a, b, c, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, parts: parts)
                } else {
                    let a = Tensor<Float>(shape: [m * k], randomIn: -1...1, using: &generator)
                    let b = Tensor<Float>(shape: [k * n], randomIn: -1...1, using: &generator)
                    let c = Tensor<Float>(shape: [m * n], randomIn: -1...1, using: &generator)
                    try await checkPool(a, b, c, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, parts: parts)
                }
            }
        }

        /// `C ← A·B + C` split in `parts`, run part by part on this thread, then by
        /// the pool from eight tasks at once, each on its own copy of C.
        private func checkPool<S: BLASScalar>(
            _ a: Tensor<S>, _ b: Tensor<S>, _ c: Tensor<S>,
            m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, parts: Int
        ) async throws {
            /// Runs the partitioned GEMM into `c`, on the pool or, when `inline`, part by part here.
            @Sendable func product(into c: inout Tensor<S>, inline: Bool) {
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        c.withUnsafeMutableBufferPointer { c in
                            withUnsafePointer(to: MatrixProduct(
                                transposeA: transposeA, transposeB: transposeB,
                                m: Int32(m), n: Int32(n), k: Int32(k),
                                a.baseAddress!, b.baseAddress!, beta: 1, c.baseAddress!)
                            ) { product in
                                let job = RowBlocks(product, parts: parts)
                                if inline {
                                    for part in 0..<parts { job.run(part: part) }
                                } else {
                                    WorkerPool.shared.run(job)
                                }
                            }
                        }
                    }
                }
            }
            let original = bytes(c)
            var expected = c
            product(into: &expected, inline: true)
            let reference = bytes(expected)
            let results = await withTaskGroup(of: [UInt8].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var mine = c   // copy-on-write: each task writes its own buffer
                        product(into: &mine, inline: false)
                        return bytes(mine)
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            for result in results {
                #expect(result == reference, "\(S.self) [\(m), \(k)]·[\(k), \(n)] transposes \(transposeA)/\(transposeB) in \(parts) parts: the pool's result differs")
            }
            #expect(bytes(c) == original, "a task's write reached the C it copied")
        }

        /// Two independent products run side by side by the pool (a layer's
        /// backward pass), from many tasks at once: each product must come out
        /// bit for bit as when its parts run one by one on this thread, whatever
        /// the split of the threads between them.
        @Test(arguments: [(1, 1), (2, 1), (2, 3)])
        func pairedProductsFromManyTasks(firstParts: Int, secondParts: Int) async throws {
            OpenBLAS.setUp()
            // The shapes of a [157, 137] → 113 layer's XᵀG and GWᵀ, in Float.
            let (n, f, m) = (157, 137, 113)
            var generator = SeededRandomNumberGenerator(seed: UInt64(10 * firstParts + secondParts))
            let x = Tensor<Float>(shape: [n * f], randomIn: -1...1, using: &generator)
            let g = Tensor<Float>(shape: [n * m], randomIn: -1...1, using: &generator)
            let w = Tensor<Float>(shape: [f * m], randomIn: -1...1, using: &generator)

            /// ∇W = XᵀG (accumulated onto its old value) and ∇X = GWᵀ, on the pool or part by part here.
            @Sendable func products(_ dw: inout Tensor<Float>, _ dx: inout Tensor<Float>, inline: Bool) {
                x.withUnsafeBufferPointer { x in
                    g.withUnsafeBufferPointer { g in
                        w.withUnsafeBufferPointer { w in
                            dw.withUnsafeMutableBufferPointer { dw in
                                dx.withUnsafeMutableBufferPointer { dx in
                                    var pair = (
                                        MatrixProduct(
                                            transposeA: true, m: Int32(f), n: Int32(m), k: Int32(n),
                                            x.baseAddress!, g.baseAddress!, beta: 1, dw.baseAddress!),
                                        MatrixProduct(
                                            transposeB: true, m: Int32(n), n: Int32(f), k: Int32(m),
                                            g.baseAddress!, w.baseAddress!, beta: 0, dx.baseAddress!))
                                    withUnsafePointer(to: &pair) { pair in
                                        pair.withMemoryRebound(to: MatrixProduct<Float>.self, capacity: 2) { products in
                                            let job = RowBlocks(products, parts: firstParts, then: secondParts)
                                            #expect(job.parts == firstParts + secondParts)
                                            if inline {
                                                for part in 0..<job.parts { job.run(part: part) }
                                            } else {
                                                WorkerPool.shared.run(job)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let dw0 = Tensor<Float>(shape: [f * m], randomIn: -1...1, using: &generator)
            let dx0 = Tensor<Float>(shape: [n * f], randomIn: -1...1, using: &generator)
            var (dw, dx) = (dw0, dx0)
            products(&dw, &dx, inline: true)
            let reference = (bytes(dw), bytes(dx))
            let results = await withTaskGroup(of: ([UInt8], [UInt8]).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var (dw, dx) = (dw0, dx0)
                        products(&dw, &dx, inline: false)
                        return (bytes(dw), bytes(dx))
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            for (dwBytes, dxBytes) in results {
                #expect(dwBytes == reference.0, "∇W in \(firstParts) + \(secondParts) parts: the pool's result differs")
                #expect(dxBytes == reference.1, "∇X in \(firstParts) + \(secondParts) parts: the pool's result differs")
            }
            // And the reference itself is right: against loops in Double.
            let (xs, gs, ws, dw0s, dws, dxs) = (x.scalars, g.scalars, w.scalars, dw0.scalars, dw.scalars, dx.scalars)
            for (i, j) in [(0, 0), (f - 1, m - 1), (f / 2, m / 3)] {
                var (sum, magnitude) = (Double(dw0s[i * m + j]), abs(Double(dw0s[i * m + j])))
                for r in 0..<n {
                    let term = Double(xs[r * f + i]) * Double(gs[r * m + j])
                    (sum, magnitude) = (sum + term, magnitude + abs(term))
                }
                #expect(abs(Double(dws[i * m + j]) - sum) <= Double(n + 2) * Double(Float.ulpOfOne) * magnitude)
            }
            for (r, i) in [(0, 0), (n - 1, f - 1), (n / 2, f / 3)] {
                var (sum, magnitude) = (0.0, 0.0)
                for j in 0..<m {
                    let term = Double(gs[r * m + j]) * Double(ws[i * m + j])
                    (sum, magnitude) = (sum + term, magnitude + abs(term))
                }
                #expect(abs(Double(dxs[r * f + i]) - sum) <= Double(m + 2) * Double(Float.ulpOfOne) * magnitude)
            }
        }

        /// One tensor read by many tasks at once (as a layer's input, a matmul
        /// operand, a reshaped view) while other tasks mutate their copies of it:
        /// the readers see the original, each writer sees only its own changes,
        /// and the original is unchanged at the end.
        @Test func sharedTensorKeepsValueSemantics() async throws {
            var generator = SeededRandomNumberGenerator(seed: 7)
            let shared = Tensor<Float>(shape: [64, 256], randomIn: -1...1, using: &generator)
            let weight = Tensor<Float>(shape: [256, 256], randomIn: -1...1, using: &generator)
            let original = bytes(shared)
            let product = bytes(try matmul(shared, weight))   // 64·256·256: over the threshold
            let total = shared.scalars.reduce(0, +)

            /// What writer `index` makes of its copy: one scalar set, then all doubled in place.
            @Sendable func written(_ index: Int) throws -> Tensor<Float> {
                var mine = index.isMultiple(of: 2) ? shared : try shared.reshaped(to: [256, 64])
                mine[0, index] = Float(index)
                mine.withUnsafeMutableBufferPointer { buffer in
                    for i in buffer.indices { buffer[i] *= 2 }
                }
                return mine
            }
            let expectedWrites = try (0..<8).map { bytes(try written($0)) }

            enum Outcome: Sendable { case read([UInt8], [UInt8], Float), wrote(Int, [UInt8]) }
            let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        if index < 8 {
                            let layer = try Linear(weight: weight, bias: nil)   // this task's own layer
                            let z = try layer(shared)
                            let view = try shared.reshaped(to: [256, 64])
                            return .read(bytes(z), bytes(try view.reshaped(to: [64, 256])), shared.scalars.reduce(0, +))
                        }
                        return .wrote(index - 8, bytes(try written(index - 8)))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for outcome in outcomes {
                switch outcome {
                case let .read(z, view, sum):
                    #expect(z == product, "a reader's layer output differs from the sequential product")
                    #expect(view == original, "a reader saw another task's write through a reshaped view")
                    #expect(sum == total, "a reader saw another task's write")
                case let .wrote(index, result):
                    #expect(result == expectedWrites[index], "writer \(index)'s copy differs from the same writes done alone")
                }
            }
            #expect(bytes(shared) == original, "the shared tensor changed")
        }
    }
}
