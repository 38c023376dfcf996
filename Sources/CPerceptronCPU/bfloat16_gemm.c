/*
 * A bfloat16 matrix product on AVX512_BF16: see the contract in include/CPerceptronCPU.h.
 *
 * VDPBF16PS multiplies 16 pairs of bfloat16 values by 16 other pairs and adds
 * each pair's two products to a float32 lane: one instruction is 32
 * multiply-adds, twice as many as a float32 FMA on the same 512 bits. Its
 * operands come in pairs along the inner dimension k, so the product is
 * organised around pairs:
 *
 *   - op(B) is packed, a block of k-pairs at a time, into panels of 64
 *     columns: for each pair p, the 32-bit words (B[2p][j], B[2p+1][j]) of the
 *     panel's columns j, 256 bytes, four ZMM loads. This is the layout the
 *     instruction reads ("VNNI" layout), and packing is where an odd k gets
 *     its zero partner and a short last panel its zero columns.
 *   - op(A) is read a 32-bit word at a time, (A[i][2p], A[i][2p+1]), and
 *     broadcast to all 16 lanes. Untransposed, the pair is adjacent in A's
 *     row and A is read where it lies; transposed, the two values are a row
 *     apart, and a block of A is packed into pairs first, as B is.
 *   - The micro-kernel keeps a 6 × 64 tile of C in 24 ZMM accumulators over
 *     the whole k-block: per pair, four loads of B, six broadcasts of A and
 *     24 dot products, enough independent chains to hide the instruction's
 *     latency.
 *
 * Blocks (GotoBLAS's loops): at most KC_PAIRS pairs of k per pass over C, so
 * that C is read and written once per 1024 values of k (every k of the
 * layers' products fits in one or two passes); at most NC columns of B
 * packed at once, so that the packed block stays near the size of L2 (2 MiB
 * at most); at most MC rows of A at once, so that a packed block of
 * transposed A (MC words a pair), the next one being prefetched and the
 * packed B of a layer's weight gradient (256 KiB for 128 outputs) fit in an
 * L2 of 1 MiB together (twice MC overflowed it, and X̃ᵀ·G̃ of a batch of 8192
 * through 784 → 128 ran about 2 % slower). Per row of six
 * of A, all the packed panels of B are swept, so that the six rows of A
 * stay in L1. On an AMD EPYC (Zen 4, 2 threads) these measured as fast as
 * oneDNN 2.6.3's kernels for the same products.
 *
 * Packing a transposed A reads it a short piece of each row at a time, from
 * memory, with no arithmetic to hide the wait; so while one block's tiles
 * compute, the rows the next block's packing will read are prefetched into
 * L2, a share before each row of tiles.
 *
 * Rounding an A given in float32 (unrounded_a) reads a block of it from
 * memory just before the block's tiles; so those tiles prefetch the next
 * block's floats, one cache line per pair of k, spread over the block, and the
 * next rounding finds them in cache (the forward product of a layer of 784
 * inputs on a batch of 8192 ran 2–6 % faster on Zen 4). Only the tiles of
 * such a product carry the prefetch, a variant chosen at compile time: a test
 * in every tile's inner loop cost the other products 1–2 %.
 *
 * The packing buffers belong to the calling thread and are kept for its next
 * call: a steady stream of products allocates nothing. They are freed when
 * the thread ends.
 *
 * A call whose C is large (STREAM_BYTES or more: each part of a split
 * product decides for itself) and written once, in a single pass with β = 0,
 * writes its whole vectors of C that lie on 64-byte boundaries with streaming
 * stores, past the caches: an ordinary store would first read each line of C
 * from memory only to overwrite it, and a C this large is more than any L2
 * and a large share of an L3. On Zen 4 this made ∇X = G̃·W̃ᵀ of a layer of 784
 * inputs on a batch of 8192 (24.5 MiB of C) about 6 % faster, and the weight
 * gradient computed beside it faster too (less memory traffic to share).
 *
 * Arithmetic: each output is the float32 sum of exact products of bfloat16
 * values, added in pairs and then along k in order, pass by pass; VDPBF16PS
 * treats subnormal inputs and results as zero and rounds to nearest even, as
 * oneDNN's kernels on the same instruction do. α, β and the bias are applied
 * with ordinary float32 arithmetic as C is written.
 */
