/* The host side of the plugin ABI: the services table handed to plugins,
 * and the log sink the CLI installs (the library itself never prints). */
#ifndef RG_CORE_PLUGIN_HOST_H
#define RG_CORE_PLUGIN_HOST_H

#include <stdint.h>

#include "regula/plugin.h"

typedef void (*rg_log_fn)(int level, const char *message);

/* The table every plugin receives; minor REGULA_ABI_MINOR. */
const rg_host_api *rg_host_api_get(void);
/* Same services, but announcing an older minor: what the conformance
 * checker and ABI tests use to play an older host. */
void rg_host_api_make(rg_host_api *api, uint32_t minor);

void rg_log_set_handler(rg_log_fn fn);
/* core/api/context.c: whether the calling thread's current context has a log callback,
 * and the call into it. */
int rg_context_log_enabled(void);
void rg_context_log(int level, const char *message);
void rg_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* REGULA_PLUGIN_DEBUG=1 traces discovery and negotiation through rg_log. */
int rg_plugin_debug_enabled(void);
#define RG_TRACE(...) \
    do { if (rg_plugin_debug_enabled()) rg_log(RG_LOG_DEBUG, __VA_ARGS__); } while (0)

/* Bytes allocated through host->alloc and not yet freed. */
int64_t rg_host_bytes_held(void);

#endif
