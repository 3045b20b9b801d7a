/* regula plugins: every plugin found, in search order, with its schema. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../error.h"
#include "../plugin/discovery.h"
#include "../plugin/loader.h"
#include "cli.h"
#include "json.h"

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
    rg_param_value v = {d->default_value,
                        d->type == RG_PARAM_ENUM ? d->enum_values[(int)d->default_value]
                                                 : d->default_string};
    rg_param_format(d, &v, buf, cap);
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
    rg_plugin_listing list;
    rg_plugin_list(&list);
    int failures = 0;
    rg_json j;
    rg_json_init(&j, stdout);
    if (json)
        rg_json_begin_array(&j);
    else if (list.count == 0)
        printf("no plugins found (set REGULA_PLUGIN_PATH)\n");
    for (int i = 0; i < list.count; i++) {
        rg_plugin_found *f = &list.item[i];
        rg_plugin *p = NULL;
        if (f->shadowed) {
            if (!json)
                printf("%s  (shadowed by an earlier %s.so)  %s\n\n", f->name, f->name, f->path);
            continue;
        }
        if (rg_plugin_load(f->path, NULL, &p) != RG_OK) {
            failures++;
            if (json) {
                rg_json_begin_object(&j);
                rg_json_key(&j, "path");
                rg_json_string(&j, f->path);
                rg_json_key(&j, "error");
                rg_json_string(&j, rg_error_message());
                rg_json_end_object(&j);
            } else
                printf("%s  FAILED TO LOAD: %s\n\n", f->name, rg_error_message());
            continue;
        }
        if (json) {
            rg_json_begin_object(&j);
            rg_json_key(&j, "name"); rg_json_string(&j, p->desc.name);
            rg_json_key(&j, "kind"); rg_json_string(&j, rg_plugin_kind_name(p->desc.kind));
            rg_json_key(&j, "version"); rg_json_string(&j, p->desc.version);
            char abi[32];
            snprintf(abi, sizeof abi, "%u.%u", p->abi_major, p->abi_minor);
            rg_json_key(&j, "abi"); rg_json_string(&j, abi);
            rg_json_key(&j, "path"); rg_json_string(&j, f->path);
            rg_json_key(&j, "doc"); rg_json_string(&j, p->desc.doc);
            rg_json_key(&j, "params");
            rg_json_begin_array(&j);
        } else {
            printf("%s  %s %s  (ABI %u.%u)\n  %s\n  %s\n", p->desc.name,
                   rg_plugin_kind_name(p->desc.kind), p->desc.version, p->abi_major,
                   p->abi_minor, p->desc.doc, f->path);
        }
        for (uint32_t k = 0; k < p->num_params; k++) {
            const rg_param_desc *d = &p->params[k];
            char range[256], dflt[128];
            range_text(d, range, sizeof range);
            default_text(d, dflt, sizeof dflt);
            if (json) {
                rg_json_begin_object(&j);
                rg_json_key(&j, "name"); rg_json_string(&j, d->name);
                rg_json_key(&j, "type"); rg_json_string(&j, rg_param_type_name(d->type));
                rg_json_key(&j, "default"); rg_json_string(&j, dflt);
                rg_json_key(&j, "range"); rg_json_string(&j, range);
                rg_json_key(&j, "log_scale"); rg_json_bool(&j, (d->flags & RG_PARAM_LOG_SCALE) != 0);
                rg_json_key(&j, "doc"); rg_json_string(&j, d->doc);
                rg_json_end_object(&j);
            } else {
                printf("    %-12s %-6s default %-8s range %-16s %s%s\n", d->name,
                       rg_param_type_name(d->type), dflt, range, d->doc,
                       (d->flags & RG_PARAM_LOG_SCALE) ? " (log scale)" : "");
            }
        }
        if (json) {
            rg_json_end_array(&j);
            rg_json_end_object(&j);
        } else {
            if (p->desc.kind == RG_PLUGIN_REGULARIZER)
                printf("    (host keys: layers=GLOB|..., tensors=weights|biases|all, "
                       "after=GLOB|...)\n");
            printf("\n");
        }
        rg_plugin_unload(p);
    }
    if (json)
        rg_json_end_array(&j);
    return failures ? 1 : 0;
}
