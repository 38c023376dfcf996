/// A cursor over the bytes of a JSON text that reads one token at a time, for
/// a parser of one fixed JSON shape (the safetensors header, or a model's
/// architecture in its metadata) that wants to know exactly what came where,
/// and to refuse everything else.
///
/// It is bounded by construction, whatever the bytes:
/// - it never reads past the end of the text;
/// - it never recurses: nesting is the grammar's above it, which is fixed;
/// - it refuses a string longer than ``maximumStringLength`` bytes (of its
///   JSON source) as soon as it has seen one byte more, before building it;
/// - it refuses an integer at the digit where it stops fitting in `Int`.
///
/// The text must be valid UTF-8, checked once by the caller: every JSON
/// token outside strings is ASCII, so a multi-byte character can only be
/// unexpected, and strings decode without a second check. Positions in
/// messages are byte offsets from the start of the text, "of the header" (or
/// of whatever ``textName`` names).
struct JSONScanner {
    private let bytes: [UInt8]
    /// The offset of the next byte to read.
    private(set) var position = 0

    /// The longest string, in bytes of its JSON source, that the scanner
    /// builds: generous for metadata (which some tools fill with whole
    /// configurations), far below what could strain memory.
    static let maximumStringLength = 16 << 20

    /// The longest token ``word`` reads: `Int.max` has 19 digits.
    private static let wordLimit = 64

    /// The longest piece of offending input quoted in a message.
    private static let quoteLimit = 40

    /// The longest string this scanner builds: ``maximumStringLength``
    /// unless a test asks for less.
    private let stringLimit: Int

    /// What messages call the text: "the header", "the architecture".
    let textName: String

    init(_ bytes: [UInt8], maximumStringLength: Int = JSONScanner.maximumStringLength, textName: String = "the header") {
        self.bytes = bytes
        self.stringLimit = maximumStringLength
        self.textName = textName
    }

    // MARK: - Structure

    /// The next byte, or `nil` at the end of the text.
    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// Whether the next byte is `character`.
    func isAt(_ character: Unicode.Scalar) -> Bool { peek == UInt8(ascii: character) }

    /// Skips JSON's four whitespace characters: space, tab, line feed, carriage return.
    mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    /// Consumes `character` if it is next.
    mutating func consume(_ character: Unicode.Scalar) -> Bool {
        guard isAt(character) else { return false }
        position += 1
        return true
    }

    /// Consumes `character`, or throws naming `expected`.
    mutating func expect(_ character: Unicode.Scalar, _ expected: String) throws(SafeTensorsFormatError) {
        guard consume(character) else { throw unexpected(expected: expected) }
    }

    /// Consumes the literal `null` if it is next (and is the whole word).
    mutating func consumeNull() -> Bool {
        consume(word: "null")
    }

    /// Consumes `literal` (`null`, `true`, `false`) if it is next and is the
    /// whole word, so that `nullx` or `true1` is not half-read.
    mutating func consume(word literal: String) -> Bool {
        guard word == literal else { return false }
        position += literal.utf8.count
        return true
    }

    // MARK: - Strings

