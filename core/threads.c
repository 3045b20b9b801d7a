#include "threads.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

/* OpenBLAS's own controls; declared here to avoid depending on which
 * cblas.h variant the include path finds. */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_parallel(void);

/* The process default, and the count of the thread that last chose one: two embedding
 * contexts on two threads each keep their own (OpenMP's nthreads ICV is per thread too,
 * and the OpenMP build of OpenBLAS follows omp_get_max_threads() of its caller). */
static int g_threads = 1;
static _Thread_local int t_threads;
static _Thread_local int t_serial;

void rg_threads_set_local(int n)
{
    t_threads = n;
    if (n > 0) {
        omp_set_dynamic(0);
        omp_set_num_threads(n);
    }
}

void rg_threads_set_serial(int serial)
{
    t_serial = serial;
}

rg_status rg_threads_resolve(int n, int *out)
{
    if (n <= 0) {
        const char *env = getenv("REGULA_THREADS");
        if (env && *env) {
            char *end = NULL;
            long v = strtol(env, &end, 10);
            if (*end != '\0' || v < 1 || v > 1024)
                return rg_error_set(RG_ERR_INVALID,
                                    "REGULA_THREADS=%s: expected an integer in [1, 1024]", env);
            n = (int)v;
        } else {
            long cpus = sysconf(_SC_NPROCESSORS_ONLN);
            n = cpus > 0 ? (int)cpus : 1;
        }
    }
    *out = n;
    return RG_OK;
}

rg_status rg_threads_init(int n)
{
    rg_status st = rg_threads_resolve(n, &n);
    if (st != RG_OK)
        return st;
    g_threads = n;
    t_threads = n;
    omp_set_dynamic(0);
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
    return RG_OK;
}

int rg_threads_count(void)
{
    return t_threads > 0 ? t_threads : g_threads;
}

const char *rg_threads_blas_kind(void)
{
    switch (openblas_get_parallel()) {
    case 0: return "sequential";
    case 1: return "pthread";
    case 2: return "openmp";
    }
    return "unknown";
}

rg_status rg_parallel_for(int64_t n, int64_t grain, rg_range_fn body, void *ctx)
{
    if (n <= 0)
        return RG_OK;
    if (grain < 1)
        grain = 1;
    int64_t chunks = (n + grain - 1) / grain;
    int threads = rg_threads_count();
    if (chunks > threads)
        chunks = threads;
    if (chunks <= 1)
        return body(ctx, 0, n);

    if (chunks > 64)
        chunks = 64;
    if (t_serial) {
        for (int64_t c = 0; c < chunks; c++) {
            rg_status st = body(ctx, n * c / chunks, n * (c + 1) / chunks);
            if (st != RG_OK)
                return st;
        }
        return RG_OK;
    }
    rg_status status[64];
    char message[64][256];
#pragma omp parallel for num_threads((int)chunks) schedule(static, 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
        status[c] = body(ctx, begin, end);
        if (status[c] != RG_OK) {
            strncpy(message[c], rg_error_message(), sizeof message[c] - 1);
            message[c][sizeof message[c] - 1] = '\0';
        }
    }
    /* The lowest failing chunk wins, so the reported error is deterministic. */
    for (int64_t c = 0; c < chunks; c++)
        if (status[c] != RG_OK)
            return rg_error_set(status[c], "%s", message[c]);
    return RG_OK;
}
