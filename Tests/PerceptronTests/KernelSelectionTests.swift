import Foundation
@_spi(Benchmarking) @testable import Perceptron
import Testing

@Suite("OpenBLAS kernel selection")
struct KernelSelectionTests {
    static let avx512 = CPUFeatures(
        vendor: .intel, avx: true, avx2: true, fma: true,
        avx512f: true, avx512bw: true, avx512dq: true, avx512vl: true)
    static let avx2 = CPUFeatures(vendor: .intel, avx: true, avx2: true, fma: true)
    static let zen = CPUFeatures(vendor: .amd, avx: true, avx2: true, fma: true)
    static let avxOnly = CPUFeatures(vendor: .intel, avx: true)
    static let sse = CPUFeatures(vendor: .intel)
    /// AVX-512 that the CPU reports but the OS does not enable (a VM without the
    /// ZMM state): the C side already reports those flags as false.
    static let avx512NotEnabledByOS = CPUFeatures(vendor: .intel, avx: true, avx2: true, fma: true)

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var cpu: CPUFeatures
        var running: String
        var environment: [String: String] = [:]
        var expected: KernelSelector.Decision
        var testDescription: String { name }
    }

    /// OpenBLAS's variable, by the library's own constant: these cases only pass
    /// dictionaries to a pure function; no test sets the real environment.
    static let openBLAS = KernelSelector.openBLASVariable

    static let cases: [Case] = [
        Case(name: "Prescott on AVX-512 switches to SkylakeX", cpu: avx512, running: "Prescott",
             expected: .switchTo(core: "SkylakeX", source: .perceptron,
                                 reason: "OpenBLAS chose Prescott, but the CPU supports SkylakeX")),
        Case(name: "Haswell on AVX-512 switches to SkylakeX", cpu: avx512, running: "Haswell",
             expected: .switchTo(core: "SkylakeX", source: .perceptron,
                                 reason: "OpenBLAS chose Haswell, but the CPU supports SkylakeX")),
        Case(name: "Sandybridge on AVX2 switches to Haswell", cpu: avx2, running: "Sandybridge",
             expected: .switchTo(core: "Haswell", source: .perceptron,
                                 reason: "OpenBLAS chose Sandybridge, but the CPU supports Haswell")),
        Case(name: "Nehalem on Zen switches to Zen", cpu: zen, running: "Nehalem",
             expected: .switchTo(core: "Zen", source: .perceptron,
                                 reason: "OpenBLAS chose Nehalem, but the CPU supports Zen")),
        Case(name: "Core2 on AVX switches to Sandybridge", cpu: avxOnly, running: "Core2",
             expected: .switchTo(core: "Sandybridge", source: .perceptron,
                                 reason: "OpenBLAS chose Core2, but the CPU supports Sandybridge")),
        Case(name: "SkylakeX stays", cpu: avx512, running: "SkylakeX",
             expected: .keep(source: .openBLAS, reason: "SkylakeX is the best kernel for this CPU")),
        Case(name: "Cooperlake stays", cpu: avx512, running: "Cooperlake",
             expected: .keep(source: .openBLAS, reason: "Cooperlake is the best kernel for this CPU")),
        Case(name: "Zen stays on AVX2 Intel", cpu: avx2, running: "Zen",
             expected: .keep(source: .openBLAS, reason: "Zen is the best kernel for this CPU")),
        Case(name: "AVX-512 the OS does not enable gives Haswell, not SkylakeX", cpu: avx512NotEnabledByOS,
             running: "Prescott",
             expected: .switchTo(core: "Haswell", source: .perceptron,
                                 reason: "OpenBLAS chose Prescott, but the CPU supports Haswell")),
        Case(name: "no AVX keeps Prescott", cpu: sse, running: "Prescott",
             expected: .keep(source: .openBLAS, reason: "no AVX kernel applies to this CPU")),
        Case(name: "an unknown kernel is left alone", cpu: avx512, running: "Neoverse",
             expected: .keep(source: .openBLAS, reason: "OpenBLAS chose Neoverse, a kernel Perceptron does not rank")),
        Case(name: "OpenBLAS's variable wins", cpu: avx512, running: "Prescott",
             environment: [openBLAS: "Prescott"],
             expected: .keep(source: .environment, reason: "\(openBLAS)=Prescott is set")),
        Case(name: "OpenBLAS's variable wins over PERCEPTRON_BLAS_CORETYPE", cpu: avx512, running: "Haswell",
             environment: [openBLAS: "Haswell", "PERCEPTRON_BLAS_CORETYPE": "SkylakeX"],
             expected: .keep(source: .environment, reason: "\(openBLAS)=Haswell is set")),
        Case(name: "keep turns selection off", cpu: avx512, running: "Prescott",
             environment: ["PERCEPTRON_BLAS_CORETYPE": "keep"],
             expected: .keep(source: .openBLAS, reason: "PERCEPTRON_BLAS_CORETYPE=keep")),
        Case(name: "a named kernel is forced", cpu: avx512, running: "SkylakeX",
             environment: ["PERCEPTRON_BLAS_CORETYPE": "Haswell"],
             expected: .switchTo(core: "Haswell", source: .environment, reason: "PERCEPTRON_BLAS_CORETYPE=Haswell")),
        Case(name: "a forced kernel already running stays", cpu: avx512, running: "Haswell",
             environment: ["PERCEPTRON_BLAS_CORETYPE": "haswell"],
             expected: .keep(source: .environment, reason: "PERCEPTRON_BLAS_CORETYPE=haswell, already running")),
        Case(name: "an empty variable is ignored", cpu: avx512, running: "Prescott",
             environment: [openBLAS: "", "PERCEPTRON_BLAS_CORETYPE": ""],
             expected: .switchTo(core: "SkylakeX", source: .perceptron,
                                 reason: "OpenBLAS chose Prescott, but the CPU supports SkylakeX")),
    ]

    @Test(arguments: cases)
    func decision(_ c: Case) {
        #expect(KernelSelector.decide(cpu: c.cpu, runningCore: c.running, environment: c.environment) == c.expected)
    }

    @Test func runningKernelIsNotWeakerThanTheCPUAllows() throws {
        let environment = ProcessInfo.processInfo.environment
        let forced = [KernelSelector.openBLASVariable, KernelSelector.variable]
            .contains { !(environment[$0] ?? "").isEmpty }
        let configuration = BLAS.configuration
        if forced {
            // The environment chose; Perceptron must have left the choice to it.
            #expect(configuration.kernelSelection.source != .perceptron)
            return
        }
        guard let best = KernelSelector.bestCore(for: .current) else { return }
        let running = try #require(KernelSelector.tier(of: configuration.coreName), "unranked kernel \(configuration.coreName)")
        #expect(running >= KernelSelector.tier(of: best)!, "\(configuration)")
    }

    @Test func selfCheckPassesOnTheRunningKernel() {
        OpenBLAS.setUp()
        #expect(KernelSelector.selfCheck(Float.self))
        #expect(KernelSelector.selfCheck(Double.self))
    }

    @Test func versionIsParsed() {
        #expect(BLAS.versionNumber(in: "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64") == "0.3.21")
        #expect(BLAS.versionNumber(in: "something else") == "unknown")
        #expect(BLAS.configuration.version.hasPrefix("0."))
    }
}
