#include "instance.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "compose.h"
#include "discovery.h"
#include "host.h"

int rg_selection_match(const char *patterns, const char *name)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", patterns);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
        if (fnmatch(tok, name, 0) == 0)
            return 1;
    return 0;
}

static rg_status parse_tensors(const char *plugin, const char *v, uint32_t *out)
{
    *out = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
        if (strcmp(tok, "weights") == 0)
            *out |= RG_SEL_WEIGHTS;
        else if (strcmp(tok, "biases") == 0)
            *out |= RG_SEL_BIASES;
        else if (strcmp(tok, "all") == 0)
            *out |= RG_SEL_WEIGHTS | RG_SEL_BIASES;
        else
            return rg_error_set(RG_ERR_INVALID,
                                "%s: tensors=%s: expected weights, biases or all ('|' joins)",
                                plugin, v);
    }
    if (!*out)
        return rg_error_set(RG_ERR_INVALID, "%s: tensors= is empty", plugin);
    return RG_OK;
}

static void describe_range(const rg_param_desc *d, char *buf, size_t cap)
{
    snprintf(buf, cap, "%c%g, %g%c", (d->flags & RG_PARAM_MIN_EXCLUSIVE) ? '(' : '[',
             d->min_value, d->max_value, (d->flags & RG_PARAM_MAX_EXCLUSIVE) ? ')' : ']');
}

static rg_status parse_value(const char *plugin, const rg_param_desc *d, const char *v,
                             rg_param_value *out)
{
    char range[96];
    describe_range(d, range, sizeof range);
    switch (d->type) {
    case RG_PARAM_FLOAT:
    case RG_PARAM_INT: {
        char *end = NULL;
        errno = 0;
        double x = strtod(v, &end);
        if (end == v || *end || errno == ERANGE || !isfinite(x))
            return rg_error_set(RG_ERR_INVALID, "%s: parameter %s=%s is not a %s", plugin,
                                d->name, v, d->type == RG_PARAM_INT ? "integer" : "number");
        if (d->type == RG_PARAM_INT && x != floor(x))
            return rg_error_set(RG_ERR_INVALID, "%s: parameter %s=%s is not an integer", plugin,
                                d->name, v);
        if (x < d->min_value || x > d->max_value ||
            ((d->flags & RG_PARAM_MIN_EXCLUSIVE) && x == d->min_value) ||
            ((d->flags & RG_PARAM_MAX_EXCLUSIVE) && x == d->max_value))
            return rg_error_set(RG_ERR_INVALID, "%s: parameter %s=%s is out of range %s", plugin,
                                d->name, v, range);
        out->number = x;
        return RG_OK;
    }
    case RG_PARAM_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
            out->number = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
            out->number = 0;
        else
            return rg_error_set(RG_ERR_INVALID, "%s: parameter %s=%s is not a bool (true/false)",
                                plugin, d->name, v);
        return RG_OK;
    case RG_PARAM_ENUM: {
        char names[256] = "";
        for (int i = 0; d->enum_values[i]; i++) {
            if (strcmp(v, d->enum_values[i]) == 0) {
                out->number = i;
                out->string = d->enum_values[i];
                return RG_OK;
            }
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                     d->enum_values[i]);
        }
        return rg_error_set(RG_ERR_INVALID, "%s: parameter %s=%s: expected one of %s", plugin,
                            d->name, v, names);
    }
    case RG_PARAM_STRING:
        out->string = v;
        return RG_OK;
    }
    return rg_error_set(RG_ERR_PLUGIN, "%s: parameter %s has an unknown type", plugin, d->name);
}

rg_status rg_params_parse(const rg_plugin *pl, const char *text, rg_param_value *values,
                          char *storage, size_t cap, rg_selection *sel)
{
    const char *plugin = pl->desc.name;
    memset(sel, 0, sizeof *sel);
    sel->tensors = RG_SEL_WEIGHTS; /* biases are excluded unless asked for */
    for (uint32_t i = 0; i < pl->num_params; i++) {
        const rg_param_desc *d = &pl->params[i];
        values[i].number = d->default_value;
        values[i].string = d->type == RG_PARAM_ENUM     ? d->enum_values[(int)d->default_value]
                           : d->type == RG_PARAM_STRING ? (d->default_string ? d->default_string : "")
                                                        : NULL;
    }
    if (strlen(text) >= cap)
        return rg_error_set(RG_ERR_INVALID, "%s: parameter list too long", plugin);
    strcpy(storage, text);
    int seen[RG_PLUGIN_MAX_PARAMS] = {0};
    char *p = storage;
    while (*p) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *eq = strchr(p, '=');
        if (!eq || eq == p)
            return rg_error_set(RG_ERR_INVALID, "%s: expected key=value, got '%s'", plugin, p);
        *eq = '\0';
        const char *key = p, *val = eq + 1;
        rg_status st = RG_OK;
        if (!strcmp(key, "layers"))
            snprintf(sel->layers, sizeof sel->layers, "%s", val);
        else if (!strcmp(key, "after"))
            snprintf(sel->after, sizeof sel->after, "%s", val);
        else if (!strcmp(key, "tensors"))
            st = parse_tensors(plugin, val, &sel->tensors);
        else {
            uint32_t i = 0;
            while (i < pl->num_params && strcmp(pl->params[i].name, key) != 0)
                i++;
            if (i == pl->num_params) {
                char names[512] = "";
                for (uint32_t j = 0; j < pl->num_params; j++) {
                    size_t used = strlen(names);
                    snprintf(names + used, sizeof names - used, "%s, ", pl->params[j].name);
                }
                return rg_error_set(RG_ERR_INVALID,
                                    "%s: unknown parameter '%s' (known: %slayers, tensors, after)",
                                    plugin, key, names);
            }
            if (seen[i]++)
                return rg_error_set(RG_ERR_INVALID, "%s: parameter %s given twice", plugin, key);
            st = parse_value(plugin, &pl->params[i], val, &values[i]);
        }
        if (st != RG_OK)
            return st;
        if (!comma)
            break;
        p = comma + 1;
        if (!*p)
            return rg_error_set(RG_ERR_INVALID, "%s: trailing comma in parameters", plugin);
    }
    return RG_OK;
}

