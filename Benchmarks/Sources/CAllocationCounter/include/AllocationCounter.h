/*
 * AllocationCounter: counts heap allocations, for the tests and the benchmark
 * (never linked into the Perceptron library itself).
 *
 * Linking this target into an executable replaces malloc and its relatives
 * with thin wrappers that count each call and forward it to glibc's own
 * allocator (__libc_malloc and friends). Counting is off until started, and
 * the count is deterministic, so "no allocations per training step" can be a
 * test rather than a timing.
 *
 * Under AddressSanitizer or ThreadSanitizer, whose runtimes replace malloc
 * themselves, the wrappers are left out and counting reports unavailable.
 */
#ifndef PERCEPTRON_ALLOCATION_COUNTER_H
#define PERCEPTRON_ALLOCATION_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether allocations are being counted at all in this build. */
bool allocation_counter_is_available(void);

/* Starts counting the calling thread's allocations from zero. */
void allocation_counter_start_thread(void);

/* Stops counting on the calling thread and returns the count. */
uint64_t allocation_counter_stop_thread(void);

/* Starts counting every thread's allocations from zero. */
void allocation_counter_start_process(void);

/* Stops counting across threads and returns the count. */
uint64_t allocation_counter_stop_process(void);

#ifdef __cplusplus
}
#endif
#endif
