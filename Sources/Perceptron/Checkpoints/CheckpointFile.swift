// The contents of a checkpoint file, as the parts of a checkpoint write and
// read them: a safetensors file whose tensors are the model's parameters and
// the optimizer's buffers, and whose `__metadata__` strings hold the rest.
// The format is versioned (`perceptron.checkpoint`): a file of another
// version is refused as such, rather than read for what it may lack.
//
// Every value is text a person (or Python's `json.loads`, for the generator
// states) can read: numbers as Swift prints them, which is the shortest
// decimal that reads back as the same value, so the text round-trips exactly.

/// The tensors and metadata of a checkpoint being saved.
struct CheckpointWriter<Scalar: BLASScalar> {
    /// The metadata key that marks a file as a checkpoint, with the format's version.
    static var formatKey: String { "perceptron.checkpoint" }
    /// The version this library writes and reads.
    /// Version 2 added the model's architecture (`model.architecture`);
    /// version 1 files, which lack it, are refused as of another version.
    static var formatVersion: String { "2" }
    /// The prefix of the user's own entries.
    static var statePrefix: String { "state." }

    private(set) var tensors: [String: Tensor<Scalar>] = [:]
    private(set) var metadata: [String: String] = [:]

    init() {
        metadata[Self.formatKey] = Self.formatVersion
        metadata["scalar"] = "\(Scalar.self)"
    }

    /// Records `value` under `key`, as its description.
    mutating func set(_ key: String, _ value: some CustomStringConvertible) {
        metadata[key] = value.description
    }

    /// Records a generator's four state words as a JSON array of integers.
    mutating func set(_ key: String, generator: SeededRandomNumberGenerator) {
        metadata[key] = "[" + generator.state.map(String.init).joined(separator: ", ") + "]"
    }

    /// Records a tensor under `name`.
    mutating func set(tensor: Tensor<Scalar>, named name: String) {
        tensors[name] = tensor
    }

    /// The file: the tensors, and the metadata with the user's `state` under ``statePrefix``.
    func file(state: [String: String]) -> SafeTensors<Scalar> {
        var metadata = metadata
        for (key, value) in state { metadata[Self.statePrefix + key] = value }
        return SafeTensors(tensors: tensors, metadata: metadata)
    }
}

/// The tensors and metadata of a checkpoint being restored, read strictly:
/// every value must be there and well formed, and every key and tensor in
/// the file must be one that a part of the checkpoint read.
struct CheckpointReader<Scalar: BLASScalar> {
    /// The file's path, named in errors.
    let path: String
    private let tensors: [String: Tensor<Scalar>]
    private let metadata: [String: String]
    private var readKeys: Set<String> = []
    private var readTensors: Set<String> = []

    /// Checks that `file` is a checkpoint of this format and of `Scalar`.
    init(_ file: SafeTensors<Scalar>, path: String) throws(PerceptronError) {
        (self.path, tensors, metadata) = (path, file.tensors, file.metadata)
        let key = CheckpointWriter<Scalar>.formatKey
        guard let version = metadata[key] else {
            throw .invalidCheckpoint(
                path: path, reason: "its metadata has no \"\(key)\" entry: it is a safetensors file, but not a checkpoint")
        }
        guard version == CheckpointWriter<Scalar>.formatVersion else {
            throw .invalidCheckpoint(
                path: path, reason: "it is a checkpoint of format version \(JSONString.clipped(version)), "
                    + "but this library reads version \(CheckpointWriter<Scalar>.formatVersion)")
        }
        readKeys.insert(key)
        try expect("the scalar type", saved: string("scalar"), actual: "\(Scalar.self)")
    }

    // MARK: Values

    /// The value of `key`, which must be there.
    mutating func string(_ key: String) throws(PerceptronError) -> String {
        guard let value = optionalString(key) else { throw invalid("its metadata has no \"\(key)\" entry") }
        return value
    }

    /// The value of `key`, if there.
    mutating func optionalString(_ key: String) -> String? {
        guard let value = metadata[key] else { return nil }
        readKeys.insert(key)
        return value
    }

    /// The non-negative integer at `key`.
    mutating func count(_ key: String) throws(PerceptronError) -> Int {
        let text = try string(key)
        guard let value = Int(text), value >= 0 else {
            throw invalid("the metadata \"\(key)\" must be a non-negative integer, but is \(JSONString.clipped(text))")
        }
        return value
    }

    /// The Boolean at `key`: `true` or `false`.
    mutating func flag(_ key: String) throws(PerceptronError) -> Bool {
        let text = try string(key)
        guard let value = Bool(text) else {
            throw invalid("the metadata \"\(key)\" must be true or false, but is \(JSONString.clipped(text))")
        }
        return value
    }

