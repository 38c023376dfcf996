/*
 * CPerceptronCPU: x86-64 CPU feature detection, switching the kernel set of a
 * DYNAMIC_ARCH OpenBLAS build (such as Debian 12's 0.3.21) in a running process,
 * float32 <-> bfloat16 conversion, and a bfloat16 matrix product on AVX512_BF16.
 * Which kernel to choose is decided in Swift (KernelSelection.swift); this file
 * only reports facts and carries out the switch.
 *
 * Why: OpenBLAS 0.3.21 does not know newer Intel server models (Sapphire /
 * Emerald Rapids, family 6 model 0x8F / 0xCF), and its model table maps them to
 * the generic "Prescott" SSE3 kernels — about 5x slower for SGEMM than the AVX-512
 * "SkylakeX"/"Cooperlake" kernels that are compiled into the same library.
 *
 * Everything OpenBLAS-related is resolved at run time with dlsym(RTLD_DEFAULT),
 * so this target does not need to link OpenBLAS itself and degrades to
 * PERCEPTRON_SWITCH_UNSUPPORTED with a BLAS that lacks the entry points.
 *
 * Pure C11 plus GNU inline asm / <cpuid.h>; compiles with gcc 12 and clang 21.
 */
#ifndef CPERCEPTRON_CPU_H
#define CPERCEPTRON_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- CPU ---- */

enum {
    PERCEPTRON_CPU_VENDOR_OTHER = 0,
    PERCEPTRON_CPU_VENDOR_INTEL = 1,
    PERCEPTRON_CPU_VENDOR_AMD   = 2,
};

/*
 * Every SIMD flag is true only if the CPU advertises the instruction set (CPUID)
 * AND the operating system saves the matching register state (XCR0 via XGETBV):
 *   AVX/AVX2/FMA/F16C need XCR0 bits 1|2 (XMM, YMM);
 *   AVX-512 flags additionally need bits 5|6|7 (opmask, ZMM_Hi256, Hi16_ZMM).
 */
typedef struct perceptron_cpu_features_t {
    int      vendor;            /* PERCEPTRON_CPU_VENDOR_* */
    char     vendor_string[13]; /* "GenuineIntel", "AuthenticAMD", ... */
    unsigned family;            /* display family (base + extended), e.g. 6, 0x17, 0x19 */
    unsigned model;             /* display model (incl. extended model) */
    unsigned stepping;
    bool     is_amd_zen;        /* AMD family >= 0x17 (Zen 1..5) */
    bool     hypervisor;        /* CPUID.1:ECX[31], running under a VM */

    bool os_avx_state;          /* XCR0[2:1] == 11b */
    bool os_avx512_state;       /* XCR0[7:5] == 111b (and AVX state) */

    bool avx, avx2, fma, f16c;
    bool avx512f, avx512cd, avx512bw, avx512dq, avx512vl;
    bool avx512_vnni, avx512_bf16, avx512_fp16;
} perceptron_cpu_features_t;

/* Detects once (thread-safe, cached) and returns a copy. */
perceptron_cpu_features_t perceptron_cpu_features(void);

/* ----------------------------------------------------------- OpenBLAS ---- */

enum {
    PERCEPTRON_SWITCH_OK                 =  0, /* core is now `name` */
    PERCEPTRON_SWITCH_UNSUPPORTED        = -1, /* no gotoblas_dynamic_init/quit or
                                                  openblas_get_corename in process */
    PERCEPTRON_SWITCH_BAD_ARGUMENT       = -2,
    PERCEPTRON_SWITCH_CPU_LACKS_FEATURES = -3, /* refusing: kernel would SIGILL */
    PERCEPTRON_SWITCH_NOT_IN_BUILD       = -4, /* no gotoblas_<NAME> table exported */
    PERCEPTRON_SWITCH_MISMATCH           = -5, /* OpenBLAS picked another core;
                                                  previous core was restored */
};

/* Current core name (openblas_get_corename()), or NULL if unavailable. */
const char *perceptron_openblas_core_name(void);

/* True if this OpenBLAS exports the kernel table gotoblas_<NAME> (case-insensitive). */
bool perceptron_openblas_has_core(const char *name);

/*
 * Switches the kernel set of a DYNAMIC_ARCH OpenBLAS in the running process.
 * `previous` (may be NULL) receives the core name that was active before.
 * Sets OPENBLAS_CORETYPE only for the duration of gotoblas_dynamic_init() and
 * then restores its previous value (normally: unset).
 *
 * MUST be called while no other thread is inside OpenBLAS and no other thread
 * calls getenv/setenv (ideally once, at start-up, before any BLAS work).
 * Returns PERCEPTRON_SWITCH_*.
 */
int perceptron_openblas_switch_core(const char *name, char *previous, size_t previous_len);

/* ------------------------------------------------ small-matrix kernels ---- */

