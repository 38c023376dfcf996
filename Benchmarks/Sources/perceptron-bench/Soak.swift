// perceptron-bench --soak SECONDS: a long training run that watches memory,
// then a determinism check.
//
// The loop is one fixed training step, repeated: an MLP 784-256-10 (ReLU) on
// one fixed batch of 256, SoftmaxCrossEntropy and Adam, from a fixed seed.
// After a warm-up (which allocates every buffer the step reuses, starts the
// worker threads and faults in the pages), the resident set size is read; the
// loop then runs for the given time, sampling it about once a second; at the
// end it is read again. Then two fresh runs of the same number of steps, from
// the same seed at the same thread count, must end with bitwise-identical
// parameters.
//
// The exit status is non-zero if the parameters differ, or if the resident
// set grew by more than the larger of 5 MiB and 5% of its size after the
// warm-up. The margin is for noise, not for leaks: the allocator may keep a
// freed page or two resident, and printing or a late lazy initialisation can
// touch a few more; a leak of even one small tensor per step grows by
// megabytes within seconds at these step rates.

import CAllocationCounter
import Foundation
@_spi(Benchmarking) import Perceptron

enum Soak {
    static let seed: UInt64 = 2026
    static let (batch, inputs, hidden, classes) = (256, 784, 256, 10)
    static let warmUpSteps = 50
    /// The most steps each determinism run takes (fewer if the soak itself took fewer).
    static let determinismSteps = 1_000
    /// Growth of the resident set allowed as noise: the larger of these.
    static let rssMarginBytes = 5 << 20
    static let rssMarginFraction = 0.05

    /// Runs the soak for `seconds` in the precision `dtype`; returns the exit status.
    static func run(seconds: Double, dtype: Options.DType) -> Int32 {
        switch dtype {
        case .float: run(Float.self, seconds: seconds)
        case .double: run(Double.self, seconds: seconds)
        }
    }

    private static func run<S: BLASScalar>(_: S.Type, seconds: Double) -> Int32 {
        do {
            return try soak(S.self, seconds: seconds)
        } catch {
            printError("--soak: \(error)")
            return 1
        }
    }

    private static func soak<S: BLASScalar>(_: S.Type, seconds: Double) throws -> Int32 {
        let threads = BLAS.threadCount
        print("""
            Soak: MLP \(inputs)-\(hidden)-\(classes) (ReLU), SoftmaxCrossEntropy + Adam(lr 1e-3), batch \(batch), \
            \(S.self), seed \(seed), \(threads) thread\(threads == 1 ? "" : "s"), \(String(format: "%g", seconds)) s
            \(BLAS.configuration)
            """)

        let trainer = Trainer<S>(seed: seed)
        var firstLoss: S = 0
        for step in 0..<warmUpSteps {
            let loss = try trainer.step()
            if step == 0 { firstLoss = loss }
        }
        guard let rssStart = residentBytes() else {
            print("cannot read /proc/self/statm: no resident-set figures on this system")
            return 1
        }

        // The timed loop: nothing in it allocates (counted where the counter is
        // linked), so the only output comes after it.
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int64(seconds * 1_000))
        var nextSample = start + .seconds(1)
        var rssPeak = rssStart
        var steps = 0
        var lastLoss: S = 0
        let counting = allocation_counter_is_available()
        if counting { allocation_counter_start_process() }
        while true {
            lastLoss = try trainer.step()
            steps += 1
            let now = clock.now
            if now >= nextSample {
                rssPeak = max(rssPeak, residentBytes() ?? 0)
                nextSample = now + .seconds(1)
            }
            if now >= deadline { break }
        }
        let allocations = counting ? allocation_counter_stop_process() : 0
        let elapsed = (clock.now - start).seconds
        let rssEnd = residentBytes() ?? 0

        let growth = rssEnd - rssStart
        let margin = max(rssMarginBytes, Int(rssMarginFraction * Double(rssStart)))
        print(String(format: "steps        %d in %.1f s: %.1f steps/s (after %d warm-up steps)", steps, elapsed, Double(steps) / elapsed, warmUpSteps))
        print("loss         \(firstLoss) at the first step, \(lastLoss) at the last")
        print("RSS          start \(mebibytes(rssStart)), end \(mebibytes(rssEnd)), peak \(mebibytes(rssPeak)); "
              + "growth \(mebibytes(growth)) (allowed \(mebibytes(margin)))")
        if counting {
            print(String(format: "allocations  %llu in the timed loop (%.3f per step)", allocations, Double(allocations) / Double(steps)))
        }

