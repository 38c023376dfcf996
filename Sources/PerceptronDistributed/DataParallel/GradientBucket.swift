import Perceptron

/// Where one parameter's scalars go in a bucket.
struct BucketEntry: Sendable {
    /// The part of the model it belongs to: a layer of a ``/Perceptron/Sequential``, or
    /// the whole model.
    let segment: Int
    /// Its position among that part's parameters, in visiting order.
    let position: Int
    /// Where its scalars start in the bucket.
    let offset: Int
    /// How many scalars it has.
    let count: Int
}

/// A few parameters' gradients (or values) in one buffer, sent in one
/// collective operation: what ``DataParallel`` sends while the backward pass
/// goes on, as PyTorch's DDP does.
///
/// For gradients, the buffer holds each gradient multiplied by the local
/// batch size, then that batch size in one more scalar: summed over the
/// processes, every scalar is a sum over the global batch and the last one
/// the global batch size, by which each is divided to give the global mean.
/// The buffer is allocated once and reused by every step.
final class GradientBucket<Scalar: BLASScalar>: MPIWork, @unchecked Sendable {
    // @unchecked Sendable: the buffer is written by the submitter before
    // `submit`, by the MPI thread in `perform`, and read by the submitter
    // after `wait`; the MPI thread's mutex orders the three.

    /// What the next submission does.
    enum Operation {
        /// Sums the buffer, gradients and the batch size after them.
        case sumGradients
        /// Copies rank 0's parameter values into every process's.
        case broadcastValues
    }

    let entries: [BucketEntry]
    /// The lowest segment any entry belongs to: the bucket can be sent once
    /// the backward pass has finished that segment.
    let lowestSegment: Int
    /// The scalars of every entry, without the batch size.
    let count: Int
    /// `count` scalars, then the batch size.
    let buffer: UnsafeMutablePointer<Scalar>
    var operation = Operation.sumGradients

    init(entries: [BucketEntry]) {
        self.entries = entries
        lowestSegment = entries.map(\.segment).min() ?? 0
        count = entries.reduce(0) { $0 + $1.count }
        buffer = .allocate(capacity: count + 1)
        buffer.initialize(repeating: 0, count: count + 1)
    }

    deinit {
        buffer.deallocate()
    }

    override func perform(_ context: MPIContext) -> PerceptronError? {
        let type = MPIScalarType(Scalar.self)
        switch operation {
        case .sumGradients:
            return context.allReduce(
                buffer, count: count + 1, type: type, operation: .sum,
                "all-reduce of \(entries.count) gradients (\(count) scalars)")
        case .broadcastValues:
            return context.broadcast(
                buffer, count: count, type: type, root: 0, "broadcast of \(entries.count) parameters from rank 0")
        }
    }
}

// The bucket's element loops, specialised: `DataParallel` is generic over
// the model, and code generic over a type from another module runs
// unspecialised, element by element through witness tables, unless asked.

/// `destination[i] = source[i] · factor` for `i` in `0..<count`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func copy<Scalar: BLASScalar>(
    _ source: UnsafePointer<Scalar>, scaledBy factor: Scalar, to destination: UnsafeMutablePointer<Scalar>, count: Int
) {
    for i in 0..<count { destination[i] = source[i] * factor }
}

/// `destination[i] = source[i] / divisor` for `i` in `0..<count`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func copy<Scalar: BLASScalar>(
    _ source: UnsafePointer<Scalar>, dividedBy divisor: Scalar, to destination: UnsafeMutablePointer<Scalar>, count: Int
) {
    for i in 0..<count { destination[i] = source[i] / divisor }
}
