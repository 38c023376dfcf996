/// Why bytes are not a safetensors file that ``SafeTensors`` can be read from.
///
/// Internal: the parsing layers below ``SafeTensors/init(safeTensorsData:source:)``
/// do not know which file they are reading, so they throw this, and the
/// public layer turns it into ``PerceptronError/invalidSafeTensors(path:reason:)``
/// with the path.
struct SafeTensorsFormatError: Error, Equatable {
    /// A sentence naming what was expected and what came.
    var reason: String
}
