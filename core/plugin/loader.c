#include "loader.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regula/regula.h"

#include "../error.h"
#include "elf_check.h"
#include "host.h"
#include "instance.h"
#include "probe.h"
#include "trust.h"

const char *rg_plugin_kind_name(uint32_t kind)
{
    switch (kind) {
    case RG_PLUGIN_REGULARIZER: return "regularizer";
    case RG_PLUGIN_AUGMENTER: return "augmenter";
    }
    return "unknown";
}

const char *rg_param_type_name(uint32_t type)
{
    switch (type) {
    case RG_PARAM_FLOAT: return "float";
    case RG_PARAM_INT: return "int";
    case RG_PARAM_BOOL: return "bool";
    case RG_PARAM_ENUM: return "enum";
    case RG_PARAM_STRING: return "string";
    }
    return "unknown";
}

/* Copy at most sizeof(*dst) bytes of a plugin struct whose first field is
 * its size; fields beyond the plugin's struct_size stay zero. */
static void copy_sized(void *dst, size_t dst_size, const void *src, uint32_t src_size)
{
    memset(dst, 0, dst_size);
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
}

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 48)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static rg_status check_param(const char *path, const rg_param_desc *p)
{
    const char *nm = p->name ? p->name : "(null)";
    if (!valid_name(p->name))
        return rg_error_set(RG_ERR_PLUGIN,
                            "%s: parameter name '%s' is not [a-z0-9_]+ (1..48 chars)", path, nm);
    if (!p->doc)
        return rg_error_set(RG_ERR_PLUGIN, "%s: parameter %s has no doc line", path, nm);
    switch (p->type) {
    case RG_PARAM_FLOAT:
    case RG_PARAM_INT:
        if (isnan(p->min_value) || isnan(p->max_value) || isnan(p->default_value) || p->min_value > p->max_value)
            return rg_error_set(RG_ERR_PLUGIN, "%s: parameter %s: range [%g, %g] is empty",
                                path, nm, p->min_value, p->max_value);
        if (p->default_value < p->min_value || p->default_value > p->max_value ||
            ((p->flags & RG_PARAM_MIN_EXCLUSIVE) && p->default_value == p->min_value) ||
            ((p->flags & RG_PARAM_MAX_EXCLUSIVE) && p->default_value == p->max_value))
            return rg_error_set(RG_ERR_PLUGIN,
                                "%s: parameter %s: default %g lies outside its range [%g, %g]",
                                path, nm, p->default_value, p->min_value, p->max_value);
        if (p->type == RG_PARAM_INT && p->default_value != floor(p->default_value))
            return rg_error_set(RG_ERR_PLUGIN, "%s: parameter %s: int default %g is fractional",
                                path, nm, p->default_value);
        return RG_OK;
    case RG_PARAM_BOOL:
        if (p->default_value != 0.0 && p->default_value != 1.0)
            return rg_error_set(RG_ERR_PLUGIN, "%s: parameter %s: bool default must be 0 or 1",
                                path, nm);
        return RG_OK;
    case RG_PARAM_ENUM: {
        int n = 0;
        if (p->enum_values)
            while (p->enum_values[n] && n < 64)
                n++;
        if (n == 0)
            return rg_error_set(RG_ERR_PLUGIN, "%s: parameter %s: enum has no values", path, nm);
        if (p->default_value < 0 || p->default_value >= n ||
            p->default_value != floor(p->default_value))
            return rg_error_set(RG_ERR_PLUGIN,
                                "%s: parameter %s: enum default index %g not in [0, %d)", path,
                                nm, p->default_value, n);
        return RG_OK;
    }
    case RG_PARAM_STRING:
        return RG_OK;
    }
    return rg_error_set(RG_ERR_PLUGIN, "%s: parameter %s has unknown type %u", path, nm,
                        (unsigned)p->type);
}

