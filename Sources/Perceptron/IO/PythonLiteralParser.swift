/// A strict parser for the one Python literal a `.npy` header holds: a
/// dictionary with quoted string keys whose values are strings, `True`,
/// `False` or tuples of integers, as in
///
///     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
///
/// Python syntax that numpy's writer never produces and that this subset does
/// not need (escape sequences, string prefixes, lists, nested dictionaries,
/// non-decimal integers) is refused with a message rather than guessed at.
///
/// The parser works on the header's bytes, never past their end: every
/// character the grammar needs is ASCII, so it never has to decode a byte
/// outside a string, and a malicious header can only make it throw.
struct PythonLiteralParser {
    private let bytes: [UInt8]
    private let encoding: HeaderTextEncoding
    private var position = 0

    /// The longest piece of offending input quoted in a message, so that a
    /// huge header cannot make a huge error.
    private static let quoteLimit = 40

    private init(bytes: [UInt8], encoding: HeaderTextEncoding) {
        self.bytes = bytes
        self.encoding = encoding
    }

    /// Parses `bytes` as a dictionary literal, allowing whitespace around
    /// every token, a trailing comma, and trailing whitespace (numpy's padding
    /// spaces and final newline). Returns the entries in file order,
    /// duplicates included: whether a key may repeat is for the caller to say.
    static func parseDictionary(
        _ bytes: [UInt8], encoding: HeaderTextEncoding
    ) throws(NPYFormatError) -> [(key: String, value: PythonLiteral)] {
        var parser = PythonLiteralParser(bytes: bytes, encoding: encoding)
        let entries = try parser.dictionary()
        parser.skipWhitespace()
        guard parser.position == bytes.count else {
            throw parser.unexpected(expected: "only spaces and a newline after the closing '}'")
        }
        return entries
    }

    // MARK: - Grammar

    private mutating func dictionary() throws(NPYFormatError) -> [(key: String, value: PythonLiteral)] {
        skipWhitespace()
        try expect("{", "'{' opening the header dictionary")
        var entries: [(key: String, value: PythonLiteral)] = []
        skipWhitespace()
        while !consume("}") {
            guard let quote = peek, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
                throw unexpected(expected: "a quoted key or '}'")
            }
            let key = try string()
            skipWhitespace()
            try expect(":", "':' after the key '\(key)'")
            skipWhitespace()
            entries.append((key, try value()))
            skipWhitespace()
            if consume(",") {
                skipWhitespace()
            } else {
                try expect("}", "',' or '}' after the value of '\(key)'")
                break
            }
        }
        return entries
    }

    private mutating func value() throws(NPYFormatError) -> PythonLiteral {
        switch peek {
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "("): return .integerTuple(try integerTuple())
        case UInt8(ascii: "T"), UInt8(ascii: "F"): return .bool(try boolean())
        default: throw unexpected(expected: "a value (a quoted string, True, False or a tuple of integers)")
        }
    }

    /// A string in single or double quotes, without escapes or line breaks.
    private mutating func string() throws(NPYFormatError) -> String {
        let start = position
        guard let quote = next() else { throw unexpected(expected: "a quoted string") }
        let contentStart = position
        // A Python string cannot span lines without escapes, which are refused.
        while let byte = peek, byte != quote, byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") {
            if byte == UInt8(ascii: "\\") {
                throw unexpected(expected: "a plain string (escape sequences are not supported in headers)")
            }
            position += 1
        }
        guard consume(quote) else {
            throw NPYFormatError(
                reason: "the string that starts at byte \(start) of the header has no closing quote before \(found)")
        }
        return encoding.decode(bytes[contentStart..<(position - 1)])
    }

    private mutating func boolean() throws(NPYFormatError) -> Bool {
        let word = wordAtPosition()
        guard word == "True" || word == "False" else { throw unexpected(expected: "True or False") }
        position += word.utf8.count
        return word == "True"
    }

    /// `()`, `(n,)` or `(n, m, …)` with an optional trailing comma. `(n)` is
    /// refused: in Python it is an integer in parentheses, not a tuple.
    private mutating func integerTuple() throws(NPYFormatError) -> [Int] {
        try expect("(", "'(' opening a tuple")
        var items: [Int] = []
        skipWhitespace()
        while !consume(")") {
            items.append(try integer())
            skipWhitespace()
            if consume(",") {
                skipWhitespace()
                continue
            }
            guard items.count > 1 || peek != UInt8(ascii: ")") else {
                throw unexpected(expected: "',' after the only entry of a 1-tuple (Python writes (\(items[0]),))")
            }
            try expect(")", "',' or ')' in a tuple")
            break
        }
        return items
    }

    /// A decimal integer with an optional sign that fits in `Int`.
    private mutating func integer() throws(NPYFormatError) -> Int {
        let word = wordAtPosition()
        var digits = Substring(word)
        let negative = digits.first == "-"
        if negative || digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw unexpected(expected: "a decimal integer")
        }
        var magnitude = 0
        for digit in digits.utf8 {
            let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else {
                throw NPYFormatError(
                    reason: "integer \(Self.clipped(word)) at byte \(position) of the header does not fit in Int")
            }
            magnitude = sum
        }
        position += word.utf8.count
        return negative ? -magnitude : magnitude
    }

    // MARK: - Lexing

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func next() -> UInt8? {
        defer { if position < bytes.count { position += 1 } }
        return peek
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        position += 1
        return true
    }

    private mutating func consume(_ character: Unicode.Scalar) -> Bool {
        consume(UInt8(ascii: character))
    }

    private mutating func expect(_ character: Unicode.Scalar, _ expected: String) throws(NPYFormatError) {
        guard consume(character) else { throw unexpected(expected: expected) }
    }

    /// Python's whitespace between tokens; inside brackets that includes line breaks.
    private mutating func skipWhitespace() {
        while let byte = peek, [0x20, 0x09, 0x0A, 0x0D, 0x0C].contains(byte) { position += 1 }
    }

    /// The run of word characters (letters, digits, `_`, `.`, signs) at the
    /// current position: the whole token a keyword or integer must equal, so
    /// that `Truex`, `3.0`, `3L` or `0x10` are refused rather than half-read.
    private func wordAtPosition() -> String {
        var end = position
        while end < bytes.count, Self.isWordByte(bytes[end], first: end == position) { end += 1 }
        return encoding.decode(bytes[position..<end])
    }

    private static func isWordByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), 0x80...:
            return true
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            return first
        default:
            return false
        }
    }

    // MARK: - Messages

    /// An error naming what was expected at the current position and what is there.
    private func unexpected(expected: String) -> NPYFormatError {
        NPYFormatError(reason: "expected \(expected) at byte \(position) of the header, found \(found)")
    }

    /// What is at the current position: a quoted word, a character, a byte value or the end.
    private var found: String {
        guard let byte = peek else { return "the end of the header" }
        let word = wordAtPosition()
        if !word.isEmpty, word.unicodeScalars.allSatisfy(\.isASCII) { return "'\(Self.clipped(word))'" }
        if byte >= 0x21 && byte <= 0x7E { return "'\(Unicode.Scalar(byte))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    private static func clipped(_ text: String) -> String {
        text.count <= quoteLimit ? text : text.prefix(quoteLimit) + "…"
    }
}
