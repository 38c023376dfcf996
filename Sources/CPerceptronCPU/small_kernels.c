/*
 * OpenBLAS's small-matrix GEMM kernels, called directly: see the contract in
 * include/CPerceptronCPU.h.
 *
 * The kernels are column-major: kernel(M, N, K, A, lda, alpha, B, ldb, [beta,]
 * C, ldc) computes C(MxN) = alpha*op(A)*op(B) [+ beta*C], the name's first
 * letter giving op for A and the second for B (OpenBLAS's
 * kernel/x86_64/?gemm_small_kernel_*_skylakex.c). A row-major product
 * C = op(A)*op(B) is, read column-major, C' = op(B)'*op(A)': so B goes first,
 * with its transpose letter first, and m and n swap. Each operand keeps its
 * row-major leading dimension.
 */
#define _GNU_SOURCE 1 /* RTLD_DEFAULT */

#include "CPerceptronCPU.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef long blaslong; /* BLASLONG: the kernels take 64-bit sizes on x86-64 */

typedef int (*sgemm_small_fn)(blaslong, blaslong, blaslong, const float *, blaslong, float,
                              const float *, blaslong, float, float *, blaslong);
typedef int (*sgemm_small_b0_fn)(blaslong, blaslong, blaslong, const float *, blaslong, float,
                                 const float *, blaslong, float *, blaslong);
typedef int (*dgemm_small_fn)(blaslong, blaslong, blaslong, const double *, blaslong, double,
                              const double *, blaslong, double, double *, blaslong);
typedef int (*dgemm_small_b0_fn)(blaslong, blaslong, blaslong, const double *, blaslong, double,
                                 const double *, blaslong, double *, blaslong);

/* Indexed [first operand transposed][second operand transposed], column-major terms. */
static sgemm_small_fn g_s[2][2];
static sgemm_small_b0_fn g_s_b0[2][2];
static dgemm_small_fn g_d[2][2];
static dgemm_small_b0_fn g_d_b0[2][2];

/* `core` upper-cased, as OpenBLAS spells it in symbol names. */
static void upper_case(const char *core, char *upper, size_t size) {
    size_t n = 0;
    for (const char *p = core; *p != '\0' && n + 1 < size; p++) {
        upper[n++] = (char)toupper((unsigned char)*p);
    }
    upper[n] = '\0';
}

/* dlsym("<prefix><nt letters>_<CORE>"), e.g. sgemm_small_kernel_b0_tn_SKYLAKEX. */
static void *lookup(const char *prefix, int first, int second, const char *core) {
    char upper[32];
    upper_case(core, upper, sizeof upper);
    char symbol[96];
    snprintf(symbol, sizeof symbol, "%s%c%c_%s", prefix, first ? 't' : 'n', second ? 't' : 'n', upper);
    return dlsym(RTLD_DEFAULT, symbol);
}

typedef int (*sgemm_permit_fn)(int, int, blaslong, blaslong, blaslong, float, float);
typedef int (*dgemm_permit_fn)(int, int, blaslong, blaslong, blaslong, double, double);

/*
 * Every core of a DYNAMIC_ARCH build exports small-matrix kernels, but only
 * some are real ones (SkylakeX and Cooperlake in 0.3.21): the others are
 * plain C loops that OpenBLAS itself never calls, because their
 * ?gemm_small_matrix_permit_<CORE> refuses every product. So ask OpenBLAS's
 * permit functions about a 16 x 16 x 16 product, which they accept only for
 * optimised kernels.
 */
bool perceptron_small_kernels_permitted(const char *core) {
    if (core == NULL || *core == '\0') return false;
    char upper[32], symbol[96];
    upper_case(core, upper, sizeof upper);
    snprintf(symbol, sizeof symbol, "sgemm_small_matrix_permit_%s", upper);
    sgemm_permit_fn single = (sgemm_permit_fn)dlsym(RTLD_DEFAULT, symbol);
    snprintf(symbol, sizeof symbol, "dgemm_small_matrix_permit_%s", upper);
    dgemm_permit_fn twice = (dgemm_permit_fn)dlsym(RTLD_DEFAULT, symbol);
    return single != NULL && twice != NULL
        && single(0, 0, 16, 16, 16, 1.0f, 0.0f) != 0 && twice(0, 0, 16, 16, 16, 1.0, 0.0) != 0;
}

bool perceptron_small_kernels_load(const char *core) {
    perceptron_small_kernels_unload();
    if (!perceptron_small_kernels_permitted(core)) return false;
    bool all = true;
    for (int first = 0; first < 2; first++) {
        for (int second = 0; second < 2; second++) {
            /* Function pointers from dlsym: POSIX guarantees the conversion. */
            g_s[first][second] = (sgemm_small_fn)lookup("sgemm_small_kernel_", first, second, core);
            g_s_b0[first][second] = (sgemm_small_b0_fn)lookup("sgemm_small_kernel_b0_", first, second, core);
            g_d[first][second] = (dgemm_small_fn)lookup("dgemm_small_kernel_", first, second, core);
            g_d_b0[first][second] = (dgemm_small_b0_fn)lookup("dgemm_small_kernel_b0_", first, second, core);
            all = all && g_s[first][second] && g_s_b0[first][second] && g_d[first][second] && g_d_b0[first][second];
        }
    }
    if (!all) perceptron_small_kernels_unload();
    return all;
}

void perceptron_small_kernels_unload(void) {
    memset(g_s, 0, sizeof g_s);
    memset(g_s_b0, 0, sizeof g_s_b0);
    memset(g_d, 0, sizeof g_d);
    memset(g_d_b0, 0, sizeof g_d_b0);
}

void perceptron_sgemm_small(bool transA, bool transB, long m, long n, long k,
                            float alpha, const float *a, long lda, const float *b, long ldb,
                            float beta, float *c, long ldc) {
    if (beta == 0.0f) {
        g_s_b0[transB][transA](n, m, k, b, ldb, alpha, a, lda, c, ldc);
    } else {
        g_s[transB][transA](n, m, k, b, ldb, alpha, a, lda, beta, c, ldc);
    }
}

void perceptron_dgemm_small(bool transA, bool transB, long m, long n, long k,
                            double alpha, const double *a, long lda, const double *b, long ldb,
                            double beta, double *c, long ldc) {
    if (beta == 0.0) {
        g_d_b0[transB][transA](n, m, k, b, ldb, alpha, a, lda, c, ldc);
    } else {
        g_d[transB][transA](n, m, k, b, ldb, alpha, a, lda, beta, c, ldc);
    }
}
