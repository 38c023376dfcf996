/*
 * float32 <-> bfloat16 conversion: see the contract in include/CPerceptronCPU.h.
 *
 * Three ways to round, which agree bit for bit on every input:
 *   - scalar: integer arithmetic on the bit pattern, portable C;
 *   - AVX-512F: the same arithmetic on 16 lanes;
 *   - AVX512_BF16: VCVTNE2PS2BF16 / VCVTNEPS2BF16. These round to nearest even
 *     like the others, but treat subnormal inputs as zero (Intel SDM, "input
 *     denormals are always treated as zero"). The library rounds subnormal
 *     inputs instead, so lanes holding a subnormal are recomputed with the
 *     integer arithmetic; a test of the exponent field per vector finds them,
 *     and the extra work is done only for vectors that hold one.
 * The way is chosen once, from perceptron_cpu_features().
 */
#include "CPerceptronCPU.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define PERCEPTRON_BF16_X86 1
#else
#define PERCEPTRON_BF16_X86 0
#endif

/* ------------------------------------------------------------- scalar ---- */

static inline uint16_t round_one(uint32_t bits) {
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
        return (uint16_t)((bits >> 16) | 0x0040u); /* NaN: quiet, sign and top payload kept */
    }
    /* Adding 0x7FFF plus the lowest kept bit carries into the kept half exactly
     * when the dropped half is above one half, or equal to it with the kept half odd.
     * A carry out of the mantissa raises the exponent, which is also right at the
     * subnormal/normal boundary and turns the largest finite values into infinity. */
    return (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

void perceptron_float_to_bfloat16_scalar(const float *src, uint16_t *dst, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &src[i], sizeof bits);
        dst[i] = round_one(bits);
    }
}

void perceptron_bfloat16_to_float_scalar(const uint16_t *src, float *dst, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint32_t bits = (uint32_t)src[i] << 16;
        memcpy(&dst[i], &bits, sizeof bits);
    }
}

#if PERCEPTRON_BF16_X86
/* ----------------------------------------------------------- AVX-512F ---- */

/* The scalar arithmetic on 16 lanes, results in the low 16 bits of each lane. */
__attribute__((target("avx512f")))
static inline __m512i round16_avx512f(__m512i bits) {
    const __m512i one = _mm512_set1_epi32(1);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), one);
    __m512i rounded = _mm512_srli_epi32(
        _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lsb), 16);
    __m512i magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF));
    __mmask16 nan = _mm512_cmpgt_epu32_mask(magnitude, _mm512_set1_epi32(0x7F800000));
    __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x0040));
    return _mm512_mask_blend_epi32(nan, rounded, quiet);
}

__attribute__((target("avx512f")))
static void to_bfloat16_avx512f(const float *src, uint16_t *dst, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512i bits = _mm512_loadu_si512((const void *)(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtepi32_epi16(round16_avx512f(bits)));
    }
    if (i < count) {
        __mmask16 mask = (__mmask16)((1u << (count - i)) - 1u);
        __m512i bits = _mm512_maskz_loadu_epi32(mask, src + i);
        _mm512_mask_cvtepi32_storeu_epi16(dst + i, mask, round16_avx512f(bits));
    }
}

__attribute__((target("avx512f")))
static void to_float_avx512f(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m256i half = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm512_storeu_si512((void *)(dst + i), _mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
    }
    if (i < count) {
        /* AVX-512F has no masked 16-bit load: copy the tail through a buffer. */
        uint16_t tail[16] = {0};
        memcpy(tail, src + i, (count - i) * sizeof *src);
        __mmask16 mask = (__mmask16)((1u << (count - i)) - 1u);
        __m256i half = _mm256_loadu_si256((const __m256i *)tail);
        _mm512_mask_storeu_epi32(dst + i, mask, _mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
    }
}

/* -------------------------------------------------------- AVX512_BF16 ---- */

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* Lanes holding a subnormal (exponent field 0, mantissa not 0), of either sign. */
BF16_TARGET
static inline __mmask16 subnormal_lanes(__m512i bits) {
    __m512i magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF));
    __mmask16 nonzero = _mm512_test_epi32_mask(magnitude, magnitude);
    return _mm512_mask_cmplt_epu32_mask(nonzero, magnitude, _mm512_set1_epi32(0x00800000));
}

