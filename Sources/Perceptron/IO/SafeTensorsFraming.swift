import Foundation

/// The bytes of a safetensors file around its JSON header, and the layout of
/// the data buffer after it.
///
/// A file is an 8-byte little-endian unsigned header length `N`, then `N`
/// bytes of UTF-8 JSON (``SafeTensorsHeader``), then the data buffer, which
/// the tensors' byte ranges must tile exactly: sorted by offset, each begins
/// where the previous one ends, the first at 0 and the last at the end of the
/// file. The rules are the reference implementation's (the `safetensors`
/// Rust crate), checked in its order, with messages that say which tensor
/// and which bytes. See <https://github.com/huggingface/safetensors>.
enum SafeTensorsFraming {
    /// The largest header the reference reader accepts, in bytes.
    static let maximumHeaderLength = 100_000_000

    /// The reference writer pads the header with spaces to a multiple of
    /// this, so that the data buffer, 8 + N bytes in, is 8-byte aligned.
    static let headerAlignment = 8

    /// A parsed header and where the data buffer lies in the file.
    struct Contents {
        /// The header, its entries' byte ranges checked against the data buffer.
        var header: SafeTensorsHeader
        /// The offset of the data buffer from the start of the file's bytes.
        var bufferStart: Int
    }

    // MARK: - Reading

    /// Splits `data` into its header and data buffer and checks the layout,
    /// every length against the bytes actually present before it is used;
    /// `Scalar` is the type the tensors will be read as, whose size bounds
    /// what a shape may hold.
    ///
    /// A file refused here whose first bytes are those of a format people
    /// mistake for safetensors has that named at the end of the reason.
    static func split<Scalar: BLASScalar>(_ data: Data, as _: Scalar.Type) throws(SafeTensorsFormatError) -> Contents {
        do {
            return try frame(data, as: Scalar.self)
        } catch {
            guard let format = otherFormat(of: data) else { throw error }
            throw SafeTensorsFormatError(reason: error.reason + " (\(format))")
        }
    }

    private static func frame<Scalar: BLASScalar>(_ data: Data, as _: Scalar.Type) throws(SafeTensorsFormatError) -> Contents {
        let size = data.count
        guard size >= 8 else {
            throw SafeTensorsFormatError(reason: "the file ends after \(size) bytes, inside the 8-byte header length")
        }
        let length = data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(maximumHeaderLength) else {
            throw SafeTensorsFormatError(
                reason: "header length \(length) is over the limit of \(maximumHeaderLength) bytes")
        }
        let headerLength = Int(length)
        guard 8 + headerLength <= size else {
            throw SafeTensorsFormatError(
                reason: "header length \(headerLength) runs past the end of the \(size)-byte file "
                    + "(the header would end at byte \(8 + headerLength))")
        }
        let text = [UInt8](data[(data.startIndex + 8)..<(data.startIndex + 8 + headerLength)])
        try checkUTF8(text)
        let header = try SafeTensorsHeader(parsing: text)
        try checkLayout(of: header.entries, bufferSize: size - 8 - headerLength, as: Scalar.self)
        return Contents(header: header, bufferStart: 8 + headerLength)
    }

