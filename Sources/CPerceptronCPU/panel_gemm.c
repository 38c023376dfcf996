/*
 * A float32 product on a weight packed once, for requests of a few rows: see
 * the contract in include/CPerceptronCPU.h.
 *
 * A served model's weights never change, and most requests are a few rows.
 * For those, a product is little arithmetic (a row times a 64 x 64 weight is
 * 256 vector multiply-adds) and a library call costs more than the sum:
 * OpenBLAS packs its operands on every call, and oneDNN gathers its
 * arguments into a map and allocates. So the weight is packed once, into the
 * layout this loop reads straight through, and a call is the loop alone.
 *
 * Layout: W's columns in blocks of 64 (four ZMM), the last block the rest,
 * its width rounded up to a whole vector of 16 with zero columns. Each block
 * is k + 1 rows of its width, contiguous: first the bias (zeros without
 * one), then W's rows. A block sits at (k + 1) * 64 * block floats, and the
 * whole takes (k + 1) * roundup(n, 16).
 *
 * The tile is up to 6 rows of C by one block, in up to 24 ZMM accumulators
 * that start from the bias row; each row of W is four loads, each value of
 * A a broadcast, and each pair one fused multiply-add. So every output is
 * bias + a[0]w[0] + a[1]w[1] + ... in that order, each term fused: the same
 * bits for a row whatever other rows are in the call, and within the float32
 * bound of a sum of k + 1 terms taken in order. (NaN payloads aside: where
 * two NaNs meet in one multiply-add, which one comes out depends on the
 * operand order the compiler picked for that tile's instruction.)
 *
 * A CPU with AVX2 and FMA but no AVX-512 (AMD Zen 1 to 3; Intel's cores without
 * AVX-512, server ones before Skylake-SP and most client ones) reads the same
 * layout with 16 YMM registers: a block is taken as strips of 16 columns, and
 * the tile is up to 6 rows by one strip, in 12 accumulators, with 2 for the
 * strip's row of W and 1 for the broadcast. Each output is the same fused sum
 * in the same order, so both paths give the same bits (NaN payloads aside, as
 * above).
 */
#include "CPerceptronCPU.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define PANEL_TARGET __attribute__((target("avx512f")))
/* Every loop over a tile's rows (at most MR) or vectors (at most 4) is unrolled, by clang and gcc alike. */
#define UNROLLED _Pragma("GCC unroll 8")

enum {
    MR = 6,  /* rows of C per tile */
    NB = 64, /* columns of a block: four ZMM */
};

/* Rows `R` of C (R <= MR) times one block of `P` vectors (P <= 4), the last
 * `last_columns` wide (1...16): constants where the tile is instantiated,
 * so that the accumulators stay in registers. */
PANEL_TARGET __attribute__((always_inline))
static inline void tile(int R, int P, int64_t k, const float *a, int64_t lda, const float *block,
                        float *c, int64_t ldc, int last_columns) {
    __m512 acc[MR][4];
    UNROLLED for (int p = 0; p < P; p++) {
        __m512 bias = _mm512_loadu_ps(block + 16 * p);
        UNROLLED for (int r = 0; r < R; r++) acc[r][p] = bias;
    }
    const float *w = block + 16 * P;
    for (int64_t i = 0; i < k; i++, w += 16 * P) {
        __m512 wv[4];
        UNROLLED for (int p = 0; p < P; p++) wv[p] = _mm512_loadu_ps(w + 16 * p);
        UNROLLED for (int r = 0; r < R; r++) {
            __m512 x = _mm512_set1_ps(a[r * lda + i]);
            UNROLLED for (int p = 0; p < P; p++) acc[r][p] = _mm512_fmadd_ps(x, wv[p], acc[r][p]);
        }
    }
    __mmask16 last = (__mmask16)((1u << last_columns) - 1);
    UNROLLED for (int r = 0; r < R; r++) {
        UNROLLED for (int p = 0; p < P - 1; p++) _mm512_storeu_ps(c + r * ldc + 16 * p, acc[r][p]);
        _mm512_mask_storeu_ps(c + r * ldc + 16 * (P - 1), last, acc[r][P - 1]);
    }
}

