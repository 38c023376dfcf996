/// The JSON header of a safetensors file: every tensor's dtype, shape and
/// byte range in the data buffer, and the free-form metadata.
///
/// This type knows the header's JSON, not the bytes around it or whether the
/// byte ranges fit the data: the length prefix, padding and the layout of the
/// data buffer are ``SafeTensorsFraming``'s.
///
/// The header is one JSON object. Each key is a tensor name, whose value is
/// an object with exactly the fields `"dtype"` (a string), `"shape"` (an
/// array of non-negative integers) and `"data_offsets"` (an array of two
/// non-negative integers, begin and end), each once; the key `"__metadata__"`
/// instead holds an object of string values, or `null`. For example:
///
///     {"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}
///
/// The parser is stricter than the reference reader in two ways, both of
/// which would otherwise let a file say two things at once: a repeated key,
/// at any level, is refused (the reference, like most JSON readers, keeps
/// one of the values silently), and so is a field other than the three in a
/// tensor's object (the reference ignores it).
struct SafeTensorsHeader: Equatable {
    /// One tensor's entry in the header.
    struct Entry: Equatable {
        /// The tensor's name, the key of its entry.
        var name: String
        /// The element type of its data.
        var dtype: SafeTensorsDType
        /// Its dimensions, outermost first; each ≥ 0.
        var shape: [Int]
        /// Where its data begins in the data buffer, in bytes.
        var begin: Int
        /// Where its data ends in the data buffer (exclusive); not yet known
        /// to be ≥ ``begin`` in a header just parsed.
        var end: Int
    }

    /// The key that holds the metadata rather than a tensor.
    static let metadataKey = "__metadata__"

    /// The three fields of a tensor's entry, in the order the reference writes them.
    static let fields = ["dtype", "shape", "data_offsets"]

    /// The tensors' entries, in the order of the header's text.
    var entries: [Entry]
    /// The `"__metadata__"` pairs; empty when the header has none.
    var metadata: [String: String]

    /// A header with the given entries and metadata.
    init(entries: [Entry], metadata: [String: String]) {
        self.entries = entries
        self.metadata = metadata
    }

    // MARK: - Parsing

    /// Parses the header's text, which must be valid UTF-8 (checked by the
    /// caller), with JSON whitespace allowed around every token and after the
    /// object (the reference writer pads with spaces).
    init(parsing text: [UInt8]) throws(SafeTensorsFormatError) {
        var scanner = JSONScanner(text)
        var entries: [Entry] = []
        var metadata: [String: String]?
        // Keys seen so far, each mapped to its first spelling: Swift compares
        // strings by canonical equivalence, so "é" and "e\u{301}" are one key,
        // and a message should say so rather than show two identical names.
        var seen: [String: String] = [:]
        scanner.skipWhitespace()
        try scanner.expect("{", "'{' opening the header object")
        scanner.skipWhitespace()
        if !scanner.consume("}") {
            var key = ""
            repeat {
                scanner.skipWhitespace()
                guard scanner.isAt("\"") else { throw scanner.unexpected(expected: "a tensor name in double quotes") }
                key = try scanner.string()
                try Self.checkUnique(key, in: &seen) { "the key \($0) appears more than once in the header" }
                scanner.skipWhitespace()
                try scanner.expect(":", "':' after the key \(JSONString.clipped(key))")
                scanner.skipWhitespace()
                if key == Self.metadataKey {
                    metadata = try Self.metadata(&scanner)
                } else {
                    entries.append(try Self.entry(named: key, &scanner))
                }
                scanner.skipWhitespace()
            } while scanner.consume(",")
            try scanner.expect("}", "',' or '}' after the entry of \(JSONString.clipped(key))")
        }
        scanner.skipWhitespace()
        guard scanner.peek == nil else {
            throw scanner.unexpected(expected: "only whitespace after the header object's closing '}'")
        }
        self.init(entries: entries, metadata: metadata ?? [:])
    }

    /// The `"__metadata__"` value: an object of strings, or `null` for none
    /// (which the reference reads as no metadata).
    private static func metadata(_ scanner: inout JSONScanner) throws(SafeTensorsFormatError) -> [String: String] {
        if scanner.consumeNull() { return [:] }
        guard scanner.consume("{") else {
            throw SafeTensorsFormatError(
                reason: "\"__metadata__\" must be an object of string values, found \(scanner.valueAhead)")
        }
        var pairs: [String: String] = [:]
        var seen: [String: String] = [:]
        scanner.skipWhitespace()
        if scanner.consume("}") { return pairs }
        repeat {
            scanner.skipWhitespace()
            guard scanner.isAt("\"") else { throw scanner.unexpected(expected: "a metadata key in double quotes") }
            let key = try scanner.string()
            try checkUnique(key, in: &seen) { "the metadata key \($0) appears more than once" }
            scanner.skipWhitespace()
            try scanner.expect(":", "':' after the metadata key \(JSONString.clipped(key))")
            scanner.skipWhitespace()
            guard scanner.isAt("\"") else {
                throw SafeTensorsFormatError(
                    reason: "the metadata value of \(JSONString.clipped(key)) must be a string, found \(scanner.valueAhead)")
            }
            pairs[key] = try scanner.string()
            scanner.skipWhitespace()
        } while scanner.consume(",")
        try scanner.expect("}", "',' or '}' in \"__metadata__\"")
        return pairs
    }