static rg_status validate(rg_plugin *pl, const rg_plugin_desc *raw)
{
    const char *path = pl->path;
    if (!raw)
        return rg_error_set(RG_ERR_PLUGIN, "%s: entry returned success but no descriptor", path);
    if (raw->struct_size < RG_PLUGIN_DESC_SIZE_V1_0)
        return rg_error_set(RG_ERR_PLUGIN,
                            "%s: descriptor struct_size %u is smaller than the ABI 1.0 size %zu "
                            "(not built with regula/plugin.h? rebuild against the regula SDK)",
                            path, (unsigned)raw->struct_size, (size_t)RG_PLUGIN_DESC_SIZE_V1_0);
    copy_sized(&pl->desc, sizeof pl->desc, raw, raw->struct_size);
    const rg_plugin_desc *d = &pl->desc;
    if (!valid_name(d->name))
        return rg_error_set(RG_ERR_PLUGIN, "%s: plugin name '%s' is not [a-z0-9_]+ (1..48 chars)",
                            path, d->name ? d->name : "(null)");
    if (!d->version || !*d->version || !d->doc)
        return rg_error_set(RG_ERR_PLUGIN, "%s: plugin %s lacks a version string or doc line",
                            path, d->name);
    if (!d->create || !d->destroy)
        return rg_error_set(RG_ERR_PLUGIN, "%s: plugin %s lacks create() or destroy()", path,
                            d->name);
    if (d->kind == RG_PLUGIN_REGULARIZER) {
        if (!d->regularizer || d->regularizer->struct_size < RG_REGULARIZER_HOOKS_SIZE_V1_0)
            return rg_error_set(RG_ERR_PLUGIN,
                                "%s: regularizer %s: hook table missing or struct_size below "
                                "the ABI 1.0 size %zu",
                                path, d->name, (size_t)RG_REGULARIZER_HOOKS_SIZE_V1_0);
        copy_sized(&pl->reg, sizeof pl->reg, d->regularizer, d->regularizer->struct_size);
        if (!pl->reg.penalty && !pl->reg.project && !pl->reg.activation_forward &&
            !pl->reg.project_step && !pl->reg.targets && !pl->reg.weight_forward &&
            !pl->reg.gradient && !pl->reg.step_wrap)
            return rg_error_set(RG_ERR_PLUGIN, "%s: regularizer %s implements no hook", path,
                                d->name);
        if (pl->reg.linear_decay && !pl->reg.penalty)
            return rg_error_set(RG_ERR_PLUGIN,
                                "%s: regularizer %s sets linear_decay, a declaration about its "
                                "penalty(), but has no penalty()",
                                path, d->name);
        if (!pl->reg.activation_forward != !pl->reg.activation_backward)
            return rg_error_set(RG_ERR_PLUGIN,
                                "%s: regularizer %s: activation_forward and activation_backward "
                                "come as a pair",
                                path, d->name);
        if (pl->reg.weight_backward && !pl->reg.weight_forward)
            return rg_error_set(RG_ERR_PLUGIN,
                                "%s: regularizer %s sets weight_backward without weight_forward",
                                path, d->name);
    } else if (d->kind == RG_PLUGIN_AUGMENTER) {
        if (!d->augmenter || d->augmenter->struct_size < RG_AUGMENTER_HOOKS_SIZE_V1_0)
            return rg_error_set(RG_ERR_PLUGIN,
                                "%s: augmenter %s: hook table missing or struct_size below the "
                                "ABI 1.0 size %zu",
                                path, d->name, (size_t)RG_AUGMENTER_HOOKS_SIZE_V1_0);
        copy_sized(&pl->aug, sizeof pl->aug, d->augmenter, d->augmenter->struct_size);
        if (!pl->aug.apply)
            return rg_error_set(RG_ERR_PLUGIN, "%s: augmenter %s has no apply()", path, d->name);
    } else {
        return rg_error_set(RG_ERR_PLUGIN, "%s: plugin %s has unknown kind %u", path, d->name,
                            (unsigned)d->kind);
    }
    int hooks = !!d->state_size + !!d->state_save + !!d->state_load;
    if (hooks != 0 && hooks != 3)
        return rg_error_set(RG_ERR_PLUGIN,
                            "%s: plugin %s: state_size, state_save and state_load come as a "
                            "triple (it sets %d of them)",
                            path, d->name, hooks);
    if (d->num_params > RG_PLUGIN_MAX_PARAMS)
        return rg_error_set(RG_ERR_PLUGIN, "%s: plugin %s declares %u parameters (at most %d)",
                            path, d->name, (unsigned)d->num_params, RG_PLUGIN_MAX_PARAMS);
    if (d->num_params > 0 && !d->params)
        return rg_error_set(RG_ERR_PLUGIN, "%s: plugin %s declares parameters but no schema",
                            path, d->name);
    /* Parameter entries form an array whose stride is the plugin's
     * sizeof(rg_param_desc), announced by the first entry's struct_size. */
    uint32_t stride = d->num_params ? d->params[0].struct_size : 0;
    if (d->num_params && stride < RG_PARAM_DESC_SIZE_V1_0)
        return rg_error_set(RG_ERR_PLUGIN,
                            "%s: plugin %s: parameter struct_size %u is below the ABI 1.0 size "
                            "%zu",
                            path, d->name, (unsigned)stride, (size_t)RG_PARAM_DESC_SIZE_V1_0);
    pl->num_params = d->num_params;
    for (uint32_t i = 0; i < d->num_params; i++) {
        const rg_param_desc *src =
            (const rg_param_desc *)(const void *)((const char *)d->params + (size_t)i * stride);
        if (src->struct_size != stride)
            return rg_error_set(RG_ERR_PLUGIN,
                                "%s: plugin %s: parameter %u has struct_size %u, the first has %u",
                                path, d->name, (unsigned)i, (unsigned)src->struct_size,
                                (unsigned)stride);
        copy_sized(&pl->params[i], sizeof pl->params[i], src, stride);
        rg_status st = check_param(path, &pl->params[i]);
        if (st != RG_OK)
            return st;
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(pl->params[j].name, pl->params[i].name) == 0)
                return rg_error_set(RG_ERR_PLUGIN, "%s: plugin %s declares parameter %s twice",
                                    path, d->name, pl->params[i].name);
    }
    return RG_OK;
}

