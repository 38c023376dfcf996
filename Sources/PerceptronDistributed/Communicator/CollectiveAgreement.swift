import Perceptron

// Before any data moves, every collective operation of a `Communicator`
// first checks that all processes are making the same call: the same
// operation, scalar type, reduction, root and shape. MPI itself cannot tell:
// a sum of 12 scalars on one process and of 16 on another truncates, reads
// past a buffer or waits forever. The check is one small all-reduce (the
// maximum of each number and of its complement, which gives the minimum too):
// where maximum and minimum differ, the processes disagree, every one of them
// knows it after the same call, and all throw the same error, built from every
// process's description, gathered only then. So a mismatch is an error on
// every process, not a hang, and leaves the processes in step.

/// What a process is about to do in a collective operation.
struct CollectiveDescriptor: Equatable, Sendable {
    /// The operation.
    enum Kind: Int64, Sendable {
        case allReduce = 1, broadcast, barrier, workOnRankZero, workOnEveryRank, dataParallelSetup, replicaCheck
        case checkpointCheck, generatorGather

        /// `an all-reduce`, as a sentence names it.
        var name: String {
            switch self {
            case .allReduce: "an all-reduce"
            case .broadcast: "a broadcast"
            case .barrier: "a barrier"
            case .workOnRankZero: "work on rank 0"
            case .workOnEveryRank: "work on every rank"
            case .dataParallelSetup: "creating DataParallel"
            case .replicaCheck: "a check that every replica holds the same parameters"
            case .checkpointCheck: "a check that every process saves or restores the same checkpoint"
            case .generatorGather: "gathering the replicas' random generators"
            }
        }
    }

    var kind: Kind
    /// The scalars sent, if any.
    var scalarType: MPIScalarType?
    var reduction: ReductionOperation?
    /// The process a broadcast sends from.
    var root: Int?
    /// The tensor's shape; empty when no tensor is sent.
    var shape: [Int] = []
    /// For ``Kind/dataParallelSetup``: a hash of the model's parameter names
    /// and shapes; for the checks, a hash of what is compared; for
    /// ``Kind/generatorGather``, of the generators' layers.
    var signature: UInt64 = 0

    /// The number of scalars sent: the product of ``shape``, 0 without one.
    var count: Int {
        shape.isEmpty && scalarType == nil ? 0 : shape.reduce(1, *)
    }

    /// The numbers every process compares, in a fixed order.
    var fields: [Int64] {
        var hash = FNV1a()
        for dimension in shape { hash.combine(UInt64(bitPattern: Int64(dimension))) }
        hash.combine(signature)
        return [
            kind.rawValue, scalarType?.rawValue ?? 0, reduction?.code ?? 0, Int64(root ?? -1),
            Int64(shape.count), Int64(count), Int64(bitPattern: hash.value),
        ]
    }

    /// The descriptor a process's ``fields`` and `shape` describe, for messages.
    init(fields: ArraySlice<Int64>, shape: [Int]) {
        let f = Array(fields)
        kind = Kind(rawValue: f[0]) ?? .barrier
        scalarType = MPIScalarType(rawValue: f[1])
        reduction = ReductionOperation(code: f[2])
        root = f[3] < 0 ? nil : Int(f[3])
        self.shape = shape
        signature = UInt64(bitPattern: f[6])
    }

    init(
        kind: Kind, scalarType: MPIScalarType? = nil, reduction: ReductionOperation? = nil, root: Int? = nil,
        shape: [Int] = [], signature: UInt64 = 0
    ) {
        self.kind = kind
        self.scalarType = scalarType
        self.reduction = reduction
        self.root = root
        self.shape = shape
        self.signature = signature
    }

    /// `all-reduce (sum) of a Float tensor of shape [2, 3]`: the operation, for messages.
    var summary: String {
        let tensor = scalarType.map { " of a \($0.name) tensor of shape \(shape)" } ?? ""
        switch kind {
        case .allReduce: return "all-reduce (\(reduction?.name ?? "sum"))" + tensor
        case .broadcast: return "broadcast from rank \(root ?? 0)" + tensor
        case .barrier: return "barrier"
        case .workOnRankZero: return "work on rank 0"
        case .workOnEveryRank: return "work on every rank"
        case .dataParallelSetup: return "creating DataParallel"
        case .replicaCheck: return "checking that every replica holds the same parameters"
        case .checkpointCheck: return "checking that every process saves or restores the same checkpoint"
        case .generatorGather: return "gathering every replica's random generators for a checkpoint"
        }
    }

