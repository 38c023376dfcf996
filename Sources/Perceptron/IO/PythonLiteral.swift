/// A value of the small subset of Python literal syntax that `.npy` headers use.
enum PythonLiteral: Equatable {
    /// A quoted string, such as `'<f4'`.
    case string(String)
    /// `True` or `False`.
    case bool(Bool)
    /// A tuple of integers, such as `()`, `(3,)` or `(2, 3)`. Entries may be
    /// negative: whether that is allowed is for the reader of the value to say.
    case integerTuple([Int])

    /// The value as Python's `repr` writes it, for messages.
    var repr: String {
        switch self {
        case let .string(text): return "'\(text)'"
        case let .bool(value): return value ? "True" : "False"
        case let .integerTuple(items): return Self.tupleRepr(items)
        }
    }

    /// A tuple as Python writes it: `()`, `(3,)` (a 1-tuple needs its comma), `(2, 3)`.
    static func tupleRepr(_ items: [Int]) -> String {
        switch items.count {
        case 0: return "()"
        case 1: return "(\(items[0]),)"
        default: return "(" + items.map(String.init).joined(separator: ", ") + ")"
        }
    }
}

/// How the bytes of a header's text encode characters: `.npy` format 1.0 and
/// 2.0 headers are Latin-1, format 3.0 headers UTF-8.
enum HeaderTextEncoding {
    /// One byte per character, every byte valid (ISO 8859-1).
    case latin1
    /// UTF-8, already validated by the caller.
    case utf8

    /// The characters of `bytes`.
    func decode(_ bytes: ArraySlice<UInt8>) -> String {
        switch self {
        case .latin1:
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
            return String(scalars)
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
