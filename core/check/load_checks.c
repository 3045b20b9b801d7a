/* Checks of the plugin as a loadable object: it loads and negotiates, it
 * refuses a host too old for it, it exports one symbol, its life cycle
 * returns every byte, and its parameter schema means what it says. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../plugin/host.h"
#include "check_internal.h"

#define LIFECYCLE_ROUNDS 200

static void hook_list(const rg_plugin *p, char *buf, size_t cap)
{
    buf[0] = '\0';
    const char *names[12];
    int n = 0;
    if (p->desc.kind == RG_PLUGIN_AUGMENTER) {
        names[n++] = "apply";
    } else {
        if (p->reg.penalty) names[n++] = "penalty";
        if (p->reg.project) names[n++] = "project";
        if (p->reg.project_step) names[n++] = "project_step";
        if (p->reg.targets) names[n++] = "targets";
        if (p->reg.activation_forward) names[n++] = "activation_forward/backward";
        if (p->reg.weight_forward)
            names[n++] = p->reg.weight_backward ? "weight_forward/backward" : "weight_forward";
        if (p->reg.gradient) names[n++] = "gradient";
        if (p->reg.step_wrap) names[n++] = "step_wrap";
    }
    for (int i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", names[i]);
    }
}

rg_check_verdict rg_check_load(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                               char *detail, size_t cap)
{
    (void)arg;
    rg_plugin *p = NULL;
    rg_check_stage(c, "regula_plugin_entry_v1()",
                   "loading the plugin (its constructors and regula_plugin_entry_v1())");
    if (rg_plugin_load_unprobed(ctx->path, &ctx->host, &p) != RG_OK) {
        snprintf(detail, cap, "%s", rg_error_message());
        return RG_CHECK_FAIL;
    }
    char hooks[128];
    hook_list(p, hooks, sizeof hooks);
    snprintf(detail, cap, "%s '%s' %s, ABI %u.%u, %u parameter%s, hooks: %s",
             rg_plugin_kind_name(p->desc.kind), p->desc.name, p->desc.version,
             (unsigned)p->abi_major, (unsigned)p->abi_minor, (unsigned)p->num_params,
             p->num_params == 1 ? "" : "s", hooks);
    rg_plugin_unload(p);
    return RG_CHECK_PASS;
}

/* The entry is called directly (not through the loader, which refuses a
 * too-new answer on its own) so that a plugin which accepts a host it
 * cannot serve is caught. */
rg_check_verdict rg_check_older_host(rg_check_child *c, const rg_check_ctx *ctx,
                                     const void *arg, char *detail, size_t cap)
{
    (void)arg;
    uint32_t need = ctx->plugin->abi_minor, old = need - 1;
    rg_host_api host;
    rg_host_api_make(&host, old);
    void *sym = dlsym(ctx->plugin->handle, REGULA_PLUGIN_ENTRY_NAME);
    rg_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    rg_negotiation neg = {sizeof neg, REGULA_ABI_MAJOR, old, 0, 0};
    const rg_plugin_desc *desc = NULL;
    rg_check_stage(c, "regula_plugin_entry_v1()", "regula_plugin_entry_v1() offered ABI %d.%u",
                   REGULA_ABI_MAJOR, (unsigned)old);
    rg_error_clear();
    rg_status st = entry(&host, &neg, &desc);
    if (st == RG_ERR_VERSION) {
        snprintf(detail, cap, "a host offering ABI %d.%u is refused with RG_ERR_VERSION (%s)",
                 REGULA_ABI_MAJOR, (unsigned)old, rg_error_message());
        return RG_CHECK_PASS;
    }
    if (st == RG_OK && neg.plugin_major == REGULA_ABI_MAJOR && neg.plugin_minor <= old) {
        snprintf(detail, cap, "serves a host offering ABI %d.%u by answering %u.%u",
                 REGULA_ABI_MAJOR, (unsigned)old, (unsigned)neg.plugin_major,
                 (unsigned)neg.plugin_minor);
        return RG_CHECK_PASS;
    }
    if (st == RG_OK)
        snprintf(detail, cap,
                 "accepts a host offering ABI %d.%u although it needs %d.%u (it answered %u.%u): "
                 "return RG_ERR_VERSION when !rg_host_serves(neg, %d, %u), as RG_DEFINE_PLUGIN does",
                 REGULA_ABI_MAJOR, (unsigned)old, REGULA_ABI_MAJOR, (unsigned)need,
                 (unsigned)neg.plugin_major, (unsigned)neg.plugin_minor, REGULA_ABI_MAJOR,
                 (unsigned)need);
    else
        snprintf(detail, cap,
                 "refuses a host offering ABI %d.%u with '%s' instead of RG_ERR_VERSION: "
                 "the host then cannot tell the user to upgrade",
                 REGULA_ABI_MAJOR, (unsigned)old, rg_status_name(st));
    return RG_CHECK_FAIL;
}

