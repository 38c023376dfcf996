/// The architecture a model file records in its metadata: a
/// ``LayerDescription`` as JSON, versioned, under one metadata key.
///
/// The metadata of a file that ``Layer/save(to:)`` writes holds two pairs:
///
///     "format": "pt"
///     "perceptron.architecture": "{\"version\":1,\"model\":{\"type\":\"Sequential\",\"layers\":[…]}}"
///
/// Version 1 of the JSON is an object with exactly `"version"` (the integer
/// 1) and `"model"`, a layer. A layer is an object with a `"type"` (the
/// `torch.nn` class name) and exactly the fields of its type, named as the
/// class's constructor arguments are, so that `getattr(torch.nn,
/// type)(**fields)` builds the same layer (`Sequential` takes its layers
/// as arguments instead):
///
/// | type | fields |
/// |---|---|
/// | `Linear` | `in_features`, `out_features` (integers ≥ 0), `bias` (boolean) |
/// | `ReLU`, `Tanh`, `Sigmoid`, `SiLU` | none |
/// | `LeakyReLU` | `negative_slope` (number) |
/// | `Softmax` | `dim`: -1 (the last dimension, the only one Perceptron's is over) |
/// | `GELU` | `approximate`: `"none"` (the exact form) |
/// | `LayerNorm` | `normalized_shape` (one integer ≥ 0, in an array), `eps` (number), `elementwise_affine` (boolean) |
/// | `Dropout` | `p` (number in 0..<1) |
/// | `Sequential` | `layers` (an array of layers) |
///
/// Any other type is a layer that is not the library's, written with its
/// module-qualified Swift type name (`"MyApp.Scale"`) and no other field; a
/// reader keeps its name and ignores any fields it has, so that a type a
/// later version adds is named as unknown rather than refused as malformed.
/// A hyperparameter is written as the shortest decimal that reads back as
/// the same value in the model's precision (`0.01` for
/// `LeakyReLU<Float>()`'s slope, not the `Double` the `Float` equals), and is
/// read as the `Double` nearest that decimal: so a `Float` model's file
/// matches a `Double` model built with the same literals, and the other way
/// round, once rounded to the model's precision.
///
/// Reading is strict: a missing, repeated or unknown field, a value of the
/// wrong kind or out of range, and an unknown version are refused with a
/// message naming the layer by its position. The JSON may be at most
/// ``maximumLength`` bytes long and nest at most ``maximumDepth`` deep, so
/// that a hostile file cannot make reading it slow or deep.
enum ArchitectureFormat {
    /// The metadata key the JSON is kept under.
    static let metadataKey = "perceptron.architecture"

    /// The version this code writes, and the only one it reads.
    static let version = 1

    /// The longest JSON text read, in UTF-8 bytes: room for thousands of layers.
    static let maximumLength = 1 << 20

    /// How deep arrays and objects may nest: a ``Sequential`` nests two deep
    /// (its object, its array of layers), so about 30 nested ``Sequential``s.
    static let maximumDepth = 64

    /// What messages call the JSON text.
    private static let textName = "the architecture"

    // MARK: - Writing

    /// The metadata pair's value for `description`, a model of `Scalar`
    /// precision, whose hyperparameters are written in that precision.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   for a hyperparameter that is NaN or infinite, which JSON has no number for.
    static func text<Scalar: BLASScalar>(of description: LayerDescription, as _: Scalar.Type) throws(PerceptronError) -> String {
        JSONValue.object([
            .init("version", .integer(version)),
            .init("model", try json(description, position: [], Scalar.self)),
        ]).jsonText
    }

    private static func json<Scalar: BLASScalar>(
        _ description: LayerDescription, position: [Int], _: Scalar.Type
    ) throws(PerceptronError) -> JSONValue {
        func number(_ value: Double, _ name: String) throws(PerceptronError) -> JSONValue {
            let value = Scalar(value)
            guard value.isFinite else {
                throw .invalidArgument(
                    name: "the \(name) of \(place(position)) (\(description.typeName))",
                    expected: "finite, to be saved (JSON has no number for it)", actual: "\(value)")
            }
            return .number(value)
        }
        var members: [JSONValue.Member] = [.init("type", .string(description.typeName))]
        switch description {
        case let .linear(f, m, bias):
            members += [.init("in_features", .integer(f)), .init("out_features", .integer(m)), .init("bias", .bool(bias))]
        case let .leakyReLU(slope):
            members.append(.init("negative_slope", try number(slope, "slope")))
        case .softmax:
            members.append(.init("dim", .integer(-1)))
        case .gelu:
            members.append(.init("approximate", .string("none")))
        case let .layerNorm(features, epsilon, affine):
            members += [
                .init("normalized_shape", .array([.integer(features)])), .init("eps", try number(epsilon, "epsilon")),
                .init("elementwise_affine", .bool(affine)),
            ]
        case let .dropout(probability):
            members.append(.init("p", try number(probability, "probability")))
        case let .sequential(layers):
            var elements: [JSONValue] = []
            for (index, layer) in layers.enumerated() { elements.append(try json(layer, position: position + [index], Scalar.self)) }
            members.append(.init("layers", .array(elements)))
        case .relu, .tanh, .sigmoid, .silu, .other:
            break
        }
        return .object(members)
    }

