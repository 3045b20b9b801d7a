/* The sweep plot: a metric (validation accuracy by default) against the swept
 * parameter, one point per trial, a line through the trials sorted by x, the
 * best trial ringed and named in the legend. When other parameters vary too,
 * each combination of their values is its own series (a grid search over lr
 * and l2.lambda gives one accuracy-vs-lr curve per lambda). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "draw.h"

#define MAX_KEYS 64
#define LEGEND_MAX 10

typedef struct trial {
    const rg_jsonl_record *r;
    double x, y;
    int number;
    int group;
} trial;

typedef struct sweep {
    const char *keys[MAX_KEYS];
    int nkeys;
    const char *others[MAX_KEYS]; /* varying keys other than x: they make the series */
    int nothers;
    const char *caption[MAX_KEYS]; /* varying keys other than x, named for the best trial */
    int ncaption;
} sweep;

static const rg_jv_field *param(const rg_jsonl_record *r, const char *key)
{
    const rg_jv_field *f = rg_jsonl_get(r, "params", key);
    return f && (f->type == RG_JV_NUMBER || f->type == RG_JV_STRING) ? f : NULL;
}

/* -1, 0, 1 ordering of one parameter's values: absent first, numbers by
 * value, strings alphabetically after numbers. */
static int compare_values(const rg_jv_field *a, const rg_jv_field *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    if (a->type != b->type)
        return a->type == RG_JV_NUMBER ? -1 : 1;
    if (a->type == RG_JV_NUMBER)
        return a->number < b->number ? -1 : a->number > b->number;
    return strcmp(a->string, b->string);
}

/* qsort has no context argument in C11; per thread, so concurrent plots are safe. */
static _Thread_local const sweep *g_sort_sweep;

static int by_group_values(const void *pa, const void *pb)
{
    const trial *a = pa, *b = pb;
    for (int k = 0; k < g_sort_sweep->nothers; k++) {
        int c = compare_values(param(a->r, g_sort_sweep->others[k]),
                               param(b->r, g_sort_sweep->others[k]));
        if (c)
            return c;
    }
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    return a->number - b->number;
}

static void append(char *buf, size_t cap, const char *text)
{
    size_t n = strlen(buf);
    if (n + 1 < cap)
        snprintf(buf + n, cap - n, "%s", text);
}

static void format_value(const rg_jv_field *f, char *buf, size_t cap)
{
    if (!f)
        snprintf(buf, cap, "none");
    else if (f->type == RG_JV_NUMBER)
        snprintf(buf, cap, "%g", f->number);
    else
        snprintf(buf, cap, "%s", f->string);
}

/* "k=v, k2=v2" for the given keys of the trial. */
static void params_label(const char *const *keys, int n, const rg_jsonl_record *r, char *buf,
                         size_t cap)
{
    buf[0] = '\0';
    for (int k = 0; k < n; k++) {
        char v[128];
        format_value(param(r, keys[k]), v, sizeof v);
        if (k)
            append(buf, cap, ", ");
        append(buf, cap, keys[k]);
        append(buf, cap, "=");
        append(buf, cap, v);
    }
}

static const char *metric_title(const char *metric)
{
    if (!strcmp(metric, "val_accuracy"))
        return "validation accuracy";
    if (!strcmp(metric, "val_loss"))
        return "validation loss";
    return metric;
}

