// The model's architecture in a checkpoint: its ``LayerDescription`` (each
// layer's type, sizes and hyperparameters), as the JSON a model file records
// (``ArchitectureFormat``), in the metadata `model.architecture`. Parameter
// shapes and ``Dropout`` layers alone miss a layer without parameters that
// computes something else (GELU for ReLU) or another hyperparameter (a
// LayerNorm's epsilon); a layer type of the user's own is compared by its
// type name.

/// Saving and checking the architecture part of a checkpoint.
enum ArchitectureCheckpoint {
    /// The metadata key of the architecture's JSON.
    static var key: String { "model.architecture" }

    /// Records `model`'s architecture.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a hyperparameter that is NaN or infinite, which JSON has no number for.
    static func record<Scalar: BLASScalar>(_ model: any Layer<Scalar>, into writer: inout CheckpointWriter<Scalar>) throws(PerceptronError) {
        writer.set(key, try ArchitectureFormat.text(of: LayerDescription(describing: model), as: Scalar.self))
    }

    /// Checks the architecture the checkpoint records against `model`'s,
    /// throwing ``PerceptronError/checkpointMismatch(path:what:saved:actual:)``
    /// naming the first layer that differs.
    static func check<Scalar: BLASScalar>(_ model: any Layer<Scalar>, in reader: inout CheckpointReader<Scalar>) throws(PerceptronError) {
        let text = try reader.string(key)
        let saved: LayerDescription
        do {
            saved = try ArchitectureFormat.description(parsing: text)
        } catch {
            throw reader.invalid("its metadata \"\(key)\" is not an architecture: \(error.reason)")
        }
        let actual = LayerDescription(describing: model)
        guard let difference = saved.rounded(to: Scalar.self).firstDifferingLayer(from: actual, as: Scalar.self) else { return }
        throw reader.mismatch(
            difference.position.isEmpty ? "the model itself" : "the model's layer \(difference.position)",
            saved: difference.saved, actual: difference.actual)
    }
}
