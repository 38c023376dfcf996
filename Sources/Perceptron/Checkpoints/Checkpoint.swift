import Foundation

/// A training run's whole state in one file, to resume the run after a crash
/// or a stop exactly where it was:
/// ``save(model:optimizer:schedule:batches:state:to:)-(_,_,_,MiniBatches<Scalar>?,_,_)``
/// writes it, and
/// ``restore(model:optimizer:schedule:batches:from:)-(_,_,_,MiniBatches<Scalar>?,_)``
/// reads it back into the objects of a fresh run.
///
/// A checkpoint holds:
/// - the model's parameters, and its architecture: each layer's type, sizes
///   and hyperparameters, as ``Layer/save(to:)`` records them;
/// - the optimizer's type, learning rate and settings (β₁, β₂, ε, weight
///   decay, momentum, Nesterov …), ``Adam``'s step count and the buffers it
///   keeps per parameter (Adam's moment estimates, ``SGD``'s momentum);
/// - the schedule's type, base rate, settings and step count;
/// - the state of the random generator of every ``Dropout`` layer in the
///   model, in ``Sequential`` models nested to any depth (every process's,
///   when several train the model together);
/// - the batches' generator (``MiniBatches`` or ``RegressionBatches``), the
///   number of parts they are sharded into, and how far the pass under way
///   has come;
/// - your own strings: the epoch, the step, anything a resumed loop needs.
///
/// Resuming is a restore before the loop, if a checkpoint is there, and a
/// save every so often inside it, after an optimizer step:
///
/// ```swift
/// let url = URL(fileURLWithPath: "run.checkpoint")
/// var (epoch, step) = (0, 0)
/// if FileManager.default.fileExists(atPath: url.path) {
///     let state = try Checkpoint.restore(
///         model: model, optimizer: optimizer, schedule: schedule, batches: batches, from: url)
///     (epoch, step) = (Int(state["epoch"]!)!, Int(state["step"]!)!)
/// }
/// while epoch < 20 {
///     for (features, labels) in batches {      // after a restore: the rest of the pass it stopped in
///         _ = try loss.forward(model(features), labels: labels)
///         _ = try model.backward(loss.backward())
///         try optimizer.step(model)
///         step += 1
///         if step % 100 == 0 {
///             try Checkpoint.save(
///                 model: model, optimizer: optimizer, schedule: schedule, batches: batches,
///                 state: ["epoch": "\(epoch)", "step": "\(step)"], to: url)
///         }
///     }
///     schedule.step()
///     epoch += 1
/// }
/// ```
///
/// A run killed at any point and resumed this way from its last checkpoint
/// ends with the same parameters, bit for bit, as one never interrupted,
/// given the same data, seeds and ``BLAS/threadCount`` on the same machine.
///
/// **Restoring** needs the objects the run was created with: a model of the
/// same layers, an optimizer and a schedule of the same types and settings,
/// batches of the same data and layout (their seed does not matter: the
/// generator is restored). What is progress is restored: the parameters, the
/// optimizer's buffers, step count and learning rate (which schedules and
/// loops change), the schedule's step count, the generators, and the pass
/// under way, which the next `for` loop over the batches continues. What is
/// configuration must be as saved: a restore into an optimizer created with
/// another β₁, or into a model with another layer (even one without
/// parameters, such as ``GELU`` for ``ReLU``, or another hyperparameter, such
/// as a ``LayerNorm``'s epsilon; a layer type of your own is compared by its
/// name), throws
/// ``PerceptronError/checkpointMismatch(path:what:saved:actual:)`` naming the
/// first difference, rather than continue a run that is not the one saved.
/// Everything is checked before anything changes, so a restore that throws
/// leaves every object as it was.
///
/// **On several processes**, pass the model as PerceptronDistributed's
/// `DataParallel` wraps it, and call `save` and `restore` on every process
/// at the same point, with the same code as above: both are then collective
/// operations. `save` gathers every process's ``Dropout`` generators (each
/// draws the masks of its own part of every batch, so each has a state of
/// its own), checks that every process holds the same parameters, optimizer,
/// schedule and batches, and has rank 0 alone write the file; `restore` reads
/// it on every process (from a shared file system or a copy on each
/// machine), gives each its own generators and checks that all read the
/// same. Sharded batches (`shard: r, of: k`) restore on every process from
/// the one file, each keeping its own shard: the order and the pass under way
/// are the same on all. A save or restore that fails on one process throws on
/// every process, and a restore that throws changes nothing on any. A
/// checkpoint of K processes resumes on K processes, with batches cut into as
/// many parts; on another number it throws
/// ``PerceptronError/checkpointMismatch(path:what:saved:actual:)``. Do not
/// call them inside `runOnRankZero`, nor with the wrapped model itself: that
/// saves rank 0's generators for every process.
///
/// **Not saved:** gradients and what layers keep between passes (save after
/// an optimizer step, not between a backward pass and the step that uses it),
/// generators of your own (put their ``SeededRandomNumberGenerator/state`` in
/// `state`), generators of layers other than ``Dropout``, ``Sequential``
/// and `DataParallel`, such as a ``Dropout`` inside a layer type of your own,
/// and the layers' ``Linear/precision``, which is how a layer computes rather
/// than one of its parameters: a restore leaves the model's precision as it
/// is, so a run in ``Precision/bfloat16`` sets it on the new model, before
/// or after the restore, as it did on the first (otherwise the resumed run
/// computes in float32, without an error).
///
/// **The file** is a safetensors file (see ``SafeTensors``), written
/// atomically: after a failed or interrupted write the previous checkpoint is
/// still there, whole (an interrupted write can leave a hidden temporary file
/// `.<name>.tmp-…` beside it). Its tensors are `model.<parameter>` and
/// `optimizer.<parameter>.<buffer>`, with PyTorch's names (`0.weight`,
/// `exp_avg`, `exp_avg_sq`, `momentum_buffer`) but in Perceptron's layout (a
/// ``Linear`` weight is `[inputs, outputs]`, as ``Layer/namedParameters``
/// gives it); its metadata holds the rest as text, the architecture as
/// `model.architecture` (the JSON a model file records), your strings as
/// `state.<key>`, so that Python can look inside:
///
/// ```python
/// from safetensors import safe_open
/// with safe_open("run.checkpoint", "np") as f:
///     print(f.metadata()["optimizer.stepCount"], f.get_tensor("model.0.weight").shape)
/// ```
public enum Checkpoint {
    /// Writes the state of a training run to one file at `url`, replacing
    /// any file there atomically: see ``Checkpoint`` for what it holds.
    ///
    /// Save after an optimizer step: the gradients are not saved.
    ///
    /// With a `DataParallel` model of several processes, every process calls
    /// it, and rank 0 writes the file (see ``Checkpoint``).
    ///
    /// - Parameters:
    ///   - model: the model trained; its parameters and the generators of
    ///     its ``Dropout`` layers are saved.
    ///   - optimizer: its ``SGD`` or ``Adam`` optimizer.
    ///   - schedule: the schedule driving `optimizer`, if any.
    ///   - batches: the batches the model is trained on, if any.
    ///   - state: strings of your own, such as the epoch and the step,
    ///     which
    ///     ``restore(model:optimizer:schedule:batches:from:)-(_,_,_,MiniBatches<Scalar>?,_)``
    ///     returns.
    ///   - url: the file to write.
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for an optimizer other than ``SGD`` and ``Adam``, one that has
    ///   stepped another model instance, or a schedule other than the library's or
    ///   driving another optimizer; ``PerceptronError/fileError(path:operation:reason:)``
    ///   naming the step of the write that failed, which leaves the previous
    ///   file as it was. With several processes, each throws what it met
    ///   first, and every other process
    ///   ``PerceptronError/communicationFailed(operation:reason:)`` naming
    ///   the process that failed and its error; every process also throws
    ///   that error when their models have other ``Dropout`` layers, or when
    ///   they do not hold the same parameters, optimizer, schedule and batches.
    public static func save<Scalar: BLASScalar>(
        model: some Layer<Scalar>, optimizer: some Optimizer<Scalar>,
        schedule: (any LearningRateSchedule<Scalar>)? = nil, batches: MiniBatches<Scalar>? = nil,
        state: [String: String] = [:], to url: URL
    ) throws(PerceptronError) {
        try CheckpointParts(model: model, optimizer: optimizer, schedule: schedule, batches: batches)
            .save(state: state, to: url)
    }

