/* 64-byte aligned, zero-filled allocations: one cache line and one AVX-512
 * vector, so sgemm and vector loops never straddle on the first element. */
#ifndef RG_CORE_ALLOC_H
#define RG_CORE_ALLOC_H

#include <stddef.h>

#include "regula/regula.h" /* rg_free is exported: it frees what the API hands out too */

#define RG_ALIGN 64

void *rg_alloc(size_t bytes);
void rg_free(void *ptr);
/* n floats, aligned and zeroed; NULL on overflow or exhaustion. */
float *rg_alloc_floats(size_t n);

#endif
