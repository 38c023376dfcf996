/*
 * CFMAPeak: the floating-point peak of this machine, measured.
 *
 * A GEMM can run no faster than the CPU's fused multiply-add units. The
 * benchmark measures that ceiling instead of computing it from a data sheet:
 * a VM's clock under AVX-512 load, and whether its vCPUs are whole cores, are
 * not written down anywhere. Every thread runs independent chains of vector
 * FMAs on registers only (no memory traffic), enough of them to cover the FMA
 * latency on both FMA ports, so the figure is the most arithmetic the threads
 * can do per second with those instructions. Both AVX-512 and AVX2 are
 * measured where the CPU has both: on parts with one 512-bit FMA port, or a
 * lower clock under AVX-512, AVX2 can be the faster.
 *
 * x86-64 only; elsewhere every instruction set reports itself unavailable.
 * For the benchmark only; the library does not link it.
 */
#ifndef CFMAPEAK_H
#define CFMAPEAK_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CFMAPEAK_NONE   = 0, /* neither AVX-512 nor AVX2+FMA: nothing measured */
    CFMAPEAK_AVX2   = 1, /* 256-bit FMA (AVX2 + FMA3) */
    CFMAPEAK_AVX512 = 2, /* 512-bit FMA (AVX-512 F) */
};

/* The most threads a measurement starts. */
#define CFMAPEAK_MAX_THREADS 1024

/* The longest trial a measurement accepts, in seconds. */
#define CFMAPEAK_MAX_TRIAL_SECONDS 60.0

/* True (1) if the CPU has `instruction_set` (CFMAPEAK_AVX2 or _AVX512) and the
 * operating system enables its registers; 0 otherwise. */
int cfmapeak_has(int instruction_set);

/*
 * Runs `trials` trials of `instruction_set`'s FMAs, each of about
 * `trial_seconds` on each of `threads` threads started together, and returns
 * the best trial's rate in GFLOP/s (a multiply-add counts as two operations)
 * for float (`double_precision` 0) or double (1) vectors. The best, not the
 * median: interference from other work on the machine only ever lowers a
 * trial's rate.
 * Returns 0 if !cfmapeak_has(instruction_set), and -1 if `threads` is not in
 * 1...CFMAPEAK_MAX_THREADS, `trials` < 1, `trial_seconds` is not in
 * (0, CFMAPEAK_MAX_TRIAL_SECONDS], or a thread could not be started.
 */
double cfmapeak_gflops_using(int instruction_set, int threads, int double_precision, int trials,
                             double trial_seconds);

/*
 * The same for every instruction set the CPU has, returning the highest rate,
 * and in `*winner` (if not NULL) the instruction set that gave it
 * (CFMAPEAK_NONE if none was measured). Returns 0 if the CPU has neither, and
 * -1 as cfmapeak_gflops_using does.
 */
double cfmapeak_gflops(int threads, int double_precision, int trials, double trial_seconds, int *winner);

#ifdef __cplusplus
}
#endif

#endif
