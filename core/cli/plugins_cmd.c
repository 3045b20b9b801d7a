/* regula plugins: every plugin found, in search order, with its schema. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_error.h"
#include "cli_json.h"

static void range_text(const rg_param_desc *d, char *buf, size_t cap)
{
    switch (d->type) {
    case RG_PARAM_FLOAT:
    case RG_PARAM_INT:
        snprintf(buf, cap, "%c%g, %g%c", (d->flags & RG_PARAM_MIN_EXCLUSIVE) ? '(' : '[',
                 d->min_value, d->max_value, (d->flags & RG_PARAM_MAX_EXCLUSIVE) ? ')' : ']');
        break;
    case RG_PARAM_BOOL:
        snprintf(buf, cap, "true|false");
        break;
    case RG_PARAM_ENUM: {
        buf[0] = '\0';
        for (int i = 0; d->enum_values[i]; i++) {
            size_t used = strlen(buf);
            snprintf(buf + used, cap - used, "%s%s", i ? "|" : "", d->enum_values[i]);
        }
        break;
    }
    default:
        snprintf(buf, cap, "text");
    }
}

static void default_text(const rg_param_desc *d, char *buf, size_t cap)
{
    rg_param_value_text(d, NULL, buf, cap);
}

/* width: the plugin's longest parameter name (at least 12), so its columns line up */
static void print_param(const rg_param_desc *d, int width)
{
    char range[256], dflt[128];
    range_text(d, range, sizeof range);
    default_text(d, dflt, sizeof dflt);
    printf("    %-*s %-6s default %-8s range %-16s %s%s\n", width, d->name,
           rg_param_type_string(d->type), dflt, range, d->doc,
           (d->flags & RG_PARAM_LOG_SCALE) ? " (log scale)" : "");
}

static void print_plugin(const rg_plugin_info *p, const char *path)
{
    printf("%s  %s %s  (ABI %u.%u)\n  %s\n  %s\n", p->name, p->kind_name, p->version,
           p->abi_major, p->abi_minor, p->doc, path);
    if (p->descriptor_name && strcmp(p->descriptor_name, p->name) != 0)
        printf("  NAME MISMATCH: the file is %s.so but its descriptor says '%s': --reg %s "
               "refuses it; rename the file to %s.so\n",
               p->name, p->descriptor_name, p->name, p->descriptor_name);
    int width = 12;
    for (uint32_t k = 0; k < p->num_params; k++) {
        int len = (int)strlen(p->params[k].name);
        width = len > width ? len : width;
    }
    for (uint32_t k = 0; k < p->num_params; k++)
        print_param(&p->params[k], width);
    if (p->kind == RG_PLUGIN_REGULARIZER)
        printf("    (host keys: layers=GLOB|..., tensors=weights|biases|all, after=GLOB|...)\n");
    printf("\n");
}

static json_t *param_json(const rg_param_desc *d)
{
    char range[256], dflt[128];
    range_text(d, range, sizeof range);
    default_text(d, dflt, sizeof dflt);
    return json_pack("{s:o, s:s, s:o, s:o, s:b, s:o}", "name", rg_cli_jstring(d->name), "type",
                     rg_param_type_string(d->type), "default", rg_cli_jstring(dflt), "range",
                     rg_cli_jstring(range), "log_scale", (d->flags & RG_PARAM_LOG_SCALE) != 0,
                     "doc", rg_cli_jstring(d->doc));
}

static json_t *plugin_json(const rg_plugin_info *p, const char *path)
{
    char abi[32];
    snprintf(abi, sizeof abi, "%u.%u", p->abi_major, p->abi_minor);
    json_t *params = json_array();
    for (uint32_t k = 0; params && k < p->num_params; k++)
        if (json_array_append_new(params, param_json(&p->params[k])) != 0) {
            json_decref(params);
            params = NULL;
        }
    return json_pack("{s:o, s:s, s:o, s:s, s:o, s:o, s:o}", "name", rg_cli_jstring(p->name),
                     "kind", p->kind_name, "version", rg_cli_jstring(p->version), "abi", abi,
                     "path", rg_cli_jstring(path), "doc", rg_cli_jstring(p->doc), "params",
                     params);
}

static json_t *load_error_json(const char *path, const char *message)
{
    return json_pack("{s:o, s:o}", "path", rg_cli_jstring(path), "error",
                     rg_cli_jstring(message));
}

typedef struct listing {
    int json;
    json_t *all;
    int failures, nomem, seen;
} listing;

static int visit(void *user, const rg_plugin_info *p)
{
    listing *l = user;
    l->seen++;
    if (p->shadowed) {
        if (!l->json)
            printf("%s  (shadowed by an earlier %s.so)  %s\n\n", p->name, p->name, p->path);
        return 0;
    }
    if (p->status != RG_OK) {
        l->failures++;
        if (l->json)
            l->nomem |= json_array_append_new(l->all, load_error_json(p->path, p->error)) != 0;
        else
            printf("%s  FAILED TO LOAD: %s\n\n", p->name, p->error);
        return 0;
    }
    if (l->json)
        l->nomem |= json_array_append_new(l->all, plugin_json(p, p->path)) != 0;
    else
        print_plugin(p, p->path);
    return 0;
}

int rg_cmd_plugins(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: regula plugins [--json]\n\n"
                   "Lists every plugin in the search path (REGULA_PLUGIN_PATH, then the\n"
                   "plugin directory of this installation): name, kind, version, ABI\n"
                   "version, path and each parameter's type, default, range and doc.\n"
                   "A plugin that fails to load is listed with the reason; the exit code\n"
                   "is then 1.\n");
            return 0;
        } else
            return rg_cli_fail(2, "plugins: unknown option '%s'", argv[i]);
    }
    rg_context *ctx = NULL;
    if (rg_cli_context(0, &ctx) != RG_OK)
        return rg_cli_fail(1, "%s", rg_cli_error_message());
    listing l = {json, json ? json_array() : NULL, 0, 0, 0};
    if (json && !l.all) {
        rg_context_destroy(ctx);
        return rg_cli_fail(1, "out of memory");
    }
    rg_plugins_list(ctx, visit, &l);
    rg_context_destroy(ctx);
    if (!json && l.seen == 0)
        printf("no plugins found (set REGULA_PLUGIN_PATH)\n");
    int failures = l.failures, nomem = l.nomem;
    json_t *all = l.all;
    if (json) {
        int bad = nomem || rg_cli_json_print(stdout, all) != 0;
        json_decref(all);
        if (bad)
            return rg_cli_fail(1, "plugins: %s", nomem ? "out of memory" : "write error");
    }
    return failures ? 1 : 0;
}
