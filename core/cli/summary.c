#include "summary.h"

#include <math.h>
#include <string.h>

/* 1234567 -> "1,234,567", as Keras prints parameter counts */
static void grouped(long long v, char *buf, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v), o = 0;
    char out[48];
    if (v < 0)
        out[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    snprintf(buf, cap, "%s", out);
}

static void shape_text(const rg_layer_info *l, char *buf, size_t cap)
{
    if (l->out_h == 1 && l->out_w == 1)
        snprintf(buf, cap, "%lld", (long long)l->out_c);
    else
        snprintf(buf, cap, "%lldx%lldx%lld", (long long)l->out_c, (long long)l->out_h,
                 (long long)l->out_w);
}

/* The last column cut to what is left of 80: "l2, dropout, ..." keeps whole names. */
static void fit(char *text, size_t room)
{
    if (strlen(text) <= room)
        return;
    size_t cut = room > 3 ? room - 3 : 0;
    while (cut > 0 && text[cut] != ',')
        cut--;
    snprintf(text + cut, 5, "%s", cut ? ",..." : "...");
    if (strlen(text) > room)
        text[room] = '\0';
}

long long rg_cli_model_table(FILE *f, const rg_model *m, int with_weights, rg_cli_hooks_fn hooks,
                             void *user)
{
    /* name type output params [norm zeros] touched-by: 44 (or 61) columns, then the rest */
    size_t room = with_weights ? 80 - 61 : 80 - 44;
    if (with_weights)
        fprintf(f, "%-9s %-8s %-12s %10s %9s %6s  %s\n", "layer", "type", "output", "params",
                "L2 norm", "zeros", "regularized by");
    else
        fprintf(f, "%-9s %-8s %-12s %10s  %s\n", "layer", "type", "output", "params",
                "regularized by");
    long long total = 0;
    int n = rg_model_layer_count(m);
    for (int i = 0; i < n; i++) {
        rg_layer_info l = {.struct_size = sizeof l};
        if (rg_model_get_layer(m, i, &l) != RG_OK)
            return -1;
        char shape[48], params[32], by[512] = "";
        shape_text(&l, shape, sizeof shape);
        grouped(l.parameters, params, sizeof params);
        if (hooks)
            hooks(user, i, by, sizeof by);
        fit(by, room);
        total += l.parameters;
        if (!with_weights) {
            fprintf(f, "%-9s %-8s %-12s %10s%s%s\n", l.name, l.type, shape, params,
                    by[0] ? "  " : "", by);
            continue;
        }
        char norm[32] = "-", zeros[16] = "-";
        if (l.parameters) {
            snprintf(norm, sizeof norm, "%.4g", l.weight_norm);
            snprintf(zeros, sizeof zeros, "%.1f%%", 100.0 * l.zeros);
        }
        fprintf(f, "%-9s %-8s %-12s %10s %9s %6s%s%s\n", l.name, l.type, shape, params, norm,
                zeros, by[0] ? "  " : "", by);
    }
    char t[32];
    grouped(total, t, sizeof t);
    fprintf(f, "total: %s trainable parameters in %d layers\n", t, n);
    return total;
}

void rg_cli_print_wrapped(FILE *f, const char *text, int indent)
{
    int room = 80;
    const char *p = text;
    while ((int)strlen(p) > room) {
        /* the last break point that fits: at a space, or after a comma */
        int cut = 0;
        for (int i = room; i > 0 && !cut; i--)
            if (p[i] == ' ' || p[i - 1] == ',')
                cut = i;
        if (!cut) { /* one word longer than the line: up to its end */
            cut = room + (int)strcspn(p + room, " ,");
            cut += p[cut] == ',';
        }
        fprintf(f, "%.*s\n", cut, p);
        p += cut;
        while (*p == ' ')
            p++;
        if (!*p)
            return;
        fprintf(f, "%*s", indent, "");
        room = 80 - indent;
    }
    fprintf(f, "%s\n", p);
}

void rg_cli_print_plugins(FILE *f, const char *plugins)
{
    for (const char *p = plugins; p && *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        char line[4096];
        snprintf(line, sizeof line, "  %.*s", len, p);
        rg_cli_print_wrapped(f, line, 6);
        p = nl ? nl + 1 : p + len;
    }
}
