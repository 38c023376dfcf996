/// Timing with warm-up and repetition, reporting the median and the spread.
struct Measurement: Codable {
    var medianSeconds: Double
    var minSeconds: Double
    var maxSeconds: Double
    var samples: Int
}

struct Timer {
    /// How long to keep sampling one operation.
    var budget: Duration
    /// At least this many samples, however long they take.
    var minimumSamples: Int

    /// Times `body`, which runs the operation once: a warm-up run, then
    /// samples until the budget is spent. Fast operations are repeated inside
    /// each sample so that a sample lasts at least `sampleFloor`, and the
    /// per-run time is the sample divided by the repetitions.
    func measure(_ body: () -> Void) -> Measurement {
        measure(setup: nil, body)
    }

    /// Times `body` as above, running `setup` before each run of it, untimed:
    /// for an operation that needs fresh state each time (a backward pass
    /// needs its forward pass).
    func measure(setup: (() -> Void)?, _ body: () -> Void) -> Measurement {
        let clock = ContinuousClock()
        let sampleFloor = Duration.microseconds(500)
        func sample(_ repetitions: Int) -> Duration {
            guard let setup else { return clock.measure { for _ in 0..<repetitions { body() } } }
            var total = Duration.zero
            for _ in 0..<repetitions {
                setup()
                total += clock.measure(body)
            }
            return total
        }
        // Warm-up: first-touch page faults, thread start-up, caches.
        var repetitions = 1
        var first = sample(repetitions)
        while first < sampleFloor && repetitions < 1 << 20 {
            repetitions *= 2
            first = sample(repetitions)
        }
        var samples: [Double] = []
        let start = clock.now
        while samples.count < minimumSamples || (clock.now - start < budget && samples.count < 1000) {
            samples.append(sample(repetitions).seconds / Double(repetitions))
        }
        samples.sort()
        let middle = samples.count / 2
        let median = samples.count % 2 == 1 ? samples[middle] : (samples[middle - 1] + samples[middle]) / 2
        return Measurement(medianSeconds: median, minSeconds: samples[0], maxSeconds: samples[samples.count - 1], samples: samples.count)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) * 1e-18
    }
}
