// The optimizer's part of a checkpoint: its type, learning rate and fixed
// settings, Adam's step count as metadata (`optimizer.*`), and the buffers it
// keeps per parameter as the tensors `optimizer.<parameter>.<buffer>`, with
// PyTorch's names for them (`exp_avg`, `exp_avg_sq`, `momentum_buffer`).

/// An optimizer whose state a checkpoint saves and restores: ``SGD`` and ``Adam``.
protocol CheckpointableOptimizer<Scalar>: Optimizer {
    associatedtype Scalar

    /// The names of the buffers kept per parameter, in ``OptimizerState``'s
    /// order, as PyTorch's `state_dict` names them.
    static var bufferNames: [String] { get }

    /// The settings fixed when the optimizer was created, by name, as text:
    /// a restore requires them to be the checkpoint's.
    var fixedSettings: [(name: String, value: String)] { get }

    /// The buffers kept per parameter.
    var state: OptimizerState<Scalar> { get set }

    /// The number of steps taken, for an optimizer whose update depends on
    /// it (Adam's bias corrections); `nil` for one whose update does not.
    var countedSteps: Int? { get set }
}

extension Adam: CheckpointableOptimizer {
    static var bufferNames: [String] { ["exp_avg", "exp_avg_sq"] }

    var fixedSettings: [(name: String, value: String)] {
        [("beta1", "\(beta1)"), ("beta2", "\(beta2)"), ("epsilon", "\(epsilon)"),
         ("weightDecay", "\(weightDecay)"), ("decoupledWeightDecay", "\(decoupledWeightDecay)")]
    }

    var countedSteps: Int? {
        get { stepCount }
        set { if let newValue { stepCount = newValue } }
    }
}

extension SGD: CheckpointableOptimizer {
    static var bufferNames: [String] { ["momentum_buffer"] }

    var fixedSettings: [(name: String, value: String)] {
        [("momentum", "\(momentum)"), ("weightDecay", "\(weightDecay)"), ("nesterov", "\(nesterov)")]
    }

    var countedSteps: Int? {
        get { nil }
        set {}
    }
}

/// Saving and restoring an optimizer's part of a checkpoint.
enum OptimizerCheckpoint {
    /// Records `optimizer`'s state, which must be for `model` itself, the
    /// instance it stepped (or empty, before its first step).
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for an optimizer other than ``SGD`` and ``Adam``, or one whose state
    ///   is another model instance's, or no longer fits the model's parameters.
    static func record<Scalar: BLASScalar>(
        _ optimizer: any Optimizer<Scalar>, of model: any Layer<Scalar>, into writer: inout CheckpointWriter<Scalar>
    ) throws(PerceptronError) {
        let optimizer = try checkpointable(optimizer)
        writer.set("optimizer", checkpointTypeName(of: optimizer))
        writer.set("optimizer.learningRate", optimizer.learningRate)
        for (name, value) in optimizer.fixedSettings { writer.set("optimizer." + name, value) }
        if let steps = optimizer.countedSteps { writer.set("optimizer.stepCount", steps) }

        let state = optimizer.state
        guard !state.names.isEmpty else { return }
        guard state.belongs(to: model) else {
            throw notTheModelsOptimizer(
                state.model == nil
                    ? "an optimizer that has stepped another model instance, which no longer exists"
                    : "an optimizer that has stepped another model instance")
        }
        // The model it stepped, but its parameters may have changed since.
        let bufferNames = type(of: optimizer).bufferNames
        var index = 0
        try model.forEachParameter { name, value, _ throws(PerceptronError) in
            guard index < state.names.count else {
                throw notTheModelsOptimizer("an optimizer with state for \(state.names.count) parameters, not for \(name)")
            }
            guard state.names[index] == name else {
                throw notTheModelsOptimizer(
                    "an optimizer with state for parameter \(state.names[index]) at position \(index), where the model has \(name)")
            }
            let shape = state.buffers[index * bufferNames.count].shape
            guard shape == value.shape else {
                throw notTheModelsOptimizer(
                    "an optimizer with state of shape \(shape) for parameter \(name), which has shape \(value.shape)")
            }
            index += 1
        }
        guard index == state.names.count else {
            throw notTheModelsOptimizer("an optimizer with state for \(state.names.count) parameters, where the model has \(index)")
        }
        for (parameter, name) in state.names.enumerated() {
            for (offset, buffer) in bufferNames.enumerated() {
                writer.set(tensor: state.buffers[parameter * bufferNames.count + offset], named: "optimizer.\(name).\(buffer)")
            }
        }
    }

