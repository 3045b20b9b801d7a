/* regula sweep report: the figure (report.h). Top row: the regularization
 * path of each swept numeric parameter; bottom row: every trial's validation
 * loss and accuracy per epoch, coloured by its verdict. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_error.h"
#include "draw.h"
#include "report.h"

static const rg_jv_field *param_of(const rg_jsonl_record *r, const char *key)
{
    const rg_jv_field *f = rg_jsonl_get(r, "params", key);
    return f && f->type == RG_JV_NUMBER ? f : NULL;
}

static int better(const rg_report *rep, double a, double b)
{
    return rep->higher ? a > b : a < b;
}

static unsigned verdict_color(rg_fit_verdict v)
{
    return v == RG_FIT_OVERFIT ? RG_REPORT_COLOR_OVERFIT
           : v == RG_FIT_UNDERFIT ? RG_REPORT_COLOR_UNDERFIT
                                  : RG_REPORT_COLOR_OTHER;
}

/* A thin polyline through the finite points, clipped to the area. */
static void thin_line(rg_fig *f, rg_plot_rect a, const rg_plot_axis *x, const rg_plot_axis *y,
                      const double *xs, const double *ys, int n, unsigned color, double width,
                      int dashed, rg_obstacles *obst)
{
    cairo_t *cr = f->cr;
    cairo_save(cr);
    cairo_rectangle(cr, a.x0, a.y0, a.x1 - a.x0, a.y1 - a.y0);
    cairo_clip(cr);
    rg_draw_color(f, color);
    cairo_set_line_width(cr, width * f->s);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    double dash[2] = {6 * f->s, 4 * f->s};
    cairo_set_dash(cr, dashed ? dash : NULL, dashed ? 2 : 0, 0);
    int open = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(xs[i]) || !isfinite(ys[i]) || (y->log && ys[i] <= 0)) {
            open = 0;
            continue;
        }
        double px = rg_map_x(a, x, xs[i]), py = rg_map_y(a, y, ys[i]);
        if (open)
            cairo_line_to(cr, px, py);
        else
            cairo_move_to(cr, px, py);
        rg_obstacles_add(obst, px, py);
        open = 1;
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* ---- the regularization path ------------------------------------------------------ */

typedef struct path {
    int nv;
    double *x, *y, *sd; /* per value, its best trial */
    int *trial;         /* index in rep->t */
    int base;           /* the best trial without the parameter (off), or with 0 on a log axis */
    int log;
} path;

static int build_path(const rg_report *rep, const char *key, path *p)
{
    memset(p, 0, sizeof *p);
    p->base = -1;
    p->x = malloc((size_t)rep->n * 3 * sizeof *p->x);
    p->trial = malloc((size_t)rep->n * sizeof *p->trial);
    if (!p->x || !p->trial)
        return -1;
    p->y = p->x + rep->n;
    p->sd = p->y + rep->n;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < rep->n; i++) {
        const rg_jv_field *f = param_of(rep->t[i].r, key);
        if (f && f->number > 0) {
            lo = fmin(lo, f->number);
            hi = fmax(hi, f->number);
        }
    }
    p->log = isfinite(lo) && hi / lo > 20;
    for (int i = 0; i < rep->n; i++) {
        const rg_report_trial *t = &rep->t[i];
        if (strcmp(t->status, "ok") || !isfinite(t->metric))
            continue;
        const rg_jv_field *f = param_of(t->r, key);
        if (!f || (p->log && f->number <= 0)) {
            if (p->base < 0 || better(rep, t->metric, rep->t[p->base].metric))
                p->base = i;
            continue;
        }
        int v = 0;
        while (v < p->nv && p->x[v] != f->number)
            v++;
        if (v == p->nv) {
            p->x[v] = f->number;
            p->trial[p->nv++] = i;
        } else if (better(rep, t->metric, rep->t[p->trial[v]].metric)) {
            p->trial[v] = i;
        }
    }
    for (int a = 1; a < p->nv; a++)
        for (int b = a; b > 0 && p->x[b - 1] > p->x[b]; b--) {
            double tx = p->x[b];
            p->x[b] = p->x[b - 1];
            p->x[b - 1] = tx;
            int tt = p->trial[b];
            p->trial[b] = p->trial[b - 1];
            p->trial[b - 1] = tt;
        }
    for (int v = 0; v < p->nv; v++) {
        p->y[v] = rep->t[p->trial[v]].metric;
        p->sd[v] = rep->t[p->trial[v]].sd;
    }
    return 0;
}

