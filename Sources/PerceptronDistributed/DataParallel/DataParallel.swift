import Perceptron

/// A model trained by several processes at once, each on its part of every
/// batch, as PyTorch's `DistributedDataParallel` trains one: every process
/// holds the whole model, and the gradients are averaged across the
/// processes in the backward pass, so that every optimizer step is the same
/// on all of them and the replicas stay identical.
///
/// ```swift
/// let world = try Communicator.world()
/// let model = try DataParallel(Sequential<Float>([...]), communicator: world)
/// let batches = try MiniBatches(features: x, labels: y, batchSize: 1024, seed: 7,
///                               shard: world.rank, of: world.size)
/// for (features, labels) in batches {
///     _ = try loss.forward(model(features), labels: labels)
///     _ = try model.backward(loss.backward())   // the global mean gradient, on every process
///     try optimizer.step(model)
/// }
/// ```
///
/// It is a ``/Perceptron/Layer`` like the model it wraps: ``forward(_:)``,
/// ``predict(_:)``, the parameters and their names are the model's, so an
/// optimizer steps it, and its parameters are saved and loaded, as the
/// model's would be. To write a model file in PyTorch's layout, save the
/// wrapped ``model`` (``/Perceptron/Layer/save(to:)``), to which a
/// `DataParallel` is a layer of a type of its own.
///
/// **Starting identical.** Creating it checks that every process wraps a
/// model with the same parameter names and shapes, then copies rank 0's
/// parameter values to every other process.
///
/// **The mean over the global batch.** ``backward(_:accumulate:)`` leaves in
/// every parameter's gradient the mean over all processes' samples: each
/// process's gradient weighted by its batch size (the leading dimension of
/// its last ``forward(_:)`` input, 1 for an input of rank 0 or 1) over the
/// total. So a loss that is a mean over its batch (every loss in Perceptron
/// is) gives the gradient one process would compute on the whole global
/// batch, even when the parts differ in size, as the last batch of a pass
/// may. A process with an empty part contributes nothing. In float32 the
/// result differs from one process's only by the order in which the samples'
/// terms are summed, and is bit for bit the same from run to run with the same
/// number of processes and threads.
///
/// **bfloat16.** A `DataParallel` has no precision of its own: set
/// ``/Perceptron/Sequential/precision`` on the model before wrapping it (or
/// on ``model``). Each process then rounds the operands of its own part, such
/// as an output gradient that its loss scaled by its part's size, and decides
/// from its part's rows whether a layer computes in bfloat16 at all
/// (``/Perceptron/Linear/computesInBFloat16(rows:)``): with small parts, a
/// layer may compute in float32 where one process on the whole batch would
/// compute it in bfloat16. So the result differs from one process's by
/// bfloat16's rounding too, not only by the order of the sums; it is still
/// bit for bit the same from run to run.
///
/// **Overlap.** The gradients are sent in buckets of about
/// ``bucketCapacity`` bytes, last layers first, by non-blocking all-reduces
/// on the library's MPI thread. With a ``/Perceptron/Sequential`` model a bucket leaves
/// as soon as the layers it holds have finished their backward pass, while
/// the earlier layers still compute; other models send everything after
/// their backward pass.
///
/// **Checking.** With ``checksReplicas``, every forward pass also compares a
/// checksum of the parameters (as the last optimizer step left them) across
/// the processes and throws if any differ: a debugging aid that costs a pass
/// over the parameters and one small all-reduce per step.
/// ``checkReplicasAgree()`` does the same once.
///
/// **Checkpoints.** Pass the `DataParallel` itself to
/// ``/Perceptron/Checkpoint``'s `save` and `restore`, on every process at
/// the same point: rank 0 writes the file, atomically, with the state every
/// process shares (parameters, optimizer, schedule, batches) once and the
/// generators of each process's ``/Perceptron/Dropout`` layers, which are
/// its own; every process restores from that one file, each into its own
/// replica and shard, so that the run goes on exactly as if never stopped.
/// <doc:TrainingOnSeveralMachines> has the loop.
///
/// **Dropout.** Each process draws the masks of its own part of every batch
/// from its own layers' generators. Give every process's layers seeds of
/// their own (`Dropout(probability: p, seed: 100 * UInt64(world.rank) + 1)`,
/// `+ 2` for the next layer, and so on): with the same seeds, processes
/// whose parts have the same size draw the same masks for them.
///
/// Every process must make the same calls in the same order (one forward and
/// one backward pass per step); in a world of one, it is the model itself.
public final class DataParallel<Model: Layer>: Layer {
    /// The scalar type of the model, `Float` or `Double`.
    public typealias Scalar = Model.Scalar