        // Determinism: two fresh runs, same seed, same steps, same thread count.
        let checkSteps = min(steps + warmUpSteps, determinismSteps)
        let first = try Trainer<S>(seed: seed).train(steps: checkSteps)
        let second = try Trainer<S>(seed: seed).train(steps: checkSteps)
        let difference = maximumDifference(first, second)
        let identical = difference == nil
        print("determinism  two fresh runs of \(checkSteps) steps, \(threads) thread\(threads == 1 ? "" : "s"): "
              + (identical ? "identical" : "NOT identical, max |difference| \(difference!)"))

        let rssOK = growth <= margin
        if !rssOK { print("FAIL: resident memory grew by \(mebibytes(growth)), over the \(mebibytes(margin)) noise margin") }
        if !identical { print("FAIL: the two runs ended with different parameters") }
        if rssOK && identical { print("PASS") }
        return rssOK && identical ? 0 : 1
    }

    /// The largest difference between corresponding scalars of two parameter
    /// lists, or nil when they are identical bit for bit (NaN payloads and the
    /// sign of zero included).
    static func maximumDifference<S: BLASScalar>(_ a: [Tensor<S>], _ b: [Tensor<S>]) -> Double? {
        var identical = a.count == b.count
        var worst = 0.0
        for (x, y) in zip(a, b) {
            guard x.shape == y.shape else { return .infinity }
            let (xs, ys) = (x.scalars, y.scalars)
            for i in xs.indices {
                let same = withUnsafeBytes(of: xs[i]) { p in withUnsafeBytes(of: ys[i]) { q in p.elementsEqual(q) } }
                if !same {
                    identical = false
                    let difference = abs(Double(xs[i]) - Double(ys[i]))
                    worst = max(worst, difference.isNaN ? .infinity : difference)
                }
            }
        }
        return identical ? nil : worst
    }

    /// Resident memory in bytes: the second field of /proc/self/statm, in
    /// pages. Read into a stack buffer, so that sampling it inside the timed
    /// loop allocates nothing.
    static func residentBytes() -> Int? {
        let descriptor = open("/proc/self/statm", O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buffer -> Int? in
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            guard count > 0 else { return nil }
            var field = 0, pages = 0
            for i in 0..<count {
                let character = buffer[i]
                if character == UInt8(ascii: " ") {
                    if field == 1 { break }
                    field += 1
                } else if field == 1, character >= UInt8(ascii: "0"), character <= UInt8(ascii: "9") {
                    pages = pages * 10 + Int(character - UInt8(ascii: "0"))
                }
            }
            return pages * sysconf(Int32(_SC_PAGESIZE))
        }
    }

    static func mebibytes(_ bytes: Int) -> String {
        String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }
}

/// The soak's training state: model, loss, optimizer and the one fixed batch.
final class Trainer<S: BLASScalar> {
    let model: Sequential<S>
    let loss = SoftmaxCrossEntropy<S>()
    let adam = Adam<S>(learningRate: 1e-3)
    let x: Tensor<S>
    let labels: [Int]

    init(seed: UInt64) {
        var generator = SeededRandomNumberGenerator(seed: seed)
        model = Sequential([
            Linear(inputFeatures: Soak.inputs, outputFeatures: Soak.hidden, using: &generator), ReLU(),
            Linear(inputFeatures: Soak.hidden, outputFeatures: Soak.classes, using: &generator),
        ])
        x = Tensor(shape: [Soak.batch, Soak.inputs], randomIn: 0...1, using: &generator)
        labels = (0..<Soak.batch).map { _ in Int.random(in: 0..<Soak.classes, using: &generator) }
    }

    /// One training step; returns the loss before it.
    func step() throws -> S {
        let value = try loss.forward(model(x), labels: labels)
        _ = try model.backward(loss.backward())
        try adam.step(model)
        return value
    }

    /// Trains for `steps` steps and returns copies of the parameters.
    func train(steps: Int) throws -> [Tensor<S>] {
        for _ in 0..<steps { _ = try step() }
        var parameters: [Tensor<S>] = []
        try model.forEachParameter { _, value, _ in parameters.append(value) }
        return parameters
    }
}
