import Foundation
@testable import Perceptron
import Testing

/// The bytes of a safetensors file: the 8-byte little-endian length of
/// `header` (unless `headerLength` says otherwise), `header`, then `data`.
func safeTensorsBytes(_ header: [UInt8], headerLength: UInt64? = nil, data: [UInt8] = []) -> Data {
    let length = headerLength ?? UInt64(header.count)
    var bytes = Data((0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) })
    bytes.append(contentsOf: header)
    bytes.append(contentsOf: data)
    return bytes
}

func safeTensorsBytes(_ header: String, headerLength: UInt64? = nil, data: [UInt8] = []) -> Data {
    safeTensorsBytes(Array(header.utf8), headerLength: headerLength, data: data)
}

/// A tensor's entry in a header: `"name":{"dtype":…,"shape":…,"data_offsets":…}`.
func stEntry(_ name: String, _ dtype: String = "F32", shape: String = "[2,3]", offsets: String = "[0,24]") -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
}

/// The byte offset of the first `needle` in `text`, for messages that name positions.
func byteOffset(of needle: String, in text: String) -> Int {
    let bytes = Array(text.utf8), pattern = Array(needle.utf8)
    return (0...(bytes.count - pattern.count)).first { Array(bytes[$0..<($0 + pattern.count)]) == pattern } ?? -1
}

/// Expects reading `data` as `SafeTensors<Scalar>` to fail with exactly `reason`.
func expectInvalidSafeTensors<Scalar: BLASScalar>(
    _ data: Data, as _: Scalar.Type = Float.self, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(throws: PerceptronError.invalidSafeTensors(path: "<data>", reason: reason), sourceLocation: sourceLocation) {
        try SafeTensors<Scalar>(safeTensorsData: data)
    }
}

/// Expects a file whose header is `header` (24 zero bytes of data after it) to fail with `reason`.
func expectInvalidHeader(
    _ header: String, data: [UInt8] = Array(repeating: 0, count: 24), _ reason: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectInvalidSafeTensors(safeTensorsBytes(header, data: data), reason, sourceLocation: sourceLocation)
}

@Suite("safetensors: what the reader accepts")
struct SafeTensorsAcceptedTests {
    @Test func headerVariantsTheReferenceAccepts() throws {
        let variants = [
            "{" + stEntry("a") + "}",
            // Whitespace around every token, fields in any order, padding after.
            " \t\r\n{ \"a\" : { \"data_offsets\" : [ 0 , 24 ] , \"shape\" : [ 2 , 3 ] , \"dtype\" : \"F32\" } }    \n",
            // Metadata null means none; an empty object likewise.
            "{\"__metadata__\":null," + stEntry("a") + "}",
            "{" + stEntry("a") + ",\"__metadata__\":{}}",
        ]
        for header in variants {
            let file = try SafeTensors<Float>(safeTensorsData: safeTensorsBytes(header, data: Array(repeating: 0, count: 24)))
            #expect(file.tensors["a"]?.shape == [2, 3], "\(header)")
            #expect(file.metadata.isEmpty)
        }
        // Data that is a slice of a larger buffer (a nonzero startIndex) reads the same.
        let bytes = safeTensorsBytes("{" + stEntry("a", shape: "[1]", offsets: "[0,4]") + "}", data: [0, 0, 0x80, 0x3F])
        let slice = (Data([9, 9, 9]) + bytes).dropFirst(3)
        #expect(try SafeTensors<Float>(safeTensorsData: slice).tensors["a"]?.scalars == [1])
    }

    @Test func escapesDecode() throws {
        let header = "{\"__metadata__\":{\"k\\u00e9\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\ud83d\\ude00\\u00E9\"},"
            + stEntry("caf\\u00e9\\u20ac", shape: "[]", offsets: "[0,4]") + "}"
        let file = try SafeTensors<Float>(safeTensorsData: safeTensorsBytes(header, data: [0, 0, 0x80, 0x3F]))
        #expect(file.metadata == ["ké": "\"\\/\u{08}\u{0C}\n\r\t\u{00}😀é"])
        #expect(Array(file.tensors.keys) == ["café€"])
    }

