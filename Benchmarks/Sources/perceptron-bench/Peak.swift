import CFMAPeak
import Foundation
@_spi(Benchmarking) import Perceptron

/// `--peak`: the most arithmetic this machine's FMA units do per second.
///
/// No GEMM runs faster than this, so it bounds every figure the benchmark
/// reports: a step at 90 % of it has at most 10 % of its time to save, by any
/// code. Measured rather than computed, because a VM's clock under AVX-512
/// load, and whether its vCPUs are whole cores, are written down nowhere
/// (`CFMAPeak`, which tries AVX-512 and AVX2 and keeps the faster). Reported
/// on one thread and on N: the second figure is N times the first only if the
/// threads run on cores of their own.
enum Peak {
    /// The measured peak at one thread count, and the instructions that gave it.
    struct Rate: Codable {
        var threads: Int
        var floatGFLOPS: Double
        var floatInstructions: String
        var doubleGFLOPS: Double
        var doubleInstructions: String
    }

    /// What `--json` writes: no rates when the CPU has no FMA to measure.
    struct Figures: Codable {
        var trials: Int
        var trialMilliseconds: Double
        var rates: [Rate]
    }

    /// A measurement: GFLOP/s, and the instruction set that reached it.
    struct Measurement {
        var gflops: Double
        var instructions: String
    }

    /// Why a peak could not be measured.
    enum Failure: Error, CustomStringConvertible {
        case noFMA
        case threads(Int)

        var description: String {
            switch self {
            case .noFMA: "the CPU has neither AVX-512 nor AVX2 with FMA"
            case .threads(let count): "could not run on \(count) threads (at most \(CFMAPEAK_MAX_THREADS))"
            }
        }
    }

    /// Trials, and seconds per trial: fewer and shorter with `--quick`.
    static func sampling(quick: Bool) -> (trials: Int, seconds: Double) {
        quick ? (5, 0.01) : (25, 0.02)
    }

    /// The peak on `threads` threads for `Scalar`.
    static func measure<Scalar: BLASScalar>(
        _: Scalar.Type, threads: Int, quick: Bool
    ) -> Result<Measurement, Failure> {
        let (trials, seconds) = sampling(quick: quick)
        var winner: Int32 = 0
        let rate = cfmapeak_gflops(Int32(clamping: threads), Scalar.self == Double.self ? 1 : 0,
                                   Int32(trials), seconds, &winner)
        if rate < 0 { return .failure(.threads(threads)) }
        if rate == 0 { return .failure(.noFMA) }
        return .success(Measurement(gflops: rate, instructions: winner == Int32(CFMAPEAK_AVX512) ? "AVX-512" : "AVX2"))
    }

    /// Measures on 1 and `threads` threads, prints the figures, writes them to
    /// `jsonPath` if given; returns the exit status.
    static func run(threads: Int, quick: Bool, jsonPath: String?) -> Int32 {
        let (trials, seconds) = sampling(quick: quick)
        print("FMA peak: the faster of AVX-512 and AVX2 multiply-adds on registers only, "
              + "best of \(trials) trials of \(Int(seconds * 1000)) ms")
        var rates: [Rate] = []
        for count in Set([1, threads]).sorted() {
            switch (measure(Float.self, threads: count, quick: quick), measure(Double.self, threads: count, quick: quick)) {
            case (.success(let float), .success(let double)):
                rates.append(Rate(threads: count, floatGFLOPS: float.gflops, floatInstructions: float.instructions,
                                  doubleGFLOPS: double.gflops, doubleInstructions: double.instructions))
                print(String(format: "  %d thread%@: Float %6.1f GFLOP/s (%@)   Double %6.1f GFLOP/s (%@)",
                             count, count == 1 ? " " : "s", float.gflops, float.instructions,
                             double.gflops, double.instructions))
            case (.failure(.noFMA), _), (_, .failure(.noFMA)):
                print("  not measured: \(Failure.noFMA)")
            case (.failure(let failure), _), (_, .failure(let failure)):
                printError("the FMA peak \(failure)")
                return 1
            }
        }
        guard let path = jsonPath else { return 0 }
        do {
            try writeAsJSON(Figures(trials: trials, trialMilliseconds: seconds * 1000, rates: rates), to: path)
        } catch {
            printError("cannot write \(path): \(error)")
            return 1
        }
        print("Wrote \(path)")
        return 0
    }
}
