import Foundation
import Perceptron

/// `--profile`: where a layer step's time goes, against the FMA peak.
///
/// At each shape, times the step's three products alone, called bare on CBLAS
/// (`BareProducts`, OpenBLAS's own threading), then the library's whole step,
/// on one thread and on `threads`, and puts each rate beside the peak that
/// `CFMAPeak` measures at the same thread count. A product's share of the
/// peak is what OpenBLAS's kernel makes of the machine at that shape; the
/// step can approach, at best, the three products' combined share.
struct ProductProfile<Scalar: BLASScalar> {
    static func run(shapes: [(n: Int, f: Int, m: Int)], threads: Int, quick: Bool) {
        let savedThreads = BLAS.threadCount
        defer { BLAS.threadCount = savedThreads }
        let counts = Set([1, threads]).sorted()
        let (trials, seconds) = Peak.sampling(quick: quick)
        // The peak is measured before the first shape and again after each:
        // a shape's rows use the best so far, since interference from other
        // work on the machine only ever lowers a measurement.
        var peaks = counts.map { _ in 0.0 }
        func measurePeaks() -> Bool {
            for (column, count) in counts.enumerated() {
                let rate = Peak.measure(Scalar.self, threads: count, quick: quick)
                guard rate > 0 else { return false }
                peaks[column] = max(peaks[column], rate)
            }
            return true
        }
        guard measurePeaks() else {
            print("FMA peak: not measured (no AVX-512 or AVX2 with FMA, or no threads), so nothing to profile against")
            return
        }
        let budget = quick ? 0.4 : 3.0
        print("Where a layer step's time goes (\(Scalar.self)): each product alone through CBLAS, then the library's step")
        print("BLAS: \(BLAS.configuration)")
        print("Shares are of the FMA peak (best of \(trials) trials of \(Int(seconds * 1000)) ms, measured before and after each shape)")
        print("")
        var header = pad("shape", 20) + pad("work", 34)
        for count in counts { header += rpad("\(count) thread\(count == 1 ? "" : "s"): time", 20) + rpad("GFLOP/s", 9) + rpad("of peak", 9) }
        print(header)
        print(String(repeating: "─", count: header.count))

        var generator = SeededRandomNumberGenerator(seed: 29)
        for (n, f, m) in shapes {
            let products = BareProducts<Scalar>(n: n, f: f, m: m, using: &generator)
            let layer = Linear<Scalar>(inputFeatures: f, outputFeatures: m, using: &generator)
            let x = Tensor<Scalar>(shape: [n, f], randomIn: -1...1, using: &generator)
            let g = Tensor<Scalar>(shape: [n, m], randomIn: -1...1, using: &generator)
            let work: [(label: String, products: Double, bare: Bool, run: () -> Void)] = [
                ("Z ← XW + b    (NN)", 1, true, products.forward),
                ("∇W ← XᵀG      (TN)", 1, true, products.weightGradient),
                ("∇X ← GWᵀ      (NT)", 1, true, products.inputGradient),
                ("the three in turn", 3, true, { products.forward(); products.weightGradient(); products.inputGradient() }),
                ("layer forward", 1, false, { _ = try! layer(x) }),
                ("layer step", 3, false, {
                    _ = try! layer(x)
                    _ = try! layer.backward(g)
                }),
            ]
            // Every cell (work × thread count) is timed once per round, round
            // after round, so that the machine's drift hits all of them alike.
            // After OpenBLAS's own threads have run, they poll for more work for
            // a while (about 2²⁸ clock ticks) before they sleep, and would take a
            // core from whatever runs next: the library's step, on more than one
            // thread, waits until they have gone to sleep.
            let cells = counts.flatMap { count in
                work.map { item in
                    (pauseBefore: count > 1 && !item.bare, run: {
                        BLAS.threadCount = count
                        if item.bare { products.withOpenBLASThreads(count, item.run) } else { item.run() }
                    })
                }
            }
            let byCount = roundRobin(cells, budget: budget)
            _ = measurePeaks()
            let times = work.indices.flatMap { row in counts.indices.map { column in byCount[column * work.count + row] } }
            // The backward pass is timed as the step less the forward pass: on
            // its own it would need a forward pass before each run anyway.
            let rows: [(label: String, products: Double)] = work.map { ($0.label, $0.products) } + [("layer backward (step − forward)", 2)]
            let backward = counts.indices.map { column in
                times[(work.count - 1) * counts.count + column] - times[(work.count - 2) * counts.count + column]
            }
            for (row, item) in rows.enumerated() {
                var line = pad(row == 0 ? "(\(n), \(f), \(m))" : "", 20) + pad(item.label, 34)
                for (column, peak) in peaks.enumerated() {
                    let seconds = row < work.count ? times[row * counts.count + column] : backward[column]
                    guard seconds > 0 else {
                        // A difference of two medians: noise can make it vanish at tiny shapes.
                        line += rpad("–", 20) + rpad("–", 9) + rpad("–", 9)
                        continue
                    }
                    let rate = item.products * products.productFLOPs / seconds / 1e9
                    line += rpad(time(seconds), 20) + rpad(String(format: "%.0f", rate), 9)
                        + rpad(String(format: "%.0f%%", rate / peak * 100), 9)
                }
                print(line)
            }
        }
        print("")
        print("FMA peak, best measured: "
              + zip(counts, peaks).map { String(format: "%.0f GFLOP/s on %d thread%@", $1, $0, $0 == 1 ? "" : "s") }
                  .joined(separator: ", "))
        print("A step's rate counts its three products only; the bias and the column sums are extra work it does too.")
    }
}

/// Median seconds per run of each of `bodies`: after a warm-up, each is timed
/// once per round (repeated within its sample to last at least 200 µs), round
/// after round for about `budget` seconds and at least 7 rounds. Before a body
/// marked `pauseBefore`, the thread sleeps for `pause` seconds, then runs the
/// body once more, untimed, to wake what the pause put to sleep.
func roundRobin(_ bodies: [(pauseBefore: Bool, run: () -> Void)], budget: Double, pause: Double = 0.25) -> [Double] {
    let clock = ContinuousClock()
    func rest(before index: Int) {
        guard bodies[index].pauseBefore else { return }
        usleep(useconds_t(pause * 1e6))
        bodies[index].run()
    }
    let repetitions = bodies.indices.map { index -> Int in
        rest(before: index)
        bodies[index].run()
        let once = max(clock.measure(bodies[index].run).seconds, 1e-7)
        return max(1, Int((200e-6 / once).rounded(.up)))
    }
    var samples = Array(repeating: [Double](), count: bodies.count)
    let start = clock.now
    var round = 0
    while round < 7 || ((clock.now - start).seconds < budget && round < 1000) {
        for (index, body) in bodies.enumerated() {
            rest(before: index)
            let count = repetitions[index]
            samples[index].append(clock.measure { for _ in 0..<count { body.run() } }.seconds / Double(count))
        }
        round += 1
    }
    return samples.map(median)
}