    // MARK: - Reading

    /// The architecture recorded in `metadata`, or `nil` when it records none
    /// (as in a file PyTorch wrote).
    ///
    /// - Throws: ``ArchitectureFormatError`` naming what is wrong with it.
    static func description(in metadata: [String: String]) throws(ArchitectureFormatError) -> LayerDescription? {
        guard let text = metadata[metadataKey] else { return nil }
        return try description(parsing: text)
    }

    /// The description the JSON `text` records.
    ///
    /// - Throws: ``ArchitectureFormatError`` naming what is wrong with it.
    static func description(parsing text: String) throws(ArchitectureFormatError) -> LayerDescription {
        guard text.utf8.count <= maximumLength else {
            throw ArchitectureFormatError(
                reason: "\(textName) is \(text.utf8.count) bytes of JSON, more than the \(maximumLength) this reader accepts")
        }
        let document: JSONValue
        do {
            document = try JSONValue(parsing: text, textName: textName, maximumDepth: maximumDepth)
        } catch {
            throw ArchitectureFormatError(reason: error.reason)
        }
        let fields = try Fields(document, of: textName, allowed: ["version", "model"])
        let found = try fields.value("version")
        guard case let .number(written) = found, let version = Int(written) else {
            throw ArchitectureFormatError(reason: "\"version\" of \(textName) must be an integer, found \(found.kindDescription)")
        }
        guard version == Self.version else {
            throw ArchitectureFormatError(
                reason: "\(textName) has version \(version), but this version of Perceptron reads version \(Self.version) only")
        }
        return try layer(fields.value("model"), position: [])
    }

    /// `the model` for the outermost layer, `layer 2.1` inside ``Sequential``s.
    private static func place(_ position: [Int]) -> String {
        position.isEmpty ? "the model" : "layer " + position.map(String.init).joined(separator: ".")
    }

