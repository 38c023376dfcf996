/*
 * CPerceptronCPU: see include/CPerceptronCPU.h for the API contract.
 *
 * Notes on the OpenBLAS 0.3.21 internals this relies on (driver/others/dynamic.c):
 *   - `gotoblas` (exported) points at the active per-core table gotoblas_<CORE>.
 *   - gotoblas_dynamic_quit() only does `gotoblas = NULL;` — it frees nothing.
 *   - gotoblas_dynamic_init() returns immediately if gotoblas != NULL; otherwise
 *     it reads getenv("OPENBLAS_CORETYPE"), calls force_coretype() (which, in
 *     0.3.21, accepts only corename[1..24], i.e. NOT "Cooperlake"), falls back
 *     to CPUID model tables and then to a feature ladder
 *     (avx512_bf16 -> Cooperlake, avx512 -> SkylakeX, avx2 -> Haswell,
 *     avx -> Sandybridge, else Prescott), and finally runs gotoblas->init(),
 *     which (re)computes the table's GEMM_P/Q/R blocking from the cache size.
 *     That init is idempotent, so quit+init can be repeated.
 *   - Work buffers (memory.c) have a compile-time size (BUFFER_SIZE) that all
 *     cores in a DYNAMIC_ARCH build share, and the thread pool (blas_server.c)
 *     dispatches whatever routine pointers the caller passes per call, so
 *     neither needs to be rebuilt after a switch — as long as no BLAS call is in
 *     flight while `gotoblas` changes.
 */
#define _GNU_SOURCE 1 /* RTLD_DEFAULT, setenv/unsetenv, strdup, strncasecmp */

#include "CPerceptronCPU.h"

#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define PERCEPTRON_X86 1
#else
#define PERCEPTRON_X86 0
#endif

/* ================================================================ CPU ==== */

static perceptron_cpu_features_t g_features;
static pthread_once_t g_features_once = PTHREAD_ONCE_INIT;

#if PERCEPTRON_X86
/* XGETBV(0): XCR0. Only legal when CPUID.1:ECX.OSXSAVE[27] is set. Encoded
 * as bytes so it assembles without -mxsave on any gcc/clang. */
