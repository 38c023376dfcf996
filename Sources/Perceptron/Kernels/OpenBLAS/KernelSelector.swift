import CPerceptronCPU
import Foundation

// Choosing OpenBLAS's compute kernel.
//
// A DYNAMIC_ARCH OpenBLAS carries kernels for many CPUs and picks one at load
// time from a table of CPU models. Older builds do not know newer CPUs and
// fall back to a generic kernel: Debian 12's 0.3.21 runs its SSE3 "Prescott"
// kernel on Sapphire and Emerald Rapids, about five times slower for SGEMM
// than the AVX-512 "SkylakeX" kernel compiled into the same library.
//
// So, once, before the library's first BLAS call, Perceptron compares the
// running kernel with what the CPU (and the operating system, which must
// enable the AVX/AVX-512 register state) allows, and re-selects a stronger
// kernel when OpenBLAS chose a weaker one. The decision is a pure function
// (`KernelSelector.decide`), tested over a table of cases; carrying it out
// (`KernelSelector.run`) switches the kernel and verifies it with a small
// SGEMM and DGEMM, restoring the previous kernel if either is wrong.

/// The CPU facts the kernel decision depends on.
struct CPUFeatures: Equatable, Sendable {
    enum Vendor: Sendable { case intel, amd, other }

    var vendor = Vendor.other
    /// Each flag is true only if the CPU has it and the OS enables its register state.
    var avx = false, avx2 = false, fma = false
    var avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false

    /// The features of the CPU this process runs on.
    static var current: CPUFeatures {
        let f = perceptron_cpu_features()
        let vendor: Vendor = switch Int(f.vendor) {
        case PERCEPTRON_CPU_VENDOR_INTEL: .intel
        case PERCEPTRON_CPU_VENDOR_AMD: .amd
        default: .other
        }
        return CPUFeatures(
            vendor: vendor, avx: f.avx, avx2: f.avx2, fma: f.fma,
            avx512f: f.avx512f, avx512bw: f.avx512bw, avx512dq: f.avx512dq, avx512vl: f.avx512vl)
    }
}

/// Chooses OpenBLAS's kernel for this CPU: a pure decision and the switch that carries it out.
enum KernelSelector {
    /// The environment variable that steers Perceptron's choice: `keep` turns
    /// it off, a kernel name forces that kernel.
    static let variable = "PERCEPTRON_BLAS_CORETYPE"

    /// OpenBLAS's own variable; when set, OpenBLAS has chosen as told and Perceptron leaves it alone.
    static let openBLASVariable = "OPENBLAS_CORETYPE"

    /// What to do about the running kernel.
    enum Decision: Equatable {
        /// Leave OpenBLAS's kernel; `source` says who chose it, `reason` why it stays.
        case keep(source: BLAS.KernelSelection.Source, reason: String)
        /// Switch to `core`.
        case switchTo(core: String, source: BLAS.KernelSelection.Source, reason: String)
    }

    /// How capable a kernel family is: a kernel ranked below the best one the
    /// CPU can run is a fallback worth replacing. Unknown names rank `nil`.
    static func tier(of core: String) -> Int? {
        switch core.lowercased() {
        case "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn",
             "dunnington", "nehalem", "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "bobcat":
            return 0
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator":
            return 1
        case "haswell", "zen":
            return 2
        case "skylakex", "cooperlake", "sapphirerapids":
            return 3
        default:
            return nil
        }
    }

    /// The strongest kernel family the CPU can run, by OpenBLAS's core name.
    ///
    /// SkylakeX rather than Cooperlake for AVX-512: in OpenBLAS 0.3.21 their
    /// SGEMM and DGEMM kernels are the same, Cooperlake
    /// only adds bfloat16 routines, and `OPENBLAS_CORETYPE` does not accept the
    /// name "Cooperlake" at all.
    static func bestCore(for cpu: CPUFeatures) -> String? {
        if cpu.avx512f && cpu.avx512bw && cpu.avx512dq && cpu.avx512vl && cpu.avx2 && cpu.fma {
            return "SkylakeX"
        }
        if cpu.avx2 && cpu.fma { return cpu.vendor == .amd ? "Zen" : "Haswell" }
        if cpu.avx { return "Sandybridge" }
        return nil
    }

    /// The decision, from the CPU's features, the running kernel and the environment alone.
    static func decide(cpu: CPUFeatures, runningCore: String, environment: [String: String]) -> Decision {
        if let forced = environment[openBLASVariable], !forced.isEmpty {
            return .keep(source: .environment, reason: "\(openBLASVariable)=\(forced) is set")
        }
        if let request = environment[variable], !request.isEmpty {
            if request.lowercased() == "keep" {
                return .keep(source: .openBLAS, reason: "\(variable)=keep")
            }
            if request.lowercased() == runningCore.lowercased() {
                return .keep(source: .environment, reason: "\(variable)=\(request), already running")
            }
            return .switchTo(core: request, source: .environment, reason: "\(variable)=\(request)")
        }
        guard let best = bestCore(for: cpu) else {
            return .keep(source: .openBLAS, reason: "no AVX kernel applies to this CPU")
        }
        guard let running = tier(of: runningCore), let target = tier(of: best) else {
            return .keep(source: .openBLAS, reason: "OpenBLAS chose \(runningCore), a kernel Perceptron does not rank")
        }
        guard running < target else {
            return .keep(source: .openBLAS, reason: "\(runningCore) is the best kernel for this CPU")
        }
        return .switchTo(
            core: best, source: .perceptron,
            reason: "OpenBLAS chose \(runningCore), but the CPU supports \(best)")
    }