    private static func layer(_ value: JSONValue, position: [Int]) throws(ArchitectureFormatError) -> LayerDescription {
        let location = place(position)
        guard case let .object(members) = value else {
            throw ArchitectureFormatError(reason: "\(location) must be an object with a \"type\", found \(value.kindDescription)")
        }
        guard let typeValue = members.first(where: { $0.key == "type" })?.value else {
            throw ArchitectureFormatError(reason: "\(location) has no \"type\"")
        }
        guard case let .string(type) = typeValue, !type.isEmpty else {
            throw ArchitectureFormatError(
                reason: "the \"type\" of \(location) must be a type name, found \(typeValue.kindDescription)")
        }
        let what = "\(location) (\(LayerDescription.shown(type)))"
        func fields(_ names: String...) throws(ArchitectureFormatError) -> Fields {
            try Fields(value, of: what, allowed: ["type"] + names)
        }
        switch type {
        case "Linear":
            let f = try fields("in_features", "out_features", "bias")
            return .linear(inputFeatures: try f.size("in_features"), outputFeatures: try f.size("out_features"), bias: try f.bool("bias"))
        case "ReLU":
            _ = try fields()
            return .relu
        case "LeakyReLU":
            let f = try fields("negative_slope")
            return .leakyReLU(slope: try f.number("negative_slope"))
        case "Tanh":
            _ = try fields()
            return .tanh
        case "Sigmoid":
            _ = try fields()
            return .sigmoid
        case "Softmax":
            let f = try fields("dim")
            let dim = try f.integer("dim")
            guard dim == -1 else {
                throw ArchitectureFormatError(
                    reason: "\(what): Perceptron's Softmax is over the last dimension, \"dim\" -1, but \"dim\" is \(dim)")
            }
            return .softmax
        case "GELU":
            let f = try fields("approximate")
            let approximate = try f.string("approximate")
            guard approximate == "none" else {
                throw ArchitectureFormatError(
                    reason: "\(what): Perceptron's GELU is the exact form, \"approximate\" \"none\", "
                        + "but \"approximate\" is \(JSONString.clipped(approximate, limit: 40))")
            }
            return .gelu
        case "SiLU":
            _ = try fields()
            return .silu
        case "LayerNorm":
            let f = try fields("normalized_shape", "eps", "elementwise_affine")
            let shape = try f.value("normalized_shape")
            guard case let .array(dimensions) = shape, dimensions.count == 1,
                  case let .number(written) = dimensions[0], let features = Int(written), features >= 0 else {
                throw ArchitectureFormatError(
                    reason: "\(what): \"normalized_shape\" must be one integer ≥ 0 in an array, such as [64] "
                        + "(Perceptron's LayerNorm is over the last dimension only), found \(describeArray(shape))")
            }
            return .layerNorm(features: features, epsilon: try f.number("eps"), affine: try f.bool("elementwise_affine"))
        case "Dropout":
            let f = try fields("p")
            let probability = try f.number("p")
            guard probability >= 0 && probability < 1 else {
                throw ArchitectureFormatError(reason: "\(what): \"p\" must be in 0..<1, but is \(probability)")
            }
            return .dropout(probability: probability)
        case "Sequential":
            let f = try fields("layers")
            let layersValue = try f.value("layers")
            guard case let .array(elements) = layersValue else {
                throw ArchitectureFormatError(
                    reason: "\(what): \"layers\" must be an array of layers, found \(layersValue.kindDescription)")
            }
            var layers: [LayerDescription] = []
            layers.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                layers.append(try layer(element, position: position + [index]))
            }
            return .sequential(layers)
        default:
            // Not one of the library's: known by name only (see the type's comment).
            return .other(typeName: type)
        }
    }

    /// An array of numbers shown whole when short (`[2, 3]`), by kind otherwise.
    private static func describeArray(_ value: JSONValue) -> String {
        guard case let .array(elements) = value, elements.count <= 8 else { return value.kindDescription }
        let numbers = elements.compactMap { element -> String? in
            if case let .number(text) = element, text.count <= 20 { return text }
            return nil
        }
        return numbers.count == elements.count ? "[" + numbers.joined(separator: ", ") + "]" : value.kindDescription
    }

    /// The fields of one object, each taken once, typed, with messages that
    /// name the object (`what`) and the field.
    private struct Fields {
        private var members: [String: JSONValue]
        private let what: String

        /// The members of `value`, which must be an object with no field
        /// outside `allowed`.
        init(_ value: JSONValue, of what: String, allowed: [String]) throws(ArchitectureFormatError) {
            guard case let .object(members) = value else {
                throw ArchitectureFormatError(reason: "\(what) must be an object, found \(value.kindDescription)")
            }
            if let unknown = members.first(where: { !allowed.contains($0.key) }) {
                let expected = allowed.filter { $0 != "type" }
                let list = expected.isEmpty ? "none but \"type\"" : expected.map { "\"\($0)\"" }.joined(separator: ", ")
                throw ArchitectureFormatError(
                    reason: "\(what) has the unknown field \(JSONString.clipped(unknown.key, limit: 40)); expected \(list)")
            }
            self.members = Dictionary(uniqueKeysWithValues: members.map { ($0.key, $0.value) })
            self.what = what
        }

        func value(_ name: String) throws(ArchitectureFormatError) -> JSONValue {
            guard let value = members[name] else { throw ArchitectureFormatError(reason: "\(what) has no \"\(name)\"") }
            return value
        }

        private func wrongKind(_ name: String, _ expected: String, _ found: JSONValue) -> ArchitectureFormatError {
            ArchitectureFormatError(reason: "\(what): \"\(name)\" must be \(expected), found \(found.kindDescription)")
        }

        func integer(_ name: String) throws(ArchitectureFormatError) -> Int {
            let found = try value(name)
            guard case let .number(text) = found, let integer = Int(text) else {
                throw wrongKind(name, "an integer", found)
            }
            return integer
        }

        func size(_ name: String) throws(ArchitectureFormatError) -> Int {
            let found = try value(name)
            guard case let .number(text) = found, let size = Int(text), size >= 0 else {
                throw wrongKind(name, "an integer ≥ 0", found)
            }
            return size
        }

        func number(_ name: String) throws(ArchitectureFormatError) -> Double {
            let found = try value(name)
            guard case let .number(text) = found, let number = Double(text), number.isFinite else {
                throw wrongKind(name, "a finite number", found)
            }
            return number
        }

        func bool(_ name: String) throws(ArchitectureFormatError) -> Bool {
            let found = try value(name)
            guard case let .bool(value) = found else { throw wrongKind(name, "a boolean", found) }
            return value
        }

        func string(_ name: String) throws(ArchitectureFormatError) -> String {
            let found = try value(name)
            guard case let .string(value) = found else { throw wrongKind(name, "a string", found) }
            return value
        }
    }
}

/// Why a model file's recorded architecture cannot be read: internal, turned
/// into ``PerceptronError/invalidModelFile(path:reason:)`` with the file's path.
struct ArchitectureFormatError: Error, Equatable {
    /// A sentence naming what was expected and what came.
    var reason: String
}
