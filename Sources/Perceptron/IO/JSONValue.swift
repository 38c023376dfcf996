/// A JSON value, for the small documents Perceptron keeps inside a file's
/// metadata (a model's architecture): parsed with every limit checked, and
/// written in one canonical form.
///
/// Numbers keep the text they were written with, so that each reader
/// converts it once, to the type it needs (`Int`, `Double`), rather than
/// through a `Double` first. Objects keep their members in order, so that
/// what is written is the same bytes every time, and refuse a repeated key
/// when parsed: a document that says two things at once is an error, not one
/// of its values kept.
indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number, as written: `-1`, `0.5`, `1e-05`.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    /// One `"key": value` of an object.
    struct Member: Equatable, Sendable {
        var key: String
        var value: JSONValue

        init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// An integer, written as JSON writes it.
    static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

    /// A finite floating-point number, written as Swift prints it: the
    /// shortest decimal that reads back as the same value of its type
    /// (`0.01`, `1e-05`), which JSON accepts as a number.
    ///
    /// A NaN or an infinity is a programming error here, since JSON has no
    /// number for it: the caller refuses it first.
    static func number<Value: BinaryFloatingPoint & CustomStringConvertible>(_ value: Value) -> JSONValue {
        precondition(value.isFinite, "JSON has no number for \(value)")
        return .number(value.description)
    }

    /// The value of the member `key`, if this is an object that has one.
    subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    // MARK: - Writing

    /// The value as compact JSON: no whitespace, members in their order,
    /// strings escaped as ``JSONString/quoted(_:)`` escapes them.
    var jsonText: String {
        var text = ""
        write(into: &text)
        return text
    }

    private func write(into text: inout String) {
        switch self {
        case .null: text += "null"
        case let .bool(value): text += value ? "true" : "false"
        case let .number(value): text += value
        case let .string(value): text += JSONString.quoted(value)
        case let .array(elements):
            text += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { text += "," }
                element.write(into: &text)
            }
            text += "]"
        case let .object(members):
            text += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { text += "," }
                text += JSONString.quoted(member.key) + ":"
                member.value.write(into: &text)
            }
            text += "}"
        }
    }

    // MARK: - Reading

    /// Parses `text`, one JSON value with optional whitespace around it.
    ///
    /// Bounded whatever the text: arrays and objects may nest at most
    /// `maximumDepth` deep (so the recursion is too), and strings are limited
    /// as ``JSONScanner`` limits them.
    ///
    /// - Parameter textName: what messages call the text, such as "the architecture".
    /// - Throws: ``SafeTensorsFormatError`` naming what was expected, what
    ///   came and at which byte.
    init(parsing text: String, textName: String, maximumDepth: Int) throws(SafeTensorsFormatError) {
        // A Swift string is valid Unicode, so its UTF-8 is valid, as the scanner requires.
        var scanner = JSONScanner(Array(text.utf8), textName: textName)
        scanner.skipWhitespace()
        self = try Self.value(&scanner, depth: 0, maximumDepth: maximumDepth)
        scanner.skipWhitespace()
        guard scanner.peek == nil else {
            throw scanner.unexpected(expected: "only whitespace after the value")
        }
    }

    private static func value(
        _ scanner: inout JSONScanner, depth: Int, maximumDepth: Int
    ) throws(SafeTensorsFormatError) -> JSONValue {
        if scanner.isAt("[") || scanner.isAt("{") {
            guard depth < maximumDepth else {
                throw SafeTensorsFormatError(
                    reason: "\(scanner.textName) nests arrays and objects more than \(maximumDepth) deep "
                        + "(at byte \(scanner.position)), more than this reader accepts")
            }
        }
        if scanner.consume("[") {
            var elements: [JSONValue] = []
            scanner.skipWhitespace()
            if scanner.consume("]") { return .array(elements) }
            repeat {
                scanner.skipWhitespace()
                elements.append(try value(&scanner, depth: depth + 1, maximumDepth: maximumDepth))
                scanner.skipWhitespace()
            } while scanner.consume(",")
            try scanner.expect("]", "',' or ']' in an array")
            return .array(elements)
        }
        if scanner.consume("{") {
            var members: [Member] = []
            var keys: Set<String> = []
            scanner.skipWhitespace()
            if scanner.consume("}") { return .object(members) }
            repeat {
                scanner.skipWhitespace()
                guard scanner.isAt("\"") else { throw scanner.unexpected(expected: "a key in double quotes") }
                let keyStart = scanner.position
                let key = try scanner.string()
                guard keys.insert(key).inserted else {
                    throw SafeTensorsFormatError(
                        reason: "the key \(JSONString.clipped(key)) at byte \(keyStart) of \(scanner.textName) "
                            + "appears more than once in its object")
                }
                scanner.skipWhitespace()
                try scanner.expect(":", "':' after the key \(JSONString.clipped(key))")
                scanner.skipWhitespace()
                members.append(Member(key, try value(&scanner, depth: depth + 1, maximumDepth: maximumDepth)))
                scanner.skipWhitespace()
            } while scanner.consume(",")
            try scanner.expect("}", "',' or '}' in an object")
            return .object(members)
        }
        if scanner.isAt("\"") { return .string(try scanner.string()) }
        if scanner.consume(word: "true") { return .bool(true) }
        if scanner.consume(word: "false") { return .bool(false) }
        if scanner.consumeNull() { return .null }
        return .number(try scanner.number(expected: "a JSON value"))
    }

    // MARK: - Messages

    /// What the value is, for a message that it is the wrong kind: "a
    /// string", "the number 1.5", "the boolean true", …
    var kindDescription: String {
        switch self {
        case .null: return "null"
        case let .bool(value): return "the boolean \(value)"
        case let .number(text): return "the number \(text.count <= 40 ? text : text.prefix(40) + "…")"
        case let .string(text): return "the string \(JSONString.clipped(text, limit: 40))"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