static void free_path(path *p)
{
    free(p->x);
    free(p->trial);
}

static void error_bars(rg_fig *f, rg_plot_rect a, const rg_plot_axis *x, const rg_plot_axis *y,
                       const path *p, unsigned color)
{
    cairo_t *cr = f->cr;
    cairo_save(cr);
    cairo_rectangle(cr, a.x0, a.y0, a.x1 - a.x0, a.y1 - a.y0);
    cairo_clip(cr);
    rg_draw_color(f, color);
    cairo_set_line_width(cr, 1.5 * f->s);
    cairo_set_dash(cr, NULL, 0, 0);
    for (int v = 0; v < p->nv; v++) {
        if (!(p->sd[v] > 0))
            continue;
        double px = rg_map_x(a, x, p->x[v]);
        double y0 = rg_map_y(a, y, p->y[v] - p->sd[v]), y1 = rg_map_y(a, y, p->y[v] + p->sd[v]);
        double cap = 4 * f->s;
        cairo_move_to(cr, px, y0);
        cairo_line_to(cr, px, y1);
        cairo_move_to(cr, px - cap, y0);
        cairo_line_to(cr, px + cap, y0);
        cairo_move_to(cr, px - cap, y1);
        cairo_line_to(cr, px + cap, y1);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

static void hline_dashed(rg_fig *f, rg_plot_rect a, double py, unsigned color,
                         rg_obstacles *obst)
{
    for (double x = a.x0; x <= a.x1; x += 8 * f->s)
        rg_obstacles_add(obst, x, py);
    cairo_t *cr = f->cr;
    double dash[2] = {7 * f->s, 4 * f->s};
    cairo_save(cr);
    rg_draw_color(f, color);
    cairo_set_line_width(cr, 2 * f->s);
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, a.x0 + 1, py);
    cairo_line_to(cr, a.x1 - 1, py);
    cairo_stroke(cr);
    cairo_restore(cr);
}

static const char *metric_title(const char *m)
{
    return !strcmp(m, "val_accuracy") ? "validation accuracy"
           : !strcmp(m, "val_loss")   ? "validation loss"
                                      : m;
}

static rg_status draw_path(rg_fig *fig, const rg_report *rep, int k, rg_plot_rect box,
                           rg_report_info *info)
{
    path p;
    if (build_path(rep, rep->paths[k], &p)) {
        free_path(&p);
        return rg_cli_error_set(RG_ERR_NOMEM, "out of memory");
    }
    double s = fig->s;
    rg_plot_axis *xa = &info->x[k], *ya = &info->y[k];
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int v = 0; v < p.nv; v++) {
        xlo = fmin(xlo, p.x[v]);
        xhi = fmax(xhi, p.x[v]);
        ylo = fmin(ylo, p.y[v] - p.sd[v]);
        yhi = fmax(yhi, p.y[v] + p.sd[v]);
    }
    if (p.base >= 0) {
        ylo = fmin(ylo, rep->t[p.base].metric);
        yhi = fmax(yhi, rep->t[p.base].metric);
    }
    if (!isfinite(xlo)) {
        xlo = 0;
        xhi = 1;
    }
    if (!isfinite(ylo)) {
        ylo = 0;
        yhi = 1;
    }
    int xt = (int)((box.x1 - box.x0) / (75 * s));
    rg_plot_axis_fit(xa, xlo, xhi, p.log, 0, 0.06, xt < 3 ? 3 : xt);
    rg_plot_axis_fit(ya, ylo, yhi, 0, 0, 0.08, 5);
    rg_plot_rect a = rg_layout_area(fig, box, ya, 26);
    if (!rg_area_ok(a)) {
        free_path(&p);
        return rg_cli_error_set(RG_ERR_INVALID, "image size %dx%d is too small for the report",
                                info->width, info->height);
    }
    info->area[k] = a;
    char xtitle[192];
    snprintf(xtitle, sizeof xtitle, "%s%s", rep->paths[k], p.log ? " (log scale)" : "");
    rg_draw_axes(fig, a, xa, ya, xtitle, metric_title(rep->metric));
    rg_obstacles obst = {0};
    char base_label[192] = "";
    if (p.base >= 0) {
        const rg_jv_field *f = param_of(rep->t[p.base].r, rep->paths[k]);
        if (f)
            snprintf(base_label, sizeof base_label, "%s=%g", rep->paths[k], f->number);
        else
            snprintf(base_label, sizeof base_label, "%s off", rep->paths[k]);
        hline_dashed(fig, a, rg_map_y(a, ya, rep->t[p.base].metric), 0x7f7f7f, &obst);
    }
    error_bars(fig, a, xa, ya, &p, RG_PLOT_COLOR_TRAIN);
    rg_draw_series(fig, a, xa, ya, p.x, p.y, p.nv, RG_PLOT_COLOR_TRAIN, 1, &obst);
    info->winner_x[k] = NAN;
    for (int v = 0; v < p.nv; v++)
        if (p.trial[v] == rep->winner) {
            rg_draw_ring(fig, rg_map_x(a, xa, p.x[v]), rg_map_y(a, ya, p.y[v]), 8,
                         RG_PLOT_COLOR_BEST);
            info->winner_x[k] = p.x[v];
        }
    if (p.base >= 0 && p.base == rep->winner)
        rg_draw_ring(fig, a.x0 + 12 * s, rg_map_y(a, ya, rep->t[p.base].metric), 8,
                     RG_PLOT_COLOR_BEST);
    rg_legend_entry e[3];
    int ne = 0;
    e[ne++] = (rg_legend_entry){rep->t[0].seeds > 1 ? "best trial per value, ± sd over seeds"
                                                    : "best trial per value",
                                RG_PLOT_COLOR_TRAIN, RG_LEGEND_LINE_DOT};
    if (p.base >= 0)
        e[ne++] = (rg_legend_entry){base_label, 0x7f7f7f, RG_LEGEND_DASH};
    if (rep->winner >= 0)
        e[ne++] = (rg_legend_entry){"winner", RG_PLOT_COLOR_BEST, RG_LEGEND_RING};
    rg_draw_legend(fig, a, e, ne, &obst);
    rg_obstacles_free(&obst);
    free_path(&p);
    return RG_OK;
}

