/*
 * CFMAPeak: the floating-point peak of this machine, measured.
 *
 * A GEMM can run no faster than the CPU's fused multiply-add units. The
 * benchmark measures that ceiling instead of computing it from a data sheet:
 * a VM's clock under AVX-512 load, and whether its vCPUs are whole cores, are
 * not written down anywhere. Every thread runs independent chains of vector
 * FMAs on registers only (no memory traffic), enough of them to cover the FMA
 * latency on both FMA ports, so the figure is the most arithmetic the threads
 * can do per second.
 *
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

/* The widest FMA the CPU has and the operating system enables (CFMAPEAK_*). */
int cfmapeak_instruction_set(void);

/* The most threads cfmapeak_gflops starts. */
#define CFMAPEAK_MAX_THREADS 1024

/*
 * Runs `trials` trials, each of about `trial_seconds` on each of `threads`
 * threads started together, and returns the best trial's rate in GFLOP/s
 * (a multiply-add counts as two operations) for float (`double_precision` 0)
 * or double (1) vectors. The best, not the median: interference from other
 * work on the machine only ever lowers a trial's rate.
 * Returns 0 if cfmapeak_instruction_set() is CFMAPEAK_NONE, and -1 if
 * `threads` is not in 1...CFMAPEAK_MAX_THREADS, `trials` < 1 or
 * `trial_seconds` <= 0, or a thread could not be started.
 */

double cfmapeak_gflops(int threads, int double_precision, int trials, double trial_seconds);

#ifdef __cplusplus
}
#endif

#endif
