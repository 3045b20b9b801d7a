/* regula sweep: a trial's `regula train` arguments, the user's with the
 * trial's values set in them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

int rg_sweep_is_switch(const char *a)
{
    return !strcmp(a, "--nesterov") || !strcmp(a, "--quiet") || !strcmp(a, "--no-test") ||
           !strcmp(a, "--center-crop") || !strcmp(a, "-h") || !strcmp(a, "--help") ||
           strncmp(a, "-", 1) != 0;
}

/* A path names the plugin by its file name without ".so". */
int rg_sweep_spec_names(const char *spec, const char *plugin)
{
    size_t len = strcspn(spec, ":");
    if (strlen(plugin) == len && !strncmp(spec, plugin, len))
        return 1;
    const char *base = spec;
    for (const char *p = spec; p < spec + len; p++)
        if (*p == '/')
            base = p + 1;
    size_t blen = (size_t)(spec + len - base);
    if (blen > 3 && !strncmp(spec + len - 3, ".so", 3))
        blen -= 3;
    return strlen(plugin) == blen && !strncmp(base, plugin, blen);
}

char *rg_sweep_spec_with(const char *spec, const char *param, const char *value)
{
    size_t len = strlen(spec) + strlen(param) + strlen(value) + 4;
    char *out = malloc(len);
    if (!out)
        return NULL;
    const char *colon = strchr(spec, ':');
    if (!colon || !colon[1]) {
        snprintf(out, len, "%.*s:%s=%s", (int)(colon ? colon - spec : (long)strlen(spec)), spec,
                 param, value);
        return out;
    }
    snprintf(out, len, "%.*s:", (int)(colon - spec + 0), spec);
    int replaced = 0, first = 1;
    const char *p = colon + 1;
    while (*p) {
        size_t n = strcspn(p, ",");
        size_t plen = strlen(param);
        if (!first)
            strcat(out, ",");
        first = 0;
        if (n > plen && !strncmp(p, param, plen) && p[plen] == '=') {
            strcat(out, param);
            strcat(out, "=");
            strcat(out, value);
            replaced = 1;
        } else {
            strncat(out, p, n);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (!replaced) {
        strcat(out, first ? "" : ",");
        strcat(out, param);
        strcat(out, "=");
        strcat(out, value);
    }
    return out;
}

int rg_argvec_push(rg_argvec *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        int cap = a->cap ? a->cap * 2 : 32;
        char **v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n] = s ? strdup(s) : NULL;
    if (s && !a->v[a->n])
        return -1;
    a->n++;
    a->v[a->n] = NULL;
    return 0;
}

void rg_argvec_free(rg_argvec *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* The user's train arguments with the configuration's set axes applied: a
 * set axis (reg=..., aug=...) drops every --reg/--aug of its kind and adds
 * its value's plugins ("none": no plugin of that kind). */
static int base_args(const rg_sweep *s, char (*values)[RG_SWEEP_VALUE_CHARS], rg_argvec *out)
{
    for (int i = 0; i < s->n_train; i++) {
        const char *a = s->train[i];
        int takes_value = !rg_sweep_is_switch(a) && i + 1 < s->n_train;
        int replaced = 0;
        for (int k = 0; k < s->n_axes && takes_value; k++)
            replaced |= s->axes[k].set && a[0] == '-' && a[1] == '-' &&
                        !strcmp(a + 2, s->axes[k].param);
        if (replaced) {
            i++;
            continue;
        }
        if (rg_argvec_push(out, a) || (takes_value && rg_argvec_push(out, s->train[++i])))
            return -1;
    }
    for (int k = 0; k < s->n_axes; k++) {
        if (!s->axes[k].set || !strcmp(values[k], "none"))
            continue;
        char flag[40], buf[RG_SWEEP_VALUE_CHARS];
        snprintf(flag, sizeof flag, "--%s", s->axes[k].param);
        snprintf(buf, sizeof buf, "%s", values[k]);
        for (char *part = strtok(buf, "+"); part; part = strtok(NULL, "+"))
            if (rg_argvec_push(out, flag) || rg_argvec_push(out, part))
                return -1;
    }
    return 0;
}

int rg_sweep_axis_active(const rg_sweep *s, char (*values)[RG_SWEEP_VALUE_CHARS], int a)
{
    const rg_sweep_axis *ax = &s->axes[a];
    if (!ax->plugin[0])
        return 1;
    rg_argvec base = {0};
    int active = 0;
    if (base_args(s, values, &base) == 0)
        for (int i = 0; i + 1 < base.n && !active; i++)
            active = (!strcmp(base.v[i], "--reg") || !strcmp(base.v[i], "--aug")) &&
                     rg_sweep_spec_names(base.v[i + 1], ax->plugin);
    rg_argvec_free(&base);
    return active;
}

static int train_args_from(const rg_sweep *s, char **train, int n_train,
                           char (*values)[RG_SWEEP_VALUE_CHARS], int for_trial, rg_argvec *out)
{
    int set[RG_SWEEP_MAX_AXES] = {0};
    for (int i = 0; i < n_train; i++) {
        const char *a = train[i];
        const char *v = !rg_sweep_is_switch(a) && i + 1 < n_train ? train[i + 1] : NULL;
        if (!strcmp(a, "--no-test") || (for_trial && !strcmp(a, "--quiet")))
            continue;
        if (for_trial && v && (!strcmp(a, "--summary") || !strcmp(a, "--save") ||
                               !strcmp(a, "--metrics"))) {
            i++;
            continue;
        }
        if (!v) {
            if (rg_argvec_push(out, a))
                return -1;
            continue;
        }
        i++;
        char *value = strdup(v);
        if (!value)
            return -1;
        for (int k = 0; k < s->n_axes; k++) {
            const rg_sweep_axis *ax = &s->axes[k];
            if (ax->set || !strcmp(values[k], "-"))
                continue;
            if (ax->plugin[0] && (!strcmp(a, "--reg") || !strcmp(a, "--aug")) &&
                rg_sweep_spec_names(value, ax->plugin)) {
                char *next = rg_sweep_spec_with(value, ax->param, values[k]);
                free(value);
                if (!(value = next))
                    return -1;
                set[k] = 1;
            } else if (!ax->plugin[0] && a[0] == '-' && a[1] == '-' && !strcmp(a + 2, ax->param)) {
                free(value);
                if (!(value = strdup(values[k])))
                    return -1;
                set[k] = 1;
            }
        }
        int bad = rg_argvec_push(out, a) || rg_argvec_push(out, value);
        free(value);
        if (bad)
            return -1;
    }
    for (int k = 0; k < s->n_axes; k++)
        if (!set[k] && !s->axes[k].plugin[0] && !s->axes[k].set) {
            char flag[64];
            snprintf(flag, sizeof flag, "--%s", s->axes[k].param);
            if (rg_argvec_push(out, flag) || rg_argvec_push(out, values[k]))
                return -1;
        }
    return 0;
}

int rg_sweep_train_args(const rg_sweep *s, char (*values)[RG_SWEEP_VALUE_CHARS], int for_trial,
                        rg_argvec *out)
{
    rg_argvec base = {0};
    int bad = base_args(s, values, &base) || train_args_from(s, base.v, base.n, values,
                                                            for_trial, out);
    rg_argvec_free(&base);
    return bad ? -1 : 0;
}

int rg_sweep_run_args(const rg_sweep *s, char (*values)[RG_SWEEP_VALUE_CHARS], int k,
                      rg_argvec *out)
{
    rg_argvec all = {0};
    if (rg_sweep_train_args(s, values, 1, &all)) {
        rg_argvec_free(&all);
        return -1;
    }
    int bad = 0, has_threads = 0;
    for (int i = 0; i < all.n && !bad; i++) {
        const char *a = all.v[i];
        int takes_value = !rg_sweep_is_switch(a) && i + 1 < all.n;
        has_threads |= !strcmp(a, "--threads");
        if (s->seeds > 1 && takes_value && !strcmp(a, "--seed")) {
            i++;
            continue;
        }
        bad = rg_argvec_push(out, a) || (takes_value && rg_argvec_push(out, all.v[++i]));
    }
    rg_argvec_free(&all);
    char num[32];
    if (!bad && s->seeds > 1) {
        snprintf(num, sizeof num, "%lld", (long long)(s->base_seed + k));
        bad = rg_argvec_push(out, "--seed") || rg_argvec_push(out, num);
    }
    if (!bad && s->threads > 0 && !has_threads) {
        snprintf(num, sizeof num, "%d", s->threads);
        bad = rg_argvec_push(out, "--threads") || rg_argvec_push(out, num);
    }
    return bad ? -1 : 0;
}