/* ---- the curves ---------------------------------------------------------------------- */

static rg_status draw_curves(rg_fig *fig, const rg_report *rep, int which, int k,
                             rg_plot_rect box, rg_report_info *info)
{
    double s = fig->s;
    double xhi = 1, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < rep->n; i++) {
        const rg_report_trial *t = &rep->t[i];
        const double *ys = which ? t->val_accuracy : t->val_loss;
        for (int e = 0; e < t->n; e++)
            if (isfinite(ys[e])) {
                xhi = fmax(xhi, t->epoch[e]);
                ylo = fmin(ylo, ys[e]);
                yhi = fmax(yhi, ys[e]);
            }
        if (!which && i == rep->winner)
            for (int e = 0; e < t->n; e++)
                if (isfinite(t->train_loss[e])) {
                    ylo = fmin(ylo, t->train_loss[e]);
                    yhi = fmax(yhi, t->train_loss[e]);
                }
    }
    if (!isfinite(ylo)) {
        ylo = 0;
        yhi = 1;
    }
    rg_plot_axis *xa = &info->x[k], *ya = &info->y[k];
    int xt = (int)((box.x1 - box.x0) / (75 * s));
    rg_plot_axis_fit(xa, 1, xhi, 0, 1, 0.03, xt < 3 ? 3 : xt);
    rg_plot_axis_fit(ya, ylo, yhi, 0, 0, 0.06, 6);
    rg_plot_rect a = rg_layout_area(fig, box, ya, 26);
    if (!rg_area_ok(a))
        return rg_cli_error_set(RG_ERR_INVALID, "image size %dx%d is too small for the report",
                                info->width, info->height);
    info->area[k] = a;
    rg_draw_axes(fig, a, xa, ya, "epoch", which ? "validation accuracy" : "validation loss");
    rg_obstacles obst = {0};
    int drawn = 0, seen[4] = {0};
    /* grey first, so the colours of the verdicts stay visible on top */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < rep->n; i++) {
            const rg_report_trial *t = &rep->t[i];
            int coloured = t->verdict == RG_FIT_OVERFIT || t->verdict == RG_FIT_UNDERFIT;
            if (i == rep->winner || coloured != pass || t->n == 0)
                continue;
            thin_line(fig, a, xa, ya, t->epoch, which ? t->val_accuracy : t->val_loss, t->n,
                      verdict_color(t->verdict), 1.5, 0, &obst);
            seen[t->verdict] = 1;
            drawn++;
        }
    if (rep->winner >= 0 && rep->t[rep->winner].n > 0) {
        const rg_report_trial *w = &rep->t[rep->winner];
        if (!which)
            thin_line(fig, a, xa, ya, w->epoch, w->train_loss, w->n, RG_PLOT_COLOR_BEST, 1.5, 1,
                      &obst);
        rg_draw_series(fig, a, xa, ya, w->epoch, which ? w->val_accuracy : w->val_loss, w->n,
                       RG_PLOT_COLOR_BEST, 0, &obst);
        drawn++;
    }
    info->curves = drawn;
    rg_legend_entry e[5];
    int ne = 0;
    if (rep->winner >= 0)
        e[ne++] = (rg_legend_entry){"winner", RG_PLOT_COLOR_BEST, RG_LEGEND_LINE};
    if (rep->winner >= 0 && !which)
        e[ne++] = (rg_legend_entry){"winner, training loss", RG_PLOT_COLOR_BEST, RG_LEGEND_DASH};
    if (seen[RG_FIT_OVERFIT])
        e[ne++] = (rg_legend_entry){"overfit", RG_REPORT_COLOR_OVERFIT, RG_LEGEND_LINE};
    if (seen[RG_FIT_UNDERFIT])
        e[ne++] = (rg_legend_entry){"underfit", RG_REPORT_COLOR_UNDERFIT, RG_LEGEND_LINE};
    if (seen[RG_FIT_NEITHER] || seen[RG_FIT_UNJUDGED])
        e[ne++] = (rg_legend_entry){"other trials", RG_REPORT_COLOR_OTHER, RG_LEGEND_LINE};
    rg_draw_legend(fig, a, e, ne, &obst);
    rg_obstacles_free(&obst);
    return RG_OK;
}

