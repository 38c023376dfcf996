/// JSON string literals as the safetensors reference writer (Rust's
/// `serde_json`) writes them, for the header ``SafeTensors`` writes and for
/// quoting names in messages.
enum JSONString {
    /// `text` in double quotes, escaping what JSON requires and nothing else:
    /// `"` and `\` with a backslash, the control characters U+0000–U+001F as
    /// `\b`, `\t`, `\n`, `\f`, `\r` or `\u00xx` (lowercase hex). Everything
    /// else, non-ASCII included, is written as its own UTF-8, as `serde_json`
    /// does, so that our headers are byte-identical to the reference's.
    static func quoted(_ text: String) -> String {
        var result = "\""
        result.unicodeScalars.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\u{08}": result += "\\b"
            case "\t": result += "\\t"
            case "\n": result += "\\n"
            case "\u{0C}": result += "\\f"
            case "\r": result += "\\r"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// ``quoted(_:)`` of at most `limit` characters of `text`, followed by
    /// `…` when it was cut: for messages, so that a hostile name cannot make
    /// a huge error, nor one that hides control characters.
    static func clipped(_ text: String, limit: Int = 60) -> String {
        guard text.count > limit else { return quoted(text) }
        return quoted(String(text.prefix(limit))) + "…"
    }
}
