import Foundation
@_spi(Benchmarking) import Perceptron

/// One timed cell of `roundRobin`: `prepare` runs untimed before every
/// sample of `run`, after a pause of its own if `pauseBefore`.
struct Cell {
    var pauseBefore = false
    var prepare: () -> Void = {}
    var run: () -> Void
}

/// Median seconds per run of each cell: after a warm-up, each is timed once
/// per round, round after round for about `budget` seconds (pauses included)
/// and at least `minimumRounds` rounds, so that the machine's drift (tens of
/// per cent over minutes on a shared VM) hits all of them alike. A sample
/// repeats its cell until it lasts at least `sampleFloor` seconds (0: one run
/// per sample). Before a cell marked `pauseBefore`, the thread sleeps for
/// `pause` seconds, then runs the cell once more, untimed, to wake what the
/// pause put to sleep.
func roundRobin(
    _ cells: [Cell], budget: Double, minimumRounds: Int = 7, sampleFloor: Double = 200e-6, pause: Double = 0.25
) -> [Double] {
    let clock = ContinuousClock()
    func prepare(_ cell: Cell) {
        cell.prepare()
        guard cell.pauseBefore else { return }
        usleep(useconds_t(pause * 1e6))
        cell.run()
    }
    let repetitions = cells.map { cell -> Int in
        prepare(cell)
        cell.run()
        let once = max(clock.measure(cell.run).seconds, 1e-7)
        return max(1, Int((sampleFloor / once).rounded(.up)))
    }
    var samples = Array(repeating: [Double](), count: cells.count)
    let start = clock.now
    var round = 0
    while round < minimumRounds || ((clock.now - start).seconds < budget && round < 5000) {
        for (index, cell) in cells.enumerated() {
            prepare(cell)
            let count = repetitions[index]
            samples[index].append(clock.measure { for _ in 0..<count { cell.run() } }.seconds / Double(count))
        }
        round += 1
    }
    return samples.map(median)
}

/// Median seconds of `body` under two settings, which `apply(false)` and
/// `apply(true)` select: the two alternate run by run (`roundRobin`, one run
/// per sample) for about `budget` seconds and at least 11 runs each.
func interleaved(budget: Double, apply: @escaping (Bool) -> Void, _ body: @escaping () -> Void) -> (off: Double, on: Double) {
    let times = roundRobin(
        [false, true].map { setting in Cell(prepare: { apply(setting) }, run: body) },
        budget: budget, minimumRounds: 11, sampleFloor: 0)
    return (times[0], times[1])
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

/// A fresh layer with `f` inputs and `m` outputs, a batch of `n` random inputs
/// for it and a fixed output gradient: its forward pass, and its training step
/// (forward, then backward).
struct LayerStep<Scalar: BLASScalar> {
    let layer: Linear<Scalar>
    let x: Tensor<Scalar>
    let g: Tensor<Scalar>

    init(n: Int, f: Int, m: Int, using generator: inout SeededRandomNumberGenerator) {
        layer = Linear<Scalar>(inputFeatures: f, outputFeatures: m, using: &generator)
        x = Tensor<Scalar>(shape: [n, f], randomIn: -1...1, using: &generator)
        g = Tensor<Scalar>(shape: [n, m], randomIn: -1...1, using: &generator)
    }

    func forward() {
        _ = try! layer(x)
    }

    func step() {
        forward()
        _ = try! layer.backward(g)
    }
}