#define TILE(R, P) tile(R, P, k, a, lda, block, c, ldc, last_columns)
#define TILES_OF_ROWS(R)                   \
    switch (vectors) {                     \
    case 1: TILE(R, 1); break;             \
    case 2: TILE(R, 2); break;             \
    case 3: TILE(R, 3); break;             \
    default: TILE(R, 4); break;            \
    }

PANEL_TARGET
static void any_tile(int rows, int vectors, int64_t k, const float *a, int64_t lda, const float *block,
                     float *c, int64_t ldc, int last_columns) {
    switch (rows) {
    case 1: TILES_OF_ROWS(1); break;
    case 2: TILES_OF_ROWS(2); break;
    case 3: TILES_OF_ROWS(3); break;
    case 4: TILES_OF_ROWS(4); break;
    case 5: TILES_OF_ROWS(5); break;
    default: TILES_OF_ROWS(6); break;
    }
}

PANEL_TARGET
static void panel_gemm_avx512(int64_t m, int64_t k, int64_t n, const float *a, int64_t lda,
                              const float *packed, float *c, int64_t ldc) {
    for (int64_t column = 0; column < n; column += NB) {
        int64_t width = n - column < NB ? n - column : NB;
        int vectors = (int)((width + 15) / 16);
        int last_columns = (int)(width - 16 * (vectors - 1));
        const float *block = packed + (k + 1) * column;
        for (int64_t row = 0; row < m; row += MR) {
            int rows = m - row < MR ? (int)(m - row) : MR;
            any_tile(rows, vectors, k, a + row * lda, lda, block, c + row * ldc + column, ldc, last_columns);
        }
    }
}

/* ------------------------------------------------------------ AVX2 ---- */

#define STRIP_TARGET __attribute__((target("avx2,fma")))

/* The lanes of a store of `count` columns (0...8): a window into -1s then 0s. */
static const int32_t store_lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* Rows `R` of C (R <= MR) times one strip of `P` YMM (P <= 2) whose rows lie
 * `stride` floats apart, the first row the bias; `columns` (1...16) of C are
 * written. */
STRIP_TARGET __attribute__((always_inline))
static inline void strip_tile(int R, int P, int64_t k, const float *a, int64_t lda, const float *strip,
                              int64_t stride, float *c, int64_t ldc, int columns) {
    __m256 acc[MR][2];
    UNROLLED for (int p = 0; p < P; p++) {
        __m256 bias = _mm256_loadu_ps(strip + 8 * p);
        UNROLLED for (int r = 0; r < R; r++) acc[r][p] = bias;
    }
    const float *w = strip + stride;
    for (int64_t i = 0; i < k; i++, w += stride) {
        __m256 wv[2];
        UNROLLED for (int p = 0; p < P; p++) wv[p] = _mm256_loadu_ps(w + 8 * p);
        UNROLLED for (int r = 0; r < R; r++) {
            __m256 x = _mm256_broadcast_ss(a + r * lda + i);
            UNROLLED for (int p = 0; p < P; p++) acc[r][p] = _mm256_fmadd_ps(x, wv[p], acc[r][p]);
        }
    }
    if (columns == 8 * P) {
        UNROLLED for (int r = 0; r < R; r++) {
            UNROLLED for (int p = 0; p < P; p++) _mm256_storeu_ps(c + r * ldc + 8 * p, acc[r][p]);
        }
        return;
    }
    int tail = columns - 8 * (P - 1); /* 1...7 columns in the last vector */
    __m256i lanes = _mm256_loadu_si256((const __m256i *)(store_lanes + 8 - tail));
    UNROLLED for (int r = 0; r < R; r++) {
        UNROLLED for (int p = 0; p < P - 1; p++) _mm256_storeu_ps(c + r * ldc + 8 * p, acc[r][p]);
        _mm256_maskstore_ps(c + r * ldc + 8 * (P - 1), lanes, acc[r][P - 1]);
    }
}

#define STRIP_TILE(R, P) strip_tile(R, P, k, a, lda, strip, stride, c, ldc, columns)
#define STRIP_TILES_OF_ROWS(R)                        \
    if (columns > 8) STRIP_TILE(R, 2);                \
    else STRIP_TILE(R, 1);                            \
    break;

