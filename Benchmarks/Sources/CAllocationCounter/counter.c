/* AllocationCounter: see include/AllocationCounter.h. */
#define _GNU_SOURCE 1

#include "AllocationCounter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define COUNTER_DISABLED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNTER_DISABLED 1
#endif

#ifndef COUNTER_DISABLED

/* glibc's allocator under its own names, which stay reachable when malloc is replaced. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);

/* Per-thread counting: a test's own thread, untouched by tests running beside it.
 * In an executable, thread-locals use the initial-exec model, which never
 * allocates, so reading them inside malloc cannot recurse. */
static _Thread_local bool thread_counting;
static _Thread_local uint64_t thread_count;

/* Process-wide counting, for the benchmark. */
static atomic_bool process_counting;
static atomic_uint_fast64_t process_count;

static inline void note_allocation(void) {
    if (thread_counting) thread_count++;
    if (atomic_load_explicit(&process_counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&process_count, 1, memory_order_relaxed);
}

void *malloc(size_t size) { note_allocation(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note_allocation(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note_allocation(); return __libc_realloc(pointer, size); }
void free(void *pointer) { __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { note_allocation(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note_allocation(); return __libc_memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    note_allocation();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

bool allocation_counter_is_available(void) { return true; }

void allocation_counter_start_thread(void) { thread_count = 0; thread_counting = true; }

uint64_t allocation_counter_stop_thread(void) { thread_counting = false; return thread_count; }

void allocation_counter_start_process(void) {
    atomic_store(&process_count, 0);
    atomic_store(&process_counting, true);
}

uint64_t allocation_counter_stop_process(void) {
    atomic_store(&process_counting, false);
    return atomic_load(&process_count);
}

#else /* a sanitizer owns malloc: nothing is counted */

bool allocation_counter_is_available(void) { return false; }
void allocation_counter_start_thread(void) {}
uint64_t allocation_counter_stop_thread(void) { return 0; }
void allocation_counter_start_process(void) {}
uint64_t allocation_counter_stop_process(void) { return 0; }

#endif
