import Foundation

extension Sequential {
    /// Rebuilds the model that ``Layer/save(to:)`` wrote to the safetensors
    /// file at `url`, from the file alone: its layers from the architecture
    /// the metadata records, their parameters from its tensors (in PyTorch's
    /// layout, converted to Perceptron's and to `Scalar`).
    ///
    /// ```swift
    /// try model.save(to: url)
    /// let copy = try Sequential<Float>(contentsOf: url)   // the same layers and parameters
    /// ```
    ///
    /// Files written by PyTorch record no architecture (a `state_dict` holds
    /// tensors only), so they cannot be rebuilt: build the model in code and
    /// call ``Layer/load(from:)``. Nor can a model with a layer of a type of
    /// your own, which only your code can build; ``Layer/load(from:)`` loads
    /// such a file into a model built in code. Each ``Dropout``'s mask
    /// generator is seeded afresh (from a ``SeededRandomNumberGenerator``
    /// seeded with 0, one draw per ``Dropout`` in order): a file holds
    /// parameters, not generator states. Nor does it hold how a layer
    /// computes: every ``Linear`` of the rebuilt model has ``Linear/precision``
    /// ``Precision/float32``; set ``precision`` to compute in bfloat16 again.
    ///
    /// Every tensor is checked against the architecture (each present, of the
    /// shape it says, and no other) before any layer is built, so a file whose
    /// metadata claims large layers cannot make the model allocate more than
    /// the tensors the file holds.
    ///
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` and
    ///   ``PerceptronError/invalidSafeTensors(path:reason:)`` for a file that
    ///   cannot be read as safetensors; ``PerceptronError/invalidModelFile(path:reason:)``
    ///   when it records no architecture, a malformed one, one whose model is
    ///   not a ``Sequential``, one with a layer type Perceptron does not build
    ///   (naming the type), or one its tensors disagree with.
    public convenience init(contentsOf url: URL) throws(PerceptronError) {
        let path = try POSIXFile.path(of: url)
        try self.init(SafeTensors<Scalar>(contentsOf: url), source: path)
    }

    /// ``init(contentsOf:)`` for a file already read; `source` names it in errors.
    convenience init(_ file: SafeTensors<Scalar>, source: String) throws(PerceptronError) {
        let recorded: LayerDescription?
        do {
            recorded = try ArchitectureFormat.description(in: file.metadata)
        } catch {
            throw .invalidModelFile(path: source, reason: ArchitectureFormatError.inMetadata(error.reason))
        }
        guard let recorded else {
            throw .invalidModelFile(
                path: source,
                reason: "it records no architecture (no \"\(ArchitectureFormat.metadataKey)\" in its metadata; "
                    + "files written by PyTorch have none): build the model in code and load the file with load(from:)")
        }
        guard case let .sequential(layers) = recorded else {
            throw .invalidModelFile(
                path: source, reason: "its model is a \(recorded.summary(as: Scalar.self)), not a Sequential")
        }
        if let (position, typeName) = recorded.firstOtherLayer {
            throw .invalidModelFile(
                path: source,
                reason: "its layer \(position) has the type \(LayerDescription.shown(typeName)), which Perceptron "
                    + "does not build (it builds \(LayerDescription.libraryTypeNames.joined(separator: ", "))): "
                    + "build the model in code and load the file with load(from:)")
        }
        let parameters = try file.parameters(recorded.parameterLayouts(), checkedAgainst: .architecture, source: source)
        var dropoutSeeds = SeededRandomNumberGenerator(seed: 0)
        var built: [any Layer<Scalar>] = []
        built.reserveCapacity(layers.count)
        for (index, layer) in layers.enumerated() {
            do {
                built.append(try layer.makeLayer(parameters: parameters, prefix: "\(index).", dropoutSeeds: &dropoutSeeds))
            } catch {
                // Checked above, but for a probability just below 1 that rounds to 1 in Float.
                throw .invalidModelFile(path: source, reason: "its layer \(index) cannot be built: \(error)")
            }
        }
        self.init(built)
    }
}
