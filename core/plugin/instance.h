/* A configured plugin: "NAME[:key=value,...]" resolved, loaded, its
 * parameters validated against the schema and its instance created.
 * Keys layers=, tensors= and after= are the host's own: they select what the
 * plugin sees and never reach the plugin. */
#ifndef RG_CORE_PLUGIN_INSTANCE_H
#define RG_CORE_PLUGIN_INSTANCE_H

#include "loader.h"

enum {
    RG_SEL_WEIGHTS = 1u << 0,
    RG_SEL_BIASES = 1u << 1
};

typedef struct rg_selection {
    char layers[128];   /* '|'-separated globs over layer names; "" = all */
    uint32_t tensors;   /* RG_SEL_* for penalty and project hooks */
    char after[128];    /* activation sites: globs over layer names; "" = default */
} rg_selection;

typedef struct rg_plugin_instance {
    rg_plugin *plugin;
    void *inst;
    char spec[512];
    char storage[512];  /* backing store of string parameter values */
    rg_param_value values[RG_PLUGIN_MAX_PARAMS];
    rg_selection sel;
} rg_plugin_instance;

/* kind: the rg_plugin_kind the caller needs (--reg or --aug); host: NULL for
 * the current host. */
rg_status rg_plugin_instance_create(const char *spec, uint32_t kind, const rg_host_api *host,
                                    rg_plugin_instance **out);
void rg_plugin_instance_destroy(rg_plugin_instance *pi);

/* The in-process plugin of that name registered on the calling thread's current
 * embedding context (core/api/context.c), or NULL. */
const rg_plugin *rg_plugin_find_registered(const char *name);
/* ':'-separated plugin directories of the calling thread's current context, or NULL. */
const char *rg_plugin_context_path(void);
/* RG_CONTEXT_* flags of the calling thread's current context (0 without one). */
uint32_t rg_plugin_context_flags(void);

/* Parse and validate "k=v,k=v" against pl's schema into values (schema
 * order, defaults filled) and sel. Exposed for tests and the checker. */
rg_status rg_params_parse(const rg_plugin *pl, const char *text, rg_param_value *values,
                          char *storage, size_t cap, rg_selection *sel);
/* Text form of a value as the user would type it. */
void rg_param_format(const rg_param_desc *d, const rg_param_value *v, char *buf, size_t cap);
/* 1 if name matches one of the '|'-separated globs in patterns. */
int rg_selection_match(const char *patterns, const char *name);

#endif