/*
 * OpenBLAS builds with SMALL_MATRIX_OPT (0.3.17 and later, DYNAMIC_ARCH x86-64
 * among them) carry GEMM kernels for small matrices that skip the packing of
 * A and B, exported as <s|d>gemm_small_kernel[_b0]_<nn|nt|tn|tt>_<CORE>
 * (column-major; the _b0 forms are for beta = 0 and never read C). OpenBLAS's
 * own interface uses them only up to 100^3 multiply-adds; Perceptron calls them
 * directly for somewhat larger products, where they measured faster.
 *
 * Every core of a DYNAMIC_ARCH build exports such kernels, but for most they
 * are plain C loops that OpenBLAS itself never calls: only cores whose own
 * ?gemm_small_matrix_permit_<CORE> accepts a small product have real ones
 * (SkylakeX and Cooperlake in 0.3.21). perceptron_small_kernels_permitted
 * asks those permit functions; it reads nothing else and is safe at any time.
 *
 * perceptron_small_kernels_load checks that, looks up all sixteen kernels for
 * `core` (any case) and returns true if every one was found, else false and
 * none is used.
 * Call it (and _unload) only while no other thread uses the kernels: Perceptron
 * does so during its one-time set-up.
 */
bool perceptron_small_kernels_permitted(const char *core);
bool perceptron_small_kernels_load(const char *core);
void perceptron_small_kernels_unload(void);

/*
 * Row-major C <- alpha*op(A)*op(B) + beta*C, with op(A) m x k and op(B) k x n and
 * the leading dimensions of row-major storage, on the loaded small kernels;
 * beta == 0 uses the _b0 kernel, so C is not read. Only after a successful load.
 */
void perceptron_sgemm_small(bool transA, bool transB, long m, long n, long k,
                            float alpha, const float *a, long lda, const float *b, long ldb,
                            float beta, float *c, long ldc);
void perceptron_dgemm_small(bool transA, bool transB, long m, long n, long k,
                            double alpha, const double *a, long lda, const double *b, long ldb,
                            double beta, double *c, long ldc);

/* ---------------------------------------------------------- bfloat16 ---- */

/*
 * bfloat16 is the upper half of a float32: sign, the same 8-bit exponent, and 7
 * mantissa bits. Rounding a float to it is IEEE round to nearest, ties to even,
 * on every input, including subnormal ones:
 *   - ±0 and ±inf are exact; finite values that round past the largest finite
 *     bfloat16 (0x7F7F) become ±inf, as IEEE rounding does;
 *   - a NaN stays a NaN with its sign and the top 7 bits of its payload, made
 *     quiet (mantissa bit 0x0040 set);
 *   - subnormal floats are ROUNDED to the nearest bfloat16 (a subnormal, ±0, or
 *     for the largest ones the smallest normal 0x0080), not flushed to zero.
 *     The AVX512_BF16 instructions would flush them (they treat input denormals
 *     as zero); that path recomputes such lanes, so every path, and every CPU,
 *     gives the same bits. No floating-point exception is raised and MXCSR
 *     (DAZ/FTZ, rounding mode) is neither read nor changed.
 * Widening is exact (the pattern shifted into the upper half).
 *
 * The work is done on one of three paths, chosen once from
 * perceptron_cpu_features(): AVX512_BF16 (with AVX-512F/BW/VL), else AVX-512F,
 * else portable C. src and dst must not overlap. Thread-safe.
 */
void perceptron_float_to_bfloat16(const float *src, uint16_t *dst, size_t count);
void perceptron_bfloat16_to_float(const uint16_t *src, float *dst, size_t count);

enum {
    PERCEPTRON_BF16_PATH_SCALAR      = 0, /* portable C */
    PERCEPTRON_BF16_PATH_AVX512F     = 1, /* integer arithmetic on 16 lanes */
    PERCEPTRON_BF16_PATH_AVX512_BF16 = 2, /* VCVTNE2PS2BF16 / VCVTNEPS2BF16 */
};

/* The path the two functions above use on this CPU (PERCEPTRON_BF16_PATH_*). */
int perceptron_bfloat16_path(void);

/* The portable C path, on any CPU. */
void perceptron_float_to_bfloat16_scalar(const float *src, uint16_t *dst, size_t count);
void perceptron_bfloat16_to_float_scalar(const uint16_t *src, float *dst, size_t count);

/* A named path (so that tests can compare them): false, and dst untouched, if
 * this CPU cannot run it. */
bool perceptron_float_to_bfloat16_on(int path, const float *src, uint16_t *dst, size_t count);
bool perceptron_bfloat16_to_float_on(int path, const uint16_t *src, float *dst, size_t count);

/* ---------------------------------------------------- bfloat16 GEMM ---- */