STRIP_TARGET
static void any_strip_tile(int rows, int64_t k, const float *a, int64_t lda, const float *strip, int64_t stride,
                           float *c, int64_t ldc, int columns) {
    switch (rows) {
    case 1: STRIP_TILES_OF_ROWS(1)
    case 2: STRIP_TILES_OF_ROWS(2)
    case 3: STRIP_TILES_OF_ROWS(3)
    case 4: STRIP_TILES_OF_ROWS(4)
    case 5: STRIP_TILES_OF_ROWS(5)
    default: STRIP_TILES_OF_ROWS(6)
    }
}

STRIP_TARGET
static void panel_gemm_avx2(int64_t m, int64_t k, int64_t n, const float *a, int64_t lda,
                            const float *packed, float *c, int64_t ldc) {
    for (int64_t column = 0; column < n; column += NB) {
        int64_t width = n - column < NB ? n - column : NB;
        int64_t stride = (width + 15) / 16 * 16; /* the block's padded row */
        const float *block = packed + (k + 1) * column;
        /* A strip's k + 1 rows of 64 bytes stay in L1 across its row tiles. */
        for (int64_t first = 0; first < width; first += 16) {
            int columns = width - first < 16 ? (int)(width - first) : 16;
            const float *strip = block + first;
            for (int64_t row = 0; row < m; row += MR) {
                int rows = m - row < MR ? (int)(m - row) : MR;
                any_strip_tile(rows, k, a + row * lda, lda, strip, stride, c + row * ldc + column + first, ldc,
                               columns);
            }
        }
    }
}
#endif

static bool path_supported(int path) {
#if defined(__x86_64__)
    perceptron_cpu_features_t f = perceptron_cpu_features();
    if (path == PERCEPTRON_PANEL_PATH_AVX512F) return f.avx512f && f.os_avx512_state;
    if (path == PERCEPTRON_PANEL_PATH_AVX2) return f.avx2 && f.fma && f.os_avx_state;
#endif
    (void)path;
    return false;
}

/* The features are detected once (perceptron_cpu_features caches them), so
 * choosing the path again on each call costs a copy of them, not a CPUID. */
int perceptron_panel_gemm_path(void) {
    return path_supported(PERCEPTRON_PANEL_PATH_AVX512F) ? PERCEPTRON_PANEL_PATH_AVX512F
         : path_supported(PERCEPTRON_PANEL_PATH_AVX2)    ? PERCEPTRON_PANEL_PATH_AVX2
                                                         : PERCEPTRON_PANEL_PATH_NONE;
}

int64_t perceptron_panel_weight_floats(int64_t k, int64_t n) {
    /* Refuse before any sum can overflow: n + 15 and k + 1 below. */
    if (k < 0 || n <= 0 || k == INT64_MAX || n > INT64_MAX - 15) return -1;
    int64_t padded = (n + 15) / 16 * 16;
    if (k + 1 > INT64_MAX / padded) return -1;
    return (k + 1) * padded;
}

void perceptron_panel_weight_pack(const float *w, int64_t ldw, const float *bias, int64_t k, int64_t n,
                                  float *packed) {
    for (int64_t column = 0; column < n; column += 64) {
        int64_t width = n - column < 64 ? n - column : 64;
        int64_t padded = (width + 15) / 16 * 16;
        float *block = packed + (k + 1) * column;
        for (int64_t i = 0; i <= k; i++) {
            float *row = block + i * padded;
            for (int64_t j = 0; j < padded; j++) {
                float value = 0;
                if (j < width) value = i == 0 ? (bias ? bias[column + j] : 0) : w[(i - 1) * ldw + column + j];
                row[j] = value;
            }
        }
    }
}

bool perceptron_panel_gemm_on(int path, int64_t m, int64_t k, int64_t n, const float *a, int64_t lda,
                              const float *packed, float *c, int64_t ldc) {
    if (m < 0 || k < 0 || n <= 0 || !path_supported(path)) return false;
#if defined(__x86_64__)
    if (path == PERCEPTRON_PANEL_PATH_AVX512F) panel_gemm_avx512(m, k, n, a, lda, packed, c, ldc);
    else panel_gemm_avx2(m, k, n, a, lda, packed, c, ldc);
    return true;
#else
    return false;
#endif
}

bool perceptron_panel_gemm(int64_t m, int64_t k, int64_t n, const float *a, int64_t lda, const float *packed,
                           float *c, int64_t ldc) {
    return perceptron_panel_gemm_on(perceptron_panel_gemm_path(), m, k, n, a, lda, packed, c, ldc);
}