static rg_status negotiate(rg_plugin *pl, rg_plugin_entry_fn entry, const rg_host_api *host,
                           const rg_plugin_desc **raw)
{
    rg_negotiation neg = {0};
    neg.struct_size = sizeof neg;
    neg.host_major = host->abi_major;
    neg.host_minor = host->abi_minor;
    rg_error_clear();
    rg_status st = entry(host, &neg, raw);
    RG_TRACE("plugin %s: host offers ABI %u.%u, plugin answers %u.%u (status %d)", pl->path,
             (unsigned)neg.host_major, (unsigned)neg.host_minor, (unsigned)neg.plugin_major,
             (unsigned)neg.plugin_minor, (int)st);
    pl->abi_major = neg.plugin_major;
    pl->abi_minor = neg.plugin_minor;
    if (neg.plugin_major != host->abi_major || neg.plugin_minor > host->abi_minor ||
        st == RG_ERR_VERSION)
        return rg_error_set(RG_ERR_VERSION,
                            "%s: plugin ABI %u.%u does not fit host ABI %u.%u: rebuild the plugin "
                            "against regula SDK %u.x (minor <= %u), or upgrade regula",
                            pl->path, (unsigned)neg.plugin_major, (unsigned)neg.plugin_minor,
                            (unsigned)host->abi_major, (unsigned)host->abi_minor,
                            (unsigned)host->abi_major, (unsigned)host->abi_minor);
    if (st != RG_OK)
        return rg_error_wrap(RG_ERR_PLUGIN, "%s: entry point failed", pl->path);
    return RG_OK;
}

/* dlopen's message, with the cause a plugin author can act on spelled out. */
static rg_status dlopen_failure(const char *path, const char *why)
{
    if (!why)
        why = "unknown error";
    const char *u = strstr(why, "undefined symbol: ");
    if (u)
        return rg_error_set(RG_ERR_PLUGIN,
                            "%s: cannot load plugin: it uses the symbol '%s', which neither "
                            "regula nor the libraries it links define (built against another "
                            "version of a library? link plugins with -Wl,--no-undefined to see "
                            "this at build time)",
                            path, u + strlen("undefined symbol: "));
    const char *c = strstr(why, ": cannot open shared object file");
    if (c) {
        /* the library named before the colon; the plugin itself passed the ELF check */
        int len = (int)(c - why);
        return rg_error_set(RG_ERR_PLUGIN,
                            "%s: cannot load plugin: missing dependency %.*s (the plugin links a "
                            "library that is not installed or not on the loader's path; see "
                            "'ldd %s')",
                            path, len, why, path);
    }
    return rg_error_set(RG_ERR_IO, "%s: cannot load plugin: %s", path, why);
}

/* What every load of a file checks before dlopen: the path resolves (else the open's
 * real cause), other users cannot swap the file, and it is a complete ELF shared object
 * for this machine. `real` gets the resolved path. */
static rg_status precheck(const char *path, char *real, uint32_t *flags)
{
    if (!realpath(path, real)) {
        rg_status st = rg_elf_check_file(path);
        return st != RG_OK ? st : rg_error_set(RG_ERR_IO, "%s: cannot resolve the path", path);
    }
    *flags = rg_plugin_context_flags();
    const char *insecure = getenv("REGULA_ALLOW_INSECURE_PLUGINS");
    if (insecure && strcmp(insecure, "1") == 0)
        *flags |= RG_CONTEXT_ALLOW_INSECURE_PLUGINS;
    rg_status st;
    if (!(*flags & RG_CONTEXT_ALLOW_INSECURE_PLUGINS) && (st = rg_plugin_trust_check(real)) != RG_OK)
        return st;
    return rg_elf_check_file(real);
}

