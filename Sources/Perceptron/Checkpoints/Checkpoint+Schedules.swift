// The schedule's part of a checkpoint, as metadata (`schedule.*`): its type,
// base learning rate and settings, which a restore requires to match, and
// its step count, which a restore sets.

/// A schedule whose position a checkpoint saves and restores: ``StepLR``,
/// ``CosineAnnealingLR`` and ``LinearWarmup``.
protocol CheckpointableSchedule<Scalar>: LearningRateSchedule {
    associatedtype Scalar

    /// The optimizer driven, the base rate, the rule and the step count.
    var state: ScheduleState<Scalar> { get set }

    /// The settings fixed when the schedule was created, by name, as text.
    var fixedSettings: [(name: String, value: String)] { get }
}

extension StepLR: CheckpointableSchedule {
    var fixedSettings: [(name: String, value: String)] { [("stepSize", "\(stepSize)"), ("gamma", "\(gamma)")] }
}

extension CosineAnnealingLR: CheckpointableSchedule {
    var fixedSettings: [(name: String, value: String)] {
        [("periodLength", "\(periodLength)"), ("minimumLearningRate", "\(minimumLearningRate)")]
    }
}

extension LinearWarmup: CheckpointableSchedule {
    var fixedSettings: [(name: String, value: String)] { [("steps", "\(steps)"), ("startFactor", "\(startFactor)")] }
}

/// Saving and restoring a schedule's part of a checkpoint.
enum ScheduleCheckpoint {
    /// Records `schedule`, which must drive `optimizer`.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a schedule of another type than the library's, or one that
    ///   drives another optimizer.
    static func record<Scalar: BLASScalar>(
        _ schedule: any LearningRateSchedule<Scalar>, of optimizer: any Optimizer<Scalar>,
        into writer: inout CheckpointWriter<Scalar>
    ) throws(PerceptronError) {
        let schedule = try checkpointable(schedule, of: optimizer)
        writer.set("schedule", checkpointTypeName(of: schedule))
        writer.set("schedule.baseLearningRate", baseRate(of: schedule))
        for (name, value) in schedule.fixedSettings { writer.set("schedule." + name, value) }
        writer.set("schedule.stepCount", schedule.state.stepCount)
    }

    /// Reads the schedule's part of the checkpoint (there must be one
    /// exactly when `schedule` is not `nil`) and checks it against
    /// `schedule`, changing nothing; returns what sets the schedule's step count.
    ///
    /// The optimizer's learning rate is the optimizer's part: it is restored
    /// as it was saved.
    static func prepareRestore<Scalar: BLASScalar>(
        _ schedule: (any LearningRateSchedule<Scalar>)?, of optimizer: any Optimizer<Scalar>,
        from reader: inout CheckpointReader<Scalar>
    ) throws(PerceptronError) -> () -> Void {
        let saved = reader.optionalString("schedule") ?? "none"
        guard let given = schedule else {
            try reader.expect("the schedule", saved: saved, actual: "none")
            return {}
        }
        let schedule = try checkpointable(given, of: optimizer)
        try reader.expect("the schedule", saved: saved, actual: checkpointTypeName(of: schedule))
        try reader.expect(
            "the schedule's base learning rate", saved: reader.string("schedule.baseLearningRate"),
            actual: baseRate(of: schedule))
        for (name, value) in schedule.fixedSettings {
            try reader.expect("the schedule's \(name)", saved: reader.string("schedule." + name), actual: value)
        }
        let steps = try reader.count("schedule.stepCount")
        return { schedule.state.stepCount = steps }
    }

    /// The base rate in the optimizer's precision, in which it was the
    /// optimizer's rate: the shortest text for it.
    private static func baseRate<Scalar: BLASScalar>(of schedule: any CheckpointableSchedule<Scalar>) -> String {
        "\(Scalar(schedule.state.baseLearningRate))"
    }

    private static func checkpointable<Scalar: BLASScalar>(
        _ schedule: any LearningRateSchedule<Scalar>, of optimizer: any Optimizer<Scalar>
    ) throws(PerceptronError) -> any CheckpointableSchedule<Scalar> {
        guard let checkpointable = schedule as? any CheckpointableSchedule<Scalar> else {
            throw .invalidArgument(
                name: "schedule", expected: "StepLR, CosineAnnealingLR or LinearWarmup, whose position a checkpoint saves",
                actual: checkpointTypeName(of: schedule))
        }
        guard checkpointable.state.optimizer === optimizer else {
            throw .invalidArgument(
                name: "schedule", expected: "the schedule of the optimizer given", actual: "a schedule driving another optimizer")
        }
        return checkpointable
    }
}