    /// The model every process holds a replica of.
    public let model: Model

    /// The processes that train it.
    public let communicator: Communicator

    /// The size, in bytes, a bucket of gradients grows to before it is sent
    /// (a parameter larger than this is a bucket of its own).
    public let bucketCapacity: Int

    /// Whether each ``forward(_:)`` checks that every process holds the same
    /// parameters, with ``checkReplicasAgree()``.
    public var checksReplicas: Bool

    /// The model's parts whose gradients are final one after another: the
    /// layers of a ``/Perceptron/Sequential``, otherwise the model alone.
    private let segments: [any Layer<Scalar>]
    private let sequential: Sequential<Scalar>?
    /// The buckets, in the order they are sent: last parameters first. Empty
    /// in a world of one, which sends nothing.
    private let buckets: [GradientBucket<Scalar>]
    /// The leading dimension of the last forward pass's input.
    private var localBatchSize: Int?

    /// Wraps `model`, which every process of `communicator` must wrap at the
    /// same point, and gives every process rank 0's parameter values.
    ///
    /// - Parameters:
    ///   - model: the replica this process holds.
    ///   - communicator: the processes that train it together.
    ///   - bucketCapacity: the bytes of gradients sent in one all-reduce,
    ///     at least 1: smaller buckets start sending sooner, larger ones
    ///     send fewer messages (the default is 1 MiB; PyTorch's first bucket is too).
    ///   - checksReplicas: whether every forward pass checks that the
    ///     processes' parameters agree.
    /// - Throws: ``/Perceptron/PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a capacity below 1, before any communication;
    ///   ``/Perceptron/PerceptronError/communicationFailed(operation:reason:)`` on every
    ///   process when their models' parameter names or shapes differ, and when
    ///   the broadcast fails.
    public init(
        _ model: Model, communicator: Communicator, bucketCapacity: Int = 1 << 20, checksReplicas: Bool = false
    ) throws(PerceptronError) {
        guard bucketCapacity >= 1 else {
            throw .invalidArgument(name: "bucketCapacity", expected: "at least 1 byte", actual: "\(bucketCapacity)")
        }
        self.model = model
        self.communicator = communicator
        self.bucketCapacity = bucketCapacity
        self.checksReplicas = checksReplicas
        sequential = model as? Sequential<Scalar>
        segments = sequential?.layers ?? [model]
        guard let runtime = communicator.runtime, communicator.size > 1 else {
            buckets = []
            return
        }
        let (entries, signature) = try Self.describe(segments)
        let setup = TensorCollectiveWork<Scalar>(CollectiveDescriptor(
            kind: .dataParallelSetup, scalarType: MPIScalarType(Scalar.self),
            shape: [entries.count, entries.reduce(0) { $0 + $1.count }], signature: signature))
        if let failure = runtime.run(setup) { throw failure }
        buckets = Self.buckets(of: entries, capacity: bucketCapacity)
        try broadcastParameters(runtime)
    }

    // MARK: Layer

    /// The model's forward pass, then, when ``checksReplicas`` is set, the
    /// check that the replicas agree; the input's leading dimension is this
    /// process's batch size for the next backward pass.
    ///
    /// - Throws: what the model throws (before any communication), and what
    ///   ``checkReplicasAgree()`` throws.
    public func forward(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        let output = try model.forward(input)
        localBatchSize = input.rank >= 2 ? input.shape[0] : 1
        if checksReplicas { try checkReplicasAgree() }
        return output
    }

    /// The model's ``/Perceptron/Layer/predict(_:)``: local, with no communication.
    public func predict(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try model.predict(input)
    }