    /// Empty tensors may share an offset with each other and with the start
    /// of the next tensor; offsets need not follow the names' order.
    @Test func emptyTensorsAndAnyOrder() throws {
        let header = "{" + [
            stEntry("z", shape: "[1]", offsets: "[0,4]"), stEntry("a", "F64", shape: "[1]", offsets: "[4,12]"),
            stEntry("e1", shape: "[0]", offsets: "[4,4]"), stEntry("e2", "BF16", shape: "[3,0]", offsets: "[4,4]"),
            stEntry("e3", "F16", shape: "[0]", offsets: "[12,12]"), stEntry("e0", shape: "[0,5]", offsets: "[0,0]"),
        ].joined(separator: ",") + "}"
        let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0, 0, 0, 0xF0, 0xBF]
        let file = try SafeTensors<Double>(safeTensorsData: safeTensorsBytes(header, data: data))
        #expect(file.tensors["z"]?.scalars == [1] && file.tensors["a"]?.scalars == [-1])
        #expect(file.tensors["e2"]?.shape == [3, 0] && file.tensors["e0"]?.shape == [0, 5] && file.tensors["e3"]?.count == 0)
    }

    /// The binary16 and bfloat16 conversions against every bit pattern's
    /// value computed another way: sign × significand × 2^exponent.
    @Test func halfAndBFloat16ConvertExactly() throws {
        for bits in UInt16.min...UInt16.max {
            let sign: Float = bits & 0x8000 == 0 ? 1 : -1
            let exponent = Int(bits >> 10 & 0x1F), significand = Float(bits & 0x3FF)
            let half = SafeTensorsDType.float(fromHalf: bits)
            switch exponent {
            case 0x1F where significand == 0: #expect(half == sign * .infinity)
            case 0x1F: #expect(half.isNaN)
            case 0: #expect(sameScalar(half, sign * significand * 0x1p-24), "\(bits)")
            default: #expect(half == sign * (1 + significand / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1), "\(bits)")
            }
        }
        // Both conversions through the decoder, for both precisions.
        let header = "{" + stEntry("h", "F16", shape: "[3]", offsets: "[0,6]") + "," + stEntry("b", "BF16", shape: "[3]", offsets: "[6,12]") + "}"
        let data: [UInt8] = [0x00, 0x3C, 0x01, 0x00, 0x00, 0xFC, 0x80, 0x3F, 0x01, 0x00, 0xAB, 0xBE]
        for file in [try SafeTensors<Float>(safeTensorsData: safeTensorsBytes(header, data: data)).tensors.mapValues(\.doubles),
                     try SafeTensors<Double>(safeTensorsData: safeTensorsBytes(header, data: data)).tensors.mapValues(\.scalars)] {
            #expect(file["h"] == [1, 0x1p-24, -.infinity])
            #expect(file["b"] == [1, Double(Float(bitPattern: 1 << 16)), Double(Float(bitPattern: 0xBEAB_0000))])
        }
    }
}