    /// The string whose opening quote is next, with its escapes decoded.
    ///
    /// Refused, as JSON refuses them: an unescaped control character
    /// (U+0000–U+001F), an unknown escape, a `\u` escape without four hex
    /// digits, and a surrogate that is not half of a pair. Also refused: a
    /// string longer than ``maximumStringLength`` bytes of JSON source
    /// (escapes counted as written, so the decoded string is never longer).
    mutating func string() throws(SafeTensorsFormatError) -> String {
        let start = position
        try expect("\"", "a string")
        let contentStart = position
        // The common case, no escapes: one tight scan (never past the limit),
        // then one decode of the slice.
        position = bytes.withUnsafeBufferPointer { buffer in
            var end = contentStart
            let limit = min(buffer.count, contentStart + stringLimit + 1)
            while end < limit {
                let byte = buffer[end]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                end += 1
            }
            return end
        }
        try checkLength(start: start, contentStart: contentStart)
        if consume("\"") {
            return String(decoding: bytes[contentStart..<(position - 1)], as: UTF8.self)
        }
        var decoded = Array(bytes[contentStart..<position])
        while true {
            guard let byte = peek else {
                throw SafeTensorsFormatError(
                    reason: "the string that starts at byte \(start) of \(textName) has no closing quote "
                        + "before the end of \(textName)")
            }
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: decoded, as: UTF8.self)
            }
            guard byte >= 0x20 else {
                throw SafeTensorsFormatError(
                    reason: "the string that starts at byte \(start) of \(textName) holds the control character "
                        + "0x\(String(byte, radix: 16, uppercase: true)) at byte \(position); JSON requires it escaped")
            }
            if byte == UInt8(ascii: "\\") {
                try escape(into: &decoded)
            } else {
                decoded.append(byte)
                position += 1
            }
            try checkLength(start: start, contentStart: contentStart)
        }
    }

    private func checkLength(start: Int, contentStart: Int) throws(SafeTensorsFormatError) {
        guard position - contentStart <= stringLimit else {
            throw SafeTensorsFormatError(
                reason: "the string that starts at byte \(start) of \(textName) is longer than "
                    + "\(stringLimit) bytes, the most this reader accepts")
        }
    }

    /// Decodes the escape sequence at the backslash that is next.
    private mutating func escape(into decoded: inout [UInt8]) throws(SafeTensorsFormatError) {
        let start = position
        position += 1
        guard let letter = peek else {
            throw SafeTensorsFormatError(reason: "the escape sequence at byte \(start) of \(textName) is cut off by its end")
        }
        position += 1
        if let byte = Self.simpleEscape(letter) {
            decoded.append(byte)
            return
        }
        guard letter == UInt8(ascii: "u") else {
            let shown = letter >= 0x21 && letter <= 0x7E
                ? "\\\(Unicode.Scalar(letter))" : "\\ followed by byte 0x\(String(letter, radix: 16, uppercase: true))"
            throw SafeTensorsFormatError(
                reason: "the escape sequence \(shown) at byte \(start) of \(textName) is not one JSON defines; "
                    + "expected \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u and 4 hex digits")
        }
        var value = try hexQuad(escapeStart: start)
        if (0xDC00...0xDFFF).contains(value) {
            throw loneSurrogate(value, start)
        }
        if (0xD800...0xDBFF).contains(value) {
            // A high surrogate must be followed at once by `\u` and a low one.
            let lowStart = position
            guard consume("\\"), consume("u") else { throw loneSurrogate(value, start) }
            let low = try hexQuad(escapeStart: lowStart)
            guard (0xDC00...0xDFFF).contains(low) else { throw loneSurrogate(value, start) }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        // Not a surrogate and at most 0x10FFFF here: a scalar, in UTF-8.
        switch value {
        case ..<0x80:
            decoded.append(UInt8(value))
        case ..<0x800:
            decoded += [UInt8(0xC0 | value >> 6), UInt8(0x80 | value & 0x3F)]
        case ..<0x10000:
            decoded += [UInt8(0xE0 | value >> 12), UInt8(0x80 | value >> 6 & 0x3F), UInt8(0x80 | value & 0x3F)]
        default:
            decoded += [
                UInt8(0xF0 | value >> 18), UInt8(0x80 | value >> 12 & 0x3F),
                UInt8(0x80 | value >> 6 & 0x3F), UInt8(0x80 | value & 0x3F),
            ]
        }
    }

    /// The byte that `\` followed by `letter` stands for, for every escape but `\u`.
    private static func simpleEscape(_ letter: UInt8) -> UInt8? {
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return letter
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        default: return nil
        }
    }

    /// The four hex digits of a `\u` escape, as a UTF-16 code unit.
    private mutating func hexQuad(escapeStart: Int) throws(SafeTensorsFormatError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek, let digit = Self.hexValue(byte) else {
                throw SafeTensorsFormatError(
                    reason: "the \\u escape at byte \(escapeStart) of \(textName) needs 4 hex digits, found \(found)")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private func loneSurrogate(_ value: UInt32, _ start: Int) -> SafeTensorsFormatError {
        let hex = String(value, radix: 16, uppercase: true)
        return SafeTensorsFormatError(
            reason: "the escape \\u\(hex) at byte \(start) of \(textName) is half of a UTF-16 surrogate pair "
                + "without its other half, which encodes no character")
    }

    // MARK: - Integers

    /// The non-negative decimal integer that is next, which must fit in
    /// `Int`; `what` names it in messages ("dimension 0 of …").
    ///
    /// JSON's other numbers are refused with what they are: a negative
    /// number (`-0` included), a fraction or exponent (`3.0`, `1e3`, which
    /// are not integers in the reference reader either), and a leading zero
    /// (`01`, which JSON forbids).
    mutating func nonNegativeInteger(_ what: String) throws(SafeTensorsFormatError) -> Int {
        let token = word
        guard let first = token.utf8.first, first == UInt8(ascii: "-") || Self.isDigit(first) else {
            throw unexpected(expected: "\(what) (a non-negative integer)")
        }
        let clipped = Self.clipped(token)
        guard first != UInt8(ascii: "-") else {
            throw SafeTensorsFormatError(reason: "\(what) must be a non-negative integer, found \(clipped)")
        }
        guard token.utf8.allSatisfy(Self.isDigit) else {
            throw SafeTensorsFormatError(reason: "\(what) must be an integer, found \(clipped)")
        }
        guard token.utf8.count == 1 || first != UInt8(ascii: "0") else {
            throw SafeTensorsFormatError(reason: "\(what) is \(clipped), but JSON does not allow leading zeros")
        }
        var value = 0
        for digit in token.utf8 {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else {
                throw SafeTensorsFormatError(reason: "\(what) is \(clipped), which does not fit in Int")
            }
            value = sum
        }
        position += token.utf8.count
        return value
    }

    /// The JSON number that is next, as written (`-1`, `0.5`, `1e-05`), for
    /// the caller to convert to the type it needs; `expected` names what the
    /// caller wanted there, for the message when no number is next.
    ///
    /// Refused, as JSON refuses them: a leading `+`, a leading zero (`01`), a
    /// dot without digits on both sides (`1.`, `.5`), an exponent without
    /// digits, and words such as `NaN` or `Infinity`.
    mutating func number(expected: String) throws(SafeTensorsFormatError) -> String {
        let token = word
        guard let first = token.utf8.first, first == UInt8(ascii: "-") || Self.isDigit(first) else {
            throw unexpected(expected: expected)
        }
        guard Self.isJSONNumber(Array(token.utf8)) else {
            throw SafeTensorsFormatError(
                reason: "\(Self.clipped(token)) at byte \(position) of \(textName) is not a JSON number")
        }
        position += token.utf8.count
        return token
    }

    /// Whether `bytes` is JSON's `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    private static func isJSONNumber(_ bytes: [UInt8]) -> Bool {
        var index = 0
        func digits() -> Int {
            let start = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            return index - start
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return false }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == bytes.count
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: - Messages

    /// What kind of JSON value starts at the current position, for a message
    /// that a value has the wrong type: "a string", "an array", "the number 1.5", ….
    var valueAhead: String {
        switch peek {
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case let byte? where byte == UInt8(ascii: "-") || Self.isDigit(byte): return "the number \(Self.clipped(word))"
        default:
            switch word {
            case "true", "false": return "the boolean \(word)"
            case "null": return "null"
            default: return found
            }
        }
    }

    /// An error naming what was expected at the current position and what is there.
    func unexpected(expected: String) -> SafeTensorsFormatError {
        SafeTensorsFormatError(reason: "expected \(expected) at byte \(position) of \(textName), found \(found)")
    }

    /// What is at the current position: a word, a character, a byte value or the end.
    var found: String {
        guard let byte = peek else { return "the end of \(textName)" }
        if !word.isEmpty { return Self.clipped(word) }
        if byte >= 0x21 && byte <= 0x7E { return "'\(Unicode.Scalar(byte))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    /// The run of ASCII letters, digits, signs and dots at the current
    /// position: the whole token a number or literal must be, so that `3.0`,
    /// `1e3` or `nullx` are seen whole rather than half-read. At most
    /// ``wordLimit`` bytes of it, more than any integer that fits in `Int`.
    private var word: String {
        var end = position
        let limit = min(bytes.count, position + Self.wordLimit)
        while end < limit, Self.isWordByte(bytes[end]) { end += 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    private static func clipped(_ text: String) -> String {
        "'" + (text.count <= quoteLimit ? text : text.prefix(quoteLimit) + "…") + "'"
    }
}
