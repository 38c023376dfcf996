import Foundation

/// Named tensors and string metadata in the safetensors format: the file
/// format (`*.safetensors`) that PyTorch and Hugging Face exchange weights in.
///
/// Read a file, written by `safetensors.torch.save_file` for example, and
/// take its tensors by name:
///
/// ```swift
/// let file = try SafeTensors<Float>(contentsOf: URL(fileURLWithPath: "model.safetensors"))
/// let weight = file.tensors["0.weight"]      // Tensor<Float>?
/// let format = file.metadata["format"]       // "pt" for PyTorch's files
/// ```
///
/// and write one that `safetensors.numpy.load_file` or
/// `safetensors.torch.load_file` reads:
///
/// ```swift
/// let out = SafeTensors(tensors: ["w": w, "b": b], metadata: ["format": "pt"])
/// try out.write(to: URL(fileURLWithPath: "out.safetensors"))
/// ```
///
/// **Reading** accepts tensors of dtype F32, F64, F16 and BF16, in one file
/// in any mix, and converts each to `Scalar`. Every conversion is exact but
/// one: F64 read as `Float` rounds to the nearest `Float` (ties to even), as
/// `Float(_:)` does. Other dtypes (integers, booleans, 8-bit floats) are
/// refused. A rank-0 tensor gives shape `[]`, and empty tensors (a dimension
/// of 0) are read as such.
///
/// Every length in the file is checked against the bytes present before it is
/// used, and no tensor is allocated before the whole header has been checked,
/// so a malformed or hostile file throws: it cannot crash the process or make
/// it allocate more than a small multiple of the file's size (the file, its
/// header parsed, and the tensors, which take up to 4 times the bytes of
/// F16 or BF16 data when read as `Double`).
///
/// The rules are the reference implementation's: a header of at most
/// 100 000 000 bytes of UTF-8 JSON, each tensor's byte range exactly its
/// shape times its dtype's size, the ranges contiguous from the start of the
/// data to the end of the file. Two rules are stricter, because
/// the reference would otherwise read a file that says two things at once: a
/// name (or metadata key, or field) that appears twice in the JSON is
/// refused, rather than one of its values kept, and so is a field other than
/// `dtype`, `shape` and `data_offsets` in a tensor's entry. A third follows
/// from ``Tensor``: the product of a shape's nonzero dimensions must fit in
/// `Int` even when another dimension is 0.
///
/// **Names** are unordered, as a JSON object's keys are (and as
/// ``tensors`` is). Swift compares strings by Unicode canonical equivalence,
/// so two names that differ only in how an accented letter is encoded are one
/// name here, and a file holding both is refused as a repeated name.
///
/// **Writing** stores `Float` tensors as F32 and `Double` tensors as F64,
/// little-endian, C order, sorted by name (by their UTF-8 bytes, as the
/// reference writer sorts tensors of one dtype) with their data contiguous
/// in that order, and ``metadata`` (if not empty) as the header's
/// `__metadata__` object. The header is padded with spaces to a multiple of 8
/// bytes, as the reference pads it, so that the data is aligned. The bytes are
/// then those `safetensors.numpy.save_file` writes for the same arrays and
/// metadata, when that is one pair or none (`metadata=None`): the reference
/// writes several pairs in no fixed order.
public struct SafeTensors<Scalar: BLASScalar>: Sendable {
    /// The tensors, by name.
    public var tensors: [String: Tensor<Scalar>]

    /// The free-form string pairs of the header's `__metadata__` object, such
    /// as `["format": "pt"]`, which PyTorch's writer adds; empty if none.
    public var metadata: [String: String]

