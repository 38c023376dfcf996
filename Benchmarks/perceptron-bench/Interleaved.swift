import Foundation
import Perceptron

/// Median seconds of `body` under two settings, which `apply(false)` and
/// `apply(true)` select: after a warm-up under each, the two alternate run by
/// run in this one process, for about `budget` seconds and at least 11 runs
/// each, so that the machine's drift (tens of per cent over minutes on a
/// shared VM) hits both alike.
func interleaved(budget: Double, apply: (Bool) -> Void, _ body: () -> Void) -> (off: Double, on: Double) {
    let clock = ContinuousClock()
    var times: [[Double]] = [[], []]
    for setting in [false, true] {
        apply(setting)
        body()
    }
    let start = clock.now
    var round = 0
    while round < 11 || ((clock.now - start).seconds < budget && round < 5000) {
        for (index, setting) in [false, true].enumerated() {
            apply(setting)
            times[index].append(clock.measure(body).seconds)
        }
        round += 1
    }
    return (median(times[0]), median(times[1]))
}

/// The median of `values`, which must not be empty.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// One row of an interleaved comparison: the times without and with, and their ratio.
func printComparison(_ label: String, _ off: Double, _ on: Double) {
    print(pad(label, 30), rpad(time(off), 12), rpad(time(on), 12), rpad(String(format: "%.2f", on / off), 8))
}

/// One training step (forward, then backward with a fixed output gradient) of
/// a fresh layer with `f` inputs and `m` outputs on a batch of `n`.
func layerStep<Scalar: BLASScalar>(
    _: Scalar.Type, n: Int, f: Int, m: Int, using generator: inout SeededRandomNumberGenerator
) -> () -> Void {
    let layer = Linear<Scalar>(inputFeatures: f, outputFeatures: m, using: &generator)
    let x = Tensor<Scalar>(shape: [n, f], randomIn: -1...1, using: &generator)
    let g = Tensor<Scalar>(shape: [n, m], randomIn: -1...1, using: &generator)
    return {
        _ = try! layer(x)
        _ = try! layer.backward(g)
    }
}
