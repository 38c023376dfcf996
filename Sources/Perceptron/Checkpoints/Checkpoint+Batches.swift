// The batches' part of a checkpoint, as metadata (`batches.*`): their type
// and layout, which a restore requires to match; the generator that draws
// the next order; and, while a pass is under way, the generator as it was
// before that pass and the number of batches it has handed out, so that a
// restore continues the pass where it stopped.
//
// Sharded batches (`shard: r, of: k`) also record k, as `batches.shardCount`
// when it is more than 1. Their shard r is not recorded: every process draws
// the same orders and stands at the same batch, so one process's checkpoint
// restores into every process's batches, each keeping its own part.

/// Batches whose order a checkpoint saves and restores: ``MiniBatches`` and ``RegressionBatches``.
protocol CheckpointableBatches: AnyObject {
    /// The generator, the layout and the pass under way.
    var order: BatchOrder { get set }

    /// The number of parts every batch is cut into (1 for whole batches).
    var shardCount: Int { get }
}

extension MiniBatches: CheckpointableBatches {
    var shardCount: Int { shard.count }
}

extension RegressionBatches: CheckpointableBatches {
    var shardCount: Int { shard.count }
}

/// Saving and restoring the batches' part of a checkpoint.
enum BatchesCheckpoint {
    /// Records `batches`' layout, generator and pass under way.
    static func record<Scalar: BLASScalar>(_ batches: any CheckpointableBatches, into writer: inout CheckpointWriter<Scalar>) {
        let order = batches.order
        writer.set("batches", checkpointTypeName(of: batches))
        for (name, value) in layout(of: order) { writer.set("batches." + name, value) }
        if batches.shardCount > 1 { writer.set("batches.shardCount", batches.shardCount) }
        let (generator, pass) = order.savedState
        writer.set("batches.generator", generator: generator)
        if let pass {
            writer.set("batches.pass.generator", generator: pass.generatorBeforePass)
            writer.set("batches.pass.batches", pass.batchesHandedOut)
        }
    }

    /// Reads the batches' part of the checkpoint (there must be one exactly
    /// when `batches` is not `nil`) and checks it against `batches`,
    /// changing nothing; returns what sets the batches to it.
    static func prepareRestore<Scalar: BLASScalar>(
        _ batches: (any CheckpointableBatches)?, from reader: inout CheckpointReader<Scalar>
    ) throws(PerceptronError) -> () -> Void {
        let saved = reader.optionalString("batches") ?? "none"
        guard let batches else {
            try reader.expect("the kind of batches", saved: saved, actual: "none")
            return {}
        }
        try reader.expect("the kind of batches", saved: saved, actual: checkpointTypeName(of: batches))
        let order = batches.order
        for (name, value) in layout(of: order) {
            try reader.expect("the batches' \(name)", saved: reader.string("batches." + name), actual: value)
        }
        try reader.expect(
            "the batches' shardCount", saved: reader.optionalString("batches.shardCount") ?? "1",
            actual: "\(batches.shardCount)")
        let generator = try reader.generator("batches.generator")
        var pass: BatchOrder.PassProgress?
        if reader.optionalString("batches.pass.batches") != nil {
            let handedOut = try reader.count("batches.pass.batches")
            guard handedOut <= order.batchCount else {
                throw reader.invalid(
                    "the metadata \"batches.pass.batches\" is \(handedOut), but a pass has \(order.batchCount) batches")
            }
            pass = BatchOrder.PassProgress(
                generatorBeforePass: try reader.generator("batches.pass.generator"), batchesHandedOut: handedOut)
        }
        return { batches.order.restore(generator: generator, passUnderWay: pass) }
    }

    /// What the batches were created with, but the seed: a restore replaces the generator.
    private static func layout(of order: BatchOrder) -> [(name: String, value: String)] {
        [("rows", "\(order.rowCount)"), ("batchSize", "\(order.batchSize)"), ("shuffle", "\(order.shuffle)"),
         ("dropLast", "\(order.visitedCount < order.rowCount)")]
    }
}
