/* The sweep plot: a metric (validation accuracy by default) against the swept
 * parameter, one point per trial, a line through the trials sorted by x, the
 * best trial ringed and named in the legend. When other parameters vary too,
 * each combination of their values is its own series (a grid search over lr
 * and l2.lambda gives one accuracy-vs-lr curve per lambda). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_error.h"
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
    const char *path, *metric;
    int higher; /* accuracy-like metrics peak, loss-like ones dip */
    trial *t;
    int m; /* trials in t */
    const char *keys[MAX_KEYS];
    int nkeys;
    int varies[MAX_KEYS], numeric[MAX_KEYS]; /* of keys[] over the trials */
    const char *xkey;                        /* NULL: the trial number */
    const char *others[MAX_KEYS]; /* varying keys other than x: they make the series */
    int nothers;
    const char *caption[MAX_KEYS]; /* varying keys other than x, named for the best trial */
    int ncaption;
    double xlo, xhi, ylo, yhi;
    int logx, logy;
    trial best;
    int groups;
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

/* Trials that finished with a finite metric; the others are counted. */
static rg_status collect_trials(sweep *sw, const rg_jsonl *j, rg_plot_info *info)
{
    int m = 0;
    for (int i = 0; i < j->nrecords; i++) {
        const rg_jsonl_record *r = &j->records[i];
        const rg_jv_field *status = rg_jsonl_get(r, NULL, "status");
        double y = rg_jsonl_number(r, NULL, sw->metric);
        int ok = !status || status->type == RG_JV_NULL ||
                 (status->type == RG_JV_STRING && !strcmp(status->string, "ok"));
        if (!ok || !isfinite(y)) {
            info->skipped++;
            continue;
        }
        double num = rg_jsonl_number(r, NULL, "trial");
        sw->t[m++] = (trial){r, NAN, y, fabs(num) < 1e9 ? (int)num : i + 1, 0};
    }
    sw->m = m;
    if (m == 0)
        return rg_cli_error_set(RG_ERR_FORMAT,
                            "%s: no plottable values (no trial has status \"ok\" and a finite %s)",
                            sw->path, sw->metric);
    return RG_OK;
}

/* Every parameter any record names, in order of first appearance, and
 * whether it varies and is numeric over the plotted trials. */
static void collect_keys(sweep *sw, const rg_jsonl *j)
{
    for (int i = 0; i < j->nrecords; i++) {
        const rg_jsonl_record *r = &j->records[i];
        for (int k = 0; k < r->nfields; k++) {
            const rg_jv_field *f = &r->fields[k];
            if (f->parent < 0 || strcmp(r->fields[f->parent].key, "params") != 0)
                continue;
            int seen = 0;
            for (int q = 0; q < sw->nkeys && !seen; q++)
                seen = !strcmp(sw->keys[q], f->key);
            if (!seen && sw->nkeys < MAX_KEYS)
                sw->keys[sw->nkeys++] = f->key;
        }
    }
    for (int k = 0; k < sw->nkeys; k++) {
        sw->numeric[k] = 1;
        for (int i = 0; i < sw->m; i++) {
            const rg_jv_field *f = param(sw->t[i].r, sw->keys[k]);
            sw->numeric[k] &= f && f->type == RG_JV_NUMBER && isfinite(f->number);
            sw->varies[k] |= compare_values(f, param(sw->t[0].r, sw->keys[k])) != 0;
        }
    }
}

/* The x parameter: asked for, else the first numeric one that varies, else
 * the trial number. */
