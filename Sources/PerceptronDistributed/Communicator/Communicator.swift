#if canImport(Glibc)
import Glibc
#endif
import Perceptron

/// The processes of a distributed job and the collective operations between
/// them, on Open MPI: every process holds one, and each collective operation
/// is made by all of them.
///
/// ```swift
/// let world = try Communicator.world()       // rank 0..<size of this process
/// var loss = try Tensor<Float>(shape: [1], scalars: [localLoss])
/// try world.allReduce(&loss)                 // the sum over every process, on every process
/// ```
///
/// **Starting.** ``world()`` starts MPI on the first call: in a process that
/// `mpirun` (or another MPI launcher) started, every process of the job; in
/// one started any other way, a world of one process, without MPI, in which
/// every operation is the identity. MPI is initialised once, on a thread of
/// the library's own that makes every MPI call (asking MPI for, and checking
/// it grants, `MPI_THREAD_FUNNELED`), and finalised when the process exits.
///
/// **Agreement.** Every process must make the same collective calls in the
/// same order, as MPI requires. Each call first checks, with one small
/// all-reduce, that every process is making the same call on a tensor of the
/// same shape and scalar type (with the same reduction or root); if not,
/// every process throws the same error, naming the first process that differs
/// from rank 0 and what differs, instead of truncating, reading past a buffer
/// or waiting forever. An empty tensor is agreed on like any other and sends
/// nothing. Errors that MPI reports come back as
/// ``/Perceptron/PerceptronError/communicationFailed(operation:reason:)`` (the
/// library's communicator has the `MPI_ERRORS_RETURN` handler): an MPI
/// error never ends the process from inside the library.
///
/// **Failure.** A process that dies, traps or is killed makes `mpirun` end
/// the whole job. When a process exits with a status other than 0 (having
/// reported an error, say), the library's exit handler ends the job with
/// `MPI_Abort`, so that the others do not wait for it. A process that stays alive but stops taking
/// part (a hang, or a call the others do not make) makes the others' next
/// collective throw once ``timeout`` has passed; after that failure the
/// processes are out of step, every later call throws, and exiting aborts the
/// job. A process that exits with status 0 waits, within the timeout too,
/// until every process is exiting before it finalises MPI, and aborts the
/// job if they do not come. So no failure leaves the others waiting longer
/// than the timeout.
///
/// A communicator may be used from any thread; calls from several threads
/// run one at a time in the order they are made, which must be the same on
/// every process.
public final class Communicator: Sendable {
    /// This process's number in the job, `0..<size`.
    public let rank: Int

    /// The number of processes in the job.
    public let size: Int

    /// MPI in this process, or `nil` in a world of one without MPI.
    let runtime: MPIRuntime?

    /// The timeout of a world of one, which has no ``MPIRuntime`` to keep it.
    private let localState: MPISharedState

    private static let shared: Result<Communicator, PerceptronError> = MPIRuntime.shared.map { Communicator(runtime: $0) }

    private init(runtime: MPIRuntime?) {
        self.runtime = runtime
        rank = runtime?.rank ?? 0
        size = runtime?.size ?? 1
        localState = MPISharedState(timeout: MPIRuntime.defaultTimeout)
    }

    /// Every process of the job: the processes `mpirun` started together, or
    /// only this one when no MPI launcher started it. The first call starts
    /// MPI; every later one returns the same communicator (or error).
    ///
    /// MPI reports an error it meets while initialising by ending the process
    /// (its launcher gone, say), as the MPI standard lets it: no library can
    /// turn that into an error. Every later MPI error is thrown.
    ///
    /// - Throws: ``/Perceptron/PerceptronError/communicationFailed(operation:reason:)``
    ///   when MPI cannot start, or does not grant the thread level the library
    ///   needs (`MPI_THREAD_FUNNELED`, or `MPI_THREAD_MULTIPLE` when the program
    ///   initialised MPI itself).
    public static func world() throws(PerceptronError) -> Communicator {
        try shared.get()
    }

    /// The longest a collective operation waits for every process to take
    /// part before it throws (10 minutes unless set); shared by every use of
    /// the world.
    ///
    /// A process that spends longer than this away from the collective
    /// operations while the others wait in one (writing a large checkpoint,
    /// say) makes them fail: set it above the longest such pause. It must be
    /// positive.
    public var timeout: Duration {
        get { .nanoseconds(state.timeoutNanoseconds.load(ordering: .relaxed)) }
        set {
            precondition(newValue > .zero, "Communicator.timeout must be positive, not \(newValue)")
            state.timeoutNanoseconds.store(MPISharedState.nanoseconds(newValue), ordering: .relaxed)
        }
    }

    private var state: MPISharedState { runtime?.state ?? localState }

    // MARK: Collective operations

    /// Replaces `tensor`, on every process, with the elementwise reduction
    /// (the sum, by default) of every process's `tensor`.
    ///
    /// Every process's tensor must have the same shape: otherwise every
    /// process throws the same error. An empty tensor sends nothing.
    ///
    /// - Throws: ``/Perceptron/PerceptronError/shapeMismatch(what:expected:actual:)``
    ///   when the processes' shapes differ, and
    ///   ``/Perceptron/PerceptronError/communicationFailed(operation:reason:)`` when they
    ///   make different calls (another operation, reduction or scalar type),
    ///   when MPI reports an error, or when not every process takes part within
    ///   ``timeout``; `tensor` is then unspecified.
    public func allReduce<Scalar: BLASScalar>(
        _ tensor: inout Tensor<Scalar>, operation: ReductionOperation = .sum
    ) throws(PerceptronError) {
        let descriptor = CollectiveDescriptor(
            kind: .allReduce, scalarType: MPIScalarType(Scalar.self), reduction: operation, shape: tensor.shape)
        try runBlocking(descriptor, on: &tensor)
    }