rg_status rg_plot_sweep(const char *path, const rg_jsonl *j, const rg_plot_options *o,
                        const char *out, rg_plot_info *info)
{
    const char *metric = o->metric ? o->metric : "val_accuracy";
    /* Accuracy-like metrics peak, loss-like ones dip. */
    int higher = strstr(metric, "loss") == NULL;
    int n = j->nrecords;
    trial *t = calloc((size_t)n, sizeof *t);
    double *xs = malloc((size_t)n * 2 * sizeof *xs);
    rg_fig fig = {0};
    rg_obstacles obst = {0};
    sweep sw;
    memset(&sw, 0, sizeof sw);
    rg_status st = RG_OK;
    if (!t || !xs) {
        st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    snprintf(info->metric, sizeof info->metric, "%s", metric);

    /* Trials that finished with a finite metric; the others are counted. */
    int m = 0;
    for (int i = 0; i < n; i++) {
        const rg_jsonl_record *r = &j->records[i];
        const rg_jv_field *status = rg_jsonl_get(r, NULL, "status");
        double y = rg_jsonl_number(r, NULL, metric);
        int ok = !status || status->type == RG_JV_NULL ||
                 (status->type == RG_JV_STRING && !strcmp(status->string, "ok"));
        if (!ok || !isfinite(y)) {
            info->skipped++;
            continue;
        }
        double num = rg_jsonl_number(r, NULL, "trial");
        t[m++] = (trial){r, NAN, y, fabs(num) < 1e9 ? (int)num : i + 1, 0};
    }
    if (m == 0) {
        st = rg_error_set(RG_ERR_FORMAT,
                          "%s: no plottable values (no trial has status \"ok\" and a finite %s)",
                          path, metric);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const rg_jsonl_record *r = &j->records[i];
        for (int k = 0; k < r->nfields; k++) {
            const rg_jv_field *f = &r->fields[k];
            if (f->parent < 0 || strcmp(r->fields[f->parent].key, "params") != 0)
                continue;
            int seen = 0;
            for (int q = 0; q < sw.nkeys && !seen; q++)
                seen = !strcmp(sw.keys[q], f->key);
            if (!seen && sw.nkeys < MAX_KEYS)
                sw.keys[sw.nkeys++] = f->key;
        }
    }
    int varies[MAX_KEYS] = {0}, numeric[MAX_KEYS] = {0};
    for (int k = 0; k < sw.nkeys; k++) {
        numeric[k] = 1;
        for (int i = 0; i < m; i++) {
            const rg_jv_field *f = param(t[i].r, sw.keys[k]);
            numeric[k] &= f && f->type == RG_JV_NUMBER && isfinite(f->number);
            varies[k] |= compare_values(f, param(t[0].r, sw.keys[k])) != 0;
        }
    }
    /* The x parameter: asked for, else the first numeric one that varies,
     * else the trial number. */
    const char *xkey = NULL;
    if (o->param && strcmp(o->param, "trial") != 0) {
        int found = -1;
        for (int k = 0; k < sw.nkeys && found < 0; k++)
            if (!strcmp(sw.keys[k], o->param))
                found = k;
        if (found < 0) {
            char list[512] = "";
            for (int k = 0; k < sw.nkeys; k++) {
                append(list, sizeof list, k ? ", " : "");
                append(list, sizeof list, sw.keys[k]);
            }
            st = rg_error_set(RG_ERR_INVALID, "--param %s: no trial in %s has it (parameters: %s)",
                              o->param, path, sw.nkeys ? list : "none");
            goto done;
        }
        xkey = sw.keys[found];
    } else if (!o->param) {
        for (int k = 0; k < sw.nkeys && !xkey; k++)
            if (varies[k] && numeric[k])
                xkey = sw.keys[k];
        int any = 0;
        for (int k = 0; k < sw.nkeys; k++)
            any |= varies[k];
        for (int k = 0; k < sw.nkeys && !xkey && !any; k++) /* nothing varies (one trial) */
            if (numeric[k])
                xkey = sw.keys[k];
    }
    snprintf(info->param, sizeof info->param, "%s", xkey ? xkey : "trial");
    int kept = 0;
    for (int i = 0; i < m; i++) {
        if (!xkey) {
            t[i].x = t[i].number;
        } else {
            const rg_jv_field *f = param(t[i].r, xkey);
            if (f && f->type == RG_JV_STRING) {
                st = rg_error_set(RG_ERR_INVALID,
                                  "%s: parameter %s is not a number (\"%s\" in trial %d); "
                                  "choose another with --param", path, xkey, f->string,
                                  t[i].number);
                goto done;
            }
            t[i].x = f ? f->number : NAN;
        }
        if (!isfinite(t[i].x)) { /* this trial did not set the parameter */
            info->skipped++;
            continue;
        }
        t[kept++] = t[i];
    }
    m = kept;
    if (m == 0) {
        st = rg_error_set(RG_ERR_FORMAT, "%s: no plottable values (no trial sets %s)", path, xkey);
        goto done;
    }
    /* Against the trial number, a numeric parameter would make a series per
     * trial; only named choices (an optimizer, a schedule) group trials. */
    for (int k = 0; k < sw.nkeys; k++)
        if (varies[k] && (!xkey || strcmp(sw.keys[k], xkey) != 0)) {
            sw.caption[sw.ncaption++] = sw.keys[k];
            if (xkey || !numeric[k])
                sw.others[sw.nothers++] = sw.keys[k];
        }

    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    int best = 0;
    for (int i = 0; i < m; i++) {
        xlo = fmin(xlo, t[i].x);
        xhi = fmax(xhi, t[i].x);
        ylo = fmin(ylo, t[i].y);
        yhi = fmax(yhi, t[i].y);
        if (higher ? t[i].y > t[best].y : t[i].y < t[best].y)
            best = i;
    }
    int logx;
    if (o->x_scale == RG_PLOT_SCALE_LOG) {
        if (xlo <= 0) {
            st = rg_error_set(RG_ERR_INVALID, "--log-x: %s has values <= 0 (smallest %g)",
                              info->param, xlo);
            goto done;
        }
        logx = 1;
    } else {
        /* A factor of 20 is where a linear axis crowds the small values into
         * the first twentieth (lr 1e-3 and 5e-3 beside 0.05). */
        logx = o->x_scale == RG_PLOT_SCALE_AUTO && xlo > 0 && xhi / xlo > 20;
    }
    if (o->y_scale == RG_PLOT_SCALE_LOG && ylo <= 0) {
        st = rg_error_set(RG_ERR_INVALID, "--log-y: %s has values <= 0 (smallest %g)", metric, ylo);
        goto done;
    }
    int logy = o->y_scale == RG_PLOT_SCALE_LOG;
    info->best_x = t[best].x;
    info->best_y = t[best].y;
    info->best_trial = t[best].number;
    info->points = m;
    const trial best_trial = t[best];

    /* Series: trials grouped by the values of the other varying parameters. */
    g_sort_sweep = &sw;
    qsort(t, (size_t)m, sizeof *t, by_group_values);
    int groups = 0;
    for (int i = 0; i < m; i++) {
        int same = 1;
        for (int k = 0; i > 0 && k < sw.nothers && same; k++)
            same = compare_values(param(t[i].r, sw.others[k]), param(t[i - 1].r, sw.others[k])) == 0;
        if (i == 0 || !same)
            groups++;
        t[i].group = groups - 1;
    }
    info->series = groups;

    int W = o->width ? o->width : RG_PLOT_SWEEP_WIDTH;
    int H = o->height ? o->height : RG_PLOT_SWEEP_HEIGHT;
    if ((st = rg_fig_create(&fig, W, H, 1)) != RG_OK)
        goto done;
    double s = fig.s, margin = 12 * s;
    double top = rg_draw_title(&fig, o->title);
    info->width = W;
    info->height = H;
    info->npanels = 1;
    rg_plot_rect box = {margin, top, W - margin, H - margin * 0.5};

    /* Legend entries: one per series (the palette repeats after ten, so the
     * legend stops there), then the best trial. */
    rg_legend_entry e[LEGEND_MAX + 2];
    char labels[LEGEND_MAX][160];
    int ne = 0;
    for (int g = 0, i = 0; groups > 1 && g < groups && ne < LEGEND_MAX; g++) {
        while (t[i].group != g)
            i++;
        if (ne < LEGEND_MAX - 1 || groups == LEGEND_MAX) {
            params_label(sw.others, sw.nothers, t[i].r, labels[ne], sizeof labels[ne]);
            e[ne] = (rg_legend_entry){labels[ne], rg_plot_palette[g % RG_PLOT_PALETTE_SIZE],
                                      RG_LEGEND_LINE_DOT};
        } else {
            snprintf(labels[ne], sizeof labels[ne], "(%d more series)", groups - ne);
            e[ne] = (rg_legend_entry){labels[ne], 0x999999, RG_LEGEND_LINE};
        }
        ne++;
    }
    if (groups == 1)
        e[ne++] = (rg_legend_entry){"trials", rg_plot_palette[0], RG_LEGEND_LINE_DOT};
    e[ne++] = (rg_legend_entry){"best trial", RG_PLOT_COLOR_BEST, RG_LEGEND_RING};
    /* Several series make a tall legend that would cover curves: it gets a
     * column of its own on the right when that leaves the plot most of the
     * width. */
    double lw, lh;
    rg_legend_size(&fig, e, ne, &lw, &lh);
    int outside = groups > 1 && lw < 0.4 * W;
    if (outside)
        box.x1 -= lw + 4 * s;

    rg_plot_axis *xa = &info->x[0], *ya = &info->y[0];
    int xt = (int)((box.x1 - box.x0) / (75 * s));
    rg_plot_axis_fit(xa, xlo, xhi, logx, !xkey, 0.05, xt < 3 ? 3 : xt);
    rg_plot_axis_fit(ya, ylo, yhi, logy, 0, 0.08, 6);
    rg_plot_rect a = rg_layout_area(&fig, box, ya, 26);
    if (!rg_area_ok(a)) {
        st = rg_error_set(RG_ERR_INVALID, "image size %dx%d is too small for the plot", W, H);
        goto done;
    }
    info->area[0] = a;
    char xtitle[192];
    snprintf(xtitle, sizeof xtitle, "%s%s", info->param, logx ? " (log scale)" : "");
    rg_draw_axes(&fig, a, xa, ya, xtitle, metric_title(metric));

    double *ys = xs + n;
    for (int g = 0, i = 0; g < groups; g++) {
        int c = 0;
        for (; i < m && t[i].group == g; i++, c++) {
            xs[c] = t[i].x;
            ys[c] = t[i].y;
        }
        rg_draw_series(&fig, a, xa, ya, xs, ys, c, rg_plot_palette[g % RG_PLOT_PALETTE_SIZE], 1,
                       &obst);
    }
    rg_draw_ring(&fig, rg_map_x(a, xa, best_trial.x), rg_map_y(a, ya, best_trial.y), 8,
                 RG_PLOT_COLOR_BEST);

    /* The best trial's numbers above the plot, like a caption: beside the
     * point they would sit on the curves, which crowd there by definition. */
    char best_text[512], xv[64], others[256];
    snprintf(xv, sizeof xv, "%g", best_trial.x);
    params_label(sw.caption, sw.ncaption, best_trial.r, others, sizeof others);
    int nb = snprintf(best_text, sizeof best_text, "best: trial %d, %s %.4g",
                      best_trial.number, metric_title(metric), best_trial.y);
    if (nb > 0 && (size_t)nb < sizeof best_text && (xkey || sw.ncaption))
        snprintf(best_text + nb, sizeof best_text - (size_t)nb, " at %s%s%s%s%s",
                 xkey ? xkey : "", xkey ? "=" : "", xkey ? xv : "",
                 xkey && sw.ncaption ? ", " : "", others);
    double bw = rg_text_width(&fig, best_text, RG_FONT_NOTE, 0);
    rg_draw_color(&fig, RG_PLOT_COLOR_BEST);
    rg_draw_text(&fig, best_text, RG_FONT_NOTE, 0, fmax(a.x0, (a.x0 + a.x1 - bw) / 2),
                 a.y0 - 7 * s, 0.0, 1.0);

    if (outside)
        rg_draw_legend_at(&fig, box.x1 + 4 * s, a.y0, e, ne);
    else
        rg_draw_legend(&fig, a, e, ne, &obst);
    st = rg_fig_write(&fig, out);
done:
    rg_fig_destroy(&fig);
    rg_obstacles_free(&obst);
    free(t);
    free(xs);
    return st;
}
