#include "sweep_plan.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_error.h"
#include "regula/regula.h"

/* A sweep may set any recipe field that holds one number or word (the field table of
 * regula/regula.h, the same one train's flags come from); the fields the sweep manages
 * itself (where trials write, whether they see the test set) and lists stay out.
 * kind: 0 real, 1 integer, 2 word; -1 not sweepable. */
static int field_kind(const char *key, char *flag, size_t cap)
{
    static const char *const managed[] = {"save", "metrics", "summary", "test", "stop_after",
                                          "threads", NULL};
    char name[64];
    snprintf(name, sizeof name, "%s", key);
    for (char *p = name; *p; p++)
        if (*p == '-')
            *p = '_';
    for (int i = 0; managed[i]; i++)
        if (!strcmp(name, managed[i]))
            return -1;
    for (int i = 0; i < rg_recipe_field_count(); i++) {
        rg_field_info f = {.struct_size = sizeof f};
        rg_recipe_field(i, &f);
        if (strcmp(f.name, name))
            continue;
        if (f.type == RG_FIELD_LIST || f.type == RG_FIELD_BOOL)
            return -1;
        snprintf(flag, cap, "%s", f.name);
        for (char *p = flag; *p; p++)
            if (*p == '_')
                *p = '-';
        return f.type == RG_FIELD_NUMBER ? 0 : f.type == RG_FIELD_INT ? 1 : 2;
    }
    return -1;
}

/* Random draws use their own stream site, apart from training's sites. */
enum { SWEEP_RNG_SITE = 7001 };

int rg_sweep_is_number(const char *text, double *v)
{
    char *end = NULL;
    errno = 0;
    double x = strtod(text, &end);
    /* strtod also reads "inf", "nan" and hex floats: not numbers a user sweeps */
    if (!text[0] || *end || errno == ERANGE || !isfinite(x) || strpbrk(text, "xXnN"))
        return 0;
    *v = x;
    return 1;
}

void rg_sweep_format_number(double v, char *buf, size_t cap)
{
    if (v == 0.0)
        v = 0.0; /* no "-0" */
    if (v == nearbyint(v) && fabs(v) < 1e15) {
        snprintf(buf, cap, "%.0f", v); /* 10, not 1e+01 */
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* Rounds away the last bits of a computed value (0.1 + 2 * 0.1 is not 0.3). */
static double round_sig(double v, int digits)
{
    char t[40];
    snprintf(t, sizeof t, "%.*g", digits, v);
    return strtod(t, NULL);
}

static rg_status add_value(rg_sweep_axis *ax, const char *text)
{
    for (int i = 0; i < ax->n; i++)
        if (!strcmp(ax->values[i], text))
            return RG_OK; /* duplicates give no new trial */
    if (ax->n >= RG_SWEEP_MAX_VALUES)
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s: more than %d values", ax->key,
                            RG_SWEEP_MAX_VALUES);
    if (strlen(text) >= RG_SWEEP_VALUE_CHARS)
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s: value '%.20s...' is longer than %d "
                            "characters", ax->key, text, RG_SWEEP_VALUE_CHARS - 1);
    snprintf(ax->values[ax->n++], RG_SWEEP_VALUE_CHARS, "%s", text);
    return RG_OK;
}

static rg_status add_number(rg_sweep_axis *ax, double v)
{
    char t[40];
    rg_sweep_format_number(ax->integer ? nearbyint(v) : v, t, sizeof t);
    return add_value(ax, t);
}

