import COpenBLAS

/// The OpenBLAS library underneath Perceptron: which one runs, and with how many threads.
public enum BLAS {
    /// What the running OpenBLAS reports about itself.
    public struct Configuration: Sendable, Equatable, CustomStringConvertible {
        /// The library's version string, for example `"0.3.21"`.
        public var version: String
        /// The build configuration OpenBLAS reports (`openblas_get_config()`).
        public var buildConfiguration: String
        /// The name of the compute kernel in use (`openblas_get_corename()`), for example `"SkylakeX"`.
        public var coreName: String
        /// The number of threads OpenBLAS uses for large operations.
        public var threadCount: Int

        /// One line naming version, kernel and threads.
        public var description: String {
            "OpenBLAS \(version), kernel \(coreName), \(threadCount) thread\(threadCount == 1 ? "" : "s")"
        }
    }

    /// The configuration of the OpenBLAS library this process runs.
    public static var configuration: Configuration {
        let config = String(cString: openblas_get_config())
        return Configuration(
            version: versionNumber(in: config),
            buildConfiguration: config,
            coreName: String(cString: openblas_get_corename()),
            threadCount: Int(openblas_get_num_threads()))
    }

    /// The number of threads OpenBLAS uses; setting it affects the whole process.
    ///
    /// Values below 1 are treated as 1.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(clamping: max(1, newValue))) }
    }

    /// Extracts `"0.3.21"` from a configuration string such as `"OpenBLAS 0.3.21 DYNAMIC_ARCH …"`.
    static func versionNumber(in config: String) -> String {
        let words = config.split(separator: " ")
        guard let index = words.firstIndex(of: "OpenBLAS"), index + 1 < words.count else {
            return "unknown"
        }
        return String(words[index + 1])
    }
}
