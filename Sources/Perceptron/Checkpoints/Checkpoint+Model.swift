// The model's part of a checkpoint: its parameters, as the tensors
// `model.<name>` (PyTorch's state_dict names behind a prefix), and the state
// of every random generator its layers own, as the metadata
// `model.<path>.layer` (which layer owns it) and `model.<path>.generator`.
//
// A model that K > 1 processes train together (a `ReplicatedModel`) shares
// its parameters, but each replica's generators are its own: they draw the
// masks of its own part of every batch, and parts differ in size. So such a
// checkpoint also holds `model.replicas` (K), and replica r's generators,
// for r in 1..<K, as `model.<path>.generator.replica<r>` beside replica 0's.

/// A layer that owns random generators a checkpoint must save and restore:
/// ``Dropout``; ``Sequential``, whose layers may; and PerceptronDistributed's
/// `DataParallel`, whose wrapped model may.
package protocol RandomGeneratorOwner: AnyObject {
    /// Calls `body` for each layer within that owns a generator, in a fixed
    /// order, with the layer's path (`path` itself for this layer, then
    /// ``Sequential`` positions joined by dots: `3.1` is layer 1 of the
    /// ``Sequential`` at position 3 of the model), a description of the layer,
    /// and its generator, to read or replace.
    func forEachGenerator(
        path: String,
        _ body: (_ path: String, _ layer: String, _ generator: inout SeededRandomNumberGenerator) throws(PerceptronError) -> Void
    ) throws(PerceptronError)
}

extension Dropout: RandomGeneratorOwner {
    package func forEachGenerator(
        path: String,
        _ body: (_ path: String, _ layer: String, _ generator: inout SeededRandomNumberGenerator) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        try body(path, "Dropout(probability: \(probability))", &generator)
    }
}

extension Sequential: RandomGeneratorOwner {
    package func forEachGenerator(
        path: String,
        _ body: (_ path: String, _ layer: String, _ generator: inout SeededRandomNumberGenerator) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        for index in 0..<layers.count {
            guard let owner = layers[index] as? any RandomGeneratorOwner else { continue }
            try owner.forEachGenerator(path: checkpointKey(path, "\(index)"), body)
        }
    }
}

/// Saving and restoring a model's part of a checkpoint.
enum ModelCheckpoint {
    /// Records `model`'s parameters and generators (this replica's, for a replicated model).
    static func record<Scalar: BLASScalar>(_ model: any Layer<Scalar>, into writer: inout CheckpointWriter<Scalar>) throws(PerceptronError) {
        try model.forEachParameter { name, value, _ in writer.set(tensor: value, named: "model." + name) }
        for owned in try generators(of: model) {
            writer.set(checkpointKey("model", owned.path, "layer"), owned.layer)
            writer.set(generatorKey(owned.path, replica: 0), generator: owned.generator)
        }
    }

    /// Records the number of replicas and the generators of replicas 1 and
    /// up: `everyReplica[r]` is replica r's generators' state words, as
    /// ``generators(of:)`` lists them, four a generator.
    static func recordReplicas<Scalar: BLASScalar>(
        _ everyReplica: [[UInt64]], of model: any Layer<Scalar>, into writer: inout CheckpointWriter<Scalar>
    ) throws(PerceptronError) {
        writer.set("model.replicas", everyReplica.count)
        let owned = try generators(of: model)
        for replica in 1..<everyReplica.count {
            for (index, generator) in owned.enumerated() {
                let words = Array(everyReplica[replica][(4 * index)..<(4 * index + 4)])
                writer.set(generatorKey(generator.path, replica: replica), generator: try SeededRandomNumberGenerator(state: words))
            }
        }
    }

    /// The metadata keys of this replica's generators, which differ from one
    /// replica to the next.
    static func generatorKeys<Scalar: BLASScalar>(of model: any Layer<Scalar>) throws(PerceptronError) -> Set<String> {
        Set(try generators(of: model).map { generatorKey($0.path, replica: 0) })
    }

