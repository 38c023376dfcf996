import Perceptron
import PerceptronDistributed

/// The steady data-parallel step of a 784-512-512-10 MLP at a global batch
/// of 1024, and what its communication costs.
///
/// Every process takes its part of the batch (1024 / K rows) and, in turn:
/// the step with no communication (the model alone: what a process computes);
/// the data-parallel step with buckets of 1 MiB, sent while the backward pass
/// goes on; the same with one bucket, sent after it (nothing to overlap with);
/// and an all-reduce of as many scalars as the gradients, alone. Each step
/// counts as long as its slowest process took: a data-parallel step cannot
/// end before the last process has computed its part, so "compute alone" is
/// the time until every process has. The overlap hides (compute + all-reduce
/// − overlapped step) of the all-reduce's time.
struct StepTiming {
    let world: Communicator
    let steps: Int
    static let globalBatch = 1024
    static let widths = [784, 512, 512, 10]

    /// This process's part of the global batch.
    private var rows: Int { Self.globalBatch / world.size + (world.rank < Self.globalBatch % world.size ? 1 : 0) }

    func run() throws {
        let alone = Self.model()
        let overlapped = try DataParallel(Self.model(), communicator: world)
        let sequential = try DataParallel(Self.model(), communicator: world, bucketCapacity: .max)
        let gradientScalars = alone.parameterCount

        print("step: \(Self.widths.map(String.init).joined(separator: "-")) ReLU MLP, softmax cross-entropy, SGD, Float;",
              "global batch \(Self.globalBatch), \(rows) rows on rank 0; \(gradientScalars) parameters",
              "(\(gradientScalars * 4) bytes of gradients); median of \(steps) steps (min–max), the four interleaved;",
              "each step timed on every process and counted as its slowest process's")
        print("")
        var gradients = Tensor<Float>(shape: [gradientScalars + 1])
        let steps = [try step(of: alone), try step(of: overlapped), try step(of: sequential)]
        let measurements: [() throws -> Void] = steps + [{ try world.allReduce(&gradients) }]
        let samples = try interleaved(measurements)
        let (compute, overlap, noOverlap, allReduce) = (samples[0], samples[1], samples[2], samples[3])

        print("compute alone (no communication)        \(compute.summary)")
        print("data-parallel step, 1 MiB buckets       \(overlap.summary)")
        print("data-parallel step, one bucket after    \(noOverlap.summary)")
        print("all-reduce of the gradients alone       \(allReduce.summary)")
        if world.size > 1 {
            let hidden = (compute.median + allReduce.median - overlap.median) / allReduce.median
            print("")
            print("communication per step, exposed: \(milliseconds(overlap.median - compute.median)) ms with overlap,",
                  "\(milliseconds(noOverlap.median - compute.median)) ms without")
            print("the overlap hides \(Int((hidden * 100).rounded())) % of the all-reduce",
                  "((compute + all-reduce − overlapped step) / all-reduce, of the medians)")
        }
    }

    /// One training step of `network` on this process's part of the batch.
    private func step(of network: some Layer<Float>) throws -> () throws -> Void {
        var generator = SeededRandomNumberGenerator(seed: UInt64(11 + world.rank))
        let x = Tensor<Float>(shape: [rows, Self.widths[0]], randomIn: -1...1, using: &generator)
        let labels = (0..<rows).map { _ in Int.random(in: 0..<Self.widths.last!, using: &generator) }
        let loss = SoftmaxCrossEntropy<Float>()
        let optimizer = SGD<Float>(learningRate: 1e-3)
        return {
            _ = try loss.forward(network(x), labels: labels)
            _ = try network.backward(loss.backward())
            try optimizer.step(network)
        }
    }

    /// Times each of `measurements` `steps` times, in turn, so that a machine
    /// whose speed drifts affects all alike; every process starts each one
    /// together (a barrier, untimed, before each).
    private func interleaved(_ measurements: [() throws -> Void]) throws -> [Samples] {
        for measurement in measurements {
            for _ in 0..<3 { try measurement() }
        }
        let clock = ContinuousClock()
        var samples = Array(repeating: Samples(), count: measurements.count)
        for _ in 0..<steps {
            for (index, measurement) in measurements.enumerated() {
                try world.barrier()
                let elapsed = try clock.measure(measurement).components
                samples[index].seconds.append(Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18)
            }
        }
        // Each step as long as its slowest process's: a synchronous step
        // cannot end before the last process has computed its part.
        for index in samples.indices {
            var slowest = try Tensor<Double>(shape: [samples[index].seconds.count], scalars: samples[index].seconds)
            try world.allReduce(&slowest, operation: .maximum)
            samples[index].seconds = slowest.scalars
        }
        return samples
    }

    /// A fresh 784-512-512-10 ReLU network.
    static func model() -> Sequential<Float> {
        var generator = SeededRandomNumberGenerator(seed: 7)
        return Sequential<Float>([
            Linear(inputFeatures: widths[0], outputFeatures: widths[1], using: &generator), ReLU(),
            Linear(inputFeatures: widths[1], outputFeatures: widths[2], using: &generator), ReLU(),
            Linear(inputFeatures: widths[2], outputFeatures: widths[3], using: &generator),
        ])
    }
}
