/* regula plot a.jsonl b.jsonl ... -o cmp.png: the metrics files of several runs overlaid,
 * what TensorBoard is used for. Panels: loss (validation a line, training a line with
 * dots),
 * validation accuracy, learning rate, and one panel per regularizer's penalty (the
 * "penalties" object of the epoch records). A run keeps one colour in every panel; its
 * legend label is --label, else the regularizers and augmenters of its run record, else
 * its file name. The title says what was trained (model and data, when the runs share
 * them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_error.h"
#include "draw.h"
#include "plot.h"

enum { MAX_PENALTIES = 6, MAX_PANELS = 3 + MAX_PENALTIES };

typedef struct panel {
    char title[96];
    const char *key;  /* top-level key, or the penalty's name */
    int penalty;      /* key is inside "penalties" */
    int log;
} panel;

typedef struct run_data {
    const rg_jsonl *j;
    int n;                      /* epoch records, in epoch order */
    const rg_jsonl_record **rec;
    double *x;
    char label[200];
    const char *model, *data;
} run_data;

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static int by_epoch(const void *a, const void *b)
{
    double ea = rg_jsonl_number(*(const rg_jsonl_record *const *)a, NULL, "epoch");
    double eb = rg_jsonl_number(*(const rg_jsonl_record *const *)b, NULL, "epoch");
    return (ea > eb) - (ea < eb);
}

/* The epoch records of j in epoch order (a repeated epoch keeps its last record), its run
 * record's model, data and label. */
static rg_status load_run(run_data *d, const rg_jsonl *j, const char *path, const char *label)
{
    d->j = j;
    d->rec = calloc((size_t)j->nrecords + 1, sizeof *d->rec);
    d->x = calloc((size_t)j->nrecords + 1, sizeof *d->x);
    if (!d->rec || !d->x)
        return rg_cli_error_set(RG_ERR_NOMEM, "out of memory");
    const char *regs = NULL, *augs = NULL;
    for (int i = 0; i < j->nrecords; i++) {
        const rg_jsonl_record *r = &j->records[i];
        const char *kind = rg_jsonl_string(r, "record");
        if (kind && !strcmp(kind, "run")) {
            d->model = rg_jsonl_string(r, "model");
            d->data = rg_jsonl_string(r, "data");
            regs = rg_jsonl_string(r, "regularizers");
            augs = rg_jsonl_string(r, "augmenters");
        }
        if (kind || !isfinite(rg_jsonl_number(r, NULL, "epoch")))
            continue;
        d->rec[d->n++] = r;
    }
    /* stable for equal epochs: the later record (a resumed run's) goes last and wins */
    for (int i = 1; i < d->n; i++)
        for (int k = i; k > 0 && by_epoch(&d->rec[k - 1], &d->rec[k]) > 0; k--) {
            const rg_jsonl_record *t = d->rec[k];
            d->rec[k] = d->rec[k - 1];
            d->rec[k - 1] = t;
        }
    int m = 0;
    for (int i = 0; i < d->n; i++) {
        if (m && by_epoch(&d->rec[m - 1], &d->rec[i]) == 0)
            m--;
        d->rec[m++] = d->rec[i];
    }
    d->n = m;
    for (int i = 0; i < m; i++)
        d->x[i] = rg_jsonl_number(d->rec[i], NULL, "epoch");
    if (!m)
        return rg_cli_error_set(RG_ERR_FORMAT, "%s: no epoch records to compare", path);
    if (label)
        snprintf(d->label, sizeof d->label, "%s", label);
    else if ((regs && *regs) || (augs && *augs))
        snprintf(d->label, sizeof d->label, "%s%s%s", regs && *regs ? regs : "",
                 regs && *regs && augs && *augs ? " " : "", augs && *augs ? augs : "");
    else if (regs)
        snprintf(d->label, sizeof d->label, "no regularizer");
    else
        snprintf(d->label, sizeof d->label, "%s", base_name(path));
    return RG_OK;
}

static double value(const rg_jsonl_record *r, const panel *p)
{
    return rg_jsonl_number(r, p->penalty ? "penalties" : NULL, p->key);
}

