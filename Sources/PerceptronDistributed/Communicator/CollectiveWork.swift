import Perceptron

/// A collective operation on a tensor: the agreement, then the data (none
/// for an empty tensor). Of the other kinds (a barrier, a check), only the
/// agreement.
///
/// A blocking call lends the tensor's buffer (``buffer``) for as long as it
/// waits; a non-blocking one hands over a tensor of its own (``tensor``),
/// made unique before, which the work owns until it is waited for.
final class TensorCollectiveWork<Scalar: BLASScalar>: MPIWork, @unchecked Sendable {
    let descriptor: CollectiveDescriptor
    var buffer: UnsafeMutableRawPointer?
    var tensor: Tensor<Scalar>?

    init(_ descriptor: CollectiveDescriptor) {
        self.descriptor = descriptor
    }

    override func perform(_ context: MPIContext) -> PerceptronError? {
        if let failure = context.agree(on: descriptor) { return failure }
        guard descriptor.count > 0, descriptor.kind == .allReduce || descriptor.kind == .broadcast else { return nil }
        if tensor != nil {
            return tensor!.withUnsafeMutableBufferPointer { send(context, UnsafeMutableRawPointer($0.baseAddress!)) }
        }
        return send(context, buffer!)
    }

    private func send(_ context: MPIContext, _ data: UnsafeMutableRawPointer) -> PerceptronError? {
        let type = MPIScalarType(Scalar.self)
        switch descriptor.kind {
        case .allReduce:
            return context.allReduce(
                data, count: descriptor.count, type: type, operation: descriptor.reduction ?? .sum, descriptor.summary)
        case .broadcast:
            return context.broadcast(data, count: descriptor.count, type: type, root: descriptor.root ?? 0, descriptor.summary)
        default:
            return nil
        }
    }
}

/// Work some processes did outside MPI (writing a checkpoint, reading one),
/// and whether it succeeded: every process learns which process failed
/// first, if any, and its message.
final class OutcomeWork: MPIWork, @unchecked Sendable {
    let descriptor: CollectiveDescriptor
    /// This process's failure, if its work failed.
    let message: String?
    /// The first process whose work failed, and its message; set by ``perform(_:)``.
    private(set) var firstFailure: (rank: Int, message: String)?

    init(kind: CollectiveDescriptor.Kind, failure message: String?) {
        descriptor = CollectiveDescriptor(kind: kind)
        self.message = message
    }

    override func perform(_ context: MPIContext) -> PerceptronError? {
        if let failure = context.agree(on: descriptor) { return failure }
        let bytes = Array((message ?? "").utf8)
        let what = "telling every process how \(descriptor.summary) went"
        let statuses: [Int64]
        switch context.allGather([message == nil ? 0 : 1, Int64(bytes.count)], what) {
        case .success(let values): statuses = values
        case .failure(let failure): return failure
        }
        guard let failed = (0..<context.size).first(where: { statuses[2 * $0] != 0 }) else { return nil }
        var text = failed == context.rank ? bytes : [UInt8](repeating: 0, count: Int(statuses[2 * failed + 1]))
        if !text.isEmpty {
            let outcome = text.withUnsafeMutableBytes { buffer in
                context.broadcast(buffer.baseAddress!, count: buffer.count, type: .byte, root: failed, what)
            }
            if let outcome { return outcome }
        }
        firstFailure = (failed, String(decoding: text, as: UTF8.self))
        return nil
    }
}

/// A few 64-bit words from every process, gathered on every process in rank
/// order: the agreement (on their count and on ``descriptor``'s signature,
/// what the words are), then the words.
final class WordGatherWork: MPIWork, @unchecked Sendable {
    let descriptor: CollectiveDescriptor
    private let words: [UInt64]
    /// Every process's words, rank 0's first; set by ``perform(_:)``.
    private(set) var gathered: [UInt64] = []

    init(kind: CollectiveDescriptor.Kind, words: [UInt64], signature: UInt64) {
        descriptor = CollectiveDescriptor(kind: kind, scalarType: .int64, shape: [words.count], signature: signature)
        self.words = words
    }

    override func perform(_ context: MPIContext) -> PerceptronError? {
        if let failure = context.agree(on: descriptor) { return failure }
        guard !words.isEmpty else { return nil }
        switch context.allGather(words.map { Int64(bitPattern: $0) }, descriptor.summary) {
        case .success(let values):
            gathered = values.map { UInt64(bitPattern: $0) }
            return nil
        case .failure(let failure):
            return failure
        }
    }
}
