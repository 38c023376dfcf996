internal import CMPI
import Perceptron

/// The scalar types the library sends, and their MPI datatypes.
enum MPIScalarType: Int64, Sendable {
    case float = 1, double = 2, int64 = 3, byte = 4

    /// `Float` or `Double`; any other `BLASScalar` is a programming error.
    init<Scalar: BLASScalar>(_ type: Scalar.Type) {
        if Scalar.self == Float.self {
            self = .float
        } else if Scalar.self == Double.self {
            self = .double
        } else {
            fatalError("PerceptronDistributed: \(Scalar.self) is not a scalar type it sends; Float and Double are")
        }
    }

    var handle: MPI_Datatype? {
        switch self {
        case .float: perceptron_mpi_float()
        case .double: perceptron_mpi_double()
        case .int64: perceptron_mpi_int64()
        case .byte: perceptron_mpi_byte()
        }
    }

    var stride: Int {
        switch self {
        case .float: MemoryLayout<Float>.stride
        case .double: MemoryLayout<Double>.stride
        case .int64: MemoryLayout<Int64>.stride
        case .byte: 1
        }
    }

    /// `Float`, as a message names it.
    var name: String {
        switch self {
        case .float: "Float"
        case .double: "Double"
        case .int64: "Int64"
        case .byte: "byte"
        }
    }
}

extension ReductionOperation {
    var handle: MPI_Op? {
        switch self {
        case .sum: perceptron_mpi_sum()
        case .maximum: perceptron_mpi_max()
        case .minimum: perceptron_mpi_min()
        }
    }
}

// The collectives, on the MPI thread: each is MPI's non-blocking form, polled
// to completion (so that the timeout and an abort can end the wait), and cut
// into pieces of at most Int32.max elements, the largest count MPI takes.
extension MPIContext {
    /// Reduces `count` scalars at `buffer` across the processes, in place on every one.
    func allReduce(
        _ buffer: UnsafeMutableRawPointer, count: Int, type: MPIScalarType, operation: ReductionOperation,
        _ what: @autoclosure () -> String
    ) -> PerceptronError? {
        inPieces(of: count, what()) { offset, piece, request in
            MPI_Iallreduce(
                UnsafeRawPointer(perceptron_mpi_in_place()), buffer + offset * type.stride, piece,
                type.handle, operation.handle, communicator, &request)
        }
    }

    /// Copies `count` scalars at `buffer` on process `root` into `buffer` on every other.
    func broadcast(
        _ buffer: UnsafeMutableRawPointer, count: Int, type: MPIScalarType, root: Int,
        _ what: @autoclosure () -> String
    ) -> PerceptronError? {
        inPieces(of: count, what()) { offset, piece, request in
            MPI_Ibcast(buffer + offset * type.stride, piece, type.handle, Int32(root), communicator, &request)
        }
    }

    /// Starts `start(offset, piece, &request)` for each piece of at most
    /// `Int32.max` of `count` elements in turn, each polled to completion
    /// before the next; the first failure ends it.
    private func inPieces(
        of count: Int, _ what: @autoclosure () -> String,
        _ start: (_ offset: Int, _ piece: Int32, _ request: inout MPI_Request?) -> Int32
    ) -> PerceptronError? {
        var offset = 0
        while offset < count {
            let piece = Swift.min(count - offset, Int(Int32.max))
            var request: MPI_Request?
            let status = start(offset, Int32(piece), &request)
            if let failure = check(status, what()) ?? complete(&request, what()) { return failure }
            offset += piece
        }
        return nil
    }

    /// Every process's `values`, in rank order: `values.count × size` numbers.
    /// For the few numbers of agreements and checks, not for tensors.
    func allGather(_ values: [Int64], _ what: @autoclosure () -> String) -> Result<[Int64], PerceptronError> {
        var gathered = [Int64](repeating: 0, count: values.count * size)
        // Every buffer stays put until the request completes: the polling is
        // inside the closures that lend them.
        let failure = values.withUnsafeBufferPointer { send in
            gathered.withUnsafeMutableBufferPointer { receive -> PerceptronError? in
                var request: MPI_Request?
                let status = MPI_Iallgather(
                    send.baseAddress, Int32(values.count), MPIScalarType.int64.handle,
                    receive.baseAddress, Int32(values.count), MPIScalarType.int64.handle, communicator, &request)
                return check(status, what()) ?? complete(&request, what())
            }
        }
        return failure.map { .failure($0) } ?? .success(gathered)
    }

    /// Every process's `values`, whose counts differ from process to process
    /// (`counts[rank]`, known to all), concatenated in rank order.
    func allGather(_ values: [Int64], counts: [Int], _ what: @autoclosure () -> String) -> Result<[Int64], PerceptronError> {
        var gathered = [Int64](repeating: 0, count: Swift.max(1, counts.reduce(0, +)))
        let receiveCounts = counts.map { Int32($0) }
        var offsets = [Int32](repeating: 0, count: counts.count)
        for rank in 1..<Swift.max(1, counts.count) { offsets[rank] = offsets[rank - 1] + receiveCounts[rank - 1] }
        // A rank with nothing to send still passes a valid address.
        let send = values.isEmpty ? [0] : values
        let failure = send.withUnsafeBufferPointer { send in
            gathered.withUnsafeMutableBufferPointer { receive in
                receiveCounts.withUnsafeBufferPointer { receiveCounts in
                    offsets.withUnsafeBufferPointer { offsets -> PerceptronError? in
                        var request: MPI_Request?
                        let status = MPI_Iallgatherv(
                            send.baseAddress, Int32(values.count), MPIScalarType.int64.handle,
                            receive.baseAddress, receiveCounts.baseAddress, offsets.baseAddress,
                            MPIScalarType.int64.handle, communicator, &request)
                        return check(status, what()) ?? complete(&request, what())
                    }
                }
            }
        }
        return failure.map { .failure($0) } ?? .success(Array(gathered.prefix(counts.reduce(0, +))))
    }
}