rg_check_verdict rg_check_exports(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                  char *detail, size_t cap)
{
    (void)c;
    (void)arg;
    char offenders[768];
    int count = 0;
    if (rg_check_elf_exports(ctx->path, offenders, sizeof offenders, &count) != RG_OK) {
        snprintf(detail, cap, "cannot read the dynamic symbols: %s", rg_error_message());
        return RG_CHECK_FAIL;
    }
    if (count == 0) {
        snprintf(detail, cap, "only %s is exported", REGULA_PLUGIN_ENTRY_NAME);
        return RG_CHECK_PASS;
    }
    snprintf(detail, cap,
             "exports %s besides %s: declare %s static or build with -fvisibility=hidden",
             offenders, REGULA_PLUGIN_ENTRY_NAME, count == 1 ? "it" : "them");
    return RG_CHECK_FAIL;
}

rg_check_verdict rg_check_lifecycle(rg_check_child *c, const rg_check_ctx *ctx,
                                    const void *arg, char *detail, size_t cap)
{
    (void)arg;
    int64_t before = rg_host_bytes_held();
    for (int r = 0; r < LIFECYCLE_ROUNDS; r++) {
        void *inst = NULL;
        if (rg_chk_create(c, ctx, "", &inst) != RG_OK) {
            snprintf(detail, cap, "round %d: %s", r + 1, rg_error_message());
            return RG_CHECK_FAIL;
        }
        rg_chk_destroy(c, ctx, inst);
    }
    int64_t leaked = rg_host_bytes_held() - before;
    if (leaked == 0) {
        snprintf(detail, cap, "%d create/destroy cycles with default parameters, no host memory "
                              "held afterwards", LIFECYCLE_ROUNDS);
        return RG_CHECK_PASS;
    }
    if (leaked < 0) {
        snprintf(detail, cap, "destroy() freed %lld bytes more than create() allocated through "
                              "host->alloc: a double free, or memory not from host->alloc",
                 (long long)-leaked);
        return RG_CHECK_FAIL;
    }
    char per[32];
    if (leaked % LIFECYCLE_ROUNDS == 0)
        snprintf(per, sizeof per, "%lld", (long long)(leaked / LIFECYCLE_ROUNDS));
    else
        snprintf(per, sizeof per, "%.1f", (double)leaked / LIFECYCLE_ROUNDS);
    snprintf(detail, cap,
             "leaks %s bytes per create/destroy (%lld bytes still held after %d cycles): "
             "destroy() must host->free everything create() allocated",
             per, (long long)leaked, LIFECYCLE_ROUNDS);
    return RG_CHECK_FAIL;
}

/* ---------------------------------------------------------- parameters */