rg_status rg_report_draw(const rg_report *rep, const char *png, int width, int height,
                         rg_report_info *info)
{
    rg_report_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    int W = width ? width : RG_REPORT_WIDTH, H = height ? height : RG_REPORT_HEIGHT;
    info->width = W;
    info->height = H;
    rg_fig fig = {0};
    rg_status st = rg_fig_create(&fig, W, H * 5 / 9, 2);
    if (st != RG_OK)
        return st;
    /* the scale of a two-panel row of the default figure; the canvas is the full size */
    double s = fig.s;
    rg_fig_destroy(&fig);
    if ((st = rg_fig_create(&fig, W, H, 2)) != RG_OK)
        return st;
    fig.s = s;
    char title[4200];
    snprintf(title, sizeof title, "regula sweep report: %s", rep->dir);
    double top = rg_draw_title(&fig, title), margin = 12 * s, gap = 28 * s;
    double mid = top + (H - top) * 0.5;
    int np = rep->npaths;
    for (int k = 0; k < np && st == RG_OK; k++) {
        double w = (W - 2 * margin - (np - 1) * gap) / np;
        rg_plot_rect box = {margin + k * (w + gap), top, margin + k * (w + gap) + w, mid};
        st = draw_path(&fig, rep, k, box, info);
    }
    if (np == 0) {
        rg_draw_color(&fig, RG_COLOR_TEXT);
        rg_draw_text(&fig, "no numeric parameter varies: no regularization path", RG_FONT_NOTE,
                     0, W / 2.0, (top + mid) / 2, 0.5, 0.5);
    }
    for (int c = 0; c < 2 && st == RG_OK; c++) {
        rg_plot_rect box = {c ? W / 2.0 + gap / 2 : margin, mid + 6 * s,
                            c ? W - margin : W / 2.0 - gap / 2, H - margin * 0.5};
        st = draw_curves(&fig, rep, c, RG_REPORT_MAX_PATHS + c, box, info);
    }
    info->npanels = np + 2;
    info->winner_y = rep->winner >= 0 ? rep->t[rep->winner].metric : NAN;
    if (st == RG_OK)
        st = rg_fig_write(&fig, png);
    rg_fig_destroy(&fig);
    return st;
}
