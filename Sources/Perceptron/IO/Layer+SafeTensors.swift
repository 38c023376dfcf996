import Foundation

// Saving and loading a model as one safetensors file in PyTorch's layout:
// the keys and shapes of `state_dict()` for the same architecture, so that
// `load_state_dict(safetensors.torch.load_file(path))` takes it as it is, and
// the architecture in the metadata. Which parameters PyTorch stores
// transposed is LayerDescription's to say (parameterLayouts); everything
// here goes through it.

extension Layer {
    /// Writes the model to one safetensors file at `url`, in PyTorch's
    /// layout: the tensors are those of PyTorch's `state_dict()` for the same
    /// architecture, with the same names and shapes, so that
    ///
    /// ```python
    /// model.load_state_dict(safetensors.torch.load_file("model.safetensors"))
    /// ```
    ///
    /// loads it into the matching `torch.nn` model with no code in between.
    ///
    /// A ``Linear`` weight is written as `nn.Linear` holds it, `[out, in]`:
    /// the transpose of the `[f, m]` ``Linear/weight``. Biases and
    /// ``LayerNorm``'s `weight` and `bias` are written as they are. Names are
    /// those ``Layer/forEachParameter(_:)`` gives (`0.weight`, `2.1.bias`
    /// inside ``Sequential``s). A layer of a type of your own is saved too:
    /// its parameters under its names, as it holds them.
    ///
    /// Tensors are F32 for `Float` and F64 for `Double`. The metadata holds
    /// `"format": "pt"`, as `safetensors.torch.save_file` writes it, and the
    /// architecture (every layer's type, sizes and hyperparameters) under
    /// `"perceptron.architecture"`, from which ``Sequential/init(contentsOf:)``
    /// rebuilds the model and with which ``load(from:)`` checks that a file
    /// fits; <doc:InteroperatingWithNumpyAndPyTorch> describes its format.
    /// A ``Linear``'s ``Linear/precision`` is how it computes, not a
    /// parameter, and is not recorded, as a `state_dict` does not record
    /// PyTorch's autocast; ``load(from:)`` keeps the model's own.
    ///
    /// The file is replaced atomically: a reader, or the file after a crash,
    /// sees the old file or the new one, never a part of either.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for two parameters of one name, a parameter named `__metadata__`, a
    ///   missing parameter, or a hyperparameter that is NaN or infinite;
    ///   ``PerceptronError/shapeMismatch(what:expected:actual:)`` for a
    ///   parameter whose shape is not its layer's (a ``Linear/weight``
    ///   assigned another shape); ``PerceptronError/fileError(path:operation:reason:)``
    ///   when the file cannot be written, leaving any previous file intact.
    public func save(to url: URL) throws(PerceptronError) {
        try pyTorchFile().write(to: url)
    }

