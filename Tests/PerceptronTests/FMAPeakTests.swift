import CFMAPeak
import CPerceptronCPU
import Testing

/// The benchmark's FMA-peak probe: it refuses what it cannot measure, picks
/// the widest FMA the CPU and OS enable, and reports a rate it measured. No
/// figure is asserted beyond "measured": timing belongs in the benchmark.
@Suite("FMA peak probe")
struct FMAPeakTests {
    @Test("Refuses thread counts, trial counts and durations it cannot use", arguments: [
        (0, 1, 0.001), (-3, 1, 0.001), (Int(CFMAPEAK_MAX_THREADS) + 1, 1, 0.001),
        (1, 0, 0.001), (1, -1, 0.001), (1, 1, 0), (1, 1, -0.5), (1, 1, .nan),
    ] as [(Int, Int, Double)])
    func refusesBadArguments(threads: Int, trials: Int, seconds: Double) {
        for precision in [0, 1] as [Int32] {
            #expect(cfmapeak_gflops(Int32(threads), precision, Int32(trials), seconds) == -1)
        }
    }

    @Test("Measures with the widest FMA that the CPU has and the OS enables")
    func instructionSetFollowsTheCPU() {
        let cpu = perceptron_cpu_features()
        let expected: Int32 = cpu.avx512f && cpu.os_avx512_state ? Int32(CFMAPEAK_AVX512)
            : cpu.avx2 && cpu.fma && cpu.os_avx_state ? Int32(CFMAPEAK_AVX2) : Int32(CFMAPEAK_NONE)
        #expect(cfmapeak_instruction_set() == expected)
    }

    @Test("Reports a finite positive rate on 1 and 2 threads, in both precisions", arguments: [1, 2])
    func measuresARate(threads: Int) {
        for precision in [0, 1] as [Int32] {
            let rate = cfmapeak_gflops(Int32(threads), precision, 2, 0.002)
            if cfmapeak_instruction_set() == Int32(CFMAPEAK_NONE) {
                #expect(rate == 0)
            } else {
                #expect(rate > 0 && rate.isFinite)
            }
        }
    }
}
