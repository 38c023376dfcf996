/// An error thrown by Perceptron when input does not fit what an operation expects.
///
/// Every case carries what was expected and what came, and ``description``
/// spells both out, so that a message alone is enough to find the mistake.
/// Programming errors that Swift conventionally traps on (an index out of
/// range, a negative size passed to a non-throwing initializer) trap instead,
/// with a message of the same kind.
public indirect enum PerceptronError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A tensor was given `actual` scalars for a shape whose product is `expected`.
    case scalarCountMismatch(shape: [Int], expected: Int, actual: Int)

    /// A shape has a negative dimension at `axis`.
    case negativeDimension(shape: [Int], axis: Int)

    /// The number of scalars (or bytes) of a shape does not fit in `Int`.
    case shapeOverflow(shape: [Int])

    /// The rows given to ``Tensor/init(_:)`` are not all of one length.
    case raggedRows(row: Int, expected: Int, actual: Int)

    /// A tensor of the wrong rank: `expected` describes the ranks accepted.
    case rankMismatch(what: String, expected: String, shape: [Int])

    /// An input whose last dimension is not the layer's number of input features.
    case featureMismatch(expected: Int, actual: Int, shape: [Int])

    /// A tensor whose shape must equal another one's did not.
    case shapeMismatch(what: String, expected: [Int], actual: [Int])

    /// `backward` was called on a layer with no forward pass to refer to:
    /// none has run since it was created or its caches were released.
    case backwardBeforeForward(layer: String)

    /// The layer at position `index` of a ``Sequential``, of type `type`, threw `error`.
    case inLayer(index: Int, type: String, error: PerceptronError)

    /// A size that OpenBLAS receives as a 32-bit integer exceeds `Int32.max`.
    case dimensionTooLarge(what: String, value: Int, limit: Int)

    /// Two things that must have the same count did not, for example labels and samples.
    case countMismatch(what: String, expected: Int, actual: Int)

    /// A class label outside `0..<classes`, at position `index`.
    case labelOutOfRange(index: Int, label: Int, classes: Int)

    /// An argument outside its domain, such as a learning rate that is not finite.
    case invalidArgument(name: String, expected: String, actual: String)

    /// A file could not be read or written: `operation` names the step that
    /// failed (such as "open" or "write") and `reason` what the system reported.
    case fileError(path: String, operation: String, reason: String)

    /// The `.npy` file at `path` (or bytes, with a placeholder path such as
    /// `"<data>"`) is malformed, or holds an array this tensor type cannot
    /// take; `reason` names what was expected and what came.
    case invalidNPY(path: String, reason: String)

    /// The safetensors file at `path` (or bytes, with a placeholder path such
    /// as `"<data>"`) is malformed, or holds a tensor this scalar type cannot
    /// take; `reason` names what was expected and what came.
    case invalidSafeTensors(path: String, reason: String)

    /// The model file at `path` cannot give a model: the architecture its
    /// metadata records is malformed, names a layer type Perceptron cannot
    /// build, or disagrees with the file's tensors, or a model is to be
    /// rebuilt from a file that records none; `reason` says which.
    case invalidModelFile(path: String, reason: String)

    /// The model file at `path` is not of the model it is loaded into:
    /// `difference` names the first difference, such as `layer 2: the file
    /// has Linear(64 → 10), the model has Linear(64 → 32)`, or the first
    /// parameter that has no tensor of its shape.
    case modelMismatch(path: String, difference: String)

    /// The file at `path` is not a training checkpoint that ``Checkpoint`` can
    /// restore: a safetensors file without a checkpoint's metadata, or one
    /// whose entries are missing or malformed; `reason` names which.
    case invalidCheckpoint(path: String, reason: String)

    /// The checkpoint at `path` was saved from a model, optimizer, schedule or
    /// batches unlike those given to restore it: `what` names the first
    /// difference, `saved` its value in the checkpoint and `actual` the value given.
    case checkpointMismatch(path: String, what: String, saved: String, actual: String)

    /// An index outside `range`, the indices that exist: `what` names the
    /// index (such as `"row index"`), and `position`, when the index came in a
    /// list, where in the list it stands.
    case indexOutOfRange(what: String, index: Int, position: Int?, range: Range<Int>)

    /// A layer of type `type` that `operation` cannot take: `supported` names
    /// the layer types it can. Inside a ``Sequential`` it comes wrapped in
    /// ``inLayer(index:type:error:)``, which says where the layer stands.
    case unsupportedLayer(type: String, operation: String, supported: [String])

    /// An operation across processes failed or was refused: `operation`
    /// names it (such as "all-reduce of 1024 scalars"), and `reason` says what
    /// MPI reported, or what the processes did not agree on.
    case communicationFailed(operation: String, reason: String)

    /// `what` (such as "Linear<Float> in bfloat16") was asked to compute in a
    /// precision this build, this CPU or this scalar type cannot give:
    /// `reason` says which, and how to get it where that is possible.
    case precisionUnavailable(what: String, reason: String)

    /// A compute library underneath Perceptron (`backend`, such as "oneDNN")
    /// refused or failed an operation; `reason` is what it reported.
    case backendFailure(backend: String, reason: String)

    /// The error itself, without the ``inLayer(index:type:error:)`` cases
    /// around it that say where in a model it was thrown: what to match to
    /// handle a kind of error wherever in a model it came from, as in
    /// `if case .precisionUnavailable = error.underlyingError { … }`.
    /// An error not thrown inside a ``Sequential`` is its own.
    public var underlyingError: PerceptronError {
        var error = self
        while case let .inLayer(_, _, inner) = error { error = inner }
        return error
    }

    /// A human-readable sentence naming what was expected and what came.
    public var description: String {
        switch self {
        case let .scalarCountMismatch(shape, expected, actual):
            return "shape \(shape) needs \(expected) scalars, not \(actual)"
        case let .negativeDimension(shape, axis):
            return "shape \(shape) has a negative dimension \(shape[axis]) at axis \(axis); dimensions must be ≥ 0"
        case let .shapeOverflow(shape):
            return "shape \(shape) has more elements than fit in memory addressable by Int"
        case let .raggedRows(row, expected, actual):
            return "rows must all have \(expected) scalars (the length of row 0), but row \(row) has \(actual)"
        case let .rankMismatch(what, expected, shape):
            return "\(what) must be \(expected), but has shape \(shape)"
        case let .featureMismatch(expected, actual, shape):
            return "input must have \(expected) features in its last dimension, but has shape \(shape) (last dimension \(actual))"
        case let .shapeMismatch(what, expected, actual):
            return "\(what) must have shape \(expected), but has shape \(actual)"
        case let .backwardBeforeForward(layer):
            return "\(layer).backward needs a forward pass first (none has run since it was created or its caches were released)"
        case let .inLayer(index, type, error):
            return "layer \(index) (\(type)): \(error)"
        case let .dimensionTooLarge(what, value, limit):
            return "\(what) is \(value), but OpenBLAS accepts sizes up to \(limit) (32-bit BLAS integers)"
        case let .countMismatch(what, expected, actual):
            return "\(what) must be \(expected), but is \(actual)"
        case let .labelOutOfRange(index, label, classes):
            return "label \(label) at position \(index) is out of range 0..<\(classes)"
        case let .invalidArgument(name, expected, actual):
            return "\(name) must be \(expected), but is \(actual)"
        case let .fileError(path, operation, reason):
            return "could not \(operation) '\(path)': \(reason)"
        case let .invalidNPY(path, reason):
            return "cannot read '\(path)' as .npy: \(reason)"
        case let .invalidSafeTensors(path, reason):
            return "cannot read '\(path)' as safetensors: \(reason)"
        case let .invalidModelFile(path, reason):
            return "cannot load a model from '\(path)': \(reason)"
        case let .modelMismatch(path, difference):
            return "'\(path)' does not fit the model: \(difference)"
        case let .invalidCheckpoint(path, reason):
            return "cannot restore '\(path)' as a checkpoint: \(reason)"
        case let .checkpointMismatch(path, what, saved, actual):
            return "the checkpoint '\(path)' does not fit what it is restored into: \(what) is \(saved) in it, but \(actual) here"
        case let .indexOutOfRange(what, index, position, range):
            let place = position.map { " at position \($0)" } ?? ""
            return "\(what) \(index)\(place) is out of range \(range.lowerBound)..<\(range.upperBound)"
        case let .unsupportedLayer(type, operation, supported):
            let list = supported.count > 1
                ? supported.dropLast().joined(separator: ", ") + " and " + supported[supported.count - 1]
                : supported.first ?? "none"
            return "\(operation) cannot take a layer of type \(type); it takes \(list)"
        case let .communicationFailed(operation, reason):
            return "\(operation) failed: \(reason)"
        case let .precisionUnavailable(what, reason):
            return "\(what) is not available: \(reason)"
        case let .backendFailure(backend, reason):
            return "\(backend) failed: \(reason)"
        }
    }
}