    /// The error every process throws when `descriptors` (one per process,
    /// in rank order) are not all the same: it names the first process that
    /// differs from rank 0 and what differs, so it is the same on every process.
    static func disagreement(among descriptors: [CollectiveDescriptor], at rank: Int) -> PerceptronError {
        let first = descriptors[0]
        let own = descriptors[rank]
        guard let other = descriptors.indices.first(where: { descriptors[$0] != first }) else {
            return .communicationFailed(operation: own.summary, reason: "the processes disagreed, then agreed")
        }
        let second = descriptors[other]
        let rule = "every process must make the same collective calls, in the same order"
        if first.kind != second.kind {
            return .communicationFailed(
                operation: own.summary,
                reason: "the processes made different calls, rank 0 \(first.kind.name) and rank \(other) "
                    + "\(second.kind.name): \(rule)")
        }
        switch first.kind {
        case .dataParallelSetup:
            return .communicationFailed(
                operation: own.summary,
                reason: "rank \(other)'s model has other parameters than rank 0's (\(first.shape[0]) tensors of "
                    + "\(first.shape[1]) scalars on rank 0, \(second.shape[0]) of \(second.shape[1]) on rank "
                    + "\(other), or other names or shapes): every process must wrap the same model")
        case .replicaCheck:
            return .communicationFailed(
                operation: own.summary,
                reason: "rank \(other)'s parameters differ from rank 0's (their checksums differ): "
                    + "the replicas are no longer the same model")
        case .checkpointCheck:
            return .communicationFailed(
                operation: own.summary,
                reason: "rank \(other)'s checkpoint differs from rank 0's (the parameters, optimizer, schedule or "
                    + "batches it saves, or the file it restores): every process must save the same training run "
                    + "and restore the same file")
        case .generatorGather:
            return .communicationFailed(
                operation: own.summary,
                reason: "rank \(other)'s model has other random generators than rank 0's (\(first.count / 4) on "
                    + "rank 0, \(second.count / 4) on rank \(other), or in other layers): every process must wrap "
                    + "the same model")
        default:
            break
        }
        if first.scalarType != second.scalarType {
            return .communicationFailed(
                operation: own.summary,
                reason: "rank 0 sends \(first.scalarType?.name ?? "no") scalars and rank \(other) "
                    + "\(second.scalarType?.name ?? "none"): \(rule)")
        }
        if first.reduction != second.reduction {
            return .communicationFailed(
                operation: own.summary,
                reason: "rank 0 asks for the \(first.reduction?.name ?? "sum") and rank \(other) for the "
                    + "\(second.reduction?.name ?? "sum"): \(rule)")
        }
        if first.root != second.root {
            return .communicationFailed(
                operation: own.summary,
                reason: "rank 0 broadcasts from rank \(first.root ?? 0) and rank \(other) from rank "
                    + "\(second.root ?? 0): \(rule)")
        }
        return .shapeMismatch(
            what: "the tensor of rank \(other) in \(first.kind.name) (every process's must have the shape of rank 0's)",
            expected: first.shape, actual: second.shape)
    }
}

extension MPIContext {
    /// Checks that every process is about to make the collective operation
    /// `descriptor` describes; `nil` when all are, otherwise the same error on
    /// every process (see ``CollectiveDescriptor/disagreement(among:at:)``).
    func agree(on descriptor: CollectiveDescriptor) -> PerceptronError? {
        let fields = descriptor.fields
        var both = fields + fields.map { ~$0 }
        let count = both.count
        let outcome = both.withUnsafeMutableBytes { buffer in
            allReduce(
                buffer.baseAddress!, count: count, type: .int64, operation: .maximum,
                "agreeing on \(descriptor.summary)")
        }
        if let outcome { return outcome }
        let agreed = (0..<fields.count).allSatisfy { both[$0] == ~both[fields.count + $0] }
        if agreed { return nil }

        // They disagree: gather every process's description, and its shape.
        let what = "gathering what each process asked for in \(descriptor.summary)"
        let gathered: [Int64]
        switch allGather(fields, what) {
        case .success(let values): gathered = values
        case .failure(let failure): return failure
        }
        let ranks = (0..<size).map { Int(gathered[$0 * fields.count + 4]) }
        let shapes: [Int64]
        switch allGather(descriptor.shape.map(Int64.init), counts: ranks, what) {
        case .success(let values): shapes = values
        case .failure(let failure): return failure
        }
        var descriptors: [CollectiveDescriptor] = []
        var offset = 0
        for process in 0..<size {
            let shape = shapes[offset..<(offset + ranks[process])].map { Int($0) }
            offset += ranks[process]
            let start = process * fields.count
            descriptors.append(CollectiveDescriptor(fields: gathered[start..<(start + fields.count)], shape: shape))
        }
        return CollectiveDescriptor.disagreement(among: descriptors, at: rank)
    }
}

/// The 64-bit FNV-1a hash, written out so that it is the same in every
/// process, run and build (Swift's `Hasher` is seeded per process).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Mixes in the eight bytes of `word`, least significant first.
    mutating func combine(_ word: UInt64) {
        var word = word
        for _ in 0..<8 {
            value = (value ^ (word & 0xff)) &* 0x0000_0100_0000_01b3
            word >>= 8
        }
    }

    /// Mixes in `bytes`, in order.
    mutating func combine(bytes: UnsafeRawBufferPointer) {
        var value = self.value
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        self.value = value
    }

    /// Mixes in the UTF-8 bytes of `text`, then its length.
    mutating func combine(_ text: String) {
        for byte in text.utf8 { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        combine(UInt64(text.utf8.count))
    }
}
