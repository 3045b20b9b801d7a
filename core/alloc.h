/* 64-byte aligned, zero-filled allocations: one cache line and one AVX-512
 * vector, so sgemm and vector loops never straddle on the first element. */
#ifndef RG_CORE_ALLOC_H
#define RG_CORE_ALLOC_H

#include <stddef.h>

#include "regula/regula.h" /* rg_free is exported: it frees what the API hands out too */

#define RG_ALIGN 64

void *rg_alloc(size_t bytes);
void rg_free(void *ptr);
/* n floats, aligned and zeroed; NULL on overflow or exhaustion. Followed by
 * RG_GUARD_FLOATS guard words, so that a plugin writing past the end of a buffer the
 * host handed it is caught by rg_guard_check after the hook, before the heap is. */
float *rg_alloc_floats(size_t n);

#define RG_GUARD_FLOATS 16
/* How many of the guard words after v[0..n) were overwritten, counted up to the last
 * changed one (0: none); restores them. v must come from rg_alloc_floats(n). */
int rg_guard_check(float *v, size_t n);

#endif