static rg_status parse_key(const char *key, rg_sweep_axis *ax)
{
    snprintf(ax->key, sizeof ax->key, "%s", key);
    const char *dot = strrchr(key, '.');
    if (dot) {
        size_t len = (size_t)(dot - key);
        if (len == 0 || !dot[1] || len >= sizeof ax->plugin || strlen(dot + 1) >= sizeof ax->param)
            return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s: expected PLUGIN.PARAM, e.g. "
                                "l2.lambda", key);
        memcpy(ax->plugin, key, len);
        ax->plugin[len] = '\0';
        snprintf(ax->param, sizeof ax->param, "%s", dot + 1);
        return RG_OK;
    }
    const char *k = key[0] == '-' && key[1] == '-' ? key + 2 : key;
    if (!strcmp(k, "reg") || !strcmp(k, "aug")) {
        snprintf(ax->param, sizeof ax->param, "%s", k);
        ax->set = 1;
        return RG_OK;
    }
    char flag[64];
    int kind = field_kind(k, flag, sizeof flag);
    if (kind >= 0) {
        snprintf(ax->param, sizeof ax->param, "%s", flag);
        ax->integer = kind == 1;
        return RG_OK;
    }
    char known[1024] = "";
    for (int i = 0; i < rg_recipe_field_count(); i++) {
        rg_field_info f = {.struct_size = sizeof f};
        rg_recipe_field(i, &f);
        if (field_kind(f.name, flag, sizeof flag) >= 0) {
            strcat(known, known[0] ? ", " : "");
            strcat(known, flag);
        }
    }
    return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s: unknown key; expected PLUGIN.PARAM "
                        "(e.g. l2.lambda), reg or aug (which plugins are on) or a train "
                        "option: %s", key, known);
}

static int is_word_option(const rg_sweep_axis *ax)
{
    char flag[64];
    return ax->set || (!ax->plugin[0] && field_kind(ax->param, flag, sizeof flag) == 2);
}

static rg_status parse_range(rg_sweep_axis *ax, const char *values, const char *dots)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", values);
    char *sep = buf + (dots - values);
    *sep = '\0';
    char *hi_text = sep + 2, *kind = strchr(hi_text, ':');
    if (!kind)
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: a range is LO..HI:lin[:COUNT] "
                            "or LO..HI:log[:COUNT]", ax->key, values);
    *kind++ = '\0';
    char *count = strchr(kind, ':');
    if (count)
        *count++ = '\0';
    if (!rg_sweep_is_number(buf, &ax->lo) || !rg_sweep_is_number(hi_text, &ax->hi))
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: range ends must be numbers",
                            ax->key, values);
    if (!strcmp(kind, "lin"))
        ax->kind = RG_SWEEP_LIN;
    else if (!strcmp(kind, "log"))
        ax->kind = RG_SWEEP_LOG;
    else
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: spacing '%s', expected lin or log",
                            ax->key, values, kind);
    if (!(ax->lo < ax->hi))
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: the range needs LO < HI", ax->key,
                            values);
    if (ax->kind == RG_SWEEP_LOG && ax->lo <= 0)
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: a log range needs LO > 0", ax->key,
                            values);
    if (!count)
        return RG_OK; /* fine for --random; the grid asks for a count */
    char *end = NULL;
    long c = strtol(count, &end, 10);
    if (!count[0] || *end || c < 2 || c > RG_SWEEP_MAX_VALUES)
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: COUNT must be an integer in "
                            "[2, %d]", ax->key, values, RG_SWEEP_MAX_VALUES);
    ax->count = (int)c;
    for (int i = 0; i < ax->count; i++) {
        double t = (double)i / (double)(ax->count - 1), v;
        if (i == 0)
            v = ax->lo;
        else if (i == ax->count - 1)
            v = ax->hi;
        else if (ax->kind == RG_SWEEP_LIN)
            v = round_sig(ax->lo + t * (ax->hi - ax->lo), 6);
        else
            v = round_sig(exp(log(ax->lo) + t * (log(ax->hi) - log(ax->lo))), 6);
        if (ax->kind == RG_SWEEP_LIN && fabs(v) < 1e-9 * (ax->hi - ax->lo))
            v = 0; /* -0.3..0.6:lin:4 crosses 0, not 5.55e-17 */
        rg_status st = add_number(ax, v);
        if (st != RG_OK)
            return st;
    }
    return RG_OK;
}

