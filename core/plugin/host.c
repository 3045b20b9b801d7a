#include "host.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "../kernels/kernels.h"
#include "../rng.h"
#include "../threads.h"
#include "../train/step_services.h"
#include "compose.h"
#include "regula/regula.h"

static rg_log_fn g_log_handler;
static _Atomic int64_t g_bytes_held;

void rg_log_set_handler(rg_log_fn fn)
{
    g_log_handler = fn;
}

static void log_v(int level, const char *fmt, va_list ap)
{
    /* an embedding context's callback, on the thread working for it, wins */
    int ctx_log = rg_context_log_enabled();
    if (!g_log_handler && !ctx_log)
        return;
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (ctx_log)
        rg_context_log(level, buf);
    else
        g_log_handler(level, buf);
}

void rg_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v(level, fmt, ap);
    va_end(ap);
}

int rg_plugin_debug_enabled(void)
{
    const char *v = getenv("REGULA_PLUGIN_DEBUG");
    return v && *v && strcmp(v, "0") != 0;
}

static void host_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v(level, fmt, ap);
    va_end(ap);
}

static void host_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rg_error_setv(RG_ERR_PLUGIN, fmt, ap);
    va_end(ap);
}

/* A 64-byte header keeps the size (for the held-bytes count) and the
 * payload aligned. */
static void *host_alloc(size_t bytes)
{
    if (bytes > SIZE_MAX - RG_ALIGN)
        return NULL;
    unsigned char *p = rg_alloc(bytes + RG_ALIGN);
    if (!p)
        return NULL;
    memcpy(p, &bytes, sizeof bytes);
    atomic_fetch_add(&g_bytes_held, (int64_t)bytes);
    return p + RG_ALIGN;
}

static void host_free(void *ptr)
{
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - RG_ALIGN;
    size_t bytes;
    memcpy(&bytes, p, sizeof bytes);
    atomic_fetch_sub(&g_bytes_held, (int64_t)bytes);
    rg_free(p);
}

int64_t rg_host_bytes_held(void)
{
    return atomic_load(&g_bytes_held);
}

static int host_num_threads(void)
{
    return rg_threads_count();
}

void rg_host_api_make(rg_host_api *api, uint32_t minor)
{
    memset(api, 0, sizeof *api);
    api->struct_size = (uint32_t)sizeof *api;
    api->abi_major = REGULA_ABI_MAJOR;
    api->abi_minor = minor;
    api->library_version = REGULA_VERSION_STRING;
    api->log = host_log;
    api->set_error = host_set_error;
    api->alloc = host_alloc;
    api->free = host_free;
    api->rng_uniform = rg_rng_uniform;
    api->rng_normal = rg_rng_normal;
    api->sgemm = rg_sgemm;
    api->saxpy = rg_saxpy;
    api->parallel_for = rg_parallel_for;
    api->num_threads = host_num_threads;
    if (minor >= 5) {
        api->step_tensors = rg_host_step_tensors;
        api->step_tensor = rg_host_step_tensor;
        api->step_evaluate = rg_host_step_evaluate;
    }
    if (minor >= 6) {
        api->augmenter_create = rg_host_augmenter_create;
        api->augmenter_apply = rg_host_augmenter_apply;
        api->augmenter_destroy = rg_host_augmenter_destroy;
    }
}

const rg_host_api *rg_host_api_get(void)
{
    static rg_host_api api;
    static int ready;
    if (!ready) {
        rg_host_api_make(&api, REGULA_ABI_MINOR);
        ready = 1;
    }
    return &api;
}
