import Foundation

// MARK: - Files

extension Tensor {
    /// Reads a tensor from a NumPy `.npy` file, as written by `np.save`.
    ///
    /// The file must hold a C-order (row-major) array of this tensor's scalar
    /// type in little-endian byte order: `'<f4'` for `Tensor<Float>`, `'<f8'`
    /// for `Tensor<Double>`, of any rank (a rank-0 array gives shape `[]`).
    /// Formats 1.0, 2.0 and 3.0 are read. Nothing is converted: a float64
    /// file read as `Tensor<Float>` is an error, not a silent rounding.
    ///
    /// Every length in the file is checked against the bytes present before
    /// it is used, so a malformed or hostile file throws; it cannot crash the
    /// process or make it allocate more than the file's size.
    ///
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` when the
    ///   file cannot be read, ``PerceptronError/invalidNPY(path:reason:)`` when
    ///   its contents are malformed or not of this tensor's type.
    public init(contentsOfNPY url: URL) throws(PerceptronError) {
        let path = try POSIXFile.path(of: url)
        try self.init(npyData: POSIXFile.readContents(ofFileAt: path), source: path)
    }

    /// Writes the tensor to a NumPy `.npy` file that `np.load` reads, replacing
    /// any file at `url` atomically: a reader (or the file after a crash) sees
    /// the old file or the new one, never a partial write.
    ///
    /// The bytes are the ones `np.save` writes for the same array: format 1.0
    /// (2.0 for a header over 64 KiB), dtype `'<f4'` or `'<f8'`, C order.
    ///
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` naming
    ///   the step that failed; the previous file, if any, is then intact.
    public func writeNPY(to url: URL) throws(PerceptronError) {
        try writeAtomically(npyData(), to: url)
    }
}

// MARK: - Bytes

extension Tensor {
    /// Parses the bytes of a `.npy` file, as ``init(contentsOfNPY:)`` does.
    ///
    /// - Parameter source: the file's path, or a placeholder such as
    ///   `"<data>"`, named in errors.
    /// - Throws: ``PerceptronError/invalidNPY(path:reason:)``.
    init(npyData data: Data, source: String = "<data>") throws(PerceptronError) {
        do {
            self = try Self.decodeNPY(data)
        } catch {
            throw .invalidNPY(path: source, reason: error.reason)
        }
    }

    /// The bytes of a `.npy` file holding this tensor, as ``writeNPY(to:)`` writes them.
    func npyData() -> Data {
        let header = NPYHeader(descr: Self.npyDescr, fortranOrder: false, shape: shape)
        var data = NPYFraming.preamble(for: header)
        withUnsafeBufferPointer { data.append($0) }
        #if _endian(big)
        let payloadStart = data.count - count * MemoryLayout<Scalar>.stride
        data.withUnsafeMutableBytes { bytes in
            Self.reverseBytesOfEachScalar(UnsafeMutableRawBufferPointer(rebasing: bytes[payloadStart...]))
        }
        #endif
        return data
    }

    /// The `.npy` dtype of `Scalar`: `'<f4'` for `Float`, `'<f8'` for `Double`
    /// (the only two ``BLASScalar`` types, told apart by their size).
    static var npyDescr: String { "<f\(MemoryLayout<Scalar>.size)" }

    /// numpy's name for `Scalar`: `float32` or `float64`.
    static var npyTypeName: String { "float\(MemoryLayout<Scalar>.size * 8)" }

    private static func decodeNPY(_ data: Data) throws(NPYFormatError) -> Tensor {
        let contents = try NPYFraming.split(data)
        try checkDescr(contents.header.descr)
        guard !contents.header.fortranOrder else {
            throw NPYFormatError(
                reason: "'fortran_order' is True (column-major data), which is not supported; "
                    + "expected False (row-major, as np.save writes C-contiguous arrays)")
        }
        let shape = contents.header.shape
        let byteCount = try payloadByteCount(of: shape)
        guard contents.payload.count == byteCount else {
            throw NPYFormatError(
                reason: "shape \(PythonLiteral.tupleRepr(shape)) of \(npyTypeName) needs exactly \(byteCount) "
                    + "bytes of data after the header, but the file has \(contents.payload.count)")
        }
        // Only now, with the size known to match bytes that exist, allocate.
        var tensor: Tensor
        do {
            tensor = try Tensor(uninitializedShape: shape)
        } catch {
            throw NPYFormatError(reason: error.description)
        }
        tensor.withUnsafeMutableBufferPointer { buffer in
            // Equal sizes, checked above: copyMemory cannot overrun either side.
            data[contents.payload].withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            #if _endian(big)
            reverseBytesOfEachScalar(UnsafeMutableRawBufferPointer(buffer))
            #endif
        }
        return tensor
    }

    /// Accepts exactly this tensor's dtype, naming the difference otherwise.
    private static func checkDescr(_ descr: String) throws(NPYFormatError) {
        let expected = npyDescr
        guard descr != expected else { return }
        let floatNames = ["<f4": "float32", "<f8": "float64"]
        if let name = floatNames[descr] {
            throw NPYFormatError(reason: "file holds \(name) ('\(descr)') but Tensor<\(Scalar.self)> was requested")
        }
        let endianness = descr.hasPrefix(">") ? " (big-endian)" : ""
        throw NPYFormatError(
            reason: "dtype '\(descr)'\(endianness) is not supported; expected '\(expected)' for Tensor<\(Scalar.self)>")
    }

    /// The data size `shape` declares, or an error when it does not fit in `Int`.
    private static func payloadByteCount(of shape: [Int]) throws(NPYFormatError) -> Int {
        do {
            // validatedCount guarantees that count × stride does not overflow.
            return try validatedCount(of: shape) * MemoryLayout<Scalar>.stride
        } catch {
            throw NPYFormatError(
                reason: "shape \(PythonLiteral.tupleRepr(shape)) of \(npyTypeName) is too large: "
                    + "its byte count does not fit in Int")
        }
    }

    /// Reverses the bytes of every scalar in place: `.npy` data is
    /// little-endian, so a big-endian host converts on the way in and out.
    static func reverseBytesOfEachScalar(_ bytes: UnsafeMutableRawBufferPointer) {
        let size = MemoryLayout<Scalar>.size
        for start in stride(from: 0, to: bytes.count - bytes.count % size, by: size) {
            var scalar = UnsafeMutableRawBufferPointer(rebasing: bytes[start..<(start + size)])
            scalar.reverse()
        }
    }
}
