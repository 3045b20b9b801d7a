/* Loading one plugin: dlopen, negotiation, descriptor validation, and the
 * parameter schema the host enforces. */
#ifndef RG_CORE_PLUGIN_LOADER_H
#define RG_CORE_PLUGIN_LOADER_H

#include <limits.h>
#include <stdint.h>

#include "regula/plugin.h"

#define RG_PLUGIN_MAX_PARAMS 32

typedef struct rg_plugin {
    char path[PATH_MAX];
    void *handle;
    uint32_t abi_major, abi_minor;  /* what the plugin negotiated */
    /* Zero-filled copies holding only the fields inside the plugin's
     * struct_size, so reading a field a 1.0 plugin lacks yields NULL/0. */
    rg_plugin_desc desc;
    rg_regularizer_hooks reg;
    rg_augmenter_hooks aug;
    uint32_t num_params;
    rg_param_desc params[RG_PLUGIN_MAX_PARAMS];
} rg_plugin;

/* Loads `path` with RTLD_NOW | RTLD_LOCAL against `host` (NULL: the
 * current host), after the trust check (trust.h), the ELF pre-check (elf_check.h) and the
 * forked probe (probe.h; off with RG_CONTEXT_NO_PLUGIN_PROBE or $REGULA_PLUGIN_PROBE=0).
 * Errors name the file, what is wrong and the fix. */
rg_status rg_plugin_load(const char *path, const rg_host_api *host, rg_plugin **out);
/* The same without the probe, for callers that isolate the load themselves (the
 * conformance checker runs it in its own child). */
rg_status rg_plugin_load_unprobed(const char *path, const rg_host_api *host, rg_plugin **out);
/* dlopen, negotiation and validation of a file that passed the pre-checks: what the
 * probe's child runs, and then the parent. */
rg_status rg_plugin_dlopen(const char *path, const rg_host_api *host, rg_plugin **out);
/* The same negotiation and validation for a plugin compiled into the process; its path
 * reads "in-process:NAME". */
rg_status rg_plugin_load_entry(rg_plugin_entry_fn entry, const rg_host_api *host,
                               rg_plugin **out);
/* Forgets the plugin. The shared object stays mapped (no
 * dlclose during a run, static destructors of plugins never run early). */
void rg_plugin_unload(rg_plugin *p);
const char *rg_plugin_kind_name(uint32_t kind);
const char *rg_param_type_name(uint32_t type);

#endif