static rg_status choose_x(sweep *sw, const rg_plot_options *o, rg_plot_info *info)
{
    if (o->param && strcmp(o->param, "trial") != 0) {
        for (int k = 0; k < sw->nkeys && !sw->xkey; k++)
            if (!strcmp(sw->keys[k], o->param))
                sw->xkey = sw->keys[k];
        if (!sw->xkey) {
            char list[512] = "";
            for (int k = 0; k < sw->nkeys; k++) {
                append(list, sizeof list, k ? ", " : "");
                append(list, sizeof list, sw->keys[k]);
            }
            return rg_cli_error_set(RG_ERR_INVALID,
                                "--param %s: no trial in %s has it (parameters: %s)", o->param,
                                sw->path, sw->nkeys ? list : "none");
        }
    } else if (!o->param) {
        int any = 0;
        for (int k = 0; k < sw->nkeys; k++)
            any |= sw->varies[k];
        for (int k = 0; k < sw->nkeys && !sw->xkey; k++)
            if (sw->varies[k] && sw->numeric[k])
                sw->xkey = sw->keys[k];
        for (int k = 0; k < sw->nkeys && !sw->xkey && !any; k++) /* nothing varies (one trial) */
            if (sw->numeric[k])
                sw->xkey = sw->keys[k];
    }
    snprintf(info->param, sizeof info->param, "%s", sw->xkey ? sw->xkey : "trial");
    return RG_OK;
}

/* Each trial's x; trials that do not set the x parameter are skipped. */
static rg_status place_trials(sweep *sw, rg_plot_info *info)
{
    int kept = 0;
    for (int i = 0; i < sw->m; i++) {
        trial *t = &sw->t[i];
        if (!sw->xkey) {
            t->x = t->number;
        } else {
            const rg_jv_field *f = param(t->r, sw->xkey);
            if (f && f->type == RG_JV_STRING)
                return rg_cli_error_set(RG_ERR_INVALID,
                                    "%s: parameter %s is not a number (\"%s\" in trial %d); "
                                    "choose another with --param", sw->path, sw->xkey,
                                    f->string, t->number);
            t->x = f ? f->number : NAN;
        }
        if (!isfinite(t->x)) {
            info->skipped++;
            continue;
        }
        sw->t[kept++] = *t;
    }
    sw->m = kept;
    if (kept == 0)
        return rg_cli_error_set(RG_ERR_FORMAT, "%s: no plottable values (no trial sets %s)",
                            sw->path, sw->xkey);
    /* Against the trial number, a numeric parameter would make a series per
     * trial; only named choices (an optimizer, a schedule) group trials. */
    for (int k = 0; k < sw->nkeys; k++)
        if (sw->varies[k] && (!sw->xkey || strcmp(sw->keys[k], sw->xkey) != 0)) {
            sw->caption[sw->ncaption++] = sw->keys[k];
            if (sw->xkey || !sw->numeric[k])
                sw->others[sw->nothers++] = sw->keys[k];
        }
    return RG_OK;
}

/* Data limits, the best trial and the scales of both axes. */
static rg_status fit_ranges(sweep *sw, const rg_plot_options *o, rg_plot_info *info)
{
    const trial *t = sw->t;
    sw->xlo = sw->ylo = INFINITY;
    sw->xhi = sw->yhi = -INFINITY;
    int best = 0;
    for (int i = 0; i < sw->m; i++) {
        sw->xlo = fmin(sw->xlo, t[i].x);
        sw->xhi = fmax(sw->xhi, t[i].x);
        sw->ylo = fmin(sw->ylo, t[i].y);
        sw->yhi = fmax(sw->yhi, t[i].y);
        if (sw->higher ? t[i].y > t[best].y : t[i].y < t[best].y)
            best = i;
    }
    if (o->x_scale == RG_PLOT_SCALE_LOG) {
        if (sw->xlo <= 0)
            return rg_cli_error_set(RG_ERR_INVALID, "--log-x: %s has values <= 0 (smallest %g)",
                                info->param, sw->xlo);
        sw->logx = 1;
    } else {
        /* A factor of 20 is where a linear axis crowds the small values into
         * the first twentieth (lr 1e-3 and 5e-3 beside 0.05). */
        sw->logx = o->x_scale == RG_PLOT_SCALE_AUTO && sw->xlo > 0 && sw->xhi / sw->xlo > 20;
    }
    if (o->y_scale == RG_PLOT_SCALE_LOG && sw->ylo <= 0)
        return rg_cli_error_set(RG_ERR_INVALID, "--log-y: %s has values <= 0 (smallest %g)",
                            sw->metric, sw->ylo);
    sw->logy = o->y_scale == RG_PLOT_SCALE_LOG;
    sw->best = t[best];
    info->best_x = sw->best.x;
    info->best_y = sw->best.y;
    info->best_trial = sw->best.number;
    info->points = sw->m;
    return RG_OK;
}

