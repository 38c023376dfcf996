import Perceptron

// Work outside MPI that some processes do while the others wait, such as
// writing or reading a checkpoint, and a shared answer to whether it went
// well, so that no process goes on alone after another failed.

extension Communicator {
    /// Runs `body` on rank 0 only, then tells every process how it went:
    /// each returns once rank 0 has finished, and each throws if it failed.
    ///
    /// This is how a checkpoint is written once for the whole job: rank 0
    /// writes it (atomically, as ``/Perceptron/SafeTensors/write(to:)`` does), and no
    /// process goes on believing it exists when it does not.
    ///
    /// ```swift
    /// try world.runOnRankZero {
    ///     try SafeTensors(tensors: model.namedParameters, metadata: ["step": "\(step)"]).write(to: url)
    /// }
    /// ```
    ///
    /// - Throws: on rank 0, what `body` threw; on every other process,
    ///   ``/Perceptron/PerceptronError/communicationFailed(operation:reason:)`` with rank
    ///   0's error in its reason; and on every process, what the collective
    ///   operations throw (``barrier()``).
    public func runOnRankZero(_ body: () throws(PerceptronError) -> Void) throws(PerceptronError) {
        var failure: PerceptronError?
        if rank == 0 {
            do { try body() } catch { failure = error }
        }
        try share(.workOnRankZero, failure)
    }

    /// Runs `body` on every process, then tells every process whether all
    /// of them succeeded, and returns what `body` returned.
    ///
    /// This is how every process resumes from one checkpoint: each reads it,
    /// and if any cannot, all throw, rather than some training on alone.
    ///
    /// ```swift
    /// try world.runOnEveryRank { try model.loadParameters(SafeTensors<Float>.read(from: url)) }
    /// ```
    ///
    /// - Throws: on a process where `body` threw, that error; on every other
    ///   process, ``/Perceptron/PerceptronError/communicationFailed(operation:reason:)``
    ///   naming the first process that failed and its error; and what the
    ///   collective operations throw (``barrier()``).
    public func runOnEveryRank<Value>(_ body: () throws(PerceptronError) -> Value) throws(PerceptronError) -> Value {
        let value: Value?
        var failure: PerceptronError?
        do { value = try body() } catch {
            value = nil
            failure = error
        }
        try share(.workOnEveryRank, failure)
        return value!
    }

    /// Tells every process whether this one's work failed, and throws if any did.
    private func share(_ kind: CollectiveDescriptor.Kind, _ failure: PerceptronError?) throws(PerceptronError) {
        guard let runtime else {
            if let failure { throw failure }
            return
        }
        let work = OutcomeWork(kind: kind, failure: failure.map { "\($0)" })
        if let communication = runtime.run(work) { throw failure ?? communication }
        if let failure { throw failure }
        if let (rank, message) = work.firstFailure {
            throw .communicationFailed(operation: work.descriptor.summary, reason: "on rank \(rank): \(message)")
        }
    }
}