#include "CPerceptronCPU.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define GEMM_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
/* Every loop over a tile's rows (at most MR) or vectors (at most 4) is unrolled, by clang and gcc alike. */
#define UNROLLED _Pragma("GCC unroll 8")

enum {
    MR = 6,          /* rows of C per micro-kernel */
    NR = 64,         /* columns of C per micro-kernel: four ZMM */
    KC_PAIRS = 512,  /* pairs of k per pass over C */
    NC = 1024,       /* columns of B packed at once */
    MC = 96,         /* rows of A (packed, when transposed) per block */
};

/* The size of C, in bytes, from which a single-pass product with β = 0 streams it. */
#define STREAM_BYTES (8.0 * 1024 * 1024)

/* ---------------------------------------------------------- workspace ---- */

typedef struct {
    uint32_t *b, *a;
    size_t b_words, a_words;
} workspace_t;

static pthread_key_t g_workspace_key;
static pthread_once_t g_workspace_once = PTHREAD_ONCE_INIT;

static void free_workspace(void *p) {
    workspace_t *w = p;
    free(w->b);
    free(w->a);
    free(w);
}

static void make_workspace_key(void) { (void)pthread_key_create(&g_workspace_key, free_workspace); }

/* Makes *buffer (of *words 32-bit words, 64-byte aligned) hold at least `needed`; false if memory ran out. */
static bool grow(uint32_t **buffer, size_t *words, size_t needed) {
    if (*words >= needed) return true;
    uint32_t *grown = aligned_alloc(64, (needed * 4 + 63) / 64 * 64);
    if (grown == NULL) return false;
    free(*buffer);
    *buffer = grown;
    *words = needed;
    return true;
}

/* The calling thread's workspace, with room for `b_words` and `a_words`; NULL if memory ran out. */
static workspace_t *workspace(size_t b_words, size_t a_words) {
    (void)pthread_once(&g_workspace_once, make_workspace_key);
    workspace_t *w = pthread_getspecific(g_workspace_key);
    if (w == NULL) {
        w = calloc(1, sizeof *w);
        if (w == NULL || pthread_setspecific(g_workspace_key, w) != 0) {
            free(w);
            return NULL;
        }
    }
    return grow(&w->b, &w->b_words, b_words) && grow(&w->a, &w->a_words, a_words) ? w : NULL;
}

/* ------------------------------------------------------------ packing ---- */

static inline __mmask16 first_lanes(int64_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1u);
}

/* The words (lo[j], hi[j]) of two rows of 16-bit values, for the lanes in `mask`. */
GEMM_TARGET
static inline __m512i interleave(const uint16_t *lo, const uint16_t *hi, __mmask16 mask) {
    __m512i low = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, lo));
    if (hi == NULL) return low;
    return _mm512_or_si512(low, _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, hi)), 16));
}

/* r[i] holds row i of a 16 × 16 matrix of 32-bit words; afterwards it holds column i. */
GEMM_TARGET
static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int h = 0; h < 16; h += 8) {
        for (int i = 0; i < 4; i++) {
            t[h + i] = _mm512_shuffle_i32x4(r[h + i], r[h + i + 4], 0x88);
            t[h + i + 4] = _mm512_shuffle_i32x4(r[h + i], r[h + i + 4], 0xdd);
        }
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    }
}

/*
 * Columns j0 ..< j0 + nc of op(B), pairs p0 ..< p0 + pairs, into panels of NR
 * columns: dst[panel][pair][NR words]. Missing columns and partners are 0.
 */
