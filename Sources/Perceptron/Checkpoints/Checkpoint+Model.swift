// The model's part of a checkpoint: its parameters, as the tensors
// `model.<name>` (PyTorch's state_dict names behind a prefix), and the state
// of every random generator its layers own, as the metadata
// `model.<path>.layer` (which layer owns it) and `model.<path>.generator`.

/// A layer that owns random generators a checkpoint must save and restore:
/// ``Dropout``, and ``Sequential``, whose layers may.
protocol RandomGeneratorOwner: AnyObject {
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
    func forEachGenerator(
        path: String,
        _ body: (_ path: String, _ layer: String, _ generator: inout SeededRandomNumberGenerator) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        try body(path, "Dropout(probability: \(probability))", &generator)
    }
}

extension Sequential: RandomGeneratorOwner {
    func forEachGenerator(
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
    /// Records `model`'s parameters and generators.
    static func record<Scalar: BLASScalar>(_ model: any Layer<Scalar>, into writer: inout CheckpointWriter<Scalar>) throws(PerceptronError) {
        try model.forEachParameter { name, value, _ in writer.set(tensor: value, named: "model." + name) }
        try forEachGenerator(of: model) { path, layer, generator in
            writer.set(checkpointKey("model", path, "layer"), layer)
            writer.set(checkpointKey("model", path, "generator"), generator: generator)
        }
    }

    /// Reads `model`'s part of the checkpoint and checks it against `model`,
    /// changing nothing; returns what sets the model to it.
    ///
    /// The model's parameters and generator-owning layers are compared in
    /// the model's order, so the first difference named is the first one
    /// the model has; then anything the checkpoint has beyond them.
    static func prepareRestore<Scalar: BLASScalar>(
        _ model: any Layer<Scalar>, from reader: inout CheckpointReader<Scalar>
    ) throws(PerceptronError) -> () -> Void {
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
            generators.append(try reader.generator(checkpointKey("model", path, "generator")))
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

    /// "the model's layer 3.1", or "the model itself" for the empty path.
    private static func describing(_ path: String) -> String {
        path.isEmpty ? "the model itself" : "the model's layer \(path)"
    }
}
