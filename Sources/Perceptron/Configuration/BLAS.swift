import COpenBLAS

/// The OpenBLAS library underneath Perceptron, and the one setting a user
/// tunes: how many threads a large product may use.
///
/// Before its first product, Perceptron makes sure OpenBLAS runs the best
/// kernel the CPU allows (an older OpenBLAS may fall back to a slow generic
/// kernel on a newer CPU), loads OpenBLAS's small-matrix kernels where they
/// are real, and takes over threading. Reading anything here also runs that
/// one-time set-up, so ``configuration`` reports what products will use.
public enum BLAS {
    /// How the running OpenBLAS kernel was chosen.
    public struct KernelSelection: Sendable, Equatable, CustomStringConvertible {
        /// Who chose the kernel.
        public enum Source: String, Sendable, Equatable {
            /// OpenBLAS's own CPU detection, left as it was.
            case openBLAS
            /// Perceptron, which replaced a weaker kernel OpenBLAS had chosen.
            case perceptron
            /// The environment: `OPENBLAS_CORETYPE`, or `PERCEPTRON_BLAS_CORETYPE` naming a kernel.
            case environment
        }

        /// Who chose the kernel.
        public var source: Source
        /// The kernel OpenBLAS had chosen, when it was replaced.
        public var replacedCore: String?
        /// Why this kernel runs, in words.
        public var reason: String

        /// For example `chosen by Perceptron (OpenBLAS chose Prescott, but the CPU supports SkylakeX)`.
        public var description: String {
            let who = switch source {
            case .openBLAS: "OpenBLAS"
            case .perceptron: "Perceptron"
            case .environment: "the environment"
            }
            return "chosen by \(who) (\(reason))"
        }
    }

    /// What the running OpenBLAS reports about itself and how Perceptron uses
    /// it, with the library's other kernels: its packed-weight kernel and,
    /// with the `OneDNN` trait, oneDNN.
    public struct Configuration: Sendable, Equatable, CustomStringConvertible {
        /// The library's version, for example `"0.3.21"`.
        public var version: String
        /// The build configuration OpenBLAS reports (`openblas_get_config()`).
        public var buildConfiguration: String
        /// The name of the compute kernel in use (`openblas_get_corename()`), for example `"SkylakeX"`.
        public var coreName: String
        /// How that kernel was chosen.
        public var kernelSelection: KernelSelection
        /// The number of threads a large product is split across (``BLAS/threadCount``).
        public var threadCount: Int
        /// Whether small products run on OpenBLAS's small-matrix kernels,
        /// which skip the copying ("packing") that dominates small products.
        public var usesSmallMatrixKernels: Bool
        /// The library's own kernel for an ``InferenceModel``'s packed
        /// weights (``InferenceModel/Kernels/packedWeights``), which serves
        /// requests of a few rows in every build, named after the
        /// instructions it runs on here: `"perceptron:avx512f"` or
        /// `"perceptron:avx2"` (AVX2 with FMA). `nil` on a CPU with neither,
        /// where it does not run.
        public var packedWeightKernel: String?
        /// oneDNN, which computes bfloat16 products, in a build with the
        /// `OneDNN` trait; `nil` without it.
        public var oneDNN: OneDNNConfiguration?

        /// One line naming version, kernel, how it was chosen, threads, and
        /// whether the small-matrix kernels are in use; then the packed-weight
        /// kernel and oneDNN's configuration, if present.
        public var description: String {
            "OpenBLAS \(version), kernel \(coreName) \(kernelSelection), \(threadCount) thread\(threadCount == 1 ? "" : "s")"
                + (usesSmallMatrixKernels ? ", small-matrix kernels" : "")
                + (packedWeightKernel.map { "; packed weights on \($0)" } ?? "")
                + (oneDNN.map { "; \($0)" } ?? "")
        }
    }

    /// The configuration of the OpenBLAS library this process runs.
    public static var configuration: Configuration {
        let state = OpenBLAS.state
        let config = String(cString: openblas_get_config())
        return Configuration(
            version: versionNumber(in: config),
            buildConfiguration: config,
            coreName: String(cString: openblas_get_corename()),
            kernelSelection: state.kernelSelection,
            threadCount: ProductSplit.threads.load(ordering: .relaxed),
            usesSmallMatrixKernels: state.usesSmallKernels,
            packedWeightKernel: PanelGEMM.kernelName,
            oneDNN: oneDNNConfiguration)
    }

    /// The number of threads a large product may use; setting it affects the
    /// whole process. Values below 1 are treated as 1.
    ///
    /// It starts as the number of threads OpenBLAS chose for itself, which
    /// honours `OPENBLAS_NUM_THREADS` (and otherwise is the number of cores).
    /// Perceptron then runs OpenBLAS single-threaded and splits a large
    /// product by rows across its own threads, which allocate nothing; two
    /// independent products, such as a layer's `XᵀG` and `GWᵀ`, share the
    /// threads instead, half each. Results can differ in the last bits from
    /// one thread count to another, never between runs with the same count.
    public static var threadCount: Int {
        get {
            OpenBLAS.setUp()
            return ProductSplit.threads.load(ordering: .relaxed)
        }
        set {
            OpenBLAS.setUp()
            ProductSplit.threads.store(max(1, newValue), ordering: .relaxed)
        }
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
