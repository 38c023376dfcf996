import Foundation

// Integer class labels from .npy files, as numpy, pandas and scikit-learn
// write them: `np.save("y.npy", y)` for a vector of class indices.

extension Array where Element == Int {
    /// Reads integer labels from a NumPy `.npy` file, as written by `np.save`:
    /// the `y` of a classification data set, for ``MiniBatches`` and
    /// ``SoftmaxCrossEntropy``.
    ///
    /// The file must hold little-endian integers of one of the dtypes numpy
    /// gives labels: `'<i8'` (int64, numpy's default on Linux), `'<i4'`,
    /// `'<i2'`, `'|i1'`, `'|u1'` (uint8, common for image labels), `'<u2'`,
    /// `'<u4'` or `'<u8'`. Each value is converted exactly; a `uint64` value
    /// larger than `Int.max` is an error, not a wrap-around. The array must
    /// be a vector `(n,)`, or a column `(n, 1)` (as `y.reshape(-1, 1)` or a
    /// one-column data frame gives), read as its `n` values; other ranks,
    /// a single rank-0 value among them, are refused. Either memory order is
    /// accepted: for these shapes they lay the data out alike. Formats 1.0,
    /// 2.0 and 3.0 are read.
    ///
    /// As for ``Tensor/init(contentsOfNPY:)``, every length in the file is
    /// checked against the bytes present before anything is allocated. The
    /// values are not checked against a number of classes: the loss does that.
    ///
    /// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` when the
    ///   file cannot be read, ``PerceptronError/invalidNPY(path:reason:)`` when
    ///   its contents are malformed, of another dtype or shape, or hold a
    ///   value that does not fit in `Int`.
    public init(contentsOfNPY url: URL) throws(PerceptronError) {
        let path = try POSIXFile.path(of: url)
        try self.init(npyData: POSIXFile.readContents(ofFileAt: path), source: path)
    }

    /// Parses the bytes of a `.npy` file of integer labels, as
    /// ``init(contentsOfNPY:)`` does.
    ///
    /// - Parameter source: the file's path, or a placeholder such as
    ///   `"<data>"`, named in errors.
    /// - Throws: ``PerceptronError/invalidNPY(path:reason:)``.
    init(npyData data: Data, source: String = "<data>") throws(PerceptronError) {
        do {
            self = try NPYLabels.decode(data)
        } catch {
            throw .invalidNPY(path: source, reason: error.reason)
        }
    }

    /// The bytes of a `.npy` file holding these labels as a vector of `'<i8'`,
    /// as `np.save` writes `np.array(labels)`; what ``init(npyData:source:)``
    /// reads back unchanged.
    func npyData() -> Data {
        let header = NPYHeader(descr: "<i8", fortranOrder: false, shape: [count])
        var data = NPYFraming.preamble(for: header)
        data.reserveCapacity(data.count + count * 8)
        for value in self {
            Swift.withUnsafeBytes(of: Int64(value).littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }
}

/// The integer dtypes that labels are read from, and the reading itself.
enum NPYLabels {
    /// The accepted dtypes, in the order messages list them.
    static let descrs = ["<i8", "<i4", "<i2", "|i1", "|u1", "<u2", "<u4", "<u8"]

    static func decode(_ data: Data) throws(NPYFormatError) -> [Int] {
        let contents = try NPYFraming.split(data)
        let header = contents.header
        let descr = header.descr
        guard descrs.contains(descr) else { throw unsupported(descr) }
        let shape = header.shape
        guard shape.count == 1 || (shape.count == 2 && shape[1] == 1) else {
            throw NPYFormatError(
                reason: "labels must be a vector (n,) or a column (n, 1), but the shape is \(PythonLiteral.tupleRepr(shape))")
        }
        let signed = descr.dropFirst().first == "i"
        let size = Int(String(descr.dropFirst(2)))!
        let name = "\(signed ? "int" : "uint")\(size * 8)"
        let count = try header.elementCount(elementSize: size, typeName: name, payloadCount: contents.payload.count)
        // Only now, with the count known to match bytes that exist, allocate.
        // Data.withUnsafeBytes rethrows untyped errors: the result carries the typed one out.
        let result = data[contents.payload].withUnsafeBytes { bytes -> Result<[Int], NPYFormatError> in
            switch (signed, size) {
            case (true, 8): return read(bytes, count, as: Int64.self, name)
            case (true, 4): return read(bytes, count, as: Int32.self, name)
            case (true, 2): return read(bytes, count, as: Int16.self, name)
            case (true, _): return read(bytes, count, as: Int8.self, name)
            case (false, 8): return read(bytes, count, as: UInt64.self, name)
            case (false, 4): return read(bytes, count, as: UInt32.self, name)
            case (false, 2): return read(bytes, count, as: UInt16.self, name)
            case (false, _): return read(bytes, count, as: UInt8.self, name)
            }
        }
        return try result.get()
    }

    /// `count` little-endian `T`s from `bytes`, at any alignment, each converted exactly.
    private static func read<T: FixedWidthInteger>(
        _ bytes: UnsafeRawBufferPointer, _ count: Int, as _: T.Type, _ name: String
    ) -> Result<[Int], NPYFormatError> {
        var labels = [Int](repeating: 0, count: count)
        for index in 0..<count {
            let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
            guard let label = Int(exactly: value) else {
                return .failure(NPYFormatError(
                    reason: "value \(value) at index \(index) of the \(name) labels does not fit in Int "
                        + "(at most \(Int.max))"))
            }
            labels[index] = label
        }
        return .success(labels)
    }

    private static func unsupported(_ descr: String) -> NPYFormatError {
        let names = ["<f2": "float16", "<f4": "float32", "<f8": "float64", "|b1": "bool"]
        let note = descr.hasPrefix(">") ? " (big-endian)" : names[descr].map { " (\($0))" } ?? ""
        let list = descrs.dropLast().map { "'\($0)'" }.joined(separator: ", ") + " or '\(descrs.last!)'"
        return NPYFormatError(
            reason: "dtype '\(descr)'\(note) is not supported for labels; expected a little-endian integer dtype: \(list)")
    }
}