/*
 * C <- alpha * op(A) * op(B) + beta * C, plus `bias` (n floats, or NULL) added
 * to every row of C: op(A) is m x k and op(B) k x n, of bfloat16 bit patterns,
 * row-major with row lengths lda and ldb as stored (of the untransposed
 * matrix, as in CBLAS); C is m x n float32 with row length ldc. The products
 * of bfloat16 values are exact and accumulated in float32 (VDPBF16PS: pairs
 * along k, subnormal inputs and results treated as zero). beta = 0 never reads
 * C. alpha scales the sums as C is written; unlike BLAS, alpha = 0 does not
 * skip the product, so a NaN or infinite operand still gives NaN there. The
 * work runs on the calling thread, in buffers of that thread which are kept
 * for its next call and freed when it ends.
 *
 * Returns false, having written nothing, when a size is not positive, when the
 * CPU lacks AVX512_BF16 (with AVX-512F/BW/VL), when unrounded_a comes with a
 * transposed A, or when the thread's buffers cannot grow (out of memory).
 * Thread-safe; C must not overlap A, B or bias.
 */
typedef struct {
    bool transpose_a, transpose_b;
    int64_t m, n, k;
    float alpha;
    const uint16_t *a;
    int64_t lda;
    const uint16_t *b;
    int64_t ldb;
    float beta;
    float *c;
    int64_t ldc;
    const float *bias;
    /* Optional, for an untransposed A only: A in float32 (row length lda),
     * rounded by perceptron_float_to_bfloat16 into rounded_a (m x k, row
     * length lda) a block at a time, just before the block is multiplied; `a`
     * is then ignored. The product is the same as rounding first and passing
     * rounded_a as `a`, but A is read from memory once, while the arithmetic
     * of other blocks runs. NULL otherwise. */
    const float *unrounded_a;
    uint16_t *rounded_a;
} perceptron_bfloat16_product_t;

bool perceptron_bfloat16_gemm(const perceptron_bfloat16_product_t *product);

/* Whether perceptron_bfloat16_gemm(product) writes C with streaming stores,
 * past the caches: where it runs at all (false where it would refuse), for a
 * C of 8 MiB or more (m x n floats of this call) written in one pass (k of at
 * most 1024) with beta = 0. Only its whole vectors on 64-byte boundaries are
 * streamed; the values written are the same either way. */
bool perceptron_bfloat16_gemm_streams(const perceptron_bfloat16_product_t *product);

/* Whether this CPU runs perceptron_bfloat16_gemm (AVX512_BF16 with AVX-512F/BW/VL). */
bool perceptron_bfloat16_gemm_is_supported(void);

/* ------------------------------------------------ packed float32 GEMM ---- */

/*
 * C <- A * W + bias for a few rows, on a weight packed once by
 * perceptron_panel_weight_pack: A is m x k float32, row-major with row
 * length lda; C is m x n with row length ldc. Each output is the bias plus
 * a[0]w[0] + ... + a[k-1]w[k-1], fused multiply-adds in that order, so a
 * row's result does not depend on the other rows of the call. The work runs
 * on the calling thread and allocates nothing.
 *
 * perceptron_panel_weight_floats gives the packed size of a k x n weight, in
 * floats ((k + 1) times n rounded up to a multiple of 16), or -1 for k < 0, n < 1 or a size
 * past int64_t. perceptron_panel_weight_pack writes W (k x n, row length ldw)
 * and bias (n floats, or NULL for none) into `packed`, which holds that many.
 *
 * perceptron_panel_gemm returns false, having written nothing, when m or k is
 * negative, n is not positive, or the CPU has neither AVX-512F nor AVX2 with
 * FMA. Thread-safe; C must not overlap A or the packed weight.
 *
 * The work is done on one of two paths over the same packed layout, the
 * widest this CPU runs; both give the same bits (NaN payloads aside: where
 * two NaNs meet in one multiply-add, which comes out is not promised).
 */
enum {
    PERCEPTRON_PANEL_PATH_NONE    = 0, /* neither below: the kernel refuses */
    PERCEPTRON_PANEL_PATH_AVX2    = 1, /* AVX2 and FMA, 16 YMM */
    PERCEPTRON_PANEL_PATH_AVX512F = 2, /* AVX-512F, 32 ZMM */
};
int64_t perceptron_panel_weight_floats(int64_t k, int64_t n);
void perceptron_panel_weight_pack(const float *w, int64_t ldw, const float *bias, int64_t k, int64_t n,
                                  float *packed);
bool perceptron_panel_gemm(int64_t m, int64_t k, int64_t n, const float *a, int64_t lda, const float *packed,
                           float *c, int64_t ldc);

/* The path perceptron_panel_gemm takes on this CPU (PERCEPTRON_PANEL_PATH_*;
 * NONE where it refuses). */
int perceptron_panel_gemm_path(void);

/* The product on a named path (so that tests can compare them): false, and
 * C untouched, if this CPU cannot run it or the sizes are refused. */
bool perceptron_panel_gemm_on(int path, int64_t m, int64_t k, int64_t n, const float *a, int64_t lda,
                              const float *packed, float *c, int64_t ldc);

#ifdef __cplusplus
}
#endif
#endif /* CPERCEPTRON_CPU_H */
