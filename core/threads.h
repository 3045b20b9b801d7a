/* One thread policy for the process. regula links the OpenMP build of
 * OpenBLAS, so sgemm and our own OpenMP loops share one pool of T threads
 * instead of two pools fighting over the cores (we measured the
 * pthread build next to OpenMP at 2x the GEMM time). */
#ifndef RG_CORE_THREADS_H
#define RG_CORE_THREADS_H

#include <stdint.h>

#include "regula/plugin.h"

/* n <= 0: $REGULA_THREADS if set, else the number of online processors. */
rg_status rg_threads_init(int n);
/* What rg_threads_init(n) would choose, without choosing it. */
rg_status rg_threads_resolve(int n, int *out);
int rg_threads_count(void);
/* "openmp", "pthread", "sequential": which OpenBLAS build is loaded. */
const char *rg_threads_blas_kind(void);
/* Deterministic split of [0, n) into contiguous chunks of >= grain; chunk
 * boundaries depend only on n, grain and the thread count. */
rg_status rg_parallel_for(int64_t n, int64_t grain, rg_range_fn body, void *ctx);
/* On this thread, rg_parallel_for runs its chunks one after another (same
 * boundaries, same results): for helper threads such as the input pipeline. */
void rg_threads_set_serial(int serial);
/* The count for this thread only (an embedding context's, or a helper thread inheriting
 * its starter's); 0 falls back to the process default of rg_threads_init. */
void rg_threads_set_local(int n);

#endif