    /// What a file is, by its first bytes, when it is a format people mistake
    /// for safetensors (whose first 8 bytes then read as a header length).
    /// Only a refused file is asked: a real header length can begin with these bytes.
    private static func otherFormat(of data: Data) -> String? {
        if data.starts(with: NPYFraming.magic) { return "the file is a .npy file, not safetensors" }
        if data.starts(with: [0x1F, 0x8B]) { return "the file is gzip-compressed, not safetensors: decompress it first" }
        if data.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return "the file is a zip archive, as torch.save writes, not safetensors" }
        return nil
    }

    /// Refuses a header that is not valid UTF-8, naming the first bad byte,
    /// without building a string: as the reference does, before any JSON.
    ///
    /// Well-formed means Unicode's table of well-formed byte sequences
    /// (Table 3-7): no overlong forms, no encoded surrogates, nothing past
    /// U+10FFFF, no sequence cut off by the end.
    private static func checkUTF8(_ text: [UInt8]) throws(SafeTensorsFormatError) {
        let bad = text.withUnsafeBufferPointer { bytes -> Int? in
            var index = 0
            while index < bytes.count {
                let lead = bytes[index]
                if lead < 0x80 {
                    index += 1
                    continue
                }
                // The sequence's length and the range of its second byte.
                let length: Int, second: ClosedRange<UInt8>
                switch lead {
                case 0xC2...0xDF: (length, second) = (2, 0x80...0xBF)
                case 0xE0: (length, second) = (3, 0xA0...0xBF)
                case 0xE1...0xEC, 0xEE...0xEF: (length, second) = (3, 0x80...0xBF)
                case 0xED: (length, second) = (3, 0x80...0x9F)
                case 0xF0: (length, second) = (4, 0x90...0xBF)
                case 0xF1...0xF3: (length, second) = (4, 0x80...0xBF)
                case 0xF4: (length, second) = (4, 0x80...0x8F)
                default: return index
                }
                guard index + length <= bytes.count, second.contains(bytes[index + 1]) else { return index }
                for continuation in (index + 2)..<(index + length) where !(0x80...0xBF).contains(bytes[continuation]) {
                    return index
                }
                index += length
            }
            return nil
        }
        if let bad {
            throw SafeTensorsFormatError(
                reason: "the header is not valid UTF-8: byte 0x\(String(text[bad], radix: 16, uppercase: true)) "
                    + "at byte \(bad) of the header does not start a well-formed sequence")
        }
    }

    /// Checks that each entry's byte range lies in the buffer and holds
    /// exactly its shape's elements, then that the ranges tile the buffer.
    private static func checkLayout<Scalar: BLASScalar>(
        of entries: [SafeTensorsHeader.Entry], bufferSize: Int, as _: Scalar.Type
    ) throws(SafeTensorsFormatError) {
        for entry in entries {
            let tensor = "tensor \(JSONString.clipped(entry.name))"
            let offsets = "data_offsets [\(entry.begin), \(entry.end)]"
            guard entry.begin <= entry.end else {
                throw SafeTensorsFormatError(reason: "\(tensor) has \(offsets): the end comes before the beginning")
            }
            guard entry.end <= bufferSize else {
                throw SafeTensorsFormatError(
                    reason: "\(tensor) has \(offsets), past the end of the \(bufferSize)-byte data buffer")
            }
            let byteCount = try byteCount(of: entry, tensor, as: Scalar.self)
            guard entry.end - entry.begin == byteCount else {
                throw SafeTensorsFormatError(
                    reason: "\(tensor) of shape \(entry.shape) and dtype \(entry.dtype.rawValue) needs \(byteCount) "
                        + "bytes, but its \(offsets) hold \(entry.end - entry.begin)")
            }
        }
        // Sorted by (begin, end), as the reference sorts: empty tensors may
        // share an offset with each other and with the next tensor's start.
        let sorted = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previous: SafeTensorsHeader.Entry?
        for entry in sorted {
            if entry.begin > covered {
                throw SafeTensorsFormatError(
                    reason: "bytes \(covered)..<\(entry.begin) of the data buffer belong to no tensor "
                        + "(tensor \(JSONString.clipped(entry.name)) begins at \(entry.begin)); "
                        + "the tensors' data must be contiguous")
            }
            if entry.begin < covered, let previous {
                throw SafeTensorsFormatError(
                    reason: "tensor \(JSONString.clipped(entry.name)) (data_offsets [\(entry.begin), \(entry.end)]) "
                        + "overlaps tensor \(JSONString.clipped(previous.name)) "
                        + "(data_offsets [\(previous.begin), \(previous.end)])")
            }
            covered = entry.end
            previous = entry
        }
        guard covered == bufferSize else {
            throw SafeTensorsFormatError(
                reason: "the tensors cover \(covered) bytes of the \(bufferSize)-byte data buffer; "
                    + "bytes \(covered)..<\(bufferSize) belong to no tensor")
        }
    }

    /// The bytes `entry`'s shape and dtype need, refusing a shape that
    /// overflows: the element count must fit in `Int` as a `Tensor<Scalar>`
    /// requires (its nonzero dimensions' product, even when another
    /// dimension is 0), and so must the count times the dtype's size.
    private static func byteCount<Scalar: BLASScalar>(
        of entry: SafeTensorsHeader.Entry, _ tensor: String, as _: Scalar.Type
    ) throws(SafeTensorsFormatError) -> Int {
        let elements: Int
        do {
            elements = try Tensor<Scalar>.validatedCount(of: entry.shape)
        } catch {
            throw SafeTensorsFormatError(
                reason: "\(tensor) has shape \(entry.shape), too large for a Tensor<\(Scalar.self)>: "
                    + "the product of its nonzero dimensions, in bytes, does not fit in Int")
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: entry.dtype.size)
        guard !overflow else {
            throw SafeTensorsFormatError(
                reason: "\(tensor) has shape \(entry.shape), whose byte count as \(entry.dtype.rawValue) does not fit in Int")
        }
        return bytes
    }

    // MARK: - Writing

    /// The length prefix and the header text padded with spaces to a
    /// multiple of ``headerAlignment``, as the reference writer writes them;
    /// the data buffer follows directly.
    static func preamble(for header: SafeTensorsHeader) -> Data {
        var text = Array(header.jsonText.utf8)
        text += repeatElement(UInt8(ascii: " "), count: (headerAlignment - text.count % headerAlignment) % headerAlignment)
        var data = Data(capacity: 8 + text.count)
        data.append(contentsOf: (0..<8).map { UInt8(truncatingIfNeeded: UInt64(text.count) >> (8 * $0)) })
        data.append(contentsOf: text)
        return data
    }
}
