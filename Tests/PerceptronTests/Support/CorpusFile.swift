import Foundation
import Testing

/// One input of a fuzz corpus under `Fixtures/` (`npy-corpus/`,
/// `safetensors-corpus/`): bytes that `make fuzz` found to reach new code in
/// a reader, minimised with libFuzzer's `-merge=1`, plus any crasher it
/// found (once fixed).
struct CorpusFile: Sendable, CustomTestStringConvertible {
    var name: String
    var url: URL

    var testDescription: String { name }

    /// Every file of `Fixtures/<directory>`, by name; empty if the directory
    /// is missing, which each replay suite's count check catches.
    static func all(in directory: String) -> [CorpusFile] {
        guard let folder = Bundle.module.url(forResource: directory, withExtension: nil, subdirectory: "Fixtures"),
              let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.filter { !$0.hasPrefix(".") }.sorted().map {
            CorpusFile(name: $0, url: folder.appendingPathComponent($0))
        }
    }

    /// The `.npy` reader's corpus.
    static let npy = all(in: "npy-corpus")

    /// The safetensors reader's corpus.
    static let safeTensors = all(in: "safetensors-corpus")
}
