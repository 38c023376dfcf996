import Foundation

// A checkpoint of a model that several processes train together, each
// holding a replica of it (PerceptronDistributed's `DataParallel`): every
// process takes part in the save and in the restore, at the same point.
//
// Saving: every process builds its part of the file (so that an optimizer
// the checkpoint cannot hold is an error on every process), the processes
// gather every replica's generators (checking that their models have the
// same ones), check that they hold the same run (parameters, optimizer,
// schedule, batches: what the file saves once for all of them), and replica
// 0 writes the file. Restoring: every process reads and checks the whole
// file and takes its own replica's generators; the processes check that they
// read the same file, and only then does any of them change. So a save or a
// restore that fails on one process fails on all, and a restore that fails
// changes nothing anywhere.

/// A model of which every process of a job holds a replica: the hook
/// through which PerceptronDistributed's `DataParallel` takes its processes
/// through a checkpoint together. Every call is made by every replica at
/// the same point.
package protocol ReplicatedModel: AnyObject {
    /// This process's replica, in `0..<replicaCount`.
    var replicaIndex: Int { get }

    /// The number of replicas, one per process.
    var replicaCount: Int { get }

    /// Runs `body` on every replica, then throws on every replica if it
    /// threw on any; returns what `body` returned.
    func runOnEveryReplica<Value>(_ body: () throws(PerceptronError) -> Value) throws(PerceptronError) -> Value

    /// Runs `body` on replica 0 only, then throws on every replica if it threw.
    func runOnFirstReplica(_ body: () throws(PerceptronError) -> Void) throws(PerceptronError)

    /// Throws on every replica unless every one passes the same `tensors`
    /// and `metadata`: the checkpoint the replicas save or restore.
    func checkEveryReplicaHolds<Scalar: BLASScalar>(
        _ tensors: [String: Tensor<Scalar>], _ metadata: [String: String]
    ) throws(PerceptronError)

    /// Every replica's `words`, in replica order. Every replica must pass
    /// as many words, of the same `layout` (what they are): otherwise every
    /// replica throws.
    func gatherFromEveryReplica(_ words: [UInt64], layout: String) throws(PerceptronError) -> [[UInt64]]
}

extension CheckpointParts {
    /// The model's replicas, when more than one process trains it.
    var replicas: (any ReplicatedModel)? {
        guard let replicated = model as? any ReplicatedModel, replicated.replicaCount > 1 else { return nil }
        return replicated
    }

    /// ``save(state:to:using:)`` for a model of several replicas: every
    /// replica's generators, everything else once, written by replica 0.
    func save(
        replicas: any ReplicatedModel, state: [String: String], to url: URL, using systemWrite: POSIXWrite?
    ) throws(PerceptronError) {
        let writer = try replicas.runOnEveryReplica { () throws(PerceptronError) in try self.writer() }
        let generators = try ModelCheckpoint.generators(of: model)
        let everyReplica = try replicas.gatherFromEveryReplica(
            generators.flatMap(\.generator.state),
            layout: generators.map { "\($0.path): \($0.layer)" }.joined(separator: "; "))
        let own = try ModelCheckpoint.generatorKeys(of: model)
        try replicas.checkEveryReplicaHolds(writer.tensors, writer.metadata.filter { !own.contains($0.key) })
        try replicas.runOnFirstReplica { () throws(PerceptronError) in
            var file = writer
            try ModelCheckpoint.recordReplicas(everyReplica, of: model, into: &file)
            try write(file.file(state: state), to: url, using: systemWrite)
        }
    }

    /// ``restore(from:)`` for a model of several replicas: every replica
    /// reads the file, and none changes unless all can restore it and read
    /// the same.
    func restore(replicas: any ReplicatedModel, from url: URL) throws(PerceptronError) -> [String: String] {
        let prepared = try replicas.runOnEveryReplica { () throws(PerceptronError) in
            try prepareRestore(from: url, replica: replicas.replicaIndex, of: replicas.replicaCount)
        }
        try replicas.checkEveryReplicaHolds(prepared.file.tensors, prepared.file.metadata)
        prepared.apply()
        return prepared.state
    }
}