    /// The number at `key`, in `Scalar`'s precision.
    mutating func scalar(_ key: String) throws(PerceptronError) -> Scalar {
        let text = try string(key)
        guard let value = Scalar.parsed(text) else {
            throw invalid("the metadata \"\(key)\" must be a number, but is \(JSONString.clipped(text))")
        }
        return value
    }

    /// The generator whose state is at `key`: a JSON array of four integers.
    mutating func generator(_ key: String) throws(PerceptronError) -> SeededRandomNumberGenerator {
        let text = try string(key)
        let failure = invalid(
            "the metadata \"\(key)\" must be a generator's state, four integers in 0..<2⁶⁴ not all 0, "
                + "such as [1, 2, 3, 4], but is \(JSONString.clipped(text))")
        guard text.hasPrefix("["), text.hasSuffix("]"), text.count >= 2 else { throw failure }
        var words: [UInt64] = []
        for part in text.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false) {
            guard let word = UInt64(part.drop(while: { $0 == " " })) else { throw failure }
            words.append(word)
        }
        do {
            return try SeededRandomNumberGenerator(state: words)
        } catch {
            throw failure
        }
    }

    /// The tensor named `name`, which must be there.
    mutating func tensor(_ name: String) throws(PerceptronError) -> Tensor<Scalar> {
        guard let tensor = optionalTensor(name) else { throw invalid("it has no tensor \"\(name)\"") }
        return tensor
    }

    /// The tensor named `name`, if there.
    mutating func optionalTensor(_ name: String) -> Tensor<Scalar>? {
        guard let tensor = tensors[name] else { return nil }
        readTensors.insert(name)
        return tensor
    }

    /// The metadata keys not yet read that start with `prefix` and end with `suffix`, sorted.
    func unreadKeys(prefix: String, suffix: String) -> [String] {
        metadata.keys.filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) && !readKeys.contains($0) }.sorted()
    }

    /// The tensor names not yet read that start with `prefix`, sorted.
    func unreadTensors(prefix: String) -> [String] {
        tensors.keys.filter { $0.hasPrefix(prefix) && !readTensors.contains($0) }.sorted()
    }

    /// The user's entries, without their prefix.
    mutating func userState() -> [String: String] {
        let prefix = CheckpointWriter<Scalar>.statePrefix
        var state: [String: String] = [:]
        for (key, value) in metadata where key.hasPrefix(prefix) {
            state[String(key.dropFirst(prefix.count))] = value
            readKeys.insert(key)
        }
        return state
    }

    /// Throws for a metadata key or tensor that no part read: a file that
    /// holds more than a checkpoint is not one.
    func checkEverythingRead() throws(PerceptronError) {
        if let key = metadata.keys.filter({ !readKeys.contains($0) }).sorted().first {
            throw invalid("its metadata has the entry \(JSONString.clipped(key)), which is not part of a checkpoint")
        }
        if let name = tensors.keys.filter({ !readTensors.contains($0) }).sorted().first {
            throw invalid("it holds the tensor \(JSONString.clipped(name)), which is not part of a checkpoint")
        }
    }

    // MARK: Errors

    /// Throws ``PerceptronError/checkpointMismatch(path:what:saved:actual:)`` unless `saved == actual`.
    func expect(_ what: String, saved: String, actual: String) throws(PerceptronError) {
        guard saved == actual else { throw mismatch(what, saved: saved, actual: actual) }
    }

    /// The checkpoint holds `saved` where what it is restored into has `actual`.
    func mismatch(_ what: String, saved: String, actual: String) -> PerceptronError {
        .checkpointMismatch(path: path, what: what, saved: saved, actual: actual)
    }

    /// The checkpoint is malformed, for `reason`.
    func invalid(_ reason: String) -> PerceptronError {
        .invalidCheckpoint(path: path, reason: reason)
    }
}

extension BLASScalar {
    /// The value `text` spells, as `Float(_:)` or `Double(_:)` reads it:
    /// exact for what `description` printed.
    static func parsed(_ text: String) -> Self? {
        if Self.self == Float.self { return Float(text).flatMap { $0 as? Self } }
        if Self.self == Double.self { return Double(text).flatMap { $0 as? Self } }
        return nil
    }
}

/// The type of `value` without its generic arguments, as a checkpoint names
/// it: `Adam`, not `Adam<Float>`.
func checkpointTypeName(of value: Any) -> String {
    let name = String(describing: type(of: value))
    return name.firstIndex(of: "<").map { String(name[..<$0]) } ?? name
}

/// `"a.b.c"` from the non-empty parts: a key under a layer's path, which is
/// empty for the model itself.
func checkpointKey(_ parts: String...) -> String {
    parts.filter { !$0.isEmpty }.joined(separator: ".")
}
