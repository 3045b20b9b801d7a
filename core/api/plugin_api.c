/* Plugins for the embedding API: listing the search path with each plugin's schema, and
 * the conformance checker (core/check) behind `regula plugin check`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check/check.h"
#include "../error.h"
#include "../plugin/discovery.h"
#include "../plugin/instance.h"
#include "api.h"

const char *rg_param_type_string(uint32_t type)
{
    return rg_param_type_name(type);
}

void rg_param_value_text(const rg_param_desc *d, const rg_param_value *v, char *buf, size_t cap)
{
    if (!d || !buf || !cap)
        return;
    rg_param_value def = {d->default_value,
                          d->type == RG_PARAM_ENUM && d->enum_values
                              ? d->enum_values[(int)d->default_value]
                              : d->default_string};
    rg_param_format(d, v ? v : &def, buf, cap);
}

static void info_of(const rg_plugin *p, const rg_plugin_found *f, rg_plugin_info *i)
{
    i->status = RG_OK;
    i->kind = p->desc.kind;
    i->kind_name = rg_plugin_kind_name(p->desc.kind);
    i->version = p->desc.version;
    i->doc = p->desc.doc;
    i->abi_major = p->abi_major;
    i->abi_minor = p->abi_minor;
    i->caps = p->desc.caps;
    i->num_params = p->num_params;
    i->params = p->params;
    i->descriptor_name = p->desc.name;
    (void)f;
}

rg_status rg_plugins_list(rg_context *ctx, rg_plugin_visit_fn visit, void *user)
{
    if (!ctx)
        return rg_api_null("rg_plugins_list", "ctx");
    rg_api_enter(ctx);
    if (!visit)
        return rg_api_fail(ctx, rg_api_null("rg_plugins_list", "visit"));
    rg_plugin_listing *list = malloc(sizeof *list);
    if (!list)
        return rg_api_fail(ctx, rg_error_set(RG_ERR_NOMEM, "out of memory"));
    rg_plugin_list(list);
    int stop = 0;
    for (int k = 0; !stop && k < ctx->num_plugins; k++) {
        rg_plugin_info i = {.struct_size = sizeof i};
        rg_plugin_found f = {{0}, {0}, 0};
        i.name = ctx->plugins[k]->desc.name;
        i.path = ctx->plugins[k]->path;
        info_of(ctx->plugins[k], &f, &i);
        stop = visit(user, &i);
    }
    for (int k = 0; !stop && k < list->count; k++) {
        rg_plugin_found *f = &list->item[k];
        rg_plugin_info i = {.struct_size = sizeof i};
        i.name = f->name;
        i.path = f->path;
        i.shadowed = f->shadowed;
        rg_plugin *p = NULL;
        if (f->shadowed) {
            stop = visit(user, &i);
            continue;
        }
        i.status = rg_plugin_load(f->path, NULL, &p);
        char message[1024];
        if (i.status != RG_OK) {
            snprintf(message, sizeof message, "%s", rg_error_message());
            i.error = message;
        } else {
            info_of(p, f, &i);
        }
        stop = visit(user, &i);
        rg_plugin_unload(p);
    }
    free(list);
    return RG_OK;
}

rg_status rg_plugin_validate(rg_context *ctx, const char *role, const char *spec)
{
    if (!ctx)
        return rg_api_null("rg_plugin_validate", "ctx");
    rg_api_enter(ctx);
    if (!role || !spec || (strcmp(role, "reg") && strcmp(role, "aug")))
        return rg_api_fail(ctx, rg_error_set(RG_ERR_INVALID, "rg_plugin_validate: role %s: "
                                             "expected reg or aug", role ? role : "(NULL)"));
    rg_plugin_instance *pi = NULL;
    rg_status st = rg_plugin_instance_create(spec, !strcmp(role, "reg") ? RG_PLUGIN_REGULARIZER
                                                                        : RG_PLUGIN_AUGMENTER,
                                             NULL, &pi);
    rg_plugin_instance_destroy(pi);
    return rg_api_fail(ctx, st);
}

void rg_check_params_init(rg_check_params *params, size_t size)
{
    static const rg_check_params def = {sizeof def, 0.0, 0, NULL, NULL};
    rg_api_params_init(params, size, &def, sizeof def);
}

const char *rg_verdict_string(rg_verdict v)
{
    return rg_check_verdict_name((rg_check_verdict)v);
}

typedef struct relay {
    const rg_check_params *p;
} relay;

/* The checker's fixed-size results, handed on as the public struct. */
static void relay_report(void *vctx, const rg_check_result *r)
{
    relay *rl = vctx;
    rg_check_report rep = {sizeof rep, (rg_verdict)r->verdict, r->name, r->detail};
    rl->p->report(rl->p->user, &rep);
}

rg_status rg_plugin_check(rg_context *ctx, const char *path, const rg_check_params *params,
                          rg_check_counts *counts)
{
    if (!ctx)
        return rg_api_null("rg_plugin_check", "ctx");
    rg_api_enter(ctx);
    if (!path || !counts)
        return rg_api_fail(ctx, rg_api_null("rg_plugin_check", !path ? "path" : "counts"));
    if (params && params->struct_size < RG_SIZE_THROUGH(rg_check_params, user))
        return rg_api_fail(ctx, rg_error_set(RG_ERR_VERSION, "rg_plugin_check: params "
                                             "struct_size %u is too small",
                                             (unsigned)params->struct_size));
    if (counts->struct_size < RG_SIZE_THROUGH(rg_check_counts, na))
        return rg_api_fail(ctx, rg_error_set(RG_ERR_INVALID, "rg_plugin_check: counts "
                                             "struct_size %u is too small",
                                             (unsigned)counts->struct_size));
    if (access(path, R_OK) != 0)
        return rg_api_fail(ctx, rg_error_set(RG_ERR_IO, "cannot read %s: %s", path,
                                             strerror(errno)));
    rg_check_options opt = {0};
    relay rl = {params};
    if (params) {
        opt.timeout_s = params->timeout_s;
        opt.host_minor = params->host_minor;
        if (params->report) {
            opt.report = relay_report;
            opt.report_ctx = &rl;
        }
    }
    rg_check_summary sum = {0, 0, 0};
    rg_status st = rg_check_plugin(path, &opt, &sum);
    if (st == RG_OK) {
        counts->passed = sum.passed;
        counts->failed = sum.failed;
        counts->na = sum.na;
    }
    return rg_api_fail(ctx, st);
}