static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ __volatile__(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

#define BIT(reg, n) ((((reg) >> (n)) & 1u) != 0)

static void detect_features(void) {
    perceptron_cpu_features_t f;
    memset(&f, 0, sizeof f);

    unsigned int max_leaf, a, b, c, d;
    __cpuid(0, max_leaf, b, c, d);
    memcpy(f.vendor_string + 0, &b, 4); /* "Genu" */
    memcpy(f.vendor_string + 4, &d, 4); /* "ineI" */
    memcpy(f.vendor_string + 8, &c, 4); /* "ntel" */
    f.vendor_string[12] = '\0';
    if (strcmp(f.vendor_string, "GenuineIntel") == 0) f.vendor = PERCEPTRON_CPU_VENDOR_INTEL;
    else if (strcmp(f.vendor_string, "AuthenticAMD") == 0) f.vendor = PERCEPTRON_CPU_VENDOR_AMD;
    else f.vendor = PERCEPTRON_CPU_VENDOR_OTHER; /* incl. HygonGenuine, CentaurHauls */

    if (max_leaf < 1) { g_features = f; return; }

    unsigned int ecx1, edx1;
    __cpuid(1, a, b, ecx1, edx1);
    (void)edx1;
    unsigned base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
    f.family = base_family == 0xf ? base_family + ((a >> 20) & 0xff) : base_family;
    f.model = (base_family == 0x6 || base_family == 0xf)
                  ? base_model + (((a >> 16) & 0xf) << 4) : base_model;
    f.stepping = a & 0xf;
    f.is_amd_zen = f.vendor == PERCEPTRON_CPU_VENDOR_AMD && f.family >= 0x17;
    f.hypervisor = BIT(ecx1, 31);

    /* OS support: OSXSAVE must be set before XGETBV may be executed. */
    if (BIT(ecx1, 27)) {
        uint64_t xcr0 = read_xcr0();
        f.os_avx_state = (xcr0 & 0x6) == 0x6;                         /* XMM|YMM */
        f.os_avx512_state = f.os_avx_state && (xcr0 & 0xe0) == 0xe0;  /* k|ZMM_Hi256|Hi16_ZMM */
    }

    if (f.os_avx_state) {
        f.avx = BIT(ecx1, 28);
        f.fma = BIT(ecx1, 12);
        f.f16c = BIT(ecx1, 29);
    }

    if (max_leaf >= 7) {
        unsigned int max_sub, ebx7, ecx7, edx7, eax71 = 0;
        __cpuid_count(7, 0, max_sub, ebx7, ecx7, edx7);
        if (max_sub >= 1) __cpuid_count(7, 1, eax71, b, c, d);

        if (f.os_avx_state) f.avx2 = f.avx && BIT(ebx7, 5);
        if (f.os_avx512_state) {
            f.avx512f = BIT(ebx7, 16);
            f.avx512dq = f.avx512f && BIT(ebx7, 17);
            f.avx512cd = f.avx512f && BIT(ebx7, 28);
            f.avx512bw = f.avx512f && BIT(ebx7, 30);
            f.avx512vl = f.avx512f && BIT(ebx7, 31);
            f.avx512_vnni = f.avx512f && BIT(ecx7, 11);
            f.avx512_fp16 = f.avx512f && BIT(edx7, 23);
            f.avx512_bf16 = f.avx512f && BIT(eax71, 5);
        }
    }
    g_features = f;
}
#else  /* not x86: everything false */
static void detect_features(void) { memset(&g_features, 0, sizeof g_features); }
#endif

perceptron_cpu_features_t perceptron_cpu_features(void) {
    pthread_once(&g_features_once, detect_features);
    return g_features;
}

static bool has_skylakex_set(const perceptron_cpu_features_t *f) {
    return f->avx512f && f->avx512bw && f->avx512dq && f->avx512vl && f->avx2 && f->fma;
}

/* ========================================================== OpenBLAS ==== */

typedef void (*void_fn)(void);
typedef char *(*corename_fn)(void);

/* Look a symbol up in the global scope (executable + its DT_NEEDED libraries
 * + RTLD_GLOBAL dlopens). An OpenBLAS dlopen'ed RTLD_LOCAL is not visible. */
static void *lookup(const char *symbol) { return dlsym(RTLD_DEFAULT, symbol); }

/* Same for functions; memcpy is the POSIX-blessed object->function pointer
 * conversion and keeps -Wpedantic quiet. */
static void_fn lookup_fn(const char *symbol) {
    void *p = lookup(symbol);
    void_fn f;
    memcpy(&f, &p, sizeof f);
    return f;
}

const char *perceptron_openblas_core_name(void) {
    corename_fn get = (corename_fn)lookup_fn("openblas_get_corename");
    return get ? get() : NULL;
}

bool perceptron_openblas_has_core(const char *name) {
    char symbol[64] = "gotoblas_";
    size_t n = strlen(symbol);
    if (!name || !*name) return false;
    for (const char *p = name; *p; ++p) {
        if (n + 1 >= sizeof symbol) return false;
        symbol[n++] = (char)toupper((unsigned char)*p);
    }
    symbol[n] = '\0';
    return lookup(symbol) != NULL;
}

/* Minimum features per core family, so we never select a kernel that would
 * raise SIGILL (force_coretype() itself checks nothing). */
static bool cpu_can_run(const char *name) {
    perceptron_cpu_features_t f = perceptron_cpu_features();
    if (!strcasecmp(name, "SkylakeX")) return has_skylakex_set(&f);
    if (!strcasecmp(name, "Cooperlake")) return has_skylakex_set(&f) && f.avx512_bf16;
    if (!strcasecmp(name, "Haswell") || !strcasecmp(name, "Zen")) return f.avx2 && f.fma;
    if (!strcasecmp(name, "Sandybridge")) return f.avx;
    /* Bulldozer family kernels use FMA4/XOP: only allow on AMD with AVX+FMA. */
    if (!strcasecmp(name, "Bulldozer") || !strcasecmp(name, "Piledriver") ||
        !strcasecmp(name, "Steamroller") || !strcasecmp(name, "Excavator"))
        return f.vendor == PERCEPTRON_CPU_VENDOR_AMD && f.avx;
    /* SSE-era cores (Prescott, Core2, Nehalem, ...) run on any x86-64. */
    return PERCEPTRON_X86;
}

static pthread_mutex_t g_switch_lock = PTHREAD_MUTEX_INITIALIZER;

/* quit + init with OPENBLAS_CORETYPE=name, restoring the variable afterwards. */
static void reinit_with_env(void_fn quit, void_fn init, const char *name) {
    const char *old = getenv("OPENBLAS_CORETYPE");
    char *saved = old ? strdup(old) : NULL;

    setenv("OPENBLAS_CORETYPE", name, 1);
    quit(); /* gotoblas = NULL, nothing else */
    init(); /* getenv + select table + table->init() */

    if (saved) { setenv("OPENBLAS_CORETYPE", saved, 1); free(saved); }
    else unsetenv("OPENBLAS_CORETYPE");
}

int perceptron_openblas_switch_core(const char *name, char *previous, size_t previous_len) {
    if (previous && previous_len) previous[0] = '\0';
    if (!name || !*name || strlen(name) > 20) return PERCEPTRON_SWITCH_BAD_ARGUMENT;

    void_fn quit = lookup_fn("gotoblas_dynamic_quit");
    void_fn init = lookup_fn("gotoblas_dynamic_init");
    corename_fn get = (corename_fn)lookup_fn("openblas_get_corename");
    if (!quit || !init || !get) return PERCEPTRON_SWITCH_UNSUPPORTED;

    pthread_mutex_lock(&g_switch_lock);

    char before[32];
    snprintf(before, sizeof before, "%s", get());
    if (previous && previous_len) snprintf(previous, previous_len, "%s", before);

    int rc = PERCEPTRON_SWITCH_OK;
    if (strcasecmp(before, name) == 0) goto out; /* already active */
    if (!perceptron_openblas_has_core(name)) { rc = PERCEPTRON_SWITCH_NOT_IN_BUILD; goto out; }
    if (!cpu_can_run(name)) { rc = PERCEPTRON_SWITCH_CPU_LACKS_FEATURES; goto out; }

    reinit_with_env(quit, init, name);

    /* Unknown names do not fail in OpenBLAS: they silently fall back to
     * auto-detection. So verify, and restore the old core on mismatch. */
    if (strcasecmp(get(), name) != 0) {
        reinit_with_env(quit, init, before);
        rc = PERCEPTRON_SWITCH_MISMATCH;
    }
out:
    pthread_mutex_unlock(&g_switch_lock);
    return rc;
}