    /// Replaces every parameter with the tensor of its name in the
    /// safetensors file at `url`, written by ``save(to:)`` or by PyTorch
    /// (`safetensors.torch.save_file(model.state_dict(), path)`): the file is
    /// read in PyTorch's layout, so a ``Linear`` weight `[out, in]` is
    /// transposed to the `[f, m]` of ``Linear/weight``.
    ///
    /// Tensors of any dtype ``SafeTensors`` reads (F32, F64, F16, BF16) are
    /// converted to the model's precision.
    ///
    /// When the file records an architecture (``save(to:)`` writes one), it
    /// must be the model's, layer by layer: the same types, sizes and
    /// hyperparameters (in the model's precision). A file written by PyTorch
    /// records none, and is loaded by names and shapes alone: every
    /// parameter must have a tensor of its name, of exactly the shape PyTorch
    /// gives it (`[out, in]` for a ``Linear`` weight), and the file may hold
    /// nothing else, as PyTorch's strict `load_state_dict` requires. Because
    /// the layout is fixed, never guessed from a shape, a square weight loads
    /// as the right matrix and not its transpose; a file with a non-square
    /// weight in Perceptron's `[f, m]` layout (written with
    /// ``namedParameters``, say) is refused, naming the shape it should have.
    ///
    /// Everything is read and checked before any parameter changes, so an
    /// error leaves the model as it was.
    ///
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` and
    ///   ``PerceptronError/invalidSafeTensors(path:reason:)`` for a file that
    ///   cannot be read as safetensors; ``PerceptronError/invalidModelFile(path:reason:)``
    ///   when its recorded architecture is malformed or disagrees with its
    ///   tensors; ``PerceptronError/modelMismatch(path:difference:)`` naming
    ///   the first difference between the file and the model: a layer, a
    ///   missing tensor, a tensor of the wrong shape, or tensors the model has
    ///   no parameter for.
    public func load(from url: URL) throws(PerceptronError) {
        let path = try POSIXFile.path(of: url)
        try load(SafeTensors<Scalar>(contentsOf: url), source: path)
    }

    /// The contents of the file ``save(to:)`` writes.
    func pyTorchFile() throws(PerceptronError) -> SafeTensors<Scalar> {
        let description = LayerDescription(describing: self)
        let layouts = Dictionary(description.parameterLayouts().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var tensors: [String: Tensor<Scalar>] = [:]
        try forEachParameter { name, value, _ throws(PerceptronError) in
            guard tensors[name] == nil else {
                throw .invalidArgument(
                    name: "the parameter names", expected: "unique, to be saved as one file", actual: "\(name) twice")
            }
            guard let layout = layouts[name] else {
                tensors[name] = value   // a layer of the user's own: as it holds it
                return
            }
            guard value.hasShape(layout.shape) else {
                throw .shapeMismatch(what: "parameter \(name) of \(layout.owner)", expected: layout.shape, actual: value.shape)
            }
            tensors[name] = layout.isTransposedInPyTorch ? value.transposedMatrix() : value
        }
        if let missing = layouts.values.filter({ tensors[$0.name] == nil }).map(\.name).min() {
            throw .invalidArgument(
                name: "parameter \(missing)", expected: "present, as its \(layouts[missing]!.owner) needs it", actual: "none")
        }
        let metadata = ["format": "pt", ArchitectureFormat.metadataKey: try ArchitectureFormat.text(of: description, as: Scalar.self)]
        return SafeTensors(tensors: tensors, metadata: metadata)
    }

    /// ``load(from:)`` for a file already read; `source` names it in errors.
    func load(_ file: SafeTensors<Scalar>, source: String) throws(PerceptronError) {
        let model = LayerDescription(describing: self)
        let recorded: LayerDescription?
        do {
            recorded = try ArchitectureFormat.description(in: file.metadata)
        } catch {
            throw .invalidModelFile(path: source, reason: ArchitectureFormatError.inMetadata(error.reason))
        }
        if let recorded, let difference = recorded.rounded(to: Scalar.self).firstDifference(from: model, as: Scalar.self) {
            throw .modelMismatch(path: source, difference: difference)
        }
        var parameters: [(name: String, shape: [Int])] = []
        try forEachParameter { name, value, _ in parameters.append((name, value.shape)) }
        let layouts = Dictionary(model.parameterLayouts().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // A layer of the user's own has no layout of the library's: its parameters are as it holds them.
        let wanted = parameters.map {
            layouts[$0.name] ?? ParameterLayout(name: $0.name, shape: $0.shape, isTransposedInPyTorch: false, owner: "")
        }
        let values = try file.parameters(wanted, checkedAgainst: recorded == nil ? .model : .architecture, source: source)
        try forEachParameter { name, value, _ in value = values[name]! }
    }
}

/// What a model file's tensors are checked against, for the error a disagreement throws.
enum ModelFileCheck {
    /// The model's parameters, when the file records no architecture: a
    /// disagreement is a ``PerceptronError/modelMismatch(path:difference:)``.
    case model
    /// The architecture the file records (which the model shares, if there is
    /// one): a disagreement is a ``PerceptronError/invalidModelFile(path:reason:)``.
    case architecture
}

extension SafeTensors {
    /// The tensors for every parameter of `layouts`, checked and converted
    /// to Perceptron's layout: each present, of its PyTorch shape, and
    /// nothing else in the file. `source` names the file in errors.
    func parameters(
        _ layouts: [ParameterLayout], checkedAgainst check: ModelFileCheck, source: String
    ) throws(PerceptronError) -> [String: Tensor<Scalar>] {
        func disagreement(_ text: String) -> PerceptronError {
            switch check {
            case .model: return .modelMismatch(path: source, difference: text)
            case .architecture: return .invalidModelFile(path: source, reason: "its tensors disagree with its architecture: " + text)
            }
        }
        var converted: [String: Tensor<Scalar>] = [:]
        converted.reserveCapacity(layouts.count)
        for layout in layouts {
            let what = layout.owner.isEmpty ? "the parameter \(layout.name)" : "the parameter \(layout.name) of \(layout.owner)"
            guard let tensor = tensors[layout.name] else {
                throw disagreement("it has no tensor \(JSONString.clipped(layout.name)) for \(what), of shape \(layout.pyTorchShape)")
            }
            guard tensor.hasShape(layout.pyTorchShape) else {
                var text = "tensor \(JSONString.clipped(layout.name)) has shape \(tensor.shape), but \(what) needs \(layout.pyTorchShape)"
                if layout.isTransposedInPyTorch {
                    text += ", PyTorch's [out, in]"
                    if tensor.shape == layout.shape {
                        text += " (the file holds it as [in, out], Perceptron's layout: read such a file with SafeTensors and loadParameters(_:))"
                    }
                }
                throw disagreement(text)
            }
            converted[layout.name] = layout.isTransposedInPyTorch ? tensor.transposedMatrix() : tensor
        }
        let extra = tensors.keys.filter { converted[$0] == nil }.sorted()
        guard extra.isEmpty else {
            let shown = extra.prefix(5).map { JSONString.clipped($0) }.joined(separator: ", ")
            throw disagreement(
                "it has \(extra.count == 1 ? "a tensor" : "\(extra.count) tensors") that no parameter of the model takes: "
                    + shown + (extra.count > 5 ? ", …" : ""))
        }
        return converted
    }
}

extension ArchitectureFormatError {
    /// `reason`, said of the architecture in a file's metadata.
    static func inMetadata(_ reason: String) -> String {
        "its architecture (\"\(ArchitectureFormat.metadataKey)\" in the metadata) is invalid: \(reason)"
    }
}