@Suite("safetensors: malformed input")
struct SafeTensorsMalformedTests {
    @Test func shortFilesAndHeaderLengths() {
        expectInvalidSafeTensors(Data(), "the file ends after 0 bytes, inside the 8-byte header length")
        expectInvalidSafeTensors(Data([8, 0, 0, 0, 0, 0, 0]), "the file ends after 7 bytes, inside the 8-byte header length")
        expectInvalidSafeTensors(
            safeTensorsBytes("{}", headerLength: 100, data: Array(repeating: 0x20, count: 8)),
            "header length 100 runs past the end of the 18-byte file (the header would end at byte 108)")
        expectInvalidSafeTensors(
            safeTensorsBytes("{}", headerLength: 100_000_000),
            "header length 100000000 runs past the end of the 10-byte file (the header would end at byte 100000008)")
        expectInvalidSafeTensors(
            safeTensorsBytes("{}", headerLength: 100_000_001), "header length 100000001 is over the limit of 100000000 bytes")
        expectInvalidSafeTensors(
            safeTensorsBytes("{}", headerLength: .max), "header length 18446744073709551615 is over the limit of 100000000 bytes")
        expectInvalidSafeTensors(
            safeTensorsBytes("{}", headerLength: UInt64(Int.max) - 7),
            "header length 9223372036854775800 is over the limit of 100000000 bytes")
        // A .npy file read as safetensors: its magic string read as a length, and said to be what it is.
        expectInvalidSafeTensors(
            Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0x76, 0]) + Data(repeating: 0x20, count: 118),
            "header length 379676406402707 is over the limit of 100000000 bytes (the file is a .npy file, not safetensors)")
        // So are a gzip file and a zip archive (torch.save's format), whichever check refuses them:
        // a gzip header with a modification time reads as a huge length, one without as a small one.
        expectInvalidSafeTensors(
            Data([0x1F, 0x8B, 0x08, 0x00, 0x10, 0x20, 0x30, 0x40]) + Data(repeating: 0, count: 20),
            "header length 4625232070401624863 is over the limit of 100000000 bytes "
                + "(the file is gzip-compressed, not safetensors: decompress it first)")
        expectInvalidSafeTensors(
            Data([0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0]) + Data(repeating: 0, count: 20),
            "header length 559903 runs past the end of the 28-byte file (the header would end at byte 559911) "
                + "(the file is gzip-compressed, not safetensors: decompress it first)")
        expectInvalidSafeTensors(
            Data([0x50, 0x4B, 0x03, 0x04, 0x14, 0, 0, 0]) + Data(repeating: 0, count: 20),
            "header length 85966670672 is over the limit of 100000000 bytes "
                + "(the file is a zip archive, as torch.save writes, not safetensors)")
    }

    @Test func headersThatAreNotUTF8() {
        func expectNotUTF8(_ bad: [UInt8], _ byte: String) {
            let header = Array("{\"a".utf8) + bad + Array("\":{}}".utf8)
            expectInvalidSafeTensors(
                safeTensorsBytes(header),
                "the header is not valid UTF-8: byte \(byte) at byte 3 of the header does not start a well-formed sequence")
        }
        expectNotUTF8([0xFF], "0xFF")
        expectNotUTF8([0xC0, 0x80], "0xC0")          // an overlong NUL
        expectNotUTF8([0xED, 0xA0, 0x80], "0xED")    // an encoded surrogate
        expectNotUTF8([0xF4, 0x90, 0x80, 0x80], "0xF4")  // past U+10FFFF
        expectNotUTF8([0xE2, 0x82], "0xE2")          // cut off
        expectNotUTF8([0x80], "0x80")                // a lone continuation byte
    }

    @Test func notAJSONObject() {
        expectInvalidHeader("", "expected '{' opening the header object at byte 0 of the header, found the end of the header")
        expectInvalidHeader("[]", "expected '{' opening the header object at byte 0 of the header, found '['")
        expectInvalidHeader("\"a\"", "expected '{' opening the header object at byte 0 of the header, found '\"'")
        expectInvalidHeader("null", "expected '{' opening the header object at byte 0 of the header, found 'null'")
        expectInvalidSafeTensors(
            safeTensorsBytes([0xEF, 0xBB, 0xBF] + Array("{}".utf8)),
            "expected '{' opening the header object at byte 0 of the header, found byte 0xEF")
        expectInvalidHeader("{", "expected a tensor name in double quotes at byte 1 of the header, found the end of the header")
        expectInvalidHeader("{} x", "expected only whitespace after the header object's closing '}' at byte 3 of the header, found 'x'")
        expectInvalidSafeTensors(
            safeTensorsBytes("{}\0\0"),
            "expected only whitespace after the header object's closing '}' at byte 2 of the header, found byte 0x0")
        expectInvalidHeader("{}{}", "expected only whitespace after the header object's closing '}' at byte 2 of the header, found '{'")
        expectInvalidHeader("{a:1}", "expected a tensor name in double quotes at byte 1 of the header, found 'a'")
        expectInvalidHeader("{'a':1}", "expected a tensor name in double quotes at byte 1 of the header, found '''")
        let noColon = "{\"a\" " + "{}}"
        expectInvalidHeader(noColon, "expected ':' after the key \"a\" at byte 5 of the header, found '{'")
        let twoEntries = "{" + stEntry("a") + " " + stEntry("b") + "}"
        expectInvalidHeader(
            twoEntries,
            "expected ',' or '}' after the entry of \"a\" at byte \(byteOffset(of: "\"b\"", in: twoEntries)) of the header, found '\"'")
        let trailingComma = "{" + stEntry("a") + ",}"
        expectInvalidHeader(
            trailingComma,
            "expected a tensor name in double quotes at byte \(trailingComma.utf8.count - 1) of the header, found '}'")
    }

    @Test func malformedStrings() {
        expectInvalidHeader(
            "{\"abc", "the string that starts at byte 1 of the header has no closing quote before the end of the header")
        expectInvalidHeader(
            "{\"a\\n", "the string that starts at byte 1 of the header has no closing quote before the end of the header")
        expectInvalidHeader(
            "{\"a\nb\":{}}",
            "the string that starts at byte 1 of the header holds the control character 0xA at byte 3; JSON requires it escaped")
        expectInvalidHeader(
            "{\"a\\n\tb\":{}}",
            "the string that starts at byte 1 of the header holds the control character 0x9 at byte 5; JSON requires it escaped")
        expectInvalidHeader(
            "{\"a\\x\":{}}",
            "the escape sequence \\x at byte 3 of the header is not one JSON defines; "
                + "expected \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u and 4 hex digits")
        expectInvalidSafeTensors(
            safeTensorsBytes(Array("{\"a\\".utf8) + [0x01] + Array("\":{}}".utf8)),
            "the escape sequence \\ followed by byte 0x1 at byte 3 of the header is not one JSON defines; "
                + "expected \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u and 4 hex digits")
        expectInvalidHeader("{\"a\\", "the escape sequence at byte 3 of the header is cut off by its end")
        expectInvalidHeader("{\"a\\u12\":{}}", "the \\u escape at byte 3 of the header needs 4 hex digits, found '\"'")
        expectInvalidHeader("{\"a\\u12g4\":{}}", "the \\u escape at byte 3 of the header needs 4 hex digits, found 'g4'")
        expectInvalidHeader("{\"a\\u", "the \\u escape at byte 3 of the header needs 4 hex digits, found the end of the header")
        for lone in ["\\ud800", "\\udc00", "\\ud800\\u0041", "\\ud800x", "\\uDBFF\\uDBFF"] {
            let hex = String(lone.dropFirst(2).prefix(4)).uppercased()
            expectInvalidHeader(
                "{\"a\(lone)\":{}}",
                "the escape \\u\(hex) at byte 3 of the header is half of a UTF-16 surrogate pair without its other half, "
                    + "which encodes no character")
        }
    }

    @Test func stringsAreBounded() {
        let limit = JSONScanner.maximumStringLength
        #expect(limit == 16 << 20)
        // Exactly the limit is a name; one byte more is refused before it is built.
        let atLimit = "{\"" + String(repeating: "n", count: limit) + "\":null}"
        expectInvalidHeader(
            atLimit,
            "tensor \"\(String(repeating: "n", count: 60))\"… must be an object with \"dtype\", \"shape\" and \"data_offsets\", found null")
        let over = "{\"__metadata__\":{\"k\":\"" + String(repeating: "v", count: limit + 1) + "\"}}"
        expectInvalidHeader(
            over, "the string that starts at byte 21 of the header is longer than \(limit) bytes, the most this reader accepts")
    }

    /// The limit counts the string's JSON source, escapes as written, on
    /// both the plain and the escaped path (checked at a small limit).
    @Test(arguments: [
        ("\"12345678\"", "12345678"), ("\"123456\\n\"", "123456\n"), ("\"\\u00e9\\t\"", "é\t"),
    ])
    func stringLimitCountsTheSource(_ json: String, _ decoded: String) throws {
        var scanner = JSONScanner(Array(json.utf8), maximumStringLength: 8)
        #expect(try scanner.string() == decoded)
    }

    @Test(arguments: ["\"123456789\"", "\"1234567\\n\"", "\"\\u00e9\\u00e9\"", "\"\\n\\n\\n\\n\\n\""])
    func stringsOverTheLimitAreRefused(_ json: String) {
        var scanner = JSONScanner(Array(json.utf8), maximumStringLength: 8)
        #expect(throws: SafeTensorsFormatError(
            reason: "the string that starts at byte 0 of the header is longer than 8 bytes, the most this reader accepts")) {
            try scanner.string()
        }
    }

    @Test func tensorEntries() {
        let fields = "expected exactly \"dtype\", \"shape\" and \"data_offsets\""
        expectInvalidHeader("{\"a\":3}", "tensor \"a\" must be an object with \"dtype\", \"shape\" and \"data_offsets\", found the number '3'")
        expectInvalidHeader("{\"a\":[]}", "tensor \"a\" must be an object with \"dtype\", \"shape\" and \"data_offsets\", found an array")
        expectInvalidHeader("{\"a\":{}}", "tensor \"a\" has no \"dtype\" field; \(fields)")
        expectInvalidHeader("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,24]}}", "tensor \"a\" has no \"shape\" field; \(fields)")
        expectInvalidHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3]}}", "tensor \"a\" has no \"data_offsets\" field; \(fields)")
        expectInvalidHeader(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24],\"offsets\":[0,24]}}",
            "tensor \"a\" has the unknown field \"offsets\"; \(fields)")
        expectInvalidHeader("{\"a\":{\"dtype\":32}}", "\"dtype\" of tensor \"a\" must be a string, found the number '32'")
        expectInvalidHeader("{\"a\":{\"dtype\":null}}", "\"dtype\" of tensor \"a\" must be a string, found null")
        expectInvalidHeader("{\"a\":{\"shape\":\"2,3\"}}", "\"shape\" of tensor \"a\" must be an array of integers, found a string")
        expectInvalidHeader("{\"a\":{\"shape\":{}}}", "\"shape\" of tensor \"a\" must be an array of integers, found an object")
        expectInvalidHeader("{\"a\":{\"shape\":true}}", "\"shape\" of tensor \"a\" must be an array of integers, found the boolean true")
        expectInvalidHeader(
            "{\"a\":{\"shape\":[[2]]}}",
            "expected dimension 0 of the shape of tensor \"a\" (a non-negative integer) at byte 15 of the header, found '['")
        expectInvalidHeader(
            "{\"a\":{\"shape\":[2,\"3\"]}}",
            "expected dimension 1 of the shape of tensor \"a\" (a non-negative integer) at byte 17 of the header, found '\"'")
        expectInvalidHeader(
            "{\"a\":{\"shape\":[2,]}}",
            "expected dimension 1 of the shape of tensor \"a\" (a non-negative integer) at byte 17 of the header, found ']'")
        expectInvalidHeader(
            "{\"a\":{\"shape\":[2 3]}}", "expected ',' or ']' in \"shape\" of tensor \"a\" at byte 17 of the header, found '3'")
        expectInvalidHeader(
            "{\"a\":{\"shape\":[2,3],\"data_offsets\":[0]}}", "\"data_offsets\" of tensor \"a\" must be [begin, end], 2 integers, but has 1")
        expectInvalidHeader(
            "{\"a\":{\"shape\":[2,3],\"data_offsets\":[0,12,24]}}",
            "\"data_offsets\" of tensor \"a\" must be [begin, end], 2 integers, but has 3")
        expectInvalidHeader(
            "{\"a\":{\"data_offsets\":[0,\"24\"]}}",
            "expected end offset of tensor \"a\" (a non-negative integer) at byte 24 of the header, found '\"'")
        expectInvalidHeader(
            "{\"a\":{\"dtype\":\"F32\" \"shape\":[2,3]}}",
            "expected ',' or '}' in the entry of tensor \"a\" at byte 20 of the header, found '\"'")
    }

    @Test func dtypes() {
        let accepted = "expected \"F32\", \"F64\", \"F16\" or \"BF16\""
        expectInvalidHeader("{" + stEntry("a", "F31") + "}", "tensor \"a\" has dtype \"F31\", which is not a safetensors dtype; \(accepted)")
        expectInvalidHeader("{" + stEntry("a", "f32") + "}", "tensor \"a\" has dtype \"f32\", which is not a safetensors dtype; \(accepted)")
        for other in ["I64", "U8", "BOOL", "F8_E4M3", "I32"] {
            expectInvalidHeader(
                "{" + stEntry("a", other) + "}",
                "tensor \"a\" has dtype \"\(other)\", which is not supported (a Tensor holds floating-point numbers); \(accepted)")
        }
    }

    @Test func dimensionsAndOffsetsMustBeNonNegativeIntegers() {
        func shape(_ text: String) -> String { "{" + stEntry("a", shape: text) + "}" }
        let dimension = "dimension 1 of the shape of tensor \"a\""
        expectInvalidHeader(shape("[2,-3]"), "\(dimension) must be a non-negative integer, found '-3'")
        expectInvalidHeader(shape("[2,-0]"), "\(dimension) must be a non-negative integer, found '-0'")
        expectInvalidHeader(shape("[2,3.0]"), "\(dimension) must be an integer, found '3.0'")
        expectInvalidHeader(shape("[2,3e0]"), "\(dimension) must be an integer, found '3e0'")
        expectInvalidHeader(shape("[2,0x3]"), "\(dimension) must be an integer, found '0x3'")
        expectInvalidHeader(shape("[2,03]"), "\(dimension) is '03', but JSON does not allow leading zeros")
        expectInvalidHeader(shape("[2,9223372036854775808]"), "\(dimension) is '9223372036854775808', which does not fit in Int")
        expectInvalidHeader(
            shape("[2," + String(repeating: "9", count: 100) + "]"),
            "\(dimension) is '\(String(repeating: "9", count: 40))…', which does not fit in Int")
        expectInvalidHeader(
            "{" + stEntry("a", offsets: "[-4,24]") + "}", "begin offset of tensor \"a\" must be a non-negative integer, found '-4'")
        expectInvalidHeader(
            "{" + stEntry("a", offsets: "[0,2.4e1]") + "}", "end offset of tensor \"a\" must be an integer, found '2.4e1'")
    }

    @Test func duplicates() {
        expectInvalidHeader("{" + stEntry("a") + "," + stEntry("a") + "}", "the key \"a\" appears more than once in the header")
        expectInvalidHeader(
            "{\"__metadata__\":{},\"__metadata__\":{\"k\":\"v\"}," + stEntry("a") + "}", "the key \"__metadata__\" appears more than once in the header")
        // Swift strings are equal under canonical equivalence: é precomposed and e + combining acute.
        expectInvalidHeader(
            "{" + stEntry("caf\\u00e9") + "," + stEntry("cafe\\u0301") + "}",
            "the key \"café\" appears more than once in the header "
                + "(as \"café\", which is canonically equivalent Unicode text: the same string in Swift)")
        expectInvalidHeader(
            "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", data: [], "the metadata key \"k\" appears more than once")
        expectInvalidHeader(
            "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F64\"}}", "tensor \"a\" has the field \"dtype\" more than once")
        expectInvalidHeader(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24],\"shape\":[6]}}",
            "tensor \"a\" has the field \"shape\" more than once")
    }

    @Test func metadata() {
        expectInvalidHeader("{\"__metadata__\":3}", data: [], "\"__metadata__\" must be an object of string values, found the number '3'")
        expectInvalidHeader("{\"__metadata__\":[]}", data: [], "\"__metadata__\" must be an object of string values, found an array")
        expectInvalidHeader("{\"__metadata__\":\"pt\"}", data: [], "\"__metadata__\" must be an object of string values, found a string")
        expectInvalidHeader(
            "{\"__metadata__\":{\"format\":1}}", data: [], "the metadata value of \"format\" must be a string, found the number '1'")
        expectInvalidHeader(
            "{\"__metadata__\":{\"format\":null}}", data: [], "the metadata value of \"format\" must be a string, found null")
        expectInvalidHeader(
            "{\"__metadata__\":{\"format\":{}}}", data: [], "the metadata value of \"format\" must be a string, found an object")
        expectInvalidHeader(
            "{\"__metadata__\":{\"a\":\"b\",}}", data: [],
            "expected a metadata key in double quotes at byte 25 of the header, found '}'")
        // What looks like a tensor under the metadata key is metadata, and not strings.
        expectInvalidHeader(
            "{\"__metadata__\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", data: [],
            "the metadata value of \"shape\" must be a string, found an array")
    }

    @Test func offsetsMustTileTheBuffer() {
        expectInvalidHeader(
            "{" + stEntry("a", offsets: "[24,0]") + "}", "tensor \"a\" has data_offsets [24, 0]: the end comes before the beginning")
        expectInvalidHeader(
            "{" + stEntry("a", offsets: "[0,100]") + "}", "tensor \"a\" has data_offsets [0, 100], past the end of the 24-byte data buffer")
        expectInvalidHeader(
            "{" + stEntry("a", offsets: "[0,24]") + "}", data: Array(repeating: 0, count: 20),
            "tensor \"a\" has data_offsets [0, 24], past the end of the 20-byte data buffer")
        expectInvalidHeader(
            "{" + stEntry("a", offsets: "[0,20]") + "}",
            "tensor \"a\" of shape [2, 3] and dtype F32 needs 24 bytes, but its data_offsets [0, 20] hold 20")
        expectInvalidHeader(
            "{" + stEntry("a", "F64", offsets: "[0,24]") + "}",
            "tensor \"a\" of shape [2, 3] and dtype F64 needs 48 bytes, but its data_offsets [0, 24] hold 24")
        expectInvalidHeader(
            "{" + stEntry("a", shape: "[4]", offsets: "[0,16]") + "," + stEntry("b", shape: "[4]", offsets: "[8,24]") + "}",
            "tensor \"b\" (data_offsets [8, 24]) overlaps tensor \"a\" (data_offsets [0, 16])")
        expectInvalidHeader(
            "{" + stEntry("a", shape: "[6]", offsets: "[0,24]") + "," + stEntry("b", shape: "[6]", offsets: "[0,24]") + "}",
            "tensor \"b\" (data_offsets [0, 24]) overlaps tensor \"a\" (data_offsets [0, 24])")
        expectInvalidHeader(
            "{" + stEntry("a", shape: "[5]", offsets: "[4,24]") + "}",
            "bytes 0..<4 of the data buffer belong to no tensor (tensor \"a\" begins at 4); the tensors' data must be contiguous")
        expectInvalidHeader(
            "{" + stEntry("a", shape: "[1]", offsets: "[0,4]") + "," + stEntry("b", shape: "[1]", offsets: "[20,24]") + "}",
            "bytes 4..<20 of the data buffer belong to no tensor (tensor \"b\" begins at 20); the tensors' data must be contiguous")
        expectInvalidHeader(
            "{" + stEntry("a", shape: "[1]", offsets: "[0,4]") + "}",
            "the tensors cover 4 bytes of the 24-byte data buffer; bytes 4..<24 belong to no tensor")
        expectInvalidHeader("{}", "the tensors cover 0 bytes of the 24-byte data buffer; bytes 0..<24 belong to no tensor")
    }

    @Test func shapesThatOverflowFailBeforeAllocating() {
        expectInvalidHeader(
            "{" + stEntry("a", shape: "[4611686018427387904,4]", offsets: "[0,0]") + "}", data: [],
            "tensor \"a\" has shape [4611686018427387904, 4], too large for a Tensor<Float>: "
                + "the product of its nonzero dimensions, in bytes, does not fit in Int")
        // The reference reads this (its product is 0); a Tensor's partial products must fit.
        expectInvalidHeader(
            "{" + stEntry("a", shape: "[0,9223372036854775807,2]", offsets: "[0,0]") + "}", data: [],
            "tensor \"a\" has shape [0, 9223372036854775807, 2], too large for a Tensor<Float>: "
                + "the product of its nonzero dimensions, in bytes, does not fit in Int")
        // Fits as Float elements, but not as F64 bytes.
        expectInvalidHeader(
            "{" + stEntry("a", "F64", shape: "[2305843009213693951]", offsets: "[0,0]") + "}", data: [],
            "tensor \"a\" has shape [2305843009213693951], whose byte count as F64 does not fit in Int")
        // 4·10¹⁸ bytes fits in Int: only the check against the data stops the allocation.
        expectInvalidHeader(
            "{" + stEntry("a", shape: "[1000000000,1000000000]", offsets: "[0,0]") + "}", data: [],
            "tensor \"a\" of shape [1000000000, 1000000000] and dtype F32 needs 4000000000000000000 bytes, "
                + "but its data_offsets [0, 0] hold 0")
        expectInvalidHeader(
            "{" + stEntry("a", shape: "[1000000000,1000000000]", offsets: "[0,4000000000000000000]") + "}", data: [],
            "tensor \"a\" has data_offsets [0, 4000000000000000000], past the end of the 0-byte data buffer")
    }

    @Test func longNamesAreClippedInMessages() {
        let name = String(repeating: "x", count: 500)
        expectInvalidHeader(
            "{\"\(name)\":{}}", "tensor \"\(String(repeating: "x", count: 60))\"… has no \"dtype\" field; "
                + "expected exactly \"dtype\", \"shape\" and \"data_offsets\"")
        expectInvalidHeader(
            "{\"a\\nb\\u0001\":{}}", "tensor \"a\\nb\\u0001\" has no \"dtype\" field; expected exactly \"dtype\", \"shape\" and \"data_offsets\"")
    }

    @Test func descriptionNamesTheSource() {
        let error = PerceptronError.invalidSafeTensors(path: "<data>", reason: "header length 100000001 is over the limit of 100000000 bytes")
        #expect(error.description == "cannot read '<data>' as safetensors: header length 100000001 is over the limit of 100000000 bytes")
    }

    /// Every prefix of a valid file, and thousands of corrupted copies, either
    /// read or throw `.invalidSafeTensors`: no byte sequence may crash the reader.
    @Test func arbitraryBytesNeverCrash() throws {
        let valid = try SafeTensors(
            tensors: ["a": try Tensor<Float>(shape: [2, 3], scalars: NPYFixture.values(6)), "b": Tensor<Float>(shape: [0])],
            metadata: ["format": "pt"]
        ).safeTensorsData()
        for length in 0..<valid.count {
            #expect(throws: PerceptronError.self) { try SafeTensors<Float>(safeTensorsData: valid.prefix(length)) }
        }
        var generator = SeededRandomNumberGenerator(seed: 7)
        var decoded = 0
        for _ in 0..<5_000 {
            var corrupted = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                // Mostly inside the header, where the structure is.
                let position = Int.random(in: 0..<(Bool.random(using: &generator) ? valid.count - 24 : valid.count), using: &generator)
                corrupted[position] = UInt8.random(in: .min ... .max, using: &generator)
            }
            do {
                _ = try SafeTensors<Double>(safeTensorsData: corrupted)
                decoded += 1
            } catch {
                guard case .invalidSafeTensors(path: "<data>", _) = error else {
                    Issue.record("unexpected error \(error)")
                    continue
                }
            }
        }
        // Some corruptions (of data bytes or padding) leave a valid file; most do not.
        #expect(decoded > 0 && decoded < 5_000)
    }
}
