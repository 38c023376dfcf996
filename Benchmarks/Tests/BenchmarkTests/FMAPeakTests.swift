import CFMAPeak
import Testing

/// The benchmark's FMA-peak probe: it refuses what it cannot measure, measures
/// with every instruction set the CPU has, and reports the faster. No figure
/// is asserted beyond "measured": timing belongs in the benchmark.
@Suite("FMA peak probe")
struct FMAPeakTests {
    static let instructionSets = [Int32(CFMAPEAK_AVX512), Int32(CFMAPEAK_AVX2)]

    @Test("Refuses thread counts, trial counts and durations it cannot use", arguments: [
        (0, 1, 0.001), (-3, 1, 0.001), (Int(CFMAPEAK_MAX_THREADS) + 1, 1, 0.001),
        (1, 0, 0.001), (1, -1, 0.001), (1, 1, 0), (1, 1, -0.5), (1, 1, .nan), (1, 1, .infinity),
        (1, 1, CFMAPEAK_MAX_TRIAL_SECONDS * 2),
    ] as [(Int, Int, Double)])
    func refusesBadArguments(threads: Int, trials: Int, seconds: Double) {
        for precision in [0, 1] as [Int32] {
            var winner: Int32 = -7
            #expect(cfmapeak_gflops(Int32(threads), precision, Int32(trials), seconds, &winner) == -1)
            #expect(winner == -7, "a refused measurement names no winner")
            for set in Self.instructionSets {
                #expect(cfmapeak_gflops_using(set, Int32(threads), precision, Int32(trials), seconds) == -1)
            }
        }
    }

    @Test("Measures each instruction set the CPU has, and reports 0 for one it lacks",
          arguments: [Int32(CFMAPEAK_AVX512), Int32(CFMAPEAK_AVX2), Int32(CFMAPEAK_NONE), 99])
    func measuresEachInstructionSet(set: Int32) {
        for precision in [0, 1] as [Int32] {
            let rate = cfmapeak_gflops_using(set, 1, precision, 1, 0.002)
            if cfmapeak_has(set) != 0 {
                #expect(rate > 0 && rate.isFinite)
            } else {
                #expect(rate == 0)
            }
        }
    }

    @Test("Reports the faster instruction set's rate on 1 and 2 threads, in both precisions", arguments: [1, 2])
    func reportsTheFaster(threads: Int) {
        let available = Self.instructionSets.filter { cfmapeak_has($0) != 0 }
        for precision in [0, 1] as [Int32] {
            var winner: Int32 = -7
            let rate = cfmapeak_gflops(Int32(threads), precision, 2, 0.002, &winner)
            if available.isEmpty {
                #expect(rate == 0 && winner == Int32(CFMAPEAK_NONE))
            } else {
                #expect(rate > 0 && rate.isFinite)
                #expect(available.contains(winner))
            }
        }
    }
}