rg_status rg_sweep_axis_parse(const char *arg, rg_sweep_axis *out)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s: expected KEY=VALUES, e.g. "
                            "l2.lambda=1e-5..1e-2:log:4 or lr=0.01,0.05", arg);
    char key[128];
    if ((size_t)(eq - arg) >= sizeof key)
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep: key too long");
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    rg_status st = parse_key(key, out);
    if (st != RG_OK)
        return st;
    const char *values = eq + 1;
    if (strlen(values) >= 256)
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s: VALUES longer than 255 characters", key);
    const char *dots = strstr(values, "..");
    double v;
    if (dots && !is_word_option(out))
        return parse_range(out, values, dots);
    out->kind = RG_SWEEP_LIST;
    /* ';' separates values that contain commas, e.g. model=mlp:64;mlp:128,64 */
    const char *seps = strchr(values, ';') ? ";" : ",";
    char buf[256];
    snprintf(buf, sizeof buf, "%s", values);
    for (char *p = buf;;) {
        char *next = strpbrk(p, seps);
        if (next)
            *next = '\0';
        if (!*p)
            return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: empty value in the list", key,
                                values);
        if (out->set) {
            if (!strcmp(p, "-") || strstr(p, "++") || p[0] == '+' || p[strlen(p) - 1] == '+')
                return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: '%s': expected none or "
                                    "plugins joined by '+', e.g. random_crop:padding=2+hflip",
                                    key, values, p);
            st = add_value(out, p);
        } else if (rg_sweep_is_number(p, &v)) {
            if (out->integer && v != nearbyint(v))
                return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: '%s' is not an integer",
                                    key, values, p);
            st = add_number(out, v);
        } else if (!out->plugin[0] && !is_word_option(out)) {
            return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: '%s' is not a number", key,
                                values, p);
        } else if (strpbrk(p, "=:,") && out->plugin[0]) {
            return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s=%s: '%s' cannot hold '=', ':' or "
                                "','", key, values, p);
        } else {
            st = add_value(out, p);
        }
        if (st != RG_OK)
            return st;
        if (!next)
            break;
        p = next + 1;
    }
    return RG_OK;
}

rg_status rg_sweep_grid_size(const rg_sweep_axis *axes, int n_axes, int64_t *out)
{
    int64_t total = 1;
    for (int a = 0; a < n_axes; a++) {
        if (axes[a].n == 0)
            return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s: a range needs a COUNT for --grid "
                                "(LO..HI:%s:COUNT), or use --random N", axes[a].key,
                                axes[a].kind == RG_SWEEP_LOG ? "log" : "lin");
        total *= axes[a].n;
        if (total > RG_SWEEP_MAX_TRIALS)
            return rg_cli_error_set(RG_ERR_INVALID, "the grid has more than %d combinations; use "
                                "fewer values or --random N", RG_SWEEP_MAX_TRIALS);
    }
    *out = total;
    return RG_OK;
}

void rg_sweep_grid_value(const rg_sweep_axis *axes, int n_axes, int64_t trial, int a,
                         char *buf, size_t cap)
{
    int64_t stride = 1;
    for (int b = a + 1; b < n_axes; b++)
        stride *= axes[b].n;
    snprintf(buf, cap, "%s", axes[a].values[(trial / stride) % axes[a].n]);
}

/* SplitMix64's finalizer (Steele, Lea and Flood 2014): a counter-based draw, so trial t's
 * values depend only on (seed, t, axis), never on which trials ran before. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* u in [0, 1) from 53 random bits */
static double uniform(uint64_t seed, int64_t trial, int a)
{
    uint64_t z = mix64(seed + 0x9e3779b97f4a7c15ull * (uint64_t)SWEEP_RNG_SITE);
    z = mix64(z + 0x9e3779b97f4a7c15ull * ((uint64_t)trial + 1));
    z = mix64(z + 0x9e3779b97f4a7c15ull * ((uint64_t)a + 1));
    return (double)(z >> 11) * 0x1p-53;
}

void rg_sweep_random_value(const rg_sweep_axis *ax, uint64_t seed, int64_t trial, int a,
                           char *buf, size_t cap)
{
    double u = uniform(seed, trial, a);
    if (ax->kind == RG_SWEEP_LIST) {
        int i = (int)(u * ax->n);
        snprintf(buf, cap, "%s", ax->values[i < ax->n ? i : ax->n - 1]);
        return;
    }
    double v;
    if (ax->kind == RG_SWEEP_LIN)
        v = ax->integer ? floor(ax->lo + u * (floor(ax->hi) - ax->lo + 1))
                        : ax->lo + u * (ax->hi - ax->lo);
    else
        v = exp(log(ax->lo) + u * (log(ax->hi) - log(ax->lo)));
    v = ax->integer ? nearbyint(v) : round_sig(v, 6);
    rg_sweep_format_number(v, buf, cap);
}
