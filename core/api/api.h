/* What the files of the embedding API share: the context's layout, and the rule that
 * every exported call first makes its context current on the calling thread (threads,
 * log callback, plugin search path and in-process plugins follow it) and, on failure,
 * copies the thread's error message onto the context. */
#ifndef RG_CORE_API_H
#define RG_CORE_API_H

#include "../dist/dist.h"
#include "../plugin/loader.h"
#include "regula/regula.h"

#define RG_CONTEXT_MAX_PLUGINS 64

struct rg_context {
    int threads;
    char plugin_path[4096];
    rg_log_callback log;
    void *log_user;
    uint32_t flags; /* RG_CONTEXT_* */
    rg_dist dist;   /* the data-parallel group (one rank without mpi_comm) */
    char error[2048];
    int num_plugins;
    rg_plugin *plugins[RG_CONTEXT_MAX_PLUGINS]; /* registered in-process plugins */
};

/* Makes ctx the calling thread's current context. */
void rg_api_enter(rg_context *ctx);
/* Keeps the thread's message on ctx (when there is one) and returns st. */
rg_status rg_api_fail(rg_context *ctx, rg_status st);
/* For handles that must not be NULL: sets the thread's message and returns
 * RG_ERR_INVALID. */
rg_status rg_api_null(const char *function, const char *what);

/* Fills the first `size` bytes of a params struct from a full default `def` of
 * `full` bytes and records size: how callers compiled against an older, smaller
 * struct keep working. */
void rg_api_params_init(void *params, size_t size, const void *def, size_t full);
/* 1 if the caller's struct (struct_size) holds the field ending at `end`. */
#define RG_API_HAS(p, type, field) \
    ((p)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

#endif