BF16_TARGET
static void to_bfloat16_avx512bf16(const float *src, uint16_t *dst, size_t count) {
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m512i lo = _mm512_loadu_si512((const void *)(src + i));
        __m512i hi = _mm512_loadu_si512((const void *)(src + i + 16));
        /* The second operand fills the low half of the result. */
        __m512i out = (__m512i)_mm512_cvtne2ps_pbh(_mm512_castsi512_ps(hi), _mm512_castsi512_ps(lo));
        __mmask32 sub = ((__mmask32)subnormal_lanes(hi) << 16) | subnormal_lanes(lo);
        if (sub != 0) {
            __m512i exact = _mm512_inserti64x4(_mm512_castsi256_si512(
                _mm512_cvtepi32_epi16(round16_avx512f(lo))), _mm512_cvtepi32_epi16(round16_avx512f(hi)), 1);
            out = _mm512_mask_mov_epi16(out, sub, exact);
        }
        _mm512_storeu_si512((void *)(dst + i), out);
    }
    for (; i < count; i += 16) {
        size_t n = count - i < 16 ? count - i : 16;
        __mmask16 mask = (__mmask16)((1u << n) - 1u);
        __m512i bits = _mm512_maskz_loadu_epi32(mask, src + i);
        __m256i out = (__m256i)_mm512_cvtneps_pbh(_mm512_castsi512_ps(bits));
        __mmask16 sub = subnormal_lanes(bits);
        if (sub != 0) {
            out = _mm256_mask_mov_epi16(out, sub, _mm512_cvtepi32_epi16(round16_avx512f(bits)));
        }
        _mm256_mask_storeu_epi16(dst + i, mask, out);
    }
}
#endif /* PERCEPTRON_BF16_X86 */

/* ---------------------------------------------------------- dispatch ---- */

static bool path_supported(int path) {
    if (path == PERCEPTRON_BF16_PATH_SCALAR) return true;
#if PERCEPTRON_BF16_X86
    perceptron_cpu_features_t f = perceptron_cpu_features();
    if (path == PERCEPTRON_BF16_PATH_AVX512F) return f.avx512f;
    if (path == PERCEPTRON_BF16_PATH_AVX512_BF16) {
        return f.avx512f && f.avx512bw && f.avx512vl && f.avx512_bf16;
    }
#endif
    return false;
}

static atomic_int g_path = -1; /* not chosen yet */

int perceptron_bfloat16_path(void) {
    int path = atomic_load_explicit(&g_path, memory_order_relaxed);
    if (path < 0) {
        /* Every thread that gets here computes the same answer. */
        path = path_supported(PERCEPTRON_BF16_PATH_AVX512_BF16) ? PERCEPTRON_BF16_PATH_AVX512_BF16
             : path_supported(PERCEPTRON_BF16_PATH_AVX512F)     ? PERCEPTRON_BF16_PATH_AVX512F
                                                                : PERCEPTRON_BF16_PATH_SCALAR;
        atomic_store_explicit(&g_path, path, memory_order_relaxed);
    }
    return path;
}

static void round_on(int path, const float *src, uint16_t *dst, size_t count) {
    switch (path) {
#if PERCEPTRON_BF16_X86
    case PERCEPTRON_BF16_PATH_AVX512_BF16: to_bfloat16_avx512bf16(src, dst, count); return;
    case PERCEPTRON_BF16_PATH_AVX512F: to_bfloat16_avx512f(src, dst, count); return;
#endif
    default: perceptron_float_to_bfloat16_scalar(src, dst, count); return;
    }
}

static void widen_on(int path, const uint16_t *src, float *dst, size_t count) {
    switch (path) {
#if PERCEPTRON_BF16_X86
    case PERCEPTRON_BF16_PATH_AVX512_BF16: /* nothing to gain from the BF16 instructions */
    case PERCEPTRON_BF16_PATH_AVX512F: to_float_avx512f(src, dst, count); return;
#endif
    default: perceptron_bfloat16_to_float_scalar(src, dst, count); return;
    }
}

void perceptron_float_to_bfloat16(const float *src, uint16_t *dst, size_t count) {
    round_on(perceptron_bfloat16_path(), src, dst, count);
}

void perceptron_bfloat16_to_float(const uint16_t *src, float *dst, size_t count) {
    widen_on(perceptron_bfloat16_path(), src, dst, count);
}

bool perceptron_float_to_bfloat16_on(int path, const float *src, uint16_t *dst, size_t count) {
    if (!path_supported(path)) return false;
    round_on(path, src, dst, count);
    return true;
}

bool perceptron_bfloat16_to_float_on(int path, const uint16_t *src, float *dst, size_t count) {
    if (!path_supported(path)) return false;
    widen_on(path, src, dst, count);
    return true;
}