    /// The model's backward pass, leaving in every parameter gradient the
    /// mean over every process's samples, sent while the backward pass goes
    /// on; returns this process's `∂E/∂input`.
    ///
    /// With `accumulate: true`, what is averaged is the stored gradient plus
    /// this pass's, so that gradients accumulated over several passes are the
    /// sum of each pass's global mean.
    ///
    /// - Throws: what the model throws, on this process, before it sends
    ///   anything (a gradient of the wrong shape);
    ///   ``/Perceptron/PerceptronError/backwardBeforeForward(layer:)`` without a forward
    ///   pass; ``/Perceptron/PerceptronError/invalidArgument(name:expected:actual:)`` for
    ///   a batch too large to count exactly in the model's precision (more than
    ///   2²⁴ samples over all processes for `Float`); and what the all-reduces
    ///   throw (``Communicator/allReduce(_:operation:)``), after which the
    ///   gradients are unspecified.
    public func backward(_ outputGradient: Tensor<Scalar>, accumulate: Bool) throws(PerceptronError) -> Tensor<Scalar> {
        guard let runtime = communicator.runtime, !buckets.isEmpty else {
            return try model.backward(outputGradient, accumulate: accumulate)
        }
        guard let localBatchSize else { throw .backwardBeforeForward(layer: "DataParallel") }
        // The batch size is summed in the model's precision: it must stay exact.
        let exactLimit = 1 << (Scalar.significandBitCount + 1)
        guard localBatchSize <= exactLimit / communicator.size else {
            throw .invalidArgument(
                name: "the batch size", expected: "at most \(exactLimit / communicator.size) samples per process "
                    + "(\(exactLimit) in all, counted exactly in \(Scalar.self))", actual: "\(localBatchSize)")
        }
        var sent = 0
        let inputGradient: Tensor<Scalar>
        do {
            if let sequential {
                inputGradient = try sequential.backward(outputGradient, accumulate: accumulate) { index throws(PerceptronError) in
                    while sent < buckets.count && buckets[sent].lowestSegment >= index {
                        try send(buckets[sent], batchSize: localBatchSize, runtime)
                        sent += 1
                    }
                }
            } else {
                inputGradient = try model.backward(outputGradient, accumulate: accumulate)
            }
        } catch {
            if sent > 0 {
                // Some gradients are on their way and the rest never will be:
                // the processes are out of step. The buckets sent are let
                // finish, so that none is still in use when this returns.
                runtime.state.fail(error)
                for bucket in buckets[..<sent] { _ = runtime.thread.wait(for: bucket) }
            }
            throw error
        }
        while sent < buckets.count {
            try send(buckets[sent], batchSize: localBatchSize, runtime)
            sent += 1
        }
        var failure: PerceptronError?
        for bucket in buckets {
            // After a failure the later buckets fail at once (out of step); each is waited for all the same.
            if let error = runtime.thread.wait(for: bucket) {
                failure = failure ?? error
            } else if failure == nil {
                try receive(bucket)
            }
        }
        if let failure { throw failure }
        return inputGradient
    }