GEMM_TARGET
static void pack_b(const perceptron_bfloat16_product_t *P, int64_t j0, int64_t nc,
                   int64_t p0, int64_t pairs, uint32_t *dst) {
    const int64_t k = P->k, ldb = P->ldb;
    for (int64_t panel = 0; panel * NR < nc; panel++) {
        uint32_t *d = dst + panel * pairs * NR;
        for (int64_t col = 0; col < NR; col += 16) {
            const int64_t j = j0 + panel * NR + col, count = j0 + nc - j;
            if (count <= 0) {
                for (int64_t p = 0; p < pairs; p++) _mm512_store_si512(d + p * NR + col, _mm512_setzero_si512());
                continue;
            }
            if (!P->transpose_b) {
                /* B[kk][j] and B[kk + 1][j] are rows apart: interleave the two rows. */
                for (int64_t p = 0; p < pairs; p++) {
                    const int64_t kk = 2 * (p0 + p);
                    const uint16_t *row = P->b + kk * ldb + j;
                    _mm512_store_si512(d + p * NR + col, interleave(row, kk + 1 < k ? row + ldb : NULL, first_lanes(count)));
                }
                continue;
            }
            /* Transposed, the pair is one word of a row of B: transpose 16 × 16 words at a time. */
            for (int64_t p = 0; p < pairs; p += 16) {
                if (count >= 16 && p + 16 <= pairs && 2 * (p0 + p + 16) <= k) {
                    __m512i r[16];
                    for (int q = 0; q < 16; q++) {
                        r[q] = _mm512_loadu_si512((const void *)(P->b + (j + q) * ldb + 2 * (p0 + p)));
                    }
                    transpose16(r);
                    for (int q = 0; q < 16; q++) _mm512_store_si512(d + (p + q) * NR + col, r[q]);
                    continue;
                }
                for (int64_t pp = p; pp < p + 16 && pp < pairs; pp++) {
                    const int64_t kk = 2 * (p0 + pp);
                    for (int q = 0; q < 16; q++) {
                        uint32_t word = 0;
                        if (q < count) {
                            const uint16_t *s = P->b + (j + q) * ldb + kk;
                            word = s[0] | (kk + 1 < k ? (uint32_t)s[1] << 16 : 0u);
                        }
                        d[pp * NR + col + q] = word;
                    }
                }
            }
        }
    }
}

/* Rows i0 ..< i0 + mc of op(A) = Aᵀ, pairs p0 ..< p0 + pairs, into dst[pair][row] (mc words a pair). */
GEMM_TARGET
static void pack_transposed_a(const perceptron_bfloat16_product_t *P, int64_t i0, int64_t mc,
                              int64_t p0, int64_t pairs, uint32_t *dst) {
    const int64_t k = P->k, lda = P->lda;
    for (int64_t p = 0; p < pairs; p++) {
        const int64_t kk = 2 * (p0 + p);
        const uint16_t *row = P->a + kk * lda + i0;
        for (int64_t i = 0; i < mc; i += 16) {
            const __mmask16 mask = first_lanes(mc - i);
            _mm512_mask_storeu_epi32(dst + p * mc + i, mask, interleave(row + i, kk + 1 < k ? row + lda + i : NULL, mask));
        }
    }
}

/* The part of transposed A that a later pack_transposed_a reads, prefetched a few rows at a time. */
typedef struct {
    const char *first;  /* its first row, at its first column; NULL when nothing is left to pack */
    int64_t rows, bytes, row_bytes;
    int64_t next, per_call;
} prefetch_t;

/* The rows and columns that pack_transposed_a(P, i0, mc, p0, pairs) reads, spread over `calls` calls. */
static prefetch_t block_of_transposed_a(const perceptron_bfloat16_product_t *P, int64_t i0, int64_t p0,
                                        int64_t calls) {
    const int64_t mc = P->m - i0 < MC ? P->m - i0 : MC, first_row = 2 * p0;
    const int64_t last_row = first_row + 2 * KC_PAIRS < P->k ? first_row + 2 * KC_PAIRS : P->k;
    const int64_t rows = last_row - first_row;
    return (prefetch_t){
        .first = (const char *)(P->a + first_row * P->lda + i0), .rows = rows, .bytes = 2 * mc,
        .row_bytes = 2 * P->lda, .next = 0, .per_call = (rows + calls - 1) / calls,
    };
}

/* Prefetches the next share of f's rows into L2. */
GEMM_TARGET
static inline void prefetch_some(prefetch_t *f) {
    if (f->first == NULL) return;
    for (int64_t end = f->next + f->per_call; f->next < end && f->next < f->rows; f->next++) {
        /* From the cache line the row starts in to the one it ends in: a row need not start on a line. */
        const uintptr_t row = (uintptr_t)(f->first + f->next * f->row_bytes);
        for (uintptr_t line = row & ~(uintptr_t)63; line < row + (uintptr_t)f->bytes; line += 64) {
            _mm_prefetch((const char *)line, _MM_HINT_T1);
        }
    }
}

