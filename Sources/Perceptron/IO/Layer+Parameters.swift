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
        var loaded: [Tensor<Scalar>] = []
        try forEachParameter { name, value, _ throws(PerceptronError) in
            let url = Self.parameterFile(name, in: directory)
            let tensor = try Tensor<Scalar>(contentsOfNPY: url)
            guard tensor.hasShape(value.shape) else {
                throw .shapeMismatch(what: "parameter \(name) in \(url.path)", expected: value.shape, actual: tensor.shape)
            }
            loaded.append(tensor)
        }
        var index = 0
        try forEachParameter { _, value, _ in
            value = loaded[index]
            index += 1
        }
    }

    /// `<directory>/<name>.npy`.
    private static func parameterFile(_ name: String, in directory: URL) -> URL {
        directory.appendingPathComponent(name + ".npy", isDirectory: false)
    }
}
