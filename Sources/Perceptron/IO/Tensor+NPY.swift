import Foundation

// MARK: - Files

extension Tensor {
    /// Reads a tensor from a NumPy `.npy` file, as written by `np.save`.
    ///
    /// The file must hold an array of this tensor's scalar type in
    /// little-endian byte order: `'<f4'` for `Tensor<Float>`, `'<f8'` for
    /// `Tensor<Double>`, of any rank (a rank-0 array gives shape `[]`).
    /// Formats 1.0, 2.0 and 3.0 are read. A Fortran-order (column-major)
    /// array, as `np.save` writes a transposed or `np.asfortranarray` view, is
    /// transposed on the way in, so that the tensor has the array's shape and
    /// values in row-major order, as `np.load` gives them. Nothing is
    /// converted: a float64 file read as `Tensor<Float>` is an error, not a
    /// silent rounding. Integer labels are read with
    /// `[Int](contentsOfNPY:)`.
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
        let shape = contents.header.shape
        let count = try contents.header.elementCount(
            elementSize: MemoryLayout<Scalar>.size, typeName: npyTypeName, payloadCount: contents.payload.count)
        // Only now, with the size known to match bytes that exist, allocate.
        var tensor: Tensor
        do {
            tensor = try Tensor(uninitializedShape: shape)
        } catch {
            throw NPYFormatError(reason: error.description)
        }
        // Up to rank 1 the two orders lay the data out alike.
        let fortranOrder = contents.header.fortranOrder && shape.count > 1
        data[contents.payload].withUnsafeBytes { source in
            tensor.withUnsafeMutableScalars { destination in
                let target = UnsafeMutableRawBufferPointer(start: destination, count: count * MemoryLayout<Scalar>.size)
                if fortranOrder {
                    transposeFortranOrder(source, shape: shape, into: destination)
                } else {
                    // Equal sizes, checked above: copyMemory cannot overrun either side.
                    target.copyMemory(from: source)
                }
                #if _endian(big)
                reverseBytesOfEachScalar(target)
                #endif
            }
        }
        return tensor
    }

    /// Writes the column-major (Fortran-order) scalars of `source` in
    /// row-major order: `destination[i₀, …, iₖ] = source[i₀ + d₀·(i₁ + d₁·(…))]`.
    ///
    /// `source` must hold exactly the scalars of `shape`, at any alignment.
    private static func transposeFortranOrder(
        _ source: UnsafeRawBufferPointer, shape: [Int], into destination: UnsafeMutablePointer<Scalar>
    ) {
        let rank = shape.count
        let size = MemoryLayout<Scalar>.size
        let count = source.count / size
        // The step in the source, in scalars, of each axis: axis 0 varies fastest.
        var strides = [Int](repeating: 1, count: rank)
        for axis in 1..<rank { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        for position in 0..<count {
            destination[position] = source.loadUnaligned(fromByteOffset: offset * size, as: Scalar.self)
            // Step the row-major index, last axis fastest, and its source offset with it.
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < shape[axis] { break }
                offset -= shape[axis] * strides[axis]
                index[axis] = 0
                axis -= 1
            }
        }
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