/* The names of the penalties some run reports as non-zero, in first-seen order, as panels. */
static int penalty_panels(const run_data *d, int nruns, panel *p, int np)
{
    for (int r = 0; r < nruns; r++)
        for (int i = 0; i < d[r].n; i++) {
            const rg_jsonl_record *rec = d[r].rec[i];
            for (int k = 0; k < rec->nfields; k++) {
                const rg_jv_field *f = &rec->fields[k];
                /* a hook that adds nothing (dropout) gets no panel of zeros */
                if (f->parent < 0 || strcmp(rec->fields[f->parent].key, "penalties") ||
                    !(f->type == RG_JV_NUMBER && isfinite(f->number) && f->number != 0.0))
                    continue;
                int seen = 0;
                for (int q = 3; q < np && !seen; q++)
                    seen = !strcmp(p[q].key, f->key);
                if (seen || np >= MAX_PANELS)
                    continue;
                p[np] = (panel){{0}, f->key, 1, 0};
                snprintf(p[np].title, sizeof p[np].title, "%s penalty", f->key);
                np++;
            }
        }
    return np;
}

static const char *shared(const run_data *d, int n, int model)
{
    const char *v = model ? d[0].model : d[0].data;
    for (int i = 1; i < n && v; i++) {
        const char *w = model ? d[i].model : d[i].data;
        if (!w || strcmp(v, w))
            return NULL;
    }
    return v;
}