    /// Visits the model's parameters, with the model's names.
    public func forEachParameter(
        _ body: (_ name: String, _ value: inout Tensor<Scalar>, _ gradient: inout Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        try model.forEachParameter(body)
    }

    /// Clears the model's parameter gradients.
    public func zeroGradients() {
        model.zeroGradients()
    }

    /// Lets the model go of what it keeps between passes.
    public func releaseCaches() {
        model.releaseCaches()
        localBatchSize = nil
    }

    // MARK: Checking

    /// Checks that every process holds bit for bit the same parameters,
    /// comparing a 64-bit checksum of them (FNV-1a over every scalar's bits,
    /// in the parameters' order).
    ///
    /// Every process must call it at the same point.
    ///
    /// - Throws: ``/Perceptron/PerceptronError/communicationFailed(operation:reason:)`` on
    ///   every process when the checksums differ (naming the first process
    ///   whose parameters differ from rank 0's), and what collective
    ///   operations throw.
    public func checkReplicasAgree() throws(PerceptronError) {
        guard let runtime = communicator.runtime, communicator.size > 1 else { return }
        var checksum = FNV1a()
        try model.forEachParameter { _, value, _ in
            value.withUnsafeBufferPointer { checksum.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
        let check = TensorCollectiveWork<Scalar>(
            CollectiveDescriptor(kind: .replicaCheck, signature: checksum.value))
        if let failure = runtime.run(check) { throw failure }
    }

    // MARK: Buckets

    /// Copies this process's gradients into `bucket`, multiplied by its batch
    /// size, and starts their all-reduce.
    private func send(_ bucket: GradientBucket<Scalar>, batchSize: Int, _ runtime: MPIRuntime) throws(PerceptronError) {
        let weight = Scalar(batchSize)
        try visit(bucket) { entry, _, gradient in
            let destination = bucket.buffer + entry.offset
            gradient.withUnsafeBufferPointer { source in
                // An empty part contributes zeros, whatever its gradient holds (NaN, for a mean of nothing).
                if batchSize == 0 {
                    destination.update(repeating: 0, count: entry.count)
                } else {
                    copy(source.baseAddress!, scaledBy: weight, to: destination, count: entry.count)
                }
            }
        }
        bucket.buffer[bucket.count] = weight
        bucket.operation = .sumGradients
        runtime.thread.submit(bucket)
    }

    /// Replaces the gradients in `bucket`, summed over the processes, by
    /// their mean over the global batch.
    private func receive(_ bucket: GradientBucket<Scalar>) throws(PerceptronError) {
        let total = bucket.buffer[bucket.count]
        try visit(bucket) { entry, _, gradient in
            let source = bucket.buffer + entry.offset
            gradient.withUnsafeMutableBufferPointer { destination in
                // No sample anywhere: no gradient, rather than 0/0.
                if total == 0 {
                    destination.update(repeating: 0)
                } else {
                    copy(source, dividedBy: total, to: destination.baseAddress!, count: entry.count)
                }
            }
        }
    }

    /// Gives every process rank 0's parameter values, bucket by bucket.
    private func broadcastParameters(_ runtime: MPIRuntime) throws(PerceptronError) {
        for bucket in buckets {
            if communicator.rank == 0 {
                try visit(bucket) { entry, value, _ in
                    value.withUnsafeBufferPointer { (bucket.buffer + entry.offset).update(from: $0.baseAddress!, count: entry.count) }
                }
            }
            bucket.operation = .broadcastValues
            if let failure = runtime.run(bucket) { throw failure }
            try visit(bucket) { entry, value, _ in
                value.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: bucket.buffer + entry.offset, count: entry.count) }
            }
        }
    }

    /// Calls `body` with each of `bucket`'s entries and its parameter and gradient.
    private func visit(
        _ bucket: GradientBucket<Scalar>,
        _ body: (BucketEntry, inout Tensor<Scalar>, inout Tensor<Scalar>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        for entry in bucket.entries {
            var position = 0
            try segments[entry.segment].forEachParameter { _, value, gradient throws(PerceptronError) in
                if position == entry.position { try body(entry, &value, &gradient) }
                position += 1
            }
        }
    }

    /// Every parameter's place (segment, position, count), in visiting
    /// order, and a hash of every name, shape and the scalar type, which the
    /// processes compare.
    private static func describe(_ segments: [any Layer<Scalar>]) throws(PerceptronError) -> ([BucketEntry], UInt64) {
        var entries: [BucketEntry] = []
        var signature = FNV1a()
        signature.combine("\(Scalar.self)")
        for (index, segment) in segments.enumerated() {
            var position = 0
            try segment.forEachParameter { name, value, _ in
                entries.append(BucketEntry(segment: index, position: position, offset: 0, count: value.count))
                signature.combine(name)
                for dimension in value.shape { signature.combine(UInt64(dimension)) }
                signature.combine(UInt64(value.rank))
                position += 1
            }
        }
        return (entries, signature.value)
    }

    /// The buckets of `entries`: from the last parameter backwards, each
    /// closed before it would exceed `capacity` bytes.
    private static func buckets(of entries: [BucketEntry], capacity: Int) -> [GradientBucket<Scalar>] {
        var buckets: [GradientBucket<Scalar>] = []
        var current: [BucketEntry] = []
        var bytes = 0
        func close() {
            guard !current.isEmpty else { return }
            buckets.append(GradientBucket(entries: current))
            current = []
            bytes = 0
        }
        for entry in entries.reversed() {
            let size = entry.count * MemoryLayout<Scalar>.stride
            if !current.isEmpty && bytes + size > capacity { close() }
            current.append(BucketEntry(segment: entry.segment, position: entry.position, offset: bytes / MemoryLayout<Scalar>.stride, count: entry.count))
            bytes += size
        }
        close()
        return buckets
    }
}