    /// `model`'s generators, in ``RandomGeneratorOwner``'s order: each with
    /// its path and its layer's description.
    static func generators<Scalar: BLASScalar>(
        of model: any Layer<Scalar>
    ) throws(PerceptronError) -> [(path: String, layer: String, generator: SeededRandomNumberGenerator)] {
        var owned: [(path: String, layer: String, generator: SeededRandomNumberGenerator)] = []
        try forEachGenerator(of: model) { path, layer, generator in owned.append((path, layer, generator)) }
        return owned
    }

    /// Reads `model`'s part of the checkpoint and checks it against `model`,
    /// as replica `replica` of `replicas`, changing nothing; returns what
    /// sets the model to it.
    ///
    /// The number of replicas must be the checkpoint's. The model's
    /// parameters and generator-owning layers are compared in the model's
    /// order, so the first difference named is the first one the model has;
    /// then anything the checkpoint has beyond them. Every replica's
    /// generators are read and checked; the model gets its own.
    static func prepareRestore<Scalar: BLASScalar>(
        _ model: any Layer<Scalar>, replica: Int = 0, of replicas: Int = 1, from reader: inout CheckpointReader<Scalar>
    ) throws(PerceptronError) -> () -> Void {
        try reader.expect(
            "the number of processes training the model", saved: reader.optionalString("model.replicas") ?? "1",
            actual: "\(replicas)")
        var parameters: [Tensor<Scalar>] = []
        try model.forEachParameter { name, value, _ throws(PerceptronError) in
            guard let saved = reader.optionalTensor("model." + name) else {
                throw reader.mismatch("the model's parameter \(name)", saved: "absent", actual: "of shape \(value.shape)")
            }
            try reader.expect("the shape of the model's parameter \(name)", saved: "\(saved.shape)", actual: "\(value.shape)")
            parameters.append(saved)
        }
        if let extra = reader.unreadTensors(prefix: "model.").first {
            throw reader.mismatch(
                "the model's parameter \(extra.dropFirst("model.".count))",
                saved: "of shape \(try reader.tensor(extra).shape)", actual: "absent")
        }

        var generators: [SeededRandomNumberGenerator] = []
        try forEachGenerator(of: model) { path, layer, _ throws(PerceptronError) in
            guard let saved = reader.optionalString(checkpointKey("model", path, "layer")) else {
                throw reader.mismatch(describing(path), saved: "a layer without a random generator", actual: layer)
            }
            try reader.expect(describing(path), saved: saved, actual: layer)
            for other in 0..<replicas {
                let generator = try reader.generator(generatorKey(path, replica: other))
                if other == replica { generators.append(generator) }
            }
        }
        if let extra = reader.unreadKeys(prefix: "model.", suffix: ".layer").first {
            let path = extra == "model.layer" ? "" : String(extra.dropFirst("model.".count).dropLast(".layer".count))
            throw reader.mismatch(
                describing(path), saved: try reader.string(extra), actual: "a layer without a random generator")
        }

        return {
            var index = 0
            try? model.forEachParameter { _, value, _ in
                value = parameters[index]
                index += 1
            }
            index = 0
            try? forEachGenerator(of: model) { _, _, generator in
                generator = generators[index]
                index += 1
            }
        }
    }

    /// Calls `body` for each generator `model`'s layers own, as ``RandomGeneratorOwner`` describes.
    private static func forEachGenerator<Scalar: BLASScalar>(
        of model: any Layer<Scalar>,
        _ body: (_ path: String, _ layer: String, _ generator: inout SeededRandomNumberGenerator) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        guard let owner = model as? any RandomGeneratorOwner else { return }
        try owner.forEachGenerator(path: "", body)
    }

    /// The key of the state of replica `replica`'s generator at `path`:
    /// `model.<path>.generator` for replica 0 (and a model of one replica),
    /// `model.<path>.generator.replica<r>` for the others.
    private static func generatorKey(_ path: String, replica: Int) -> String {
        checkpointKey("model", path, "generator", replica == 0 ? "" : "replica\(replica)")
    }

    /// "the model's layer 3.1", or "the model itself" for the empty path.
    private static func describing(_ path: String) -> String {
        path.isEmpty ? "the model itself" : "the model's layer \(path)"
    }
}