/* The shortest text that reads back as exactly v, as a user would type it. */
static void fmt_value(const rg_param_desc *d, double v, char *buf, size_t cap)
{
    if (d->type == RG_PARAM_INT) {
        snprintf(buf, cap, "%.0f", v);
        return;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* The smallest step that is clearly outside a float bound, yet close to it. */
static double float_step(const rg_param_desc *d, double bound)
{
    double range = d->max_value - d->min_value;
    double step = isfinite(range) ? 1e-6 * range : 0.0;
    double floor_step = 1e-6 * (fabs(bound) > 1.0 ? fabs(bound) : 1.0);
    return step > floor_step ? step : floor_step;
}

static int accept_value(rg_check_child *c, const rg_check_ctx *ctx, const rg_param_desc *d,
                        const char *value, char *detail, size_t cap)
{
    char text[256];
    snprintf(text, sizeof text, "%s=%s", d->name, value);
    void *inst = NULL;
    rg_status st = rg_chk_create(c, ctx, text, &inst);
    if (st == RG_OK) {
        rg_chk_destroy(c, ctx, inst);
        return 1;
    }
    if (st == RG_ERR_INVALID)
        snprintf(detail, cap, "the host's schema check refuses %s, which the schema should "
                              "allow: %s", text, rg_error_message());
    else
        snprintf(detail, cap,
                 "%s is inside the declared range but %s: accept the whole range, or narrow it "
                 "(RG_PARAM_MIN_EXCLUSIVE/MAX_EXCLUSIVE exclude the bound itself)",
                 text, rg_error_message());
    return 0;
}

static int reject_value(const rg_check_ctx *ctx, const rg_param_desc *d, const char *value,
                        const char *expect, char *detail, size_t cap)
{
    char text[256];
    rg_param_value values[RG_PLUGIN_MAX_PARAMS];
    char storage[512];
    snprintf(text, sizeof text, "%s=%s", d->name, value);
    rg_status st = rg_chk_parse(ctx, text, values, storage, sizeof storage);
    if (st == RG_ERR_INVALID && strstr(rg_error_message(), expect))
        return 1;
    if (st == RG_OK)
        snprintf(detail, cap, "the host accepts %s, outside the declared range", text);
    else
        snprintf(detail, cap, "%s is refused with an unexpected message: %s", text,
                 rg_error_message());
    return 0;
}

static rg_check_verdict check_numeric(rg_check_child *c, const rg_check_ctx *ctx,
                                      const rg_param_desc *d, char *detail, size_t cap)
{
    int is_int = d->type == RG_PARAM_INT;
    char accepted[256] = "", rejected[256] = "";
    for (int side = 0; side < 2; side++) {
        double bound = side == 0 ? d->min_value : d->max_value;
        if (!isfinite(bound))
            continue;
        int exclusive = (d->flags & (side == 0 ? RG_PARAM_MIN_EXCLUSIVE : RG_PARAM_MAX_EXCLUSIVE)) != 0;
        double dir = side == 0 ? 1.0 : -1.0; /* towards the inside */
        double step = is_int ? 1.0 : float_step(d, bound);
        double in = exclusive ? bound + dir * step : bound;
        double out = exclusive ? bound : bound - dir * step;
        if (in < d->min_value || in > d->max_value)
            continue; /* an int range narrower than one step */
        char vin[64], vout[64];
        fmt_value(d, in, vin, sizeof vin);
        fmt_value(d, out, vout, sizeof vout);
        if (!accept_value(c, ctx, d, vin, detail, cap))
            return RG_CHECK_FAIL;
        if (!reject_value(ctx, d, vout, "out of range", detail, cap))
            return RG_CHECK_FAIL;
        size_t ua = strlen(accepted), ur = strlen(rejected);
        snprintf(accepted + ua, sizeof accepted - ua, "%s%s", ua ? " and " : "", vin);
        snprintf(rejected + ur, sizeof rejected - ur, "%s%s", ur ? " and " : "", vout);
    }
    if (!accepted[0]) {
        snprintf(detail, cap, "no finite bound to probe");
        return RG_CHECK_NA;
    }
    snprintf(detail, cap, "create() accepts %s; the schema check rejects %s", accepted, rejected);
    return RG_CHECK_PASS;
}

rg_check_verdict rg_check_param(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                char *detail, size_t cap)
{
    const rg_param_desc *d = &ctx->plugin->params[*(const uint32_t *)arg];
    switch (d->type) {
    case RG_PARAM_FLOAT:
    case RG_PARAM_INT:
        return check_numeric(c, ctx, d, detail, cap);
    case RG_PARAM_BOOL:
        if (!accept_value(c, ctx, d, "true", detail, cap) ||
            !accept_value(c, ctx, d, "false", detail, cap))
            return RG_CHECK_FAIL;
        snprintf(detail, cap, "create() accepts true and false");
        return RG_CHECK_PASS;
    case RG_PARAM_ENUM: {
        char names[256] = "";
        for (int i = 0; d->enum_values[i]; i++) {
            if (!accept_value(c, ctx, d, d->enum_values[i], detail, cap))
                return RG_CHECK_FAIL;
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", d->enum_values[i]);
        }
        if (!reject_value(ctx, d, "no_such_value", "expected one of", detail, cap))
            return RG_CHECK_FAIL;
        snprintf(detail, cap, "create() accepts %s; the schema check rejects no_such_value",
                 names);
        return RG_CHECK_PASS;
    }
    }
    snprintf(detail, cap, "string parameters have no bounds to probe");
    return RG_CHECK_NA;
}
