@_spi(Benchmarking) import Perceptron

/// `--bf16-crossover`: where bfloat16 starts to pay for a layer step.
///
/// Times one layer's step (forward, then backward) at growing shapes with
/// ``Linear/precision`` `float32` and with `bfloat16`, every product sent to
/// the bfloat16 kernel (`BLAS.mixedPrecisionThreshold = 0`; `--bf16-kernel`
/// picks which), the two alternating run by
/// run (`interleaved`). A ratio below 1 means bfloat16 is faster; the
/// smallest shape from which it stays below 1 is where the library's
/// threshold belongs on this CPU.
enum MixedPrecisionSweep {
    static let shapes = [
        (8, 32, 32), (32, 32, 32), (32, 64, 64), (64, 64, 64), (64, 128, 128), (128, 128, 128),
        (64, 256, 256), (256, 256, 256), (256, 512, 512), (256, 784, 128), (1024, 1024, 1024), (8192, 784, 128),
        // The layers of small models on a batch of 32 or 128, wider than tall or with few outputs.
        (32, 64, 256), (32, 256, 10), (128, 256, 10),
    ]

    static func run(quick: Bool) -> Int32 {
        if let reason = Precision.bfloat16.unavailability {
            printError("--bf16-crossover: \(reason)")
            return 1
        }
        let saved = BLAS.mixedPrecisionThreshold
        defer { BLAS.mixedPrecisionThreshold = saved }
        print("A layer step in bfloat16 (every product on the bfloat16 kernel) against float32, on \(cpuModel())")
        print("BLAS: \(BLAS.configuration)")
        print("the two precisions alternate run by run; ratio = bfloat16 / float32")
        print("")
        print(pad("step (n, f, m)", 24), rpad("m·n·k", 12), rpad("float32", 12), rpad("bfloat16", 12), rpad("ratio", 8),
              "  bfloat16 kernel")
        print(String(repeating: "─", count: 100))
        let budget = quick ? 0.2 : 1.0
        var generator = SeededRandomNumberGenerator(seed: 17)
        BLAS.mixedPrecisionThreshold = 0
        for (n, f, m) in quick ? shapes.filter({ $0.0 * $0.1 * $0.2 <= 1 << 24 }) : shapes {
            let step = LayerStep<Float>(n: n, f: f, m: m, using: &generator)
            let (float32, bfloat16) = interleaved(
                budget: budget, apply: { step.layer.precision = $0 ? .bfloat16 : .float32 }, step.step)
            let kernel = BLAS.bfloat16Kernel(rows: n, inputs: f, outputs: m) ?? "?"
            print(pad("(\(n), \(f), \(m))", 24), rpad(String(n * f * m), 12), rpad(time(float32), 12),
                  rpad(time(bfloat16), 12), rpad(String(format: "%.2f", bfloat16 / float32), 8), "  \(kernel)")
        }
        return 0
    }
}
