import Foundation
@_spi(Benchmarking) import Perceptron

/// One benchmarked operation at one shape: the BLAS path and, when it ran, the naive loops.
struct Comparison: Codable {
    var operation: String          // "matmul", "forward", "backward" or "step"
    var shape: [Int]               // [n] for an n×n×n matmul, [n, f, m] for a layer
    var flops: Double              // floating-point operations of one run
    var blas: Measurement
    var naive: Measurement?
    var naiveSkipped: String?
    /// Heap allocations per run once warm (layer steps only).
    var allocationsPerRun: Double?
    /// The same work as bare GEMM calls on the same buffers (`--vs-raw`, layer steps only).
    var raw: Measurement?

    /// How much longer the layer takes than the bare GEMMs: 0.05 is 5 %.
    var overhead: Double? { raw.map { blas.medianSeconds / $0.medianSeconds - 1 } }

    var blasGFLOPS: Double { flops / blas.medianSeconds / 1e9 }
    var naiveGFLOPS: Double? { naive.map { flops / $0.medianSeconds / 1e9 } }
    var speedup: Double? { naive.map { $0.medianSeconds / blas.medianSeconds } }

    var shapeText: String {
        shape.count == 1 ? "\(shape[0])³" : "(\(shape.map(String.init).joined(separator: ", ")))"
    }
}

/// Everything one run measured, with the machine and library it ran on.
struct Report: Codable {
    var cpu: String
    var cores: Int
    var blas: String
    var coreName: String
    var threads: Int
    var dtype: String
    /// The layers' ``Precision``, `float32` or `bfloat16`.
    var precision: String
    var quick: Bool
    var comparisons: [Comparison] = []

    enum CodingKeys: String, CodingKey {
        case cpu, cores, blas, coreName, threads, dtype, precision, quick, comparisons
    }

    func printHeader() {
        print("Perceptron benchmark: BLAS against a naive matmul (\(dtype)\(precision == "bfloat16" ? ", layers in bfloat16" : ""))")
        print("CPU:      \(cpu), \(cores) cores")
        print("BLAS:     \(blas)")
        print("")
    }

    static func printTableHeader() {
        print(pad("operation", 10), pad("shape", 18), rpad("BLAS median", 12), rpad("min–max", 21),
              rpad("GFLOP/s", 9), rpad("naive median", 13), rpad("GFLOP/s", 9), rpad("speedup", 9),
              rpad("allocs", 7), rpad("vs raw", 8))
        print(String(repeating: "─", count: 124))
    }

    static func printRow(_ c: Comparison) {
        let spread = "\(time(c.blas.minSeconds))–\(time(c.blas.maxSeconds))"
        let naive = c.naive.map { time($0.medianSeconds) } ?? "skipped"
        print(pad(c.operation, 10), pad(c.shapeText, 18), rpad(time(c.blas.medianSeconds), 12), rpad(spread, 21),
              rpad(String(format: "%.1f", c.blasGFLOPS), 9), rpad(naive, 13),
              rpad(c.naiveGFLOPS.map { String(format: "%.2f", $0) } ?? "–", 9),
              rpad(c.speedup.map { String(format: "%.0f×", $0) } ?? "–", 9),
              rpad(c.allocationsPerRun.map { String(format: "%g", $0) } ?? "–", 7),
              rpad(c.overhead.map { String(format: "%+.1f%%", $0 * 100) } ?? "–", 8))
    }

    func printFootnotes() {
        let skipped = comparisons.compactMap { c in c.naiveSkipped.map { "\(c.operation) \(c.shapeText): \($0)" } }
        if !skipped.isEmpty {
            print("")
            print("Naive runs skipped (too slow to time usefully):")
            for line in skipped { print("  \(line)") }
        }
        print("")
        print("Times are the median per run (min–max over the samples); naive = i-j-k triple loop, same precision.")
        print("allocs = heap allocations per warm layer step, all threads; vs raw = step time over the three bare GEMMs.")
    }

    func writeJSON(to path: String) throws {
        try writeAsJSON(self, to: path)
    }