/* Series: trials grouped by the values of the other varying parameters,
 * sorted by x within a series. */
static void group_series(sweep *sw, rg_plot_info *info)
{
    g_sort_sweep = sw;
    qsort(sw->t, (size_t)sw->m, sizeof *sw->t, by_group_values);
    int groups = 0;
    for (int i = 0; i < sw->m; i++) {
        int same = 1;
        for (int k = 0; i > 0 && k < sw->nothers && same; k++)
            same = compare_values(param(sw->t[i].r, sw->others[k]),
                                  param(sw->t[i - 1].r, sw->others[k])) == 0;
        if (i == 0 || !same)
            groups++;
        sw->t[i].group = groups - 1;
    }
    sw->groups = groups;
    info->series = groups;
}

/* One entry per series (the palette repeats after ten, so the legend stops
 * there), then the best trial; the number of entries. */
static int legend_entries(const sweep *sw, rg_legend_entry *e, char (*labels)[160])
{
    int ne = 0, groups = sw->groups;
    for (int g = 0, i = 0; groups > 1 && g < groups && ne < LEGEND_MAX; g++) {
        while (sw->t[i].group != g)
            i++;
        if (ne < LEGEND_MAX - 1 || groups == LEGEND_MAX) {
            params_label(sw->others, sw->nothers, sw->t[i].r, labels[ne], sizeof labels[ne]);
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
    return ne;
}

/* A line per series through its trials, the best trial ringed. xs has room
 * for 2 * m values. */
static void draw_trials(rg_fig *fig, rg_plot_rect a, const rg_plot_axis *xa,
                        const rg_plot_axis *ya, const sweep *sw, double *xs, rg_obstacles *obst)
{
    double *ys = xs + sw->m;
    for (int g = 0, i = 0; g < sw->groups; g++) {
        int c = 0;
        for (; i < sw->m && sw->t[i].group == g; i++, c++) {
            xs[c] = sw->t[i].x;
            ys[c] = sw->t[i].y;
        }
        rg_draw_series(fig, a, xa, ya, xs, ys, c, rg_plot_palette[g % RG_PLOT_PALETTE_SIZE], 1,
                       obst);
    }
    rg_draw_ring(fig, rg_map_x(a, xa, sw->best.x), rg_map_y(a, ya, sw->best.y), 8,
                 RG_PLOT_COLOR_BEST);
}

/* The best trial's numbers above the plot, like a caption: beside the point
 * they would sit on the curves, which crowd there by definition. */
static void draw_best_caption(rg_fig *fig, rg_plot_rect a, const sweep *sw)
{
    const trial *b = &sw->best;
    const char *xkey = sw->xkey;
    char text[512], xv[64], others[256];
    snprintf(xv, sizeof xv, "%g", b->x);
    params_label(sw->caption, sw->ncaption, b->r, others, sizeof others);
    int nb = snprintf(text, sizeof text, "best: trial %d, %s %.4g", b->number,
                      metric_title(sw->metric), b->y);
    if (nb > 0 && (size_t)nb < sizeof text && (xkey || sw->ncaption))
        snprintf(text + nb, sizeof text - (size_t)nb, " at %s%s%s%s%s", xkey ? xkey : "",
                 xkey ? "=" : "", xkey ? xv : "", xkey && sw->ncaption ? ", " : "", others);
    double s = fig->s, bw = rg_text_width(fig, text, RG_FONT_NOTE, 0);
    rg_draw_color(fig, RG_PLOT_COLOR_BEST);
    rg_draw_text(fig, text, RG_FONT_NOTE, 0, fmax(a.x0, (a.x0 + a.x1 - bw) / 2), a.y0 - 7 * s,
                 0.0, 1.0);
}

/* The figure: title, axes, series, best trial and legend, written to out. */
static rg_status draw_sweep(const sweep *sw, const rg_plot_options *o, const char *out,
                            rg_plot_info *info, double *xs)
{
    rg_fig fig = {0};
    rg_obstacles obst = {0};
    int W = o->width ? o->width : RG_PLOT_SWEEP_WIDTH;
    int H = o->height ? o->height : RG_PLOT_SWEEP_HEIGHT;
    rg_status st = rg_fig_create(&fig, W, H, 1);
    if (st != RG_OK)
        goto done;
    double s = fig.s, margin = 12 * s;
    double top = rg_draw_title(&fig, o->title);
    info->width = W;
    info->height = H;
    info->npanels = 1;
    rg_plot_rect box = {margin, top, W - margin, H - margin * 0.5};

    rg_legend_entry e[LEGEND_MAX + 2];
    char labels[LEGEND_MAX][160];
    int ne = legend_entries(sw, e, labels);
    /* Several series make a tall legend that would cover curves: it gets a
     * column of its own on the right when that leaves the plot most of the
     * width. */
    double lw, lh;
    rg_legend_size(&fig, e, ne, &lw, &lh);
    int outside = sw->groups > 1 && lw < 0.4 * W;
    if (outside)
        box.x1 -= lw + 4 * s;

    rg_plot_axis *xa = &info->x[0], *ya = &info->y[0];
    int xt = (int)((box.x1 - box.x0) / (75 * s));
    rg_plot_axis_fit(xa, sw->xlo, sw->xhi, sw->logx, !sw->xkey, 0.05, xt < 3 ? 3 : xt);
    rg_plot_axis_fit(ya, sw->ylo, sw->yhi, sw->logy, 0, 0.08, 6);
    rg_plot_rect a = rg_layout_area(&fig, box, ya, 26);
    if (!rg_area_ok(a)) {
        st = rg_cli_error_set(RG_ERR_INVALID, "image size %dx%d is too small for the plot", W, H);
        goto done;
    }
    info->area[0] = a;
    char xtitle[192];
    snprintf(xtitle, sizeof xtitle, "%s%s", info->param, sw->logx ? " (log scale)" : "");
    rg_draw_axes(&fig, a, xa, ya, xtitle, metric_title(sw->metric));
    draw_trials(&fig, a, xa, ya, sw, xs, &obst);
    draw_best_caption(&fig, a, sw);
    if (outside)
        rg_draw_legend_at(&fig, box.x1 + 4 * s, a.y0, e, ne);
    else
        rg_draw_legend(&fig, a, e, ne, &obst);
    st = rg_fig_write(&fig, out);
done:
    rg_fig_destroy(&fig);
    rg_obstacles_free(&obst);
    return st;
}

rg_status rg_plot_sweep(const char *path, const rg_jsonl *j, const rg_plot_options *o,
                        const char *out, rg_plot_info *info)
{
    sweep sw;
    memset(&sw, 0, sizeof sw);
    sw.path = path;
    sw.metric = o->metric ? o->metric : "val_accuracy";
    sw.higher = strstr(sw.metric, "loss") == NULL;
    int n = j->nrecords;
    sw.t = calloc((size_t)n, sizeof *sw.t);
    double *xs = malloc((size_t)n * 2 * sizeof *xs);
    rg_status st = RG_OK;
    if (!sw.t || !xs) {
        st = rg_cli_error_set(RG_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    snprintf(info->metric, sizeof info->metric, "%s", sw.metric);
    if ((st = collect_trials(&sw, j, info)) != RG_OK)
        goto done;
    collect_keys(&sw, j);
    if ((st = choose_x(&sw, o, info)) != RG_OK || (st = place_trials(&sw, info)) != RG_OK ||
        (st = fit_ranges(&sw, o, info)) != RG_OK)
        goto done;
    group_series(&sw, info);
    st = draw_sweep(&sw, o, out, info, xs);
done:
    free(sw.t);
    free(xs);
    return st;
}