/* ------------------------------------------------------- micro-kernel ---- */

/* The pair of bfloat16 values at `p` (an element of A, which may lie at any
 * even offset), as one 32-bit lane. memcpy rather than a cast, because the
 * address need not be 4-byte aligned and A is uint16_t: the compiler folds
 * it into the broadcast's memory operand all the same. */
static inline int32_t pair_at(const char *p) {
    int32_t pair;
    memcpy(&pair, p, sizeof pair);
    return pair;
}

/* The single bfloat16 value at `p`, for the last, unpaired element of k. */
static inline uint16_t single_at(const char *p) {
    uint16_t single;
    memcpy(&single, p, sizeof single);
    return single;
}

/* How one pass writes its tile of C. */
typedef struct {
    bool first;        /* the first pass: C ← α·acc + β·C + bias; later ones C ← α·acc + C */
    float alpha, beta;
    const float *bias; /* at the tile's first column, or NULL */
    bool streams;      /* whole, aligned vectors of C are written with streaming stores */
} store_t;

/*
 * The mr × (16·nv) tile at c ← A's rows (at `a`, rows `row_bytes` apart, pairs
 * `pair_bytes` apart) times `pairs` pairs of the packed panel b. With
 * `half_pair`, one more pair follows of which only the low half of A's word
 * exists (an odd k, A read in place). `last` masks the columns of the last ZMM.
 * With `prefetches`, the pairs' first `next_lines` iterations each prefetch one
 * cache line from `next_floats` on (the floats the next block rounds).
 * mr and nv are constants at every call and every loop over them is unrolled,
 * so the accumulators are registers: a loop left rolled (the compiler's size
 * limits leave the store loop so) indexes acc, which then lives on the stack,
 * zeroed by a memset and written and read back at every call.
 */
GEMM_TARGET __attribute__((always_inline))
static inline void tile(const int mr, const int nv, const bool prefetches, __mmask16 last, int64_t pairs, bool half_pair,
                        const char *a, int64_t row_bytes, int64_t pair_bytes,
                        const uint32_t *b, float *c, int64_t ldc, store_t s, const char *next_floats, int64_t next_lines) {
    __m512 acc[MR][4];
    UNROLLED for (int r = 0; r < mr; r++) {
        UNROLLED for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < pairs; p++) {
        if (prefetches && p < next_lines) _mm_prefetch(next_floats + 64 * p, _MM_HINT_T0);
        __m512bh bv[4];
        UNROLLED for (int v = 0; v < nv; v++) bv[v] = (__m512bh)_mm512_load_si512(b + p * NR + 16 * v);
        UNROLLED for (int r = 0; r < mr; r++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32(pair_at(a + r * row_bytes + p * pair_bytes));
            UNROLLED for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
        }
    }
    if (half_pair) {
        const int64_t p = pairs;
        __m512bh bv[4];
        UNROLLED for (int v = 0; v < nv; v++) bv[v] = (__m512bh)_mm512_load_si512(b + p * NR + 16 * v);
        UNROLLED for (int r = 0; r < mr; r++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32(single_at(a + r * row_bytes + p * pair_bytes));
            UNROLLED for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
        }
    }
    const __m512 alpha = _mm512_set1_ps(s.alpha), beta = _mm512_set1_ps(s.beta);
    UNROLLED for (int r = 0; r < mr; r++) {
        UNROLLED for (int v = 0; v < nv; v++) {
            const __mmask16 mask = v == nv - 1 ? last : (__mmask16)0xFFFF;
            float *out = c + r * ldc + 16 * v;
            __m512 x = s.alpha == 1 ? acc[r][v] : _mm512_mul_ps(alpha, acc[r][v]);
            if (!s.first) {
                x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, out));
            } else {
                /* β = 0 never reads C, so that NaN there is overwritten, as BLAS does. */
                if (s.beta != 0) x = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(mask, out), x);
                if (s.bias != NULL) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, s.bias + 16 * v));
            }
            if (s.streams && mask == (__mmask16)0xFFFF && ((uintptr_t)out & 63) == 0) {
                _mm512_stream_ps(out, x);
            } else {
                _mm512_mask_storeu_ps(out, mask, x);
            }
        }
    }
}