    /// A set of tensors and metadata to write with ``write(to:)``.
    ///
    /// A tensor may not be named `__metadata__`, the key the format reserves
    /// for the metadata: ``write(to:)`` refuses it.
    public init(tensors: [String: Tensor<Scalar>] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads every tensor and the metadata of the safetensors file at `url`,
    /// converting each tensor to `Scalar` as described in ``SafeTensors``.
    ///
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` when
    ///   the file cannot be read, ``PerceptronError/invalidSafeTensors(path:reason:)``
    ///   when its contents are malformed or hold a dtype other than F32, F64,
    ///   F16 and BF16.
    public init(contentsOf url: URL) throws(PerceptronError) {
        let path = try POSIXFile.path(of: url)
        try self.init(safeTensorsData: POSIXFile.readContents(ofFileAt: path), source: path)
    }

    /// The tensors of the safetensors file at `url`, by name, without its
    /// metadata: `SafeTensors(contentsOf: url).tensors`.
    ///
    /// - Throws: as ``init(contentsOf:)``.
    public static func read(from url: URL) throws(PerceptronError) -> [String: Tensor<Scalar>] {
        try SafeTensors(contentsOf: url).tensors
    }

    /// Writes the tensors and metadata to a safetensors file that the
    /// `safetensors` package reads, replacing any file at `url` atomically: a
    /// reader (or the file after a crash) sees the old file or the new one,
    /// never a partial write.
    ///
    /// The layout is described in ``SafeTensors``: F32 or F64, sorted by name,
    /// the header padded to a multiple of 8 bytes.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a tensor named `__metadata__`, and
    ///   ``PerceptronError/fileError(path:operation:reason:)`` naming the step
    ///   that failed; the previous file, if any, is then intact.
    public func write(to url: URL) throws(PerceptronError) {
        try writeAtomically(safeTensorsData(), to: url)
    }
}

// MARK: - Bytes

extension SafeTensors {
    /// Parses the bytes of a safetensors file, as ``init(contentsOf:)`` does.
    ///
    /// - Parameter source: the file's path, or a placeholder such as
    ///   `"<data>"`, named in errors.
    /// - Throws: ``PerceptronError/invalidSafeTensors(path:reason:)``.
    init(safeTensorsData data: Data, source: String = "<data>") throws(PerceptronError) {
        do {
            self = try Self.decode(data)
        } catch {
            throw .invalidSafeTensors(path: source, reason: error.reason)
        }
    }

    /// The bytes of the safetensors file ``write(to:)`` writes.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a tensor named `__metadata__`.
    func safeTensorsData() throws(PerceptronError) -> Data {
        guard tensors[SafeTensorsHeader.metadataKey] == nil else {
            throw .invalidArgument(
                name: "a tensor name", expected: "other than \"__metadata__\", the key safetensors reserves for metadata",
                actual: "\"__metadata__\"")
        }
        let dtype = SafeTensorsDType.of(Scalar.self)
        let named = tensors.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        var entries: [SafeTensorsHeader.Entry] = []
        var offset = 0
        for (name, tensor) in named {
            let byteCount = tensor.count * MemoryLayout<Scalar>.size
            entries.append(.init(name: name, dtype: dtype, shape: tensor.shape, begin: offset, end: offset + byteCount))
            offset += byteCount
        }
        var data = SafeTensorsFraming.preamble(for: SafeTensorsHeader(entries: entries, metadata: metadata))
        data.reserveCapacity(data.count + offset)
        for (_, tensor) in named {
            let count = tensor.count
            tensor.withUnsafeScalars { data.append(UnsafeBufferPointer(start: $0, count: count)) }
        }
        #if _endian(big)
        let bufferStart = data.count - offset
        data.withUnsafeMutableBytes { bytes in
            Tensor<Scalar>.reverseBytesOfEachScalar(UnsafeMutableRawBufferPointer(rebasing: bytes[bufferStart...]))
        }
        #endif
        return data
    }

    private static func decode(_ data: Data) throws(SafeTensorsFormatError) -> SafeTensors {
        let contents = try SafeTensorsFraming.split(data, as: Scalar.self)
        // Only now, with every byte range known to lie in bytes that exist
        // and to match its shape, allocate.
        var tensors: [String: Tensor<Scalar>] = [:]
        tensors.reserveCapacity(contents.header.entries.count)
        for entry in contents.header.entries {
            var tensor: Tensor<Scalar>
            do {
                tensor = try Tensor(uninitializedShape: entry.shape)
            } catch {
                throw SafeTensorsFormatError(reason: "tensor \(JSONString.clipped(entry.name)): \(error.description)")
            }
            let count = tensor.count
            let range = (contents.bufferStart + entry.begin)..<(contents.bufferStart + entry.end)
            tensor.withUnsafeMutableScalars { destination in
                data.withUnsafeBytes { bytes in
                    // Sizes checked by split: the range is count × dtype size bytes inside `bytes`.
                    entry.dtype.decode(UnsafeRawBufferPointer(rebasing: bytes[range]), into: destination, count: count)
                }
            }
            tensors[entry.name] = tensor
        }
        return SafeTensors(tensors: tensors, metadata: contents.header.metadata)
    }
}
