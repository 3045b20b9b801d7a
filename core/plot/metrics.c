/* The metrics plot: loss and accuracy per epoch, train against validation,
 * the best epoch (lowest validation loss, what early stopping restores)
 * marked in both panels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_error.h"
#include "draw.h"

typedef struct row {
    double epoch;
    int rec;
} row;

static int by_epoch(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    if (a->epoch != b->epoch)
        return a->epoch < b->epoch ? -1 : 1;
    return a->rec - b->rec;
}

/* Non-finite values (NaN from a diverged run, overflow) are not plotted. */
static double value(const rg_jsonl_record *r, const char *key)
{
    double v = rg_jsonl_number(r, NULL, key);
    return isfinite(v) ? v : NAN;
}

static void range_of(const double *a, int n, double *lo, double *hi, int *count)
{
    for (int i = 0; i < n; i++)
        if (isfinite(a[i])) {
            *lo = fmin(*lo, a[i]);
            *hi = fmax(*hi, a[i]);
            (*count)++;
        }
}

typedef struct panel {
    const char *ytitle;
    const double *train, *val;
    double lo, hi;
    int count, ntrain, nval, log;
} panel;

static void draw_note(rg_fig *f, rg_plot_rect a, const char *text)
{
    rg_draw_color(f, 0x888888);
    rg_draw_text(f, text, RG_FONT_NOTE, 0, (a.x0 + a.x1) / 2, (a.y0 + a.y1) / 2, 0.5, 0.5);
}

/* The best-epoch label above the area, centred on the marker but kept
 * inside the area's width. */
static void draw_marker_label(rg_fig *f, rg_plot_rect a, double px, const char *text,
                              const char *shorter)
{
    double w = rg_text_width(f, text, RG_FONT_NOTE, 0);
    if (w > a.x1 - a.x0) { /* a small figure: the short form */
        text = shorter;
        w = rg_text_width(f, text, RG_FONT_NOTE, 0);
    }
    double x = px - w / 2;
    if (x + w > a.x1)
        x = a.x1 - w;
    if (x < a.x0)
        x = a.x0;
    rg_draw_color(f, RG_PLOT_COLOR_BEST);
    rg_draw_text(f, text, RG_FONT_NOTE, 0, x, a.y0 - 7 * f->s, 0.0, 1.0);
}

