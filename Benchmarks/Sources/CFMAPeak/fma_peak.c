/*
 * CFMAPeak: see include/CFMAPeak.h.
 *
 * Each kernel keeps CHAINS accumulators in vector registers and updates every
 * one with an FMA per iteration: a = a * b + c. With b just below 1 the values
 * settle near c / (1 - b) = 0.1 and never become subnormal (which would be
 * slow) or overflow. CHAINS = 16 independent chains cover the 4-cycle FMA
 * latency on two FMA ports (8 in flight) with room to spare, and with the two
 * constants use 18 of the 32 AVX-512 registers (AVX2 has 16: 12 chains there).
 * The sum at the end keeps the compiler from removing the loop.
 */
#define _GNU_SOURCE 1

#include "CFMAPeak.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CFMAPEAK_X86 1
#else
#define CFMAPEAK_X86 0
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#if CFMAPEAK_X86
/* Defines fma_<NAME>(iterations): CHAINS chains of VECTOR FMAs, returning a
 * sum of the results so that none of the work is dead. */
#define FMA_KERNEL(NAME, TARGET, CHAINS, VECTOR, SET1, FMADD, ADD, STORE, SCALAR, LANES)       \
    __attribute__((target(TARGET), noinline))                                               \
    static double fma_##NAME(int64_t iterations) {                                          \
        VECTOR a[CHAINS];                                                                   \
        const VECTOR b = SET1((SCALAR)0.999999), c = SET1((SCALAR)1e-7);                    \
        for (int i = 0; i < CHAINS; i++) a[i] = SET1((SCALAR)i);                            \
        for (int64_t n = 0; n < iterations; n++) {                                          \
            _Pragma("GCC unroll 16")                                                        \
            for (int i = 0; i < CHAINS; i++) a[i] = FMADD(a[i], b, c);                      \
        }                                                                                   \
        for (int i = 1; i < CHAINS; i++) a[0] = ADD(a[0], a[i]);                            \
        SCALAR lanes[LANES];                                                                \
        STORE(lanes, a[0]);                                                                 \
        double sum = 0;                                                                     \
        for (int i = 0; i < LANES; i++) sum += (double)lanes[i];                            \
        return sum;                                                                         \
    }

FMA_KERNEL(avx512_float, "avx512f", 16, __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
           _mm512_storeu_ps, float, 16)
FMA_KERNEL(avx512_double, "avx512f", 16, __m512d, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_add_pd,
           _mm512_storeu_pd, double, 8)
FMA_KERNEL(avx2_float, "avx2,fma", 12, __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
           _mm256_storeu_ps, float, 8)
FMA_KERNEL(avx2_double, "avx2,fma", 12, __m256d, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_add_pd,
           _mm256_storeu_pd, double, 4)
#endif

/* The compiler runtime's CPU model (libgcc's or compiler-rt's) counts a
 * feature only when the CPU has it and the operating system saves its
 * registers (XCR0), which is what running these kernels needs. */
int cfmapeak_has(int instruction_set) {
#if CFMAPEAK_X86
    __builtin_cpu_init();
    switch (instruction_set) {
    case CFMAPEAK_AVX512: return __builtin_cpu_supports("avx512f") != 0;
    case CFMAPEAK_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default: return 0;
    }
#else
    (void)instruction_set;
    return 0;
#endif
}

/* The threads of one trial wait at this gate until all have been created,
 * so that they start together (or are told to give up). */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t opened;
    int state; /* 0: wait, 1: run, -1: give up */
} gate;

typedef struct {
    double (*kernel)(int64_t);
    int64_t iterations;
    gate *gate;
    double began, ended;
    volatile double sink;
} trial_thread;

static int wait_at(gate *g) {
    pthread_mutex_lock(&g->lock);
    while (g->state == 0) pthread_cond_wait(&g->opened, &g->lock);
    int state = g->state;
    pthread_mutex_unlock(&g->lock);
    return state;
}

