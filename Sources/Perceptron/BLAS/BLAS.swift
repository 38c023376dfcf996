import COpenBLAS
import CPerceptronCPU

/// The OpenBLAS library underneath Perceptron: which version and kernel run,
/// how the kernel was chosen, and with how many threads.
///
/// Before its first BLAS call, Perceptron makes sure OpenBLAS runs the best
/// kernel the CPU allows (see ``KernelSelection``); reading anything here also
/// triggers that one-time set-up.
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

    /// What the running OpenBLAS reports about itself.
    public struct Configuration: Sendable, Equatable, CustomStringConvertible {
        /// The library's version, for example `"0.3.21"`.
        public var version: String
        /// The build configuration OpenBLAS reports (`openblas_get_config()`).
        public var buildConfiguration: String
        /// The name of the compute kernel in use (`openblas_get_corename()`), for example `"SkylakeX"`.
        public var coreName: String
        /// How that kernel was chosen.
        public var kernelSelection: KernelSelection
        /// The number of threads large products are split across (``BLAS/threadCount``).
        public var threadCount: Int
        /// Whether small products run on OpenBLAS's small-matrix kernels
        /// (found for the running kernel and checked; see ``BLAS/smallKernelLimit``).
        public var usesSmallMatrixKernels: Bool

        /// One line naming version, kernel, how it was chosen, threads, and
        /// whether the small-matrix kernels are in use.
        public var description: String {
            "OpenBLAS \(version), kernel \(coreName) \(kernelSelection), \(threadCount) thread\(threadCount == 1 ? "" : "s")"
                + (usesSmallMatrixKernels ? ", small-matrix kernels" : "")
        }
    }

    /// The outcome of the one-time kernel selection. Swift runs a static
    /// property's initializer exactly once, thread-safely, on first access;
    /// every BLAS entry point of the library reads this first.
    @usableFromInline
    static let kernelSelection: KernelSelection = {
        let selection = Perceptron.KernelSelection.run()
        if let core = perceptron_openblas_core_name() {
            _ = loadSmallKernels(core: String(cString: core))
        }
        takeOverThreading()
        return selection
    }()

    /// Ensures the one-time set-up has run; cheap after the first call.
    @inlinable @inline(__always)
    static func prepare() {
        _ = kernelSelection
    }

    /// The configuration of the OpenBLAS library this process runs.
    public static var configuration: Configuration {
        let selection = kernelSelection
        let config = String(cString: openblas_get_config())
        return Configuration(
            version: versionNumber(in: config),
            buildConfiguration: config,
            coreName: String(cString: openblas_get_corename()),
            kernelSelection: selection,
            threadCount: parallelism.load(ordering: .relaxed),
            usesSmallMatrixKernels: smallKernelsInUse.load(ordering: .relaxed))
    }

    /// The number of threads a large product is split across; setting it
    /// affects the whole process. Values below 1 are treated as 1.
    ///
    /// It starts as the number of threads OpenBLAS chose for itself (which
    /// honours `OPENBLAS_NUM_THREADS`). Perceptron then runs OpenBLAS
    /// single-threaded and splits large products by rows itself: with
    /// OpenBLAS 0.3.21 that is faster at layer sizes and allocates nothing,
    /// where OpenBLAS's own threading allocates on every call. Two independent
    /// products (a layer's `XᵀG` and `GWᵀ`) share the threads instead, half
    /// each. Results can differ in the last bits from one thread count to
    /// another, never between runs with the same count.
    public static var threadCount: Int {
        get {
            prepare()
            return parallelism.load(ordering: .relaxed)
        }
        set {
            prepare()
            parallelism.store(max(1, newValue), ordering: .relaxed)
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