    /// Writes the state of a training run on ``RegressionBatches`` to one
    /// file at `url`: the same as
    /// ``save(model:optimizer:schedule:batches:state:to:)-(_,_,_,MiniBatches<Scalar>?,_,_)``
    /// with these batches.
    ///
    /// - Throws: as the other `save`.
    public static func save<Scalar: BLASScalar>(
        model: some Layer<Scalar>, optimizer: some Optimizer<Scalar>,
        schedule: (any LearningRateSchedule<Scalar>)? = nil, batches: RegressionBatches<Scalar>,
        state: [String: String] = [:], to url: URL
    ) throws(PerceptronError) {
        try CheckpointParts(model: model, optimizer: optimizer, schedule: schedule, batches: batches)
            .save(state: state, to: url)
    }

    /// Sets a training run's objects to the state saved at `url` by
    /// ``save(model:optimizer:schedule:batches:state:to:)-(_,_,_,MiniBatches<Scalar>?,_,_)``,
    /// and returns the strings saved with it.
    ///
    /// Pass the objects the run was created with, as it creates them (the
    /// same layers, types and settings; see ``Checkpoint``): a schedule and
    /// batches exactly when the checkpoint has them. After the restore, the
    /// next `for` loop over `batches` continues the pass the checkpoint was
    /// saved in, from its next batch, and `optimizer` holds the state of
    /// `model`, which it steps from then on, whatever model it stepped before.
    /// With a `DataParallel` model of several processes, every process calls
    /// it and restores the same file, each into its own objects (its own
    /// shard of the batches).
    ///
    /// - Returns: the `state` saved, to find out where the loop stood.
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` when
    ///   the file cannot be read; ``PerceptronError/invalidSafeTensors(path:reason:)``
    ///   and ``PerceptronError/invalidCheckpoint(path:reason:)`` when it is not
    ///   a checkpoint or is malformed; ``PerceptronError/checkpointMismatch(path:what:saved:actual:)``
    ///   naming the first difference between what was saved and the objects
    ///   given (the scalar type, `Float` or `Double`, a parameter's name or shape, a ``Dropout``
    ///   layer, the optimizer's type or settings, a layer's type or
    ///   hyperparameters, the schedule's type or settings, the batches'
    ///   layout, their shard count, the number of processes);
    ///   ``PerceptronError/invalidArgument(name:expected:actual:)`` for an
    ///   optimizer or schedule the checkpoint cannot hold, as `save` does; and,
    ///   with several processes, on every process but those that met one of
    ///   these, ``PerceptronError/communicationFailed(operation:reason:)``
    ///   naming the first that did, and on every process the same error when
    ///   they read different files. A restore that throws changes nothing.
    @discardableResult
    public static func restore<Scalar: BLASScalar>(
        model: some Layer<Scalar>, optimizer: some Optimizer<Scalar>,
        schedule: (any LearningRateSchedule<Scalar>)? = nil, batches: MiniBatches<Scalar>? = nil,
        from url: URL
    ) throws(PerceptronError) -> [String: String] {
        try CheckpointParts(model: model, optimizer: optimizer, schedule: schedule, batches: batches)
            .restore(from: url)
    }

    /// Sets a training run on ``RegressionBatches`` to the state saved at
    /// `url`: the same as
    /// ``restore(model:optimizer:schedule:batches:from:)-(_,_,_,MiniBatches<Scalar>?,_)``
    /// with these batches.
    ///
    /// - Returns: the `state` saved.
    /// - Throws: as the other `restore`.
    @discardableResult
    public static func restore<Scalar: BLASScalar>(
        model: some Layer<Scalar>, optimizer: some Optimizer<Scalar>,
        schedule: (any LearningRateSchedule<Scalar>)? = nil, batches: RegressionBatches<Scalar>,
        from url: URL
    ) throws(PerceptronError) -> [String: String] {
        try CheckpointParts(model: model, optimizer: optimizer, schedule: schedule, batches: batches)
            .restore(from: url)
    }
}

/// The objects a checkpoint saves and restores, and the two operations.
struct CheckpointParts<Scalar: BLASScalar> {
    var model: any Layer<Scalar>
    var optimizer: any Optimizer<Scalar>
    var schedule: (any LearningRateSchedule<Scalar>)?
    var batches: (any CheckpointableBatches)?

    /// The tensors and metadata a save writes, but the user's strings.
    func writer() throws(PerceptronError) -> CheckpointWriter<Scalar> {
        var writer = CheckpointWriter<Scalar>()
        try ModelCheckpoint.record(model, into: &writer)
        try ArchitectureCheckpoint.record(model, into: &writer)
        try OptimizerCheckpoint.record(optimizer, of: model, into: &writer)
        if let schedule { try ScheduleCheckpoint.record(schedule, of: optimizer, into: &writer) }
        if let batches { BatchesCheckpoint.record(batches, into: &writer) }
        return writer
    }

    /// The file a save writes, with `state` as the user's strings.
    func file(state: [String: String]) throws(PerceptronError) -> SafeTensors<Scalar> {
        try writer().file(state: state)
    }

    /// Writes the checkpoint atomically to `url`; for a model of several
    /// replicas, with every replica taking part (``save(replicas:state:to:using:)``).
    ///
    /// - Parameter systemWrite: the write call, as ``writeAtomically(_:to:using:)``
    ///   takes it; `nil` for the system's.
    func save(state: [String: String], to url: URL, using systemWrite: POSIXWrite? = nil) throws(PerceptronError) {
        if let replicas {
            try save(replicas: replicas, state: state, to: url, using: systemWrite)
        } else {
            try write(file(state: state), to: url, using: systemWrite)
        }
    }

    /// Writes `file` atomically to `url`.
    func write(_ file: SafeTensors<Scalar>, to url: URL, using systemWrite: POSIXWrite?) throws(PerceptronError) {
        let data = try file.safeTensorsData()
        if let systemWrite {
            try writeAtomically(data, to: url, using: systemWrite)
        } else {
            try writeAtomically(data, to: url)
        }
    }

    /// Reads the checkpoint at `url`, checks every part against the objects,
    /// and only then sets them; returns the user's strings. For a model of
    /// several replicas, every replica takes part (``restore(replicas:from:)``).
    func restore(from url: URL) throws(PerceptronError) -> [String: String] {
        if let replicas { return try restore(replicas: replicas, from: url) }
        let prepared = try prepareRestore(from: url, replica: 0, of: 1)
        prepared.apply()
        return prepared.state
    }

    /// Reads the checkpoint at `url` and checks every part against the
    /// objects, the model being replica `replica` of `replicas`, changing
    /// nothing; returns what sets the objects to it, the user's strings and
    /// the file read.
    func prepareRestore(
        from url: URL, replica: Int, of replicas: Int
    ) throws(PerceptronError) -> (apply: () -> Void, state: [String: String], file: SafeTensors<Scalar>) {
        let path = try POSIXFile.path(of: url)
        let file = try SafeTensors<Scalar>(contentsOf: url)
        var reader = try CheckpointReader(file, path: path)
        let restoreModel = try ModelCheckpoint.prepareRestore(model, replica: replica, of: replicas, from: &reader)
        let restoreOptimizer = try OptimizerCheckpoint.prepareRestore(optimizer, of: model, from: &reader)
        try ArchitectureCheckpoint.check(model, in: &reader)
        let restoreSchedule = try ScheduleCheckpoint.prepareRestore(schedule, of: optimizer, from: &reader)
        let restoreBatches = try BatchesCheckpoint.prepareRestore(batches, from: &reader)
        let state = reader.userState()
        try reader.checkEverythingRead()
        let apply = {
            restoreModel()
            restoreOptimizer()
            restoreSchedule()
            restoreBatches()
        }
        return (apply, state, file)
    }
}