#define TILE(R, V, P) \
    case (R) * 8 + (V): tile(R, V, P, last, pairs, half_pair, a, row_bytes, pair_bytes, b, c, ldc, s, next_floats, next_lines); break;
#define TILES(R, P) TILE(R, 4, P) TILE(R, 3, P) TILE(R, 2, P) TILE(R, 1, P)
#define ANY_TILE(P) \
    switch (mr * 8 + nv) { TILES(6, P) TILES(5, P) TILES(4, P) TILES(3, P) TILES(2, P) TILES(1, P) default: break; }

GEMM_TARGET
static void any_tile(int mr, int nv, __mmask16 last, int64_t pairs, bool half_pair,
                     const char *a, int64_t row_bytes, int64_t pair_bytes,
                     const uint32_t *b, float *c, int64_t ldc, store_t s, const char *next_floats, int64_t next_lines) {
    if (next_lines > 0) {
        ANY_TILE(true)
    } else {
        ANY_TILE(false)
    }
}

/* -------------------------------------------------------------- loops ---- */

/* Whether a product the kernel runs writes C with streaming stores (see above). */
static bool streams_c(const perceptron_bfloat16_product_t *P) {
    return P->beta == 0 && (P->k + 1) / 2 <= KC_PAIRS && (double)P->m * (double)P->n * sizeof(float) >= STREAM_BYTES;
}

GEMM_TARGET
static bool gemm_avx512bf16(const perceptron_bfloat16_product_t *P) {
    const int64_t m = P->m, n = P->n, k = P->k, all_pairs = (k + 1) / 2;
    const int64_t block_pairs = all_pairs < KC_PAIRS ? all_pairs : KC_PAIRS;
    const int64_t block_columns = n < NC ? n : NC;
    const int64_t block_panels = (block_columns + NR - 1) / NR;
    const int64_t a_rows = m < MC ? m : MC;
    const bool streams = streams_c(P);
    workspace_t *w = workspace((size_t)(block_pairs * block_panels * NR),
                               P->transpose_a ? (size_t)(block_pairs * a_rows) : 0);
    if (w == NULL) return false;

    for (int64_t j0 = 0; j0 < n; j0 += NC) {
        const int64_t nc = n - j0 < NC ? n - j0 : NC;
        for (int64_t p0 = 0; p0 < all_pairs; p0 += KC_PAIRS) {
            const int64_t pairs = all_pairs - p0 < KC_PAIRS ? all_pairs - p0 : KC_PAIRS;
            /* The values of k this pass covers: first_k ..< first_k + k_count. */
            const int64_t first_k = 2 * p0, k_count = k - first_k < 2 * pairs ? k - first_k : 2 * pairs;
            pack_b(P, j0, nc, p0, pairs, w->b);
            for (int64_t i0 = 0; i0 < m; i0 += MC) {
                const int64_t mc = m - i0 < MC ? m - i0 : MC;
                const char *a;
                int64_t row_bytes, pair_bytes, whole_pairs = pairs;
                bool half_pair = false;
                if (P->transpose_a) {
                    pack_transposed_a(P, i0, mc, p0, pairs, w->a);
                    a = (const char *)w->a;
                    row_bytes = 4;
                    pair_bytes = 4 * mc;
                } else {
                    const uint16_t *source = P->a;
                    if (P->unrounded_a != NULL) {
                        /* Round this block's values of A, read once from memory, into rounded_a
                         * (in the first block of columns; the others find them there). */
                        for (int64_t i = i0; j0 == 0 && i < i0 + mc; i++) {
                            perceptron_float_to_bfloat16(P->unrounded_a + i * P->lda + first_k,
                                                         P->rounded_a + i * P->lda + first_k, (size_t)k_count);
                        }
                        source = P->rounded_a;
                    }
                    a = (const char *)(source + i0 * P->lda + 2 * p0);
                    row_bytes = 2 * P->lda;
                    pair_bytes = 4;
                    /* An odd k's last value has no partner in A's row: read it alone. */
                    if ((k & 1) && p0 + pairs == all_pairs) {
                        half_pair = true;
                        whole_pairs = pairs - 1;
                    }
                }
                /* The next block packed: the next rows of op(A), else the next pass's first, else
                 * the next columns' first. */
                prefetch_t ahead = {.first = NULL};
                if (P->transpose_a) {
                    const int64_t calls = (mc + MR - 1) / MR;
                    if (i0 + MC < m) ahead = block_of_transposed_a(P, i0 + MC, p0, calls);
                    else if (p0 + KC_PAIRS < all_pairs) ahead = block_of_transposed_a(P, 0, p0 + KC_PAIRS, calls);
                    else if (j0 + NC < n) ahead = block_of_transposed_a(P, 0, 0, calls);
                }
                /* Rounding A as it reads it: the floats of the next block's rows, a share per tile. */
                const char *floats_ahead = NULL;
                int64_t lines_ahead = 0, lines_per_tile = 0;
                if (P->unrounded_a != NULL && j0 == 0 && i0 + MC < m) {
                    const int64_t next = i0 + MC, rows = m - next < MC ? m - next : MC;
                    const uintptr_t start = (uintptr_t)(P->unrounded_a + next * P->lda + first_k) & ~(uintptr_t)63;
                    const uintptr_t end = (uintptr_t)(P->unrounded_a + (next + rows - 1) * P->lda + first_k + k_count);
                    floats_ahead = (const char *)start;
                    lines_ahead = (int64_t)((end - start + 63) / 64);
                    const int64_t tiles = (mc + MR - 1) / MR * ((nc + NR - 1) / NR);
                    lines_per_tile = (lines_ahead + tiles - 1) / tiles;
                }
                for (int64_t ir = 0; ir < mc; ir += MR) {
                    const int mr = (int)(mc - ir < MR ? mc - ir : MR);
                    prefetch_some(&ahead);
                    for (int64_t panel = 0; panel * NR < nc; panel++) {
                        const int64_t j = j0 + panel * NR, columns = j0 + nc - j < NR ? j0 + nc - j : NR;
                        const int nv = (int)((columns + 15) / 16);
                        const store_t s = {
                            .first = p0 == 0, .alpha = P->alpha, .beta = P->beta,
                            .bias = P->bias != NULL ? P->bias + j : NULL, .streams = streams,
                        };
                        any_tile(mr, nv, first_lanes(columns - 16 * (nv - 1)), whole_pairs, half_pair,
                                 a + ir * row_bytes, row_bytes, pair_bytes, w->b + panel * pairs * NR,
                                 P->c + (i0 + ir) * P->ldc + j, P->ldc, s,
                                 floats_ahead, lines_ahead < lines_per_tile ? lines_ahead : lines_per_tile);
                        if (lines_ahead > 0) {
                            floats_ahead += 64 * lines_per_tile;
                            lines_ahead -= lines_per_tile;
                        }
                    }
                }
            }
        }
    }
    /* Streaming stores are weakly ordered: make them visible before whatever reads C. */
    if (streams) _mm_sfence();
    return true;
}
#endif /* __x86_64__ */

