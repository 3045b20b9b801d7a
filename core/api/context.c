/* rg_context: threads, logging, plugin search path and in-process plugins of one
 * embedding, and the message of its last failed call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../plugin/instance.h"
#include "../threads.h"
#include "api.h"

static _Thread_local rg_context *t_current;

void rg_api_enter(rg_context *ctx)
{
    t_current = ctx;
    if (ctx) {
        rg_threads_set_local(ctx->threads);
        ctx->error[0] = '\0';
    }
    rg_error_clear();
}

rg_status rg_api_fail(rg_context *ctx, rg_status st)
{
    if (ctx && st != RG_OK)
        snprintf(ctx->error, sizeof ctx->error, "%s", rg_error_message());
    return st;
}

rg_status rg_api_null(const char *function, const char *what)
{
    return rg_error_set(RG_ERR_INVALID, "%s: %s is NULL", function, what);
}

void rg_api_params_init(void *params, size_t size, const void *def, size_t full)
{
    if (!params || size < sizeof(uint32_t))
        return;
    memcpy(params, def, size < full ? size : full);
    if (size > full)
        memset((char *)params + full, 0, size - full);
    *(uint32_t *)params = (uint32_t)size;
}

const rg_plugin *rg_plugin_find_registered(const char *name)
{
    rg_context *c = t_current;
    for (int i = 0; c && i < c->num_plugins; i++)
        if (!strcmp(c->plugins[i]->desc.name, name))
            return c->plugins[i];
    return NULL;
}

const char *rg_plugin_context_path(void)
{
    return t_current ? t_current->plugin_path : NULL;
}

uint32_t rg_plugin_context_flags(void)
{
    return t_current ? t_current->flags : 0;
}

int rg_context_log_enabled(void)
{
    return t_current && t_current->log;
}

void rg_context_log(int level, const char *message)
{
    if (t_current && t_current->log)
        t_current->log(t_current->log_user, level, message);
}

void rg_context_params_init(rg_context_params *params, size_t size)
{
    static const rg_context_params def = {sizeof def, 0, NULL, NULL, NULL, 0, NULL};
    rg_api_params_init(params, size, &def, sizeof def);
}

rg_status rg_context_create(const rg_context_params *params, rg_context **out)
{
    rg_error_clear();
    if (!out)
        return rg_api_null("rg_context_create", "out");
    *out = NULL;
    rg_context_params p;
    rg_context_params_init(&p, sizeof p);
    if (params) {
        if (params->struct_size < RG_SIZE_THROUGH(rg_context_params, log_user))
            return rg_error_set(RG_ERR_VERSION, "rg_context_create: params.struct_size %u is "
                                "smaller than any released rg_context_params (fill it with "
                                "rg_context_default_params())", (unsigned)params->struct_size);
        memcpy(&p, params, sizeof p < params->struct_size ? sizeof p : params->struct_size);
    }
    rg_context *c = calloc(1, sizeof *c);
    if (!c)
        return rg_error_set(RG_ERR_NOMEM, "out of memory");
    rg_dist_single(&c->dist);
    rg_status st = rg_threads_resolve(p.threads, &c->threads);
    if (st == RG_OK && RG_API_HAS(&p, rg_context_params, mpi_comm) && p.mpi_comm)
        st = rg_dist_create(p.mpi_comm, &c->dist);
    if (st == RG_OK && p.plugin_path &&
        strlen(p.plugin_path) >= sizeof c->plugin_path)
        st = rg_error_set(RG_ERR_INVALID, "plugin_path is longer than %zu bytes",
                          sizeof c->plugin_path - 1);
    if (st != RG_OK) {
        free(c);
        return st;
    }
    if (p.plugin_path)
        snprintf(c->plugin_path, sizeof c->plugin_path, "%s", p.plugin_path);
    c->log = p.log;
    c->log_user = p.log_user;
    c->flags = p.flags;
    *out = c;
    return RG_OK;
}

void rg_context_destroy(rg_context *ctx)
{
    if (!ctx)
        return;
    if (t_current == ctx)
        t_current = NULL;
    for (int i = 0; i < ctx->num_plugins; i++)
        rg_plugin_unload(ctx->plugins[i]);
    rg_dist_destroy(&ctx->dist);
    free(ctx);
}

const char *rg_context_error(const rg_context *ctx)
{
    return ctx ? ctx->error : "rg_context_error: ctx is NULL";
}

int rg_context_threads(const rg_context *ctx)
{
    return ctx ? ctx->threads : 0;
}

int rg_mpi_available(void)
{
    return rg_dist_available();
}

int rg_context_rank(const rg_context *ctx)
{
    return ctx ? ctx->dist.rank : 0;
}

int rg_context_ranks(const rg_context *ctx)
{
    return ctx ? ctx->dist.size : 1;
}

rg_status rg_plugin_register(rg_context *ctx, rg_plugin_entry_fn entry)
{
    if (!ctx)
        return rg_api_null("rg_plugin_register", "ctx");
    rg_api_enter(ctx);
    if (ctx->num_plugins >= RG_CONTEXT_MAX_PLUGINS)
        return rg_api_fail(ctx, rg_error_set(RG_ERR_INVALID, "rg_plugin_register: at most %d "
                                             "in-process plugins", RG_CONTEXT_MAX_PLUGINS));
    rg_plugin *pl = NULL;
    rg_status st = rg_plugin_load_entry(entry, NULL, &pl);
    if (st != RG_OK)
        return rg_api_fail(ctx, st);
    if (rg_plugin_find_registered(pl->desc.name)) {
        st = rg_error_set(RG_ERR_INVALID, "rg_plugin_register: a plugin named %s is already "
                          "registered on this context", pl->desc.name);
        rg_plugin_unload(pl);
        return rg_api_fail(ctx, st);
    }
    ctx->plugins[ctx->num_plugins++] = pl;
    return RG_OK;
}
