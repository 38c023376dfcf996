@testable import Perceptron
import Testing

/// The small JSON reader and writer behind a model file's architecture.
@Suite("JSONValue: reading and writing")
struct JSONValueTests {
    func parse(_ text: String, depth: Int = 8) throws(SafeTensorsFormatError) -> JSONValue {
        try JSONValue(parsing: text, textName: "the text", maximumDepth: depth)
    }

    @Test func readsEveryKindOfValue() throws {
        let value = try parse(" {\"a\" : [1, -2.5e+3, true, false, null, \"x\\u00e9\\n\"], \"b\": {}, \"c\": []} ")
        #expect(value == .object([
            .init("a", .array([.number("1"), .number("-2.5e+3"), .bool(true), .bool(false), .null, .string("xé\n")])),
            .init("b", .object([])), .init("c", .array([])),
        ]))
        #expect(value["b"] == .object([]) && value["z"] == nil && JSONValue.array([])["a"] == nil)
    }

    @Test func writesCompactlyInOrderAndReadsBackTheSame() throws {
        let value = JSONValue.object([
            .init("z", .integer(-1)), .init("a", .number(Float(0.01))), .init("q\"\\", .string("\u{1}é")),
            .init("l", .array([.bool(true), .null, .number(1e-5)])),
        ])
        #expect(value.jsonText == "{\"z\":-1,\"a\":0.01,\"q\\\"\\\\\":\"\\u0001é\",\"l\":[true,null,1e-05]}")
        #expect(try parse(value.jsonText) == value)
    }

    @Test(arguments: ["0", "-0", "12", "1.5", "-0.25", "1e3", "1E-3", "2.5e+10"])
    func readsJSONNumbersAsWritten(_ text: String) throws {
        #expect(try parse(text) == .number(text))
    }

    @Test(arguments: ["01", "1.", "1.e3", "1e", "1e+", "-", "-01", "0x10", "1.5.2", "--1"])
    func refusesWhatJSONDoesNotCallANumber(_ text: String) {
        #expect(throws: SafeTensorsFormatError(reason: "'\(text)' at byte 0 of the text is not a JSON number")) { try parse(text) }
    }

    @Test(arguments: [
        ("+1", "expected a JSON value at byte 0 of the text, found '+1'"),
        (".5", "expected a JSON value at byte 0 of the text, found '.5'"),
        ("Infinity", "expected a JSON value at byte 0 of the text, found 'Infinity'"),
        ("truex", "expected a JSON value at byte 0 of the text, found 'truex'"),
        ("[1,]", "expected a JSON value at byte 3 of the text, found ']'"),
        ("[1 2]", "expected ',' or ']' in an array at byte 3 of the text, found '2'"),
        ("{\"a\" 1}", "expected ':' after the key \"a\" at byte 5 of the text, found '1'"),
        ("{\"a\":1,}", "expected a key in double quotes at byte 7 of the text, found '}'"),
        ("{\"a\":1 \"b\":2}", "expected ',' or '}' in an object at byte 7 of the text, found '\"'"),
        ("{\"a\":1,\"a\":2}", "the key \"a\" at byte 7 of the text appears more than once in its object"),
        ("1 1", "expected only whitespace after the value at byte 2 of the text, found '1'"),
        ("\"a", "the string that starts at byte 0 of the text has no closing quote before the end of the text"),
    ])
    func refusesMalformedText(_ text: String, _ reason: String) {
        #expect(throws: SafeTensorsFormatError(reason: reason)) { try parse(text) }
    }

    @Test func nestingIsBoundedBeforeItRecurses() throws {
        #expect(try parse("[[[]]]", depth: 3) == .array([.array([.array([])])]))
        #expect(throws: SafeTensorsFormatError(
            reason: "the text nests arrays and objects more than 3 deep (at byte 3), more than this reader accepts")) {
            try parse("[[[{}]]]", depth: 3)
        }
        // Far deeper than any stack would survive if it recursed first.
        let deep = String(repeating: "[", count: 1_000_000) + String(repeating: "]", count: 1_000_000)
        #expect(throws: SafeTensorsFormatError.self) { try parse(deep, depth: 64) }
    }
}