rg_status rg_plot_compare(const char *const *paths, const char *const *labels, int nruns,
                          const rg_plot_options *o, const char *out, rg_plot_info *info)
{
    memset(info, 0, sizeof *info);
    info->kind = RG_PLOT_METRICS;
    info->best_x = info->best_y = NAN;
    if (nruns < 2 || nruns > RG_PLOT_PALETTE_SIZE)
        return rg_cli_error_set(RG_ERR_INVALID, "compare 2 to %d runs (got %d)",
                                RG_PLOT_PALETTE_SIZE, nruns);
    rg_jsonl *js[RG_PLOT_PALETTE_SIZE] = {0};
    run_data d[RG_PLOT_PALETTE_SIZE] = {{0}};
    rg_fig fig = {0};
    rg_status st = RG_OK;
    for (int r = 0; r < nruns && st == RG_OK; r++) {
        st = rg_jsonl_read(paths[r], &js[r]);
        if (st == RG_OK)
            st = load_run(&d[r], js[r], paths[r], labels ? labels[r] : NULL);
    }
    panel p[MAX_PANELS] = {{"loss (dots: train)", "val_loss", 0, 0},
                           {"validation accuracy", "val_accuracy", 0, 0},
                           {"learning rate", "lr", 0, 0}};
    int np = st == RG_OK ? penalty_panels(d, nruns, p, 3) : 3;
    int W = o->width ? o->width : 1200, rows = (np + 2) / 3;
    int H = o->height ? o->height : 120 + 330 * rows;
    if (st == RG_OK && (W < RG_PLOT_MIN_SIZE || H < RG_PLOT_MIN_SIZE || W > RG_PLOT_MAX_SIZE ||
                        H > RG_PLOT_MAX_SIZE))
        st = rg_cli_error_set(RG_ERR_INVALID, "image size %dx%d: each side must be in [%d, %d]",
                              W, H, RG_PLOT_MIN_SIZE, RG_PLOT_MAX_SIZE);
    if (st == RG_OK)
        st = rg_fig_create(&fig, W, H, 3);
    if (st != RG_OK)
        goto done;
    char title[512];
    const char *model = shared(d, nruns, 1), *data = shared(d, nruns, 0);
    if (o->title)
        snprintf(title, sizeof title, "%s", o->title);
    else if (model && data)
        snprintf(title, sizeof title, "%d runs of %s on %s", nruns, model, data);
    else
        snprintf(title, sizeof title, "%d runs compared", nruns);
    double s = fig.s, margin = 12 * s, gap = 24 * s;
    double top = rg_draw_title(&fig, title), legend_h = 0, legend_w = 0;
    rg_legend_entry e[RG_PLOT_PALETTE_SIZE];
    for (int r = 0; r < nruns; r++)
        e[r] = (rg_legend_entry){d[r].label, rg_plot_palette[r], RG_LEGEND_LINE};
    rg_legend_size(&fig, e, nruns, &legend_w, &legend_h);
    double body = H - top - legend_h - 2 * margin, cell_w = (W - 2 * margin) / 3.0;
    double cell_h = body / rows;
    for (int k = 0; k < np; k++) {
        rg_plot_rect box = {margin + (k % 3) * cell_w + (k % 3 ? gap / 2 : 0),
                            top + (k / 3) * cell_h,
                            margin + (k % 3 + 1) * cell_w - (k % 3 < 2 ? gap / 2 : 0),
                            top + (k / 3 + 1) * cell_h - margin * 0.5};
        double lo = INFINITY, hi = -INFINITY, xlo = INFINITY, xhi = -INFINITY;
        int count = 0;
        for (int r = 0; r < nruns; r++)
            for (int i = 0; i < d[r].n; i++) {
                double v[2] = {value(d[r].rec[i], &p[k]),
                               k == 0 ? rg_jsonl_number(d[r].rec[i], NULL, "train_loss") : NAN};
                for (int q = 0; q < 2; q++)
                    if (isfinite(v[q])) {
                        lo = fmin(lo, v[q]);
                        hi = fmax(hi, v[q]);
                        count++;
                    }
                xlo = fmin(xlo, d[r].x[i]);
                xhi = fmax(xhi, d[r].x[i]);
            }
        rg_plot_axis xa, ya;
        int xt = (int)((box.x1 - box.x0) / (75 * s));
        rg_plot_axis_fit(&xa, xlo, xhi, 0, 1, 0.03, xt < 3 ? 3 : xt);
        p[k].log = k == 0 && count && lo > 0 && hi / lo > 100;
        if (count)
            rg_plot_axis_fit(&ya, lo, hi == lo ? lo + 1e-12 + fabs(lo) * 1e-6 : hi, p[k].log, 0,
                             0.06, 5);
        else
            rg_plot_axis_fit(&ya, 0, 1, 0, 0, 0, 5);
        rg_plot_rect a = rg_layout_area(&fig, box, &ya, 26);
        if (!rg_area_ok(a)) {
            st = rg_cli_error_set(RG_ERR_INVALID, "image size %dx%d is too small for %d panels",
                                  W, H, np);
            goto done;
        }
        if (k < 2)
            info->area[k] = a;
        rg_draw_axes(&fig, a, &xa, &ya, "epoch", p[k].title);
        for (int r = 0; r < nruns; r++) {
            double *v = malloc((size_t)d[r].n * sizeof *v);
            if (!v) {
                st = rg_cli_error_set(RG_ERR_NOMEM, "out of memory");
                goto done;
            }
            if (k == 0) { /* the training loss under the validation loss, dotted */
                for (int i = 0; i < d[r].n; i++)
                    v[i] = rg_jsonl_number(d[r].rec[i], NULL, "train_loss");
                rg_draw_series(&fig, a, &xa, &ya, d[r].x, v, d[r].n, rg_plot_palette[r], 1,
                               NULL);
            }
            for (int i = 0; i < d[r].n; i++)
                v[i] = value(d[r].rec[i], &p[k]);
            rg_draw_series(&fig, a, &xa, &ya, d[r].x, v, d[r].n, rg_plot_palette[r], 0, NULL);
            free(v);
        }
        info->points += count;
    }
    rg_draw_legend_at(&fig, margin, H - margin - legend_h, e, nruns);
    info->width = W;
    info->height = H;
    info->npanels = np;
    info->series = nruns;
    st = rg_fig_write(&fig, out);
done:
    rg_fig_destroy(&fig);
    for (int r = 0; r < nruns; r++) {
        free(d[r].rec);
        free(d[r].x);
        rg_jsonl_destroy(js[r]);
    }
    return st;
}