void rg_param_format(const rg_param_desc *d, const rg_param_value *v, char *buf, size_t cap)
{
    switch (d->type) {
    case RG_PARAM_FLOAT: snprintf(buf, cap, "%.9g", v->number); break;
    case RG_PARAM_INT: snprintf(buf, cap, "%.0f", v->number); break;
    case RG_PARAM_BOOL: snprintf(buf, cap, "%s", v->number != 0 ? "true" : "false"); break;
    default: snprintf(buf, cap, "%s", v->string ? v->string : ""); break;
    }
}

rg_status rg_plugin_instance_create(const char *spec, uint32_t kind, const rg_host_api *host,
                                    rg_plugin_instance **out)
{
    rg_plugin_instance *pi = calloc(1, sizeof *pi);
    if (!pi)
        return rg_error_set(RG_ERR_NOMEM, "cannot allocate plugin instance");
    snprintf(pi->spec, sizeof pi->spec, "%s", spec);
    char name[512];
    snprintf(name, sizeof name, "%s", spec);
    /* The parameters start after the first ':' that follows the last '/',
     * so a path may hold colons in its directories. */
    char *slash = strrchr(name, '/');
    char *colon = strchr(slash ? slash : name, ':');
    const char *params = "";
    if (colon) {
        *colon = '\0';
        params = spec + (colon - name) + 1;
    }
    char path[PATH_MAX];
    rg_status st = RG_OK;
    const rg_plugin *inproc = rg_plugin_find_registered(name);
    if (inproc) {
        /* each instance owns its record, as a loaded .so's would be */
        if (!(pi->plugin = malloc(sizeof *pi->plugin)))
            st = rg_error_set(RG_ERR_NOMEM, "cannot allocate plugin record");
        else
            memcpy(pi->plugin, inproc, sizeof *pi->plugin);
    } else {
        st = rg_plugin_resolve(name, path, sizeof path);
        if (st == RG_OK)
            st = rg_plugin_load(path, host, &pi->plugin);
        size_t len = strlen(name);
        int by_name = !strchr(name, '/') && !(len > 3 && !strcmp(name + len - 3, ".so"));
        if (st == RG_OK && by_name && strcmp(pi->plugin->desc.name, name) != 0) {
            char file[PATH_MAX];
            snprintf(file, sizeof file, "%s.so", name);
            const char *base = strrchr(path, '/');
            if (base && !strcmp(base + 1, file))
                st = rg_error_set(RG_ERR_PLUGIN,
                                  "%s: %s is named '%s' by its file but '%s' by its descriptor: "
                                  "rename the file to %s.so (or ask its author which name is "
                                  "right)",
                                  spec, path, name, pi->plugin->desc.name,
                                  pi->plugin->desc.name);
        }
    }
    if (st == RG_OK && pi->plugin->desc.kind != kind)
        st = rg_error_set(RG_ERR_INVALID, "%s: plugin %s is a %s, not a %s (list it under %s)", spec,
                          pi->plugin->desc.name, rg_plugin_kind_name(pi->plugin->desc.kind),
                          rg_plugin_kind_name(kind),
                          pi->plugin->desc.kind == RG_PLUGIN_AUGMENTER ? "aug" : "reg");
    if (st == RG_OK)
        st = rg_params_parse(pi->plugin, params, pi->values, pi->storage, sizeof pi->storage,
                             &pi->sel);
    if (st == RG_OK) {
        rg_params prm = {sizeof prm, pi->plugin->num_params, pi->values};
        rg_error_clear();
        const rg_host_api *h = host ? host : rg_host_api_get();
        rg_compose_mark mark;
        rg_compose_begin(&mark, pi->plugin->desc.name, pi->plugin->desc.kind, h);
        rg_status cs = pi->plugin->desc.create(h, &prm, &pi->inst);
        rg_compose_end(&mark, cs == RG_OK ? pi->inst : NULL);
        if (cs != RG_OK || !pi->inst)
            st = rg_error_wrap(RG_ERR_PLUGIN, "plugin %s: create() failed",
                               pi->plugin->desc.name);
    }
    if (st != RG_OK) {
        rg_plugin_instance_destroy(pi);
        return st;
    }
    *out = pi;
    return RG_OK;
}

void rg_plugin_instance_destroy(rg_plugin_instance *pi)
{
    if (!pi)
        return;
    if (pi->inst && pi->plugin) {
        pi->plugin->desc.destroy(pi->inst);
        rg_compose_release(pi->inst);
    }
    rg_plugin_unload(pi->plugin);
    free(pi);
}
