import Perceptron

// How a `DataParallel` takes part in a `Checkpoint`: the checkpoint finds
// the generators of the Dropout layers in the wrapped model through it,
// records the wrapped model's architecture as the wrapper's, and
// with more than one process, saves and restores it on every process at
// once (Perceptron's `ReplicatedModel`), through the communicator: rank 0
// writes the file, every process reads it, and every replica's generators
// are kept, since each draws the masks of its own part of every batch.

extension DataParallel: RandomGeneratorOwner {
    /// The wrapped model's generators, with the model's paths: a checkpoint
    /// of a `DataParallel` names them as one of its model does.
    package func forEachGenerator(
        path: String,
        _ body: (_ path: String, _ layer: String, _ generator: inout SeededRandomNumberGenerator) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        guard let owner = model as? any RandomGeneratorOwner else { return }
        try owner.forEachGenerator(path: path, body)
    }
}

extension DataParallel: DescribedAsWrappedModel {
    /// The wrapped model: a checkpoint of a `DataParallel` records and checks
    /// its architecture, as one of the model does.
    package var describedModel: any Layer<Model.Scalar> { model }
}

extension DataParallel: ReplicatedModel {
    package var replicaIndex: Int { communicator.rank }

    package var replicaCount: Int { communicator.size }

    package func runOnEveryReplica<Value>(_ body: () throws(PerceptronError) -> Value) throws(PerceptronError) -> Value {
        try communicator.runOnEveryRank(body)
    }

    package func runOnFirstReplica(_ body: () throws(PerceptronError) -> Void) throws(PerceptronError) {
        try communicator.runOnRankZero(body)
    }

    /// Compares a checksum of `tensors` and `metadata` (FNV-1a over the
    /// names in sorted order, each with its value: the text, or the
    /// tensor's shape and scalars' bits) across the processes.
    package func checkEveryReplicaHolds<S: BLASScalar>(
        _ tensors: [String: Tensor<S>], _ metadata: [String: String]
    ) throws(PerceptronError) {
        guard let runtime = communicator.runtime, communicator.size > 1 else { return }
        var checksum = FNV1a()
        for key in metadata.keys.sorted() {
            checksum.combine(key)
            checksum.combine(metadata[key]!)
        }
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            checksum.combine(name)
            for dimension in tensor.shape { checksum.combine(UInt64(dimension)) }
            checksum.combine(UInt64(tensor.rank))
            tensor.withUnsafeBufferPointer { checksum.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
        let check = TensorCollectiveWork<S>(CollectiveDescriptor(kind: .checkpointCheck, signature: checksum.value))
        if let failure = runtime.run(check) { throw failure }
    }

    package func gatherFromEveryReplica(_ words: [UInt64], layout: String) throws(PerceptronError) -> [[UInt64]] {
        guard let runtime = communicator.runtime, communicator.size > 1 else { return [words] }
        var signature = FNV1a()
        signature.combine(layout)
        let gather = WordGatherWork(kind: .generatorGather, words: words, signature: signature.value)
        if let failure = runtime.run(gather) { throw failure }
        return (0..<communicator.size).map { Array(gather.gathered[($0 * words.count)..<(($0 + 1) * words.count)]) }
    }
}
