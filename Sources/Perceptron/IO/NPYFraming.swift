import Foundation

/// The bytes of a `.npy` file around its header dictionary: the magic string,
/// the format version, the header length, and the padding that aligns the data.
///
/// Format 1.0 stores the header length in 2 bytes and 2.0 in 4; 3.0 is 2.0
/// with a UTF-8 header instead of Latin-1. Everything is little-endian.
/// See <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.
enum NPYFraming {
    /// `\x93NUMPY`, the first six bytes of every `.npy` file.
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// The data starts at a multiple of this many bytes, as numpy writes it, so
    /// that a memory-mapped file's scalars are aligned.
    static let alignment = 64

    /// numpy leaves this many characters for the first dimension, padding
    /// with spaces, so that tools appending rows can rewrite the header in
    /// place; writing the same keeps our files byte-identical to `np.save`'s.
    static let growthAxisDigits = 21

    /// A parsed header and where the data after it lies in the file.
    struct Contents {
        /// The header dictionary.
        var header: NPYHeader
        /// The indices of the data bytes, in the `Data`'s own indices.
        var payload: Range<Data.Index>
    }

    // MARK: - Reading

    /// Splits `data` into its header and its data bytes, checking every length
    /// against the bytes actually present before using it.
    static func split(_ data: Data) throws(NPYFormatError) -> Contents {
        let size = data.count
        let start = data.startIndex
        try checkMagic(data)
        guard size >= magic.count + 2 else { throw truncated(size, "before the 2-byte format version") }
        let major = data[start + 6], minor = data[start + 7]
        guard (1...3).contains(major), minor == 0 else {
            throw NPYFormatError(reason: "format version \(major).\(minor) is not supported; expected 1.0, 2.0 or 3.0")
        }
        let lengthSize = major == 1 ? 2 : 4
        let headerStart = magic.count + 2 + lengthSize
        guard size >= headerStart else {
            throw truncated(size, "inside the \(lengthSize)-byte header length of format \(major).0")
        }
        let headerLength = littleEndianInteger(data[(start + 8)..<(start + headerStart)])
        let payloadStart = headerStart + headerLength
        guard payloadStart <= size else {
            throw NPYFormatError(
                reason: "header length \(headerLength) runs past the end of the \(size)-byte file "
                    + "(the header would end at byte \(payloadStart))")
        }
        let text = [UInt8](data[(start + headerStart)..<(start + payloadStart)])
        let header = try NPYHeader(parsing: text, encoding: try encoding(of: text, major: major))
        return Contents(header: header, payload: (start + payloadStart)..<data.endIndex)
    }

    private static func checkMagic(_ data: Data) throws(NPYFormatError) {
        let head = [UInt8](data.prefix(magic.count))
        guard head == Array(magic.prefix(head.count)) else {
            let found = head.map { byte in
                let digits = String(byte, radix: 16, uppercase: true)
                return digits.count == 1 ? "0" + digits : digits
            }.joined(separator: " ")
            throw NPYFormatError(reason: "expected the magic string \\x93NUMPY (93 4E 55 4D 50 59) at the start, found \(found)")
        }
        guard head.count == magic.count else { throw truncated(data.count, "inside the 6-byte magic string") }
    }

    /// Latin-1 for formats 1.0 and 2.0, UTF-8 (checked here) for 3.0.
    private static func encoding(of text: [UInt8], major: UInt8) throws(NPYFormatError) -> HeaderTextEncoding {
        guard major == 3 else { return .latin1 }
        guard String(validating: text, as: UTF8.self) != nil else {
            throw NPYFormatError(reason: "the header is not valid UTF-8, which format 3.0 requires")
        }
        return .utf8
    }

    private static func truncated(_ size: Int, _ place: String) -> NPYFormatError {
        NPYFormatError(reason: "the file ends after \(size) bytes, \(place)")
    }

    private static func littleEndianInteger(_ bytes: Data) -> Int {
        bytes.reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    // MARK: - Writing

    /// The magic string, version, header length and padded header for
    /// `header`, exactly as `np.save` writes them: format 1.0 unless the
    /// header is too long for its 2-byte length, then 2.0 (our headers are
    /// ASCII, so never 3.0). The data follows directly.
    static func preamble(for header: NPYHeader) -> Data {
        var text = header.dictionaryText
        if let grown = header.fortranOrder ? header.shape.last : header.shape.first {
            text += String(repeating: " ", count: max(0, growthAxisDigits - String(grown).count))
        }
        let dictionary = Array(text.utf8)
        var (major, lengthSize, headerLength) = (UInt8(1), 2, paddedLength(dictionary.count, lengthSize: 2))
        if headerLength > Int(UInt16.max) {
            (major, lengthSize, headerLength) = (2, 4, paddedLength(dictionary.count, lengthSize: 4))
        }
        var data = Data(magic + [major, 0])
        data.append(contentsOf: (0..<lengthSize).map { UInt8(truncatingIfNeeded: headerLength >> (8 * $0)) })
        data.append(contentsOf: dictionary)
        data.append(contentsOf: repeatElement(UInt8(ascii: " "), count: headerLength - dictionary.count - 1))
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// The header length once spaces and the final newline pad the preamble
    /// to ``alignment``; like numpy, a full block of spaces when it is already aligned.
    private static func paddedLength(_ dictionaryLength: Int, lengthSize: Int) -> Int {
        let unpadded = magic.count + 2 + lengthSize + dictionaryLength + 1
        return dictionaryLength + 1 + alignment - unpadded % alignment
    }
}