    /// Starts ``allReduce(_:operation:)`` of `tensor` and returns at once;
    /// the result comes from ``PendingAllReduce/wait()``.
    ///
    /// The reduction runs on the library's MPI thread while the caller goes
    /// on, for example computing the gradients the next reduction sends.
    /// Operations run in the order they are started, on every process.
    /// `tensor` itself is not changed: the result is a tensor of its own.
    public func startAllReduce<Scalar: BLASScalar>(
        _ tensor: Tensor<Scalar>, operation: ReductionOperation = .sum
    ) -> PendingAllReduce<Scalar> {
        let descriptor = CollectiveDescriptor(
            kind: .allReduce, scalarType: MPIScalarType(Scalar.self), reduction: operation, shape: tensor.shape)
        guard let runtime else { return PendingAllReduce(result: tensor) }
        let work = TensorCollectiveWork<Scalar>(descriptor)
        // A buffer of the work's own, so that the caller's tensor never changes.
        var copy = tensor
        copy.withUnsafeMutableBufferPointer { _ in }
        work.tensor = copy
        runtime.thread.submit(work)
        return PendingAllReduce(work: work, runtime: runtime)
    }

    /// Replaces `tensor`, on every process but `root`, with `root`'s `tensor`.
    ///
    /// Every process's tensor must have the same shape, and every process
    /// must name the same root.
    ///
    /// - Throws: ``/Perceptron/PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a root outside `0..<size`, before any communication;
    ///   ``/Perceptron/PerceptronError/shapeMismatch(what:expected:actual:)`` and
    ///   ``/Perceptron/PerceptronError/communicationFailed(operation:reason:)`` as
    ///   ``allReduce(_:operation:)`` throws them, and the latter also when the
    ///   processes name different roots.
    public func broadcast<Scalar: BLASScalar>(_ tensor: inout Tensor<Scalar>, from root: Int) throws(PerceptronError) {
        guard (0..<size).contains(root) else {
            throw .invalidArgument(name: "root", expected: "a rank in 0..<\(size)", actual: "\(root)")
        }
        let descriptor = CollectiveDescriptor(
            kind: .broadcast, scalarType: MPIScalarType(Scalar.self), root: root, shape: tensor.shape)
        try runBlocking(descriptor, on: &tensor)
    }

    /// Returns once every process has called it.
    ///
    /// - Throws: ``/Perceptron/PerceptronError/communicationFailed(operation:reason:)``
    ///   when another process makes another call, when MPI reports an error,
    ///   or when not every process arrives within ``timeout``.
    public func barrier() throws(PerceptronError) {
        guard let runtime else { return }
        if let failure = runtime.run(TensorCollectiveWork<Float>(CollectiveDescriptor(kind: .barrier))) { throw failure }
    }

    /// Ends every process of the job now with `status` (1 if 0 is given),
    /// through `MPI_Abort`; in a world of one, ends this process.
    ///
    /// For a process that meets an error it cannot recover from while the
    /// others may be waiting for it; exiting with a status other than 0 does
    /// the same.
    public func abort(status: Int32 = 1) -> Never {
        guard let runtime else { exit(status == 0 ? 1 : status) }
        runtime.abort(status: status)
    }

    /// Runs `descriptor`'s operation with `tensor`'s buffer, waiting for it.
    private func runBlocking<Scalar: BLASScalar>(
        _ descriptor: CollectiveDescriptor, on tensor: inout Tensor<Scalar>
    ) throws(PerceptronError) {
        guard let runtime else { return }
        let work = TensorCollectiveWork<Scalar>(descriptor)
        // The buffer is lent for the call: the MPI thread uses it only while this waits.
        let failure = tensor.withUnsafeMutableBufferPointer { buffer in
            work.buffer = UnsafeMutableRawPointer(buffer.baseAddress)
            defer { work.buffer = nil }
            return runtime.run(work)
        }
        if let failure { throw failure }
    }
}

/// An all-reduce started by ``Communicator/startAllReduce(_:operation:)``.
public final class PendingAllReduce<Scalar: BLASScalar> {
    private let work: TensorCollectiveWork<Scalar>?
    private let runtime: MPIRuntime?
    private var result: Result<Tensor<Scalar>, PerceptronError>?

    init(work: TensorCollectiveWork<Scalar>, runtime: MPIRuntime) {
        self.work = work
        self.runtime = runtime
    }

    init(result: Tensor<Scalar>) {
        work = nil
        runtime = nil
        self.result = .success(result)
    }

    /// Waits until the reduction has finished and returns its result; later
    /// calls return the same result (or throw the same error) at once.
    ///
    /// - Throws: what ``Communicator/allReduce(_:operation:)`` throws.
    public func wait() throws(PerceptronError) -> Tensor<Scalar> {
        if let result { return try result.get() }
        // Without a result yet, there is work under way (a world of one has its result at once).
        guard let work, let runtime else { fatalError("PendingAllReduce: neither a result nor work under way") }
        let outcome: Result<Tensor<Scalar>, PerceptronError>
        if let failure = runtime.thread.wait(for: work) {
            outcome = .failure(failure)
        } else {
            outcome = .success(work.tensor!)
        }
        work.tensor = nil
        result = outcome
        return try outcome.get()
    }
}