static void open_gate(gate *g, int state) {
    pthread_mutex_lock(&g->lock);
    g->state = state;
    pthread_cond_broadcast(&g->opened);
    pthread_mutex_unlock(&g->lock);
}

static void *run_trial_thread(void *argument) {
    trial_thread *t = argument;
    if (wait_at(t->gate) < 0) return NULL;
    t->began = now();
    t->sink = t->kernel(t->iterations);
    t->ended = now();
    return NULL;
}

/* One trial: `threads` threads (the caller one of them) started together;
 * returns the seconds from the first start to the last end, or -1 if a thread
 * could not be created. */
static double trial(double (*kernel)(int64_t), int64_t iterations, int threads) {
    gate g = {.state = 0};
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.opened, NULL);
    trial_thread state[threads];
    pthread_t ids[threads];
    for (int i = 0; i < threads; i++)
        state[i] = (trial_thread){.kernel = kernel, .iterations = iterations, .gate = &g};
    int created = 0;
    while (created < threads - 1 && pthread_create(&ids[created], NULL, run_trial_thread, &state[created]) == 0)
        created++;
    int ok = created == threads - 1;
    open_gate(&g, ok ? 1 : -1);
    if (ok) run_trial_thread(&state[threads - 1]);
    for (int i = 0; i < created; i++) pthread_join(ids[i], NULL);
    pthread_cond_destroy(&g.opened);
    pthread_mutex_destroy(&g.lock);
    if (!ok) return -1;
    double began = state[0].began, ended = state[0].ended;
    for (int i = 1; i < threads; i++) {
        if (state[i].began < began) began = state[i].began;
        if (state[i].ended > ended) ended = state[i].ended;
    }
    return ended - began;
}

double cfmapeak_gflops_using(int instruction_set, int threads, int double_precision, int trials,
                             double trial_seconds) {
    if (threads < 1 || threads > CFMAPEAK_MAX_THREADS || trials < 1 || !(trial_seconds > 0)
        || !(trial_seconds <= CFMAPEAK_MAX_TRIAL_SECONDS)) {
        return -1;
    }
    if (!cfmapeak_has(instruction_set)) return 0;
    double (*kernel)(int64_t) = NULL;
    int chains = 0, lanes = 0;
#if CFMAPEAK_X86
    if (instruction_set == CFMAPEAK_AVX512) {
        kernel = double_precision ? fma_avx512_double : fma_avx512_float;
        chains = 16;
        lanes = double_precision ? 8 : 16;
    } else {
        kernel = double_precision ? fma_avx2_double : fma_avx2_float;
        chains = 12;
        lanes = double_precision ? 4 : 8;
    }
#endif
    if (kernel == NULL) return 0;
    /* Size a trial from a short single-threaded run; at most 2^40 iterations,
     * however fast that run seemed. */
    int64_t iterations = 100000;
    double seconds = trial(kernel, iterations, 1);
    if (seconds < 0) return -1;
    if (seconds > 0) {
        double scaled = (double)iterations * trial_seconds / seconds;
        iterations = scaled < 0x1p40 ? (int64_t)scaled + 1 : ((int64_t)1 << 40);
    }

    double best = 0;
    for (int i = 0; i < trials; i++) {
        seconds = trial(kernel, iterations, threads);
        if (seconds < 0) return -1;
        double rate = 2.0 * (double)chains * lanes * (double)iterations * threads / seconds / 1e9;
        if (rate > best) best = rate;
    }
    return best;
}

double cfmapeak_gflops(int threads, int double_precision, int trials, double trial_seconds, int *winner) {
    double best = 0;
    int best_set = CFMAPEAK_NONE;
    const int sets[] = {CFMAPEAK_AVX512, CFMAPEAK_AVX2};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        double rate = cfmapeak_gflops_using(sets[i], threads, double_precision, trials, trial_seconds);
        if (rate < 0) return -1;
        if (rate > best) {
            best = rate;
            best_set = sets[i];
        }
    }
    if (winner != NULL) *winner = best_set;
    return best;
}