/* ---------------------------------------------------------- dispatch ---- */

bool perceptron_bfloat16_gemm_is_supported(void) {
#if defined(__x86_64__)
    perceptron_cpu_features_t f = perceptron_cpu_features();
    return f.avx512f && f.avx512bw && f.avx512vl && f.avx512_bf16;
#else
    return false;
#endif
}

#if defined(__x86_64__)
/* Whether perceptron_bfloat16_gemm refuses `product`, before any work. */
static bool refuses(const perceptron_bfloat16_product_t *product) {
    if (product->m <= 0 || product->n <= 0 || product->k <= 0 || !perceptron_bfloat16_gemm_is_supported()) return true;
    return product->unrounded_a != NULL && (product->transpose_a || product->rounded_a == NULL);
}

bool perceptron_bfloat16_gemm_streams(const perceptron_bfloat16_product_t *product) {
    return !refuses(product) && streams_c(product);
}

bool perceptron_bfloat16_gemm(const perceptron_bfloat16_product_t *product) {
    return !refuses(product) && gemm_avx512bf16(product);
}
#else
/* Elsewhere the kernel refuses every product. */
bool perceptron_bfloat16_gemm_streams(const perceptron_bfloat16_product_t *product) {
    (void)product;
    return false;
}

bool perceptron_bfloat16_gemm(const perceptron_bfloat16_product_t *product) {
    (void)product;
    return false;
}
#endif
