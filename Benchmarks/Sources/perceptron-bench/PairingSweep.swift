@_spi(Benchmarking) import Perceptron

/// `--pairing`: what running a layer's two backward products side by side buys.
///
/// Times the layer steps at `shapes` (those compared with numpy, or `--shape`) with
/// `BLAS.runsIndependentProductsSideBySide` off (each backward product split
/// across all threads in turn) and on (half the threads each, at the same
/// time), interleaved (`interleaved`), with the layers' products in
/// `precision`. A ratio below 1 means side by side is faster. The library's
/// rule that runs large bfloat16 layers with more inputs than outputs in turn
/// by their shape (`BLAS.bfloat16InTurnThreshold`) is set aside meanwhile, so
/// that "paired" is side by side at every shape: this sweep is how the rule
/// is measured.
struct PairingSweep<Scalar: BLASScalar> {
    static func run(shapes: [(n: Int, f: Int, m: Int)], precision: Precision, quick: Bool) {
        let saved = (BLAS.runsIndependentProductsSideBySide, BLAS.bfloat16InTurnThreshold)
        defer { (BLAS.runsIndependentProductsSideBySide, BLAS.bfloat16InTurnThreshold) = saved }
        BLAS.bfloat16InTurnThreshold = .max
        let inBFloat16 = precision == .bfloat16 ? ", products in bfloat16" : ""
        print("A layer step's XᵀG and GWᵀ side by side (\(Scalar.self)\(inBFloat16)), against each split across the threads in turn")
        print("BLAS: \(BLAS.configuration)")
        print("the two settings alternate run by run")
        print("")
        print(pad("work", 30), rpad("in turn", 12), rpad("paired", 12), rpad("ratio", 8))
        print(String(repeating: "─", count: 64))
        let budget = quick ? 0.2 : 1.0
        var generator = SeededRandomNumberGenerator(seed: 13)
        for (n, f, m) in shapes {
            let layerStep = LayerStep<Scalar>(n: n, f: f, m: m, using: &generator)
            layerStep.layer.precision = precision
            let step = layerStep.step
            let (off, on) = interleaved(budget: budget, apply: { BLAS.runsIndependentProductsSideBySide = $0 }, step)
            printComparison("step (\(n), \(f), \(m))", off, on)
        }
    }
}
