/// Why bytes are not a `.npy` file that a ``Tensor`` can be read from.
///
/// Internal: the parsing layers below ``Tensor/init(npyData:source:)`` do not
/// know which file they are reading, so they throw this, and the tensor layer
/// turns it into ``PerceptronError/invalidNPY(path:reason:)`` with the path.
struct NPYFormatError: Error, Equatable {
    /// A sentence naming what was expected and what came.
    var reason: String
}
