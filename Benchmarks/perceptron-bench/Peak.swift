import CFMAPeak
import Foundation
import Perceptron

/// `--peak`: the most arithmetic this machine's FMA units do per second.
///
/// No GEMM runs faster than this, so it bounds every figure the benchmark
/// reports: a step at 90 % of it has at most 10 % left to gain, by any code.
/// Measured rather than computed, because a VM's clock under AVX-512 load,
/// and whether its vCPUs are whole cores, are written down nowhere
/// (`CFMAPeak`). Reported on one thread and on all of them: the second figure
/// is twice the first only if the threads run on cores of their own.
enum Peak {
    /// The measured peak at one thread count.
    struct Rate: Codable {
        var threads: Int
        var floatGFLOPS: Double
        var doubleGFLOPS: Double
    }

    /// What `--json` writes.
    struct Result: Codable {
        var instructionSet: String
        var trials: Int
        var trialMilliseconds: Double
        var rates: [Rate]
    }

    /// Trials, and seconds per trial: fewer and shorter with `--quick`.
    static func sampling(quick: Bool) -> (trials: Int, seconds: Double) {
        quick ? (5, 0.01) : (25, 0.02)
    }

    /// The peak in GFLOP/s on `threads` threads for `Scalar`; 0 if the CPU has
    /// no FMA to measure, -1 if the threads could not be started (`CFMAPeak`).
    static func measure<Scalar: BLASScalar>(_: Scalar.Type, threads: Int, quick: Bool) -> Double {
        let (trials, seconds) = sampling(quick: quick)
        return cfmapeak_gflops(Int32(threads), Scalar.self == Double.self ? 1 : 0, Int32(trials), seconds)
    }

    /// Measures on 1 and `threads` threads, prints the figures, writes them to
    /// `jsonPath` if given; returns the exit status.
    static func run(threads: Int, quick: Bool, jsonPath: String?) -> Int32 {
        let instructionSet: String
        switch cfmapeak_instruction_set() {
        case Int32(CFMAPEAK_AVX512): instructionSet = "AVX-512"
        case Int32(CFMAPEAK_AVX2): instructionSet = "AVX2+FMA"
        default:
            print("FMA peak: not measured (the CPU has neither AVX-512 nor AVX2 with FMA)")
            return 0
        }
        let (trials, seconds) = sampling(quick: quick)
        print("FMA peak: \(instructionSet) multiply-adds on registers only, best of \(trials) trials of \(Int(seconds * 1000)) ms")
        var rates: [Rate] = []
        for count in Set([1, threads]).sorted() {
            let float = measure(Float.self, threads: count, quick: quick)
            let double = measure(Double.self, threads: count, quick: quick)
            guard float > 0, double > 0 else {
                FileHandle.standardError.write(Data("perceptron-bench: could not measure the peak on \(count) threads (at most \(CFMAPEAK_MAX_THREADS), each one startable)\n".utf8))
                return 1
            }
            rates.append(Rate(threads: count, floatGFLOPS: float, doubleGFLOPS: double))
            print(String(format: "  %d thread%@: Float %6.1f GFLOP/s   Double %6.1f GFLOP/s",
                         count, count == 1 ? " " : "s", float, double))
        }
        guard let path = jsonPath else { return 0 }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let result = Result(instructionSet: instructionSet, trials: trials, trialMilliseconds: seconds * 1000, rates: rates)
        do {
            try encoder.encode(result).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            FileHandle.standardError.write(Data("perceptron-bench: cannot write \(path): \(error)\n".utf8))
            return 1
        }
        print("Wrote \(path)")
        return 0
    }
}
