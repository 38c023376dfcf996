import Foundation
@_spi(Benchmarking) import Perceptron

/// `--profile`: where a layer step's time goes, against the FMA peak.
///
/// At each shape, times the step's three products alone, called bare on CBLAS
/// (`BareProducts`, OpenBLAS's own threading), then the library's forward
/// pass and whole step, on one thread and on `threads`, and puts each rate
/// beside the peak (`Peak`) at the same thread count. A product's share of
/// the peak is what OpenBLAS's kernel makes of the machine at that shape; the
/// step can approach, at best, the three products' combined share.
struct ProductProfile<Scalar: BLASScalar> {
    /// One row of the table: a piece of work, how many of the step's products
    /// it does, and whether it calls CBLAS bare (with OpenBLAS's threads).
    private struct Work {
        var label: String
        var products: Double
        var bare: Bool
        var run: () -> Void
    }

    /// Prints the table; returns the exit status.
    static func run(shapes: [(n: Int, f: Int, m: Int)], threads: Int, quick: Bool) -> Int32 {
        let savedThreads = BLAS.threadCount
        defer { BLAS.threadCount = savedThreads }
        let counts = Set([1, threads]).sorted()
        // The peak is measured before the first shape and again after each:
        // a shape's rows use the best so far, since interference from other
        // work on the machine only ever lowers a measurement.
        var peaks = counts.map { _ in 0.0 }
        func measurePeaks() -> Peak.Failure? {
            for (column, count) in counts.enumerated() {
                switch Peak.measure(Scalar.self, threads: count, quick: quick) {
                case .success(let measurement): peaks[column] = max(peaks[column], measurement.gflops)
                case .failure(let failure): return failure
                }
            }
            return nil
        }
        if let failure = measurePeaks() {
            printError("nothing to profile against: the FMA peak \(failure)")
            return 1
        }
        let (trials, seconds) = Peak.sampling(quick: quick)
        print("Where a layer step's time goes (\(Scalar.self)): each product alone through CBLAS, then the library's passes")
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
            let layer = LayerStep<Scalar>(n: n, f: f, m: m, using: &generator)
            let work = [
                Work(label: "Z ← XW + b    (NN)", products: 1, bare: true, run: products.forward),
                Work(label: "∇W ← XᵀG      (TN)", products: 1, bare: true, run: products.weightGradient),
                Work(label: "∇X ← GWᵀ      (NT)", products: 1, bare: true, run: products.inputGradient),
                Work(label: "the three in turn", products: 3, bare: true, run: {
                    products.forward()
                    products.weightGradient()
                    products.inputGradient()
                }),
                Work(label: "layer forward", products: 1, bare: false, run: layer.forward),
                Work(label: "layer step", products: 3, bare: false, run: layer.step),
            ]
            // Every cell (work × thread count) is timed once per round, round
            // after round, so that the machine's drift hits all of them alike.
            // After OpenBLAS's own threads have run, they poll for more work for
            // a while (about 2²⁸ clock ticks) before they sleep, and would take a
            // core from whatever runs next: the library's passes, on more than
            // one thread, wait until they have gone to sleep (the rows put the
            // library's passes after the bare products, so once per round).
            let firstLibraryRow = work.firstIndex { !$0.bare }
            let cells = counts.flatMap { count in
                work.enumerated().map { row, item in
                    Cell(pauseBefore: count > 1 && row == firstLibraryRow, prepare: {
                        BLAS.threadCount = count
                        BareProducts<Scalar>.setOpenBLASThreads(item.bare ? count : 1)
                    }, run: item.run)
                }
            }
            let byCell = roundRobin(cells, budget: quick ? 1 : 4)
            BareProducts<Scalar>.setOpenBLASThreads(1)
            _ = measurePeaks()
            let times = work.indices.map { row in counts.indices.map { column in byCell[column * work.count + row] } }
            // The backward pass is timed as the step less the forward pass: on
            // its own it would need a forward pass before each run anyway.
            let rows = work.indices.map { (work[$0].label, work[$0].products, times[$0]) }
                + [("layer backward (step − forward)", 2, zip(times[work.count - 1], times[work.count - 2]).map { $0 - $1 })]
            for (index, (label, productCount, seconds)) in rows.enumerated() {
                var line = pad(index == 0 ? "(\(n), \(f), \(m))" : "", 20) + pad(label, 34)
                for (column, peak) in peaks.enumerated() {
                    guard seconds[column] > 0 else {
                        // A difference of two medians: noise can make it vanish at tiny shapes.
                        line += rpad("–", 20) + rpad("–", 9) + rpad("–", 9)
                        continue
                    }
                    let rate = productCount * products.productFLOPs / seconds[column] / 1e9
                    line += rpad(time(seconds[column]), 20) + rpad(String(format: "%.0f", rate), 9)
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
        return 0
    }
}