    /// Reads the optimizer's part of the checkpoint and checks it against
    /// `optimizer` and `model`, changing nothing; returns what sets the
    /// optimizer to it.
    ///
    /// The type and the fixed settings must be the checkpoint's; the
    /// learning rate, which schedules and training loops change, the step
    /// count and the buffers are restored, as the state of `model`: the
    /// optimizer then steps `model`, whichever model it stepped before.
    static func prepareRestore<Scalar: BLASScalar>(
        _ optimizer: any Optimizer<Scalar>, of model: any Layer<Scalar>, from reader: inout CheckpointReader<Scalar>
    ) throws(PerceptronError) -> () -> Void {
        let optimizer = try checkpointable(optimizer)
        try reader.expect("the optimizer", saved: reader.string("optimizer"), actual: checkpointTypeName(of: optimizer))
        let learningRate = try reader.scalar("optimizer.learningRate")
        for (name, value) in optimizer.fixedSettings {
            try reader.expect("the optimizer's \(name)", saved: reader.string("optimizer." + name), actual: value)
        }
        let steps = optimizer.countedSteps == nil ? nil : try reader.count("optimizer.stepCount")

        // The buffers of every parameter, or of none when saved before the first step.
        let bufferNames = type(of: optimizer).bufferNames
        var names: [String] = []
        var buffers: [Tensor<Scalar>] = []
        var missing: String?
        try model.forEachParameter { name, value, _ throws(PerceptronError) in
            names.append(name)
            for buffer in bufferNames {
                let key = "optimizer.\(name).\(buffer)"
                guard let tensor = reader.optionalTensor(key) else {
                    missing = missing ?? key
                    continue
                }
                guard tensor.hasShape(value.shape) else {
                    throw reader.invalid("the tensor \"\(key)\" has shape \(tensor.shape), but its parameter has \(value.shape)")
                }
                buffers.append(tensor)
            }
        }
        if let missing, !buffers.isEmpty {
            throw reader.invalid("it has the optimizer's state of some parameters but no tensor \"\(missing)\"")
        }
        let restored = buffers.isEmpty
            ? OptimizerState<Scalar>(buffersPerParameter: bufferNames.count)
            : OptimizerState(buffersPerParameter: bufferNames.count, names: names, buffers: buffers, for: model)
        return {
            optimizer.learningRate = learningRate
            optimizer.state = restored
            optimizer.countedSteps = steps
        }
    }

    /// `optimizer` as one whose state a checkpoint knows.
    private static func checkpointable<Scalar: BLASScalar>(
        _ optimizer: any Optimizer<Scalar>
    ) throws(PerceptronError) -> any CheckpointableOptimizer<Scalar> {
        guard let checkpointable = optimizer as? any CheckpointableOptimizer<Scalar> else {
            throw .invalidArgument(
                name: "optimizer", expected: "SGD or Adam, whose state a checkpoint saves",
                actual: checkpointTypeName(of: optimizer))
        }
        return checkpointable
    }

    /// The optimizer given is not the model's, as `actual` says.
    private static func notTheModelsOptimizer(_ actual: String) -> PerceptronError {
        .invalidArgument(
            name: "optimizer", expected: "the model's optimizer (one that has stepped this model instance, or none yet)",
            actual: actual)
    }
}