    /// A line chart of GFLOP/s against matrix size for the square sweep, BLAS against naive.
    func writeChart(to path: String) throws {
        let sweep = comparisons.filter { $0.operation == "matmul" }
        guard !sweep.isEmpty else { return }
        let (width, height) = (720.0, 440.0)
        let (left, right, top, bottom) = (70.0, 20.0, 50.0, 60.0)
        let sizes = sweep.map { Double($0.shape[0]) }
        let values = sweep.flatMap { [$0.blasGFLOPS] + ($0.naiveGFLOPS.map { [$0] } ?? []) }
        let (xMin, xMax) = (log2(sizes.min()!), max(log2(sizes.max()!), log2(sizes.min()!) + 1))
        let yMin = floor(log10(max(values.min()!, 1e-3)))
        let yMax = ceil(log10(values.max()!))
        func x(_ size: Double) -> Double { left + (log2(size) - xMin) / (xMax - xMin) * (width - left - right) }
        func y(_ gflops: Double) -> Double { top + (yMax - log10(gflops)) / max(yMax - yMin, 1) * (height - top - bottom) }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15">Square matmul, \(dtype): OpenBLAS against naive loops</text>
            <text x="\(width / 2)" y="38" text-anchor="middle" fill="#555">OpenBLAS kernel \(escape(coreName)), \(threads) threads · \(escape(cpu)), \(cores) cores</text>

            """
        var decade = yMin
        while decade <= yMax {
            let level = pow(10, decade)
            svg += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(y(level))\" y2=\"\(y(level))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(left - 8)\" y=\"\(y(level) + 4)\" text-anchor=\"end\">\(format(level))</text>\n"
            decade += 1
        }
        for size in sizes {
            svg += "<line x1=\"\(x(size))\" x2=\"\(x(size))\" y1=\"\(top)\" y2=\"\(height - bottom)\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(x(size))\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(Int(size))</text>\n"
        }
        svg += "<text x=\"\(width / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\">n (an n×n by n×n product)</text>\n"
        svg += "<text transform=\"translate(18 \(height / 2)) rotate(-90)\" text-anchor=\"middle\">GFLOP/s (log scale)</text>\n"
        let series: [(String, String, [(Double, Double)])] = [
            ("OpenBLAS \(dtype == "float" ? "sgemm" : "dgemm")", "#1f77b4", sweep.map { (Double($0.shape[0]), $0.blasGFLOPS) }),
            ("naive i-j-k loop", "#d62728", sweep.compactMap { c in c.naiveGFLOPS.map { (Double(c.shape[0]), $0) } }),
        ]
        for (index, (name, color, points)) in series.enumerated() where !points.isEmpty {
            let path = points.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " ")
            svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.5\"/>\n"
            for (size, value) in points {
                svg += "<circle cx=\"\(x(size))\" cy=\"\(y(value))\" r=\"4\" fill=\"\(color)\"><title>\(Int(size)): \(String(format: "%.2f", value)) GFLOP/s</title></circle>\n"
            }
            let legendY = top + 16 + Double(index) * 20
            svg += "<line x1=\"\(left + 14)\" x2=\"\(left + 40)\" y1=\"\(legendY)\" y2=\"\(legendY)\" stroke=\"\(color)\" stroke-width=\"2.5\"/>"
            svg += "<text x=\"\(left + 48)\" y=\"\(legendY + 4)\">\(escape(name))</text>\n"
        }
        svg += "</svg>\n"
        try writeAtomically(Data(svg.utf8), to: path)
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }

    private func format(_ level: Double) -> String {
        level >= 1 ? String(Int(level)) : String(format: "%g", level)
    }
}

/// Writes `data` atomically (a temporary file, then a rename), creating the folder if needed.
func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try data.write(to: url, options: .atomic)
}

/// Writes `value` as indented JSON with sorted keys, atomically (`writeAtomically`).
func writeAsJSON<Value: Encodable>(_ value: Value, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeAtomically(encoder.encode(value), to: path)
}

/// Prints `message` to standard error, after the program's name.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("perceptron-bench: \(message)\n".utf8))
}

/// A duration in the unit that suits it.
func time(_ seconds: Double) -> String {
    switch seconds {
    case ..<1e-3: return String(format: "%.1f µs", seconds * 1e6)
    case ..<1: return String(format: "%.3f ms", seconds * 1e3)
    default: return String(format: "%.2f s", seconds)
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func rpad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}