    /// Decides and carries out the decision for this process: switches the
    /// kernel when asked to, verifies the new one, and restores the old one if
    /// the switch fails or computes wrong results.
    static func run() -> BLAS.KernelSelection {
        let running = perceptron_openblas_core_name().map { String(cString: $0) } ?? "unknown"
        let environment = ProcessInfo.processInfo.environment
        switch decide(cpu: .current, runningCore: running, environment: environment) {
        case let .keep(source, reason):
            return BLAS.KernelSelection(source: source, replacedCore: nil, reason: reason)
        case let .switchTo(core, source, reason):
            let status = perceptron_openblas_switch_core(core, nil, 0)
            guard status == Int32(PERCEPTRON_SWITCH_OK) else {
                return BLAS.KernelSelection(
                    source: .openBLAS, replacedCore: nil,
                    reason: "kept \(running): switching to \(core) failed (\(switchFailure(status)))")
            }
            guard selfCheck(Float.self), selfCheck(Double.self) else {
                _ = perceptron_openblas_switch_core(running, nil, 0)
                return BLAS.KernelSelection(
                    source: .openBLAS, replacedCore: nil,
                    reason: "kept \(running): \(core) failed its SGEMM/DGEMM self-check")
            }
            return BLAS.KernelSelection(source: source, replacedCore: running, reason: reason)
        }
    }

    /// Why the C switch refused, in words.
    static func switchFailure(_ status: Int32) -> String {
        switch status {
        case Int32(PERCEPTRON_SWITCH_UNSUPPORTED): "this OpenBLAS cannot switch kernels at run time"
        case Int32(PERCEPTRON_SWITCH_BAD_ARGUMENT): "not a kernel name"
        case Int32(PERCEPTRON_SWITCH_CPU_LACKS_FEATURES): "the CPU or OS lacks its instructions"
        case Int32(PERCEPTRON_SWITCH_NOT_IN_BUILD): "this OpenBLAS build has no such kernel"
        case Int32(PERCEPTRON_SWITCH_MISMATCH): "OpenBLAS did not accept the name"
        default: "status \(status)"
        }
    }

    /// Runs small GEMMs on the current kernel, every combination of
    /// transposes with β = 0 (over C full of NaN, which must not be read) and
    /// β = 1, and compares them with plain loops in Double, within the
    /// rounding bound `(k + 2)·ε·Σ|terms|`. With `small`, the products run on
    /// the small-matrix kernels instead of CBLAS. Calls the C routines directly:
    /// this runs while the library's one-time set-up is still in progress.
    static func selfCheck<Scalar: BLASScalar>(_: Scalar.Type, small: Bool = false) -> Bool {
        // Odd sizes, and sizes that fill whole vectors, so that both the main
        // loops and the remainder code of a kernel run.
        for (m, n, k) in [(37, 29, 53), (19, 48, 33)] {
            var generator = SeededRandomNumberGenerator(seed: 0x5EED)
            let a = (0..<(m * k)).map { _ in Scalar.random(in: -1...1, using: &generator) }
            let b = (0..<(k * n)).map { _ in Scalar.random(in: -1...1, using: &generator) }
            let c0 = (0..<(m * n)).map { _ in Scalar.random(in: -1...1, using: &generator) }
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for beta: Scalar in [0, 1] {
                        var c = beta == 0 ? [Scalar](repeating: .nan, count: m * n) : c0
                        a.withUnsafeBufferPointer { a in
                            b.withUnsafeBufferPointer { b in
                                c.withUnsafeMutableBufferPointer { c in
                                    let product = MatrixProduct(
                                        transposeA: transposeA, transposeB: transposeB,
                                        m: Int32(m), n: Int32(n), k: Int32(k),
                                        a.baseAddress!, b.baseAddress!, beta: beta, c.baseAddress!)
                                    OpenBLAS.gemm(product, small: small)
                                }
                            }
                        }
                        let bound = Double(k + 2) * Double(Scalar.ulpOfOne)
                        for i in 0..<m {
                            for j in 0..<n {
                                var sum = Double(beta * c0[i * n + j]), magnitude = abs(sum)
                                for p in 0..<k {
                                    let left = Double(transposeA ? a[p * m + i] : a[i * k + p])
                                    let right = Double(transposeB ? b[j * k + p] : b[p * n + j])
                                    sum += left * right
                                    magnitude += abs(left * right)
                                }
                                let error = abs(Double(c[i * n + j]) - sum)
                                guard error <= bound * magnitude else { return false }
                            }
                        }
                    }
                }
            }
        }
        return true
    }
}