rg_status rg_plugin_load(const char *path, const rg_host_api *host, rg_plugin **out)
{
    char real[PATH_MAX];
    uint32_t flags = 0;
    rg_status st = precheck(path, real, &flags);
    if (st != RG_OK)
        return st;
    const char *probe = getenv("REGULA_PLUGIN_PROBE");
    /* Loaded already (a policy composing a dozen instances of one file): its constructors
     * ran in this process, and dlopen hands back the same object, so a probe would fork for
     * nothing. */
    void *loaded = dlopen(real, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (loaded)
        dlclose(loaded);
    if (!loaded && !(flags & RG_CONTEXT_NO_PLUGIN_PROBE) && !(probe && strcmp(probe, "0") == 0) &&
        (st = rg_plugin_probe(real, host)) != RG_OK)
        return st;
    return rg_plugin_dlopen(real, host, out);
}

rg_status rg_plugin_load_unprobed(const char *path, const rg_host_api *host, rg_plugin **out)
{
    char real[PATH_MAX];
    uint32_t flags = 0;
    rg_status st = precheck(path, real, &flags);
    return st != RG_OK ? st : rg_plugin_dlopen(real, host, out);
}

rg_status rg_plugin_dlopen(const char *path, const rg_host_api *host, rg_plugin **out)
{
    if (!host)
        host = rg_host_api_get();
    rg_plugin *pl = calloc(1, sizeof *pl);
    if (!pl)
        return rg_error_set(RG_ERR_NOMEM, "cannot allocate plugin record");
    if (!realpath(path, pl->path))
        snprintf(pl->path, sizeof pl->path, "%s", path);
    RG_TRACE("plugin %s: dlopen(RTLD_NOW | RTLD_LOCAL)", pl->path);
    pl->handle = dlopen(pl->path, RTLD_NOW | RTLD_LOCAL);
    rg_status st = RG_OK;
    if (!pl->handle) {
        st = dlopen_failure(path, dlerror());
        goto fail;
    }
    dlerror();
    void *sym = dlsym(pl->handle, REGULA_PLUGIN_ENTRY_NAME);
    if (!sym) {
        for (int major = 2; major <= 9; major++) {
            char name[64];
            snprintf(name, sizeof name, "regula_plugin_entry_v%d", major);
            if (dlsym(pl->handle, name)) {
                st = rg_error_set(RG_ERR_VERSION,
                                  "%s: plugin is built for ABI major %d (exports %s), this host "
                                  "speaks ABI %u: use a regula that serves ABI %d",
                                  pl->path, major, name, (unsigned)host->abi_major, major);
                goto fail;
            }
        }
        st = rg_error_set(RG_ERR_PLUGIN,
                          "%s: not a regula plugin: no exported symbol %s (define it with "
                          "RG_DEFINE_PLUGIN from regula/plugin.h)",
                          pl->path, REGULA_PLUGIN_ENTRY_NAME);
        goto fail;
    }
    RG_TRACE("plugin %s: found %s", pl->path, REGULA_PLUGIN_ENTRY_NAME);
    rg_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object-to-function pointer, POSIX-sanctioned */
    const rg_plugin_desc *raw = NULL;
    if ((st = negotiate(pl, entry, host, &raw)) != RG_OK)
        goto fail;
    if ((st = validate(pl, raw)) != RG_OK)
        goto fail;
    RG_TRACE("plugin %s: %s %s version %s, %u parameters", pl->path,
             rg_plugin_kind_name(pl->desc.kind), pl->desc.name, pl->desc.version,
             (unsigned)pl->num_params);
    *out = pl;
    return RG_OK;
fail:
    RG_TRACE("plugin %s: rejected: %s", pl->path, rg_error_message());
    free(pl);
    return st;
}

rg_status rg_plugin_load_entry(rg_plugin_entry_fn entry, const rg_host_api *host,
                               rg_plugin **out)
{
    if (!host)
        host = rg_host_api_get();
    if (!entry)
        return rg_error_set(RG_ERR_INVALID, "in-process plugin: the entry function is NULL");
    rg_plugin *pl = calloc(1, sizeof *pl);
    if (!pl)
        return rg_error_set(RG_ERR_NOMEM, "cannot allocate plugin record");
    snprintf(pl->path, sizeof pl->path, "in-process plugin");
    const rg_plugin_desc *raw = NULL;
    rg_status st = negotiate(pl, entry, host, &raw);
    if (st == RG_OK)
        st = validate(pl, raw);
    if (st != RG_OK) {
        RG_TRACE("plugin %s: rejected: %s", pl->path, rg_error_message());
        free(pl);
        return st;
    }
    snprintf(pl->path, sizeof pl->path, "in-process:%s", pl->desc.name);
    *out = pl;
    return RG_OK;
}

void rg_plugin_unload(rg_plugin *p)
{
    free(p);
}
