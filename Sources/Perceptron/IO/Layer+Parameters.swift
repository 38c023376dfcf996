import Foundation

// Saving and loading a model's parameters as .npy files, one per parameter,
// named like PyTorch's state_dict keys: `0.weight.npy`, `0.bias.npy`, …
//
// A Linear layer's weight is stored as Perceptron holds it, f × m (inputs by
// outputs): the transpose of PyTorch's `nn.Linear.weight`, which is m × f.

extension Layer {
    /// Writes every parameter to `directory` (created if needed) as
    /// `<name>.npy`, a little-endian C-order array of the layer's precision
    /// that `numpy.load` reads.
    ///
    /// Each file is written atomically (a temporary file in the same
    /// directory, flushed, then renamed over the old one), so an error or a
    /// crash never leaves a half-written file; the set of files is written one
    /// by one.
    ///
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` when
    ///   the directory cannot be created or a file cannot be written.
    public func saveParameters(to directory: URL) throws(PerceptronError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .fileError(path: directory.path, operation: "create directory", reason: "\(error.localizedDescription)")
        }
        var files: [(URL, Data)] = []
        try forEachParameter { name, value, _ in
            files.append((Self.parameterFile(name, in: directory), value.npyData()))
        }
        for (url, data) in files {
            try writeAtomically(data, to: url)
        }
    }

    /// Reads every parameter from `<name>.npy` in `directory`, as written by
    /// ``saveParameters(to:)`` or by `numpy.save`.
    ///
    /// All files are read and checked before any parameter changes, so a
    /// missing file or a wrong shape leaves the layer as it was.
    ///
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` for a
    ///   file that cannot be read, ``PerceptronError/invalidNPY(path:reason:)``
    ///   for one that is not a `.npy` of the layer's precision, and
    ///   ``PerceptronError/shapeMismatch(what:expected:actual:)`` for an array
    ///   whose shape is not the parameter's.
    public func loadParameters(from directory: URL) throws(PerceptronError) {
        var files: [String: Tensor<Scalar>] = [:]
        try forEachParameter { name, _, _ throws(PerceptronError) in
            files[name] = try Tensor<Scalar>(contentsOfNPY: Self.parameterFile(name, in: directory))
        }
        try loadParameters(files, source: { "parameter \($0) in \(Self.parameterFile($0, in: directory).path)" })
    }

    /// Every parameter by its name, as PyTorch's `state_dict()` gives it:
    /// `weight`, `bias`, or `0.weight`, `0.bias`, … inside a ``Sequential``.
    ///
    /// The tensors share storage with the parameters until either is written
    /// (copy-on-write), so taking them is cheap: for example to write them
    /// with ``SafeTensors`` or to keep the best parameters of a training run.
    public var namedParameters: [String: Tensor<Scalar>] {
        var parameters: [String: Tensor<Scalar>] = [:]
        try? forEachParameter { name, value, _ in parameters[name] = value }
        return parameters
    }

    /// Replaces every parameter with the tensor of its name in `parameters`,
    /// as PyTorch's `load_state_dict` does (strictly): each of the layer's
    /// parameters must be there with its shape, and nothing else may be.
    ///
    /// Everything is checked before any parameter changes, so a missing name,
    /// an extra name or a wrong shape leaves the layer as it was.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   naming the first missing parameter or the names the layer does not
    ///   have, and ``PerceptronError/shapeMismatch(what:expected:actual:)`` for
    ///   a tensor whose shape is not its parameter's.
    public func loadParameters(_ parameters: [String: Tensor<Scalar>]) throws(PerceptronError) {
        try loadParameters(parameters, source: { "parameter \($0)" })
    }

    /// ``loadParameters(_:)``, naming each parameter in errors with `source(name)`.
    private func loadParameters(
        _ parameters: [String: Tensor<Scalar>], source: (String) -> String
    ) throws(PerceptronError) {
        var names: Set<String> = []
        try forEachParameter { name, value, _ throws(PerceptronError) in
            guard let tensor = parameters[name] else {
                throw .invalidArgument(
                    name: "parameters", expected: "a tensor named \(name) of shape \(value.shape)", actual: "none")
            }
            guard tensor.hasShape(value.shape) else {
                throw .shapeMismatch(what: source(name), expected: value.shape, actual: tensor.shape)
            }
            names.insert(name)
        }
        let extra = parameters.keys.filter { !names.contains($0) }.sorted()
        guard extra.isEmpty else {
            throw .invalidArgument(
                name: "parameters", expected: "only the layer's parameters \(names.sorted())", actual: "also \(extra)")
        }
        try forEachParameter { name, value, _ in value = parameters[name]! }
    }

    /// `<directory>/<name>.npy`.
    private static func parameterFile(_ name: String, in directory: URL) -> URL {
        directory.appendingPathComponent(name + ".npy", isDirectory: false)
    }
}