rg_status rg_plot_metrics(const char *path, const rg_jsonl *j, const rg_plot_options *o,
                          const char *out, rg_plot_info *info)
{
    int n = j->nrecords;
    row *rows = malloc((size_t)n * sizeof *rows);
    double *buf = malloc((size_t)n * 5 * sizeof *buf);
    rg_fig fig = {0};
    rg_obstacles obst[2] = {{0}};
    rg_status st = RG_OK;
    if (!rows || !buf) {
        st = rg_cli_error_set(RG_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    /* A record without an epoch follows the one before it; step records stay out. */
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (rg_jsonl_is_extra(&j->records[i]))
            continue;
        double e = rg_jsonl_number(&j->records[i], NULL, "epoch");
        rows[kept].epoch = isfinite(e) ? e : (kept ? rows[kept - 1].epoch + 1 : 1);
        rows[kept].rec = i;
        kept++;
    }
    n = kept;
    /* Sorted by epoch; when an epoch repeats (a run resumed from an older
     * checkpoint appends to the same file) the later record wins. */
    qsort(rows, (size_t)n, sizeof *rows, by_epoch);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && rows[m - 1].epoch == rows[i].epoch)
            m--;
        rows[m++] = rows[i];
    }
    double *ep = buf, *tl = buf + n, *vl = buf + 2 * n, *ta = buf + 3 * n, *va = buf + 4 * n;
    double xlo = INFINITY, xhi = -INFINITY;
    for (int i = 0; i < m; i++) {
        const rg_jsonl_record *r = &j->records[rows[i].rec];
        ep[i] = rows[i].epoch;
        tl[i] = value(r, "train_loss");
        vl[i] = value(r, "val_loss");
        ta[i] = value(r, "train_accuracy");
        va[i] = value(r, "val_accuracy");
        if (isfinite(tl[i]) || isfinite(vl[i]) || isfinite(ta[i]) || isfinite(va[i])) {
            xlo = fmin(xlo, ep[i]);
            xhi = fmax(xhi, ep[i]);
            info->points++;
        }
    }
    if (info->points == 0) {
        st = rg_cli_error_set(RG_ERR_FORMAT,
                          "%s: no plottable values (no record has a finite train_loss, "
                          "val_loss, train_accuracy or val_accuracy)", path);
        goto done;
    }

    panel p[2] = {{"loss", tl, vl, INFINITY, -INFINITY, 0, 0, 0, 0},
                  {"accuracy", ta, va, INFINITY, -INFINITY, 0, 0, 0, 0}};
    for (int k = 0; k < 2; k++) {
        range_of(p[k].train, m, &p[k].lo, &p[k].hi, &p[k].ntrain);
        range_of(p[k].val, m, &p[k].lo, &p[k].hi, &p[k].nval);
        p[k].count = p[k].ntrain + p[k].nval;
    }
    /* Loss spanning orders of magnitude (a diverging start, a tiny final
     * loss) reads on a log axis; accuracy is always linear. */
    if (o->y_scale == RG_PLOT_SCALE_LOG) {
        for (int i = 0; i < m; i++)
            for (int s = 0; s < 2; s++) {
                double v = s ? vl[i] : tl[i];
                if (isfinite(v) && v <= 0) {
                    st = rg_cli_error_set(RG_ERR_INVALID,
                                      "--log-y: %s %s is %g at epoch %g; a log axis needs "
                                      "values > 0", path, s ? "val_loss" : "train_loss", v, ep[i]);
                    goto done;
                }
            }
        p[0].log = p[0].count > 0;
    } else if (o->y_scale == RG_PLOT_SCALE_AUTO) {
        p[0].log = p[0].count > 0 && p[0].lo > 0 && p[0].hi / p[0].lo > 100;
    }

    int best = -1;
    for (int i = 0; i < m; i++)
        if (isfinite(vl[i]) && (best < 0 || vl[i] < vl[best]))
            best = i;

    int W = o->width ? o->width : RG_PLOT_METRICS_WIDTH;
    int H = o->height ? o->height : RG_PLOT_METRICS_HEIGHT;
    if ((st = rg_fig_create(&fig, W, H, 2)) != RG_OK)
        goto done;
    double s = fig.s, margin = 12 * s, gap = 28 * s;
    double top = rg_draw_title(&fig, o->title);
    info->width = W;
    info->height = H;
    info->npanels = 2;
    for (int k = 0; k < 2; k++) {
        rg_plot_rect box = {k ? W / 2.0 + gap / 2 : margin, top, k ? W - margin : W / 2.0 - gap / 2,
                            H - margin * 0.5};
        rg_plot_axis *xa = &info->x[k], *ya = &info->y[k];
        int xt = (int)((box.x1 - box.x0) / (75 * s));
        rg_plot_axis_fit(xa, xlo, xhi, 0, 1, 0.03, xt < 3 ? 3 : xt);
        if (p[k].count)
            rg_plot_axis_fit(ya, p[k].lo, p[k].hi, p[k].log, 0, 0.06, 6);
        else
            rg_plot_axis_fit(ya, 0, 1, 0, 0, 0, 5);
        rg_plot_rect a = rg_layout_area(&fig, box, ya, 26);
        if (!rg_area_ok(a)) {
            st = rg_cli_error_set(RG_ERR_INVALID, "image size %dx%d is too small for two panels",
                              W, H);
            goto done;
        }
        info->area[k] = a;
        char ytitle[64];
        snprintf(ytitle, sizeof ytitle, "%s%s", p[k].ytitle, p[k].log ? " (log scale)" : "");
        rg_draw_axes(&fig, a, xa, ya, "epoch", ytitle);
        if (!p[k].count) {
            char note[64];
            snprintf(note, sizeof note, "no %s values", p[k].ytitle);
            draw_note(&fig, a, note);
            continue;
        }
        int dots = m <= 40;
        if (best >= 0)
            rg_draw_vline_dashed(&fig, a, rg_map_x(a, xa, ep[best]), RG_PLOT_COLOR_BEST,
                                 &obst[k]);
        rg_draw_series(&fig, a, xa, ya, ep, p[k].train, m, RG_PLOT_COLOR_TRAIN, dots, &obst[k]);
        rg_draw_series(&fig, a, xa, ya, ep, p[k].val, m, RG_PLOT_COLOR_VAL, dots, &obst[k]);
        char label[128], shorter[64];
        if (best >= 0) {
            double bx = rg_map_x(a, xa, ep[best]);
            double bv = p[k].val[best];
            if (isfinite(bv) && (!ya->log || bv > 0))
                rg_draw_ring(&fig, bx, rg_map_y(a, ya, bv), 7, RG_PLOT_COLOR_BEST);
            if (k == 0)
                snprintf(label, sizeof label, "best epoch %g: val loss %.4g", ep[best], bv);
            else if (isfinite(bv))
                snprintf(label, sizeof label, "epoch %g: val accuracy %.4g", ep[best], bv);
            else
                snprintf(label, sizeof label, "best epoch %g", ep[best]);
            snprintf(shorter, sizeof shorter, "epoch %g", ep[best]);
            draw_marker_label(&fig, a, bx, label, shorter);
        }
        rg_legend_entry e[3];
        int ne = 0;
        rg_legend_style style = dots ? RG_LEGEND_LINE_DOT : RG_LEGEND_LINE;
        if (p[k].ntrain)
            e[ne++] = (rg_legend_entry){"train", RG_PLOT_COLOR_TRAIN, style};
        if (p[k].nval)
            e[ne++] = (rg_legend_entry){"validation", RG_PLOT_COLOR_VAL, style};
        if (best >= 0 && k == 0)
            e[ne++] = (rg_legend_entry){"best epoch", RG_PLOT_COLOR_BEST, RG_LEGEND_DASH};
        rg_draw_legend(&fig, a, e, ne, &obst[k]);
    }
    if (best >= 0) {
        info->best_x = ep[best];
        info->best_y = vl[best];
    }
    st = rg_fig_write(&fig, out);
done:
    rg_fig_destroy(&fig);
    rg_obstacles_free(&obst[0]);
    rg_obstacles_free(&obst[1]);
    free(rows);
    free(buf);
    return st;
}