    /// A tensor's entry: an object with each of ``fields`` exactly once.
    private static func entry(
        named name: String, _ scanner: inout JSONScanner
    ) throws(SafeTensorsFormatError) -> Entry {
        let tensor = "tensor \(JSONString.clipped(name))"
        guard scanner.consume("{") else {
            throw SafeTensorsFormatError(
                reason: "\(tensor) must be an object with \"dtype\", \"shape\" and \"data_offsets\", "
                    + "found \(scanner.valueAhead)")
        }
        var dtype: SafeTensorsDType?
        var shape: [Int]?
        var offsets: [Int]?
        var seen: [String: String] = [:]
        scanner.skipWhitespace()
        if !scanner.consume("}") {
            repeat {
                scanner.skipWhitespace()
                guard scanner.isAt("\"") else { throw scanner.unexpected(expected: "a field name of \(tensor) in double quotes") }
                let field = try scanner.string()
                try checkUnique(field, in: &seen) { "\(tensor) has the field \($0) more than once" }
                scanner.skipWhitespace()
                try scanner.expect(":", "':' after the field \(JSONString.clipped(field)) of \(tensor)")
                scanner.skipWhitespace()
                switch field {
                case "dtype":
                    dtype = try Self.dtype(of: tensor, &scanner)
                case "shape":
                    shape = try integers(&scanner, "\"shape\" of \(tensor)", element: { "dimension \($0) of the shape of \(tensor)" })
                case "data_offsets":
                    let what = "\"data_offsets\" of \(tensor)"
                    let pair = try integers(&scanner, what, element: { "\($0 == 0 ? "begin" : "end") offset of \(tensor)" })
                    guard pair.count == 2 else {
                        throw SafeTensorsFormatError(
                            reason: "\(what) must be [begin, end], 2 integers, but has \(pair.count)")
                    }
                    offsets = pair
                default:
                    throw SafeTensorsFormatError(
                        reason: "\(tensor) has the unknown field \(JSONString.clipped(field)); "
                            + "expected exactly \"dtype\", \"shape\" and \"data_offsets\"")
                }
                scanner.skipWhitespace()
            } while scanner.consume(",")
            try scanner.expect("}", "',' or '}' in the entry of \(tensor)")
        }
        guard let dtype, let shape, let offsets else {
            let present = [dtype != nil, shape != nil, offsets != nil]
            let missing = fields[present.firstIndex(of: false) ?? 0]
            throw SafeTensorsFormatError(
                reason: "\(tensor) has no \"\(missing)\" field; "
                    + "expected exactly \"dtype\", \"shape\" and \"data_offsets\"")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }

    /// A `"dtype"` value: one of the four float dtypes.
    private static func dtype(of tensor: String, _ scanner: inout JSONScanner) throws(SafeTensorsFormatError) -> SafeTensorsDType {
        guard scanner.isAt("\"") else {
            throw SafeTensorsFormatError(reason: "\"dtype\" of \(tensor) must be a string, found \(scanner.valueAhead)")
        }
        let name = try scanner.string()
        if let dtype = SafeTensorsDType(rawValue: name) { return dtype }
        let kind = SafeTensorsDType.unsupportedFormatDTypes.contains(name)
            ? "is not supported (a Tensor holds floating-point numbers)" : "is not a safetensors dtype"
        throw SafeTensorsFormatError(
            reason: "\(tensor) has dtype \(JSONString.clipped(name)), which \(kind); "
                + "expected \(SafeTensorsDType.acceptedList)")
    }

    /// An array of non-negative integers, `what` naming it and `element(i)`
    /// its `i`-th entry in messages.
    private static func integers(
        _ scanner: inout JSONScanner, _ what: String, element: (Int) -> String
    ) throws(SafeTensorsFormatError) -> [Int] {
        guard scanner.consume("[") else {
            throw SafeTensorsFormatError(reason: "\(what) must be an array of integers, found \(scanner.valueAhead)")
        }
        var values: [Int] = []
        scanner.skipWhitespace()
        if scanner.consume("]") { return values }
        repeat {
            scanner.skipWhitespace()
            values.append(try scanner.nonNegativeInteger(element(values.count)))
            scanner.skipWhitespace()
        } while scanner.consume(",")
        try scanner.expect("]", "',' or ']' in \(what)")
        return values
    }

    /// Records `key`, refusing one seen before in the same object with the
    /// sentence `repeated` makes of the quoted key.
    private static func checkUnique(
        _ key: String, in seen: inout [String: String], repeated: (String) -> String
    ) throws(SafeTensorsFormatError) {
        guard let first = seen[key] else {
            seen[key] = key
            return
        }
        var reason = repeated(JSONString.clipped(first))
        if !first.unicodeScalars.elementsEqual(key.unicodeScalars) {
            reason += " (as \(JSONString.clipped(key)), which is canonically equivalent Unicode text: "
                + "the same string in Swift)"
        }
        throw SafeTensorsFormatError(reason: reason)
    }

    // MARK: - Writing

    /// The header as the reference writer (`serde_json`) writes it: no
    /// whitespace, `"__metadata__"` first when there is any (keys in
    /// ascending order of their UTF-8 bytes), then the entries in the order
    /// given, each with `"dtype"`, `"shape"` and `"data_offsets"`. No padding.
    var jsonText: String {
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                .map { JSONString.quoted($0.key) + ":" + JSONString.quoted($0.value) }
            parts.append(JSONString.quoted(Self.metadataKey) + ":{" + pairs.joined(separator: ",") + "}")
        }
        for entry in entries {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            parts.append(
                JSONString.quoted(entry.name) + ":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(entry.begin),\(entry.end)]}")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
