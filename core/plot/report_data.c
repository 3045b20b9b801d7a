/* regula sweep report: reading a sweep's directory, the mean curves of each
 * trial, the overfit/underfit verdicts and the text summary (report.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../cli/cli_error.h"
#include "report.h"

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static const rg_jv_field *param_of(const rg_jsonl_record *r, const char *key)
{
    const rg_jv_field *f = rg_jsonl_get(r, "params", key);
    return f && (f->type == RG_JV_NUMBER || f->type == RG_JV_STRING) ? f : NULL;
}

static void label_of(const rg_jsonl_record *r, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t used = 0;
    for (int k = 0; k < r->nfields; k++) {
        const rg_jv_field *f = &r->fields[k];
        if (f->parent < 0 || strcmp(r->fields[f->parent].key, "params"))
            continue;
        char v[96];
        if (f->type == RG_JV_NUMBER)
            snprintf(v, sizeof v, "%g", f->number);
        else if (f->type == RG_JV_STRING)
            snprintf(v, sizeof v, "%s", f->string);
        else
            snprintf(v, sizeof v, "-");
        int w = snprintf(buf + used, cap - used, "%s%s=%s", used ? " " : "", f->key, v);
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
    }
}

/* One seed's metrics file as rows (epoch, train_loss, val_loss, val_accuracy)
 * by epoch index; a resumed epoch writes its line again, and the last line
 * of an epoch wins. Returns the seed's epoch count, or -1 with the error set. */
static int read_seed(const char *path, double *rows, int cap)
{
    rg_jsonl *j = NULL;
    rg_status st = rg_jsonl_read(path, &j);
    if (st != RG_OK)
        return -1;
    int n = 0;
    for (int i = 0; i < j->nrecords; i++) {
        double e = rg_jsonl_number(&j->records[i], NULL, "epoch");
        if (!(e >= 1 && e <= cap) || rg_jsonl_is_extra(&j->records[i]))
            continue;
        int k = (int)e - 1;
        double *row = rows + (size_t)k * 4;
        row[0] = e;
        row[1] = rg_jsonl_number(&j->records[i], NULL, "train_loss");
        row[2] = rg_jsonl_number(&j->records[i], NULL, "val_loss");
        row[3] = rg_jsonl_number(&j->records[i], NULL, "val_accuracy");
        if (k + 1 > n)
            n = k + 1;
    }
    rg_jsonl_destroy(j);
    return n;
}

enum { MAX_EPOCHS = 100000 };

/* The mean curves of trial t over the metrics files of its seeds. */
static rg_status load_curves(rg_report *rep, rg_report_trial *t)
{
    char path[4300];
    double *one = NULL, *sum = NULL;
    int n_common = -1, cap = 0;
    rg_status st = RG_OK;
    for (int k = 0; k <= 100; k++) {
        if (k == 0)
            snprintf(path, sizeof path, "%s/trial-%d.metrics.jsonl", rep->dir, t->number);
        else
            snprintf(path, sizeof path, "%s/trial-%d-s%d.metrics.jsonl", rep->dir, t->number, k);
        if (!exists(path)) {
            if (k == 0)
                continue;
            break;
        }
        if (!one) {
            cap = 1024;
            one = malloc((size_t)cap * 4 * sizeof *one);
            sum = calloc((size_t)cap * 4, sizeof *sum);
            if (!one || !sum) {
                st = rg_cli_error_set(RG_ERR_NOMEM, "out of memory");
                break;
            }
        }
        for (int i = 0; i < cap * 4; i++)
            one[i] = NAN;
        int n = read_seed(path, one, cap);
        if (n < 0) {
            st = RG_ERR_FORMAT;
            break;
        }
        for (int i = 0; i < n * 4; i++)
            sum[i] += one[i];
        n_common = n_common < 0 || n < n_common ? n : n_common;
        t->seeds++;
        if (k == 0)
            break; /* one seed: trial-N.* only */
    }
    if (st == RG_OK && t->seeds > 0 && n_common > 0) {
        t->n = n_common;
        double *c = malloc((size_t)n_common * 4 * sizeof *c);
        if (!c) {
            st = rg_cli_error_set(RG_ERR_NOMEM, "out of memory");
        } else {
            t->epoch = c;
            t->train_loss = c + n_common;
            t->val_loss = c + 2 * n_common;
            t->val_accuracy = c + 3 * n_common;
            for (int i = 0; i < n_common; i++) {
                t->epoch[i] = i + 1;
                t->train_loss[i] = sum[i * 4 + 1] / t->seeds;
                t->val_loss[i] = sum[i * 4 + 2] / t->seeds;
                t->val_accuracy[i] = sum[i * 4 + 3] / t->seeds;
            }
        }
    }
    free(one);
    free(sum);
    return st;
}

static void judge(rg_report *rep, rg_report_trial *t)
{
    t->verdict = RG_FIT_UNJUDGED;
    t->best = -1;
    int n = t->n;
    for (int i = 0; i < n; i++)
        if (isfinite(t->val_loss[i]) && (t->best < 0 || t->val_loss[i] < t->val_loss[t->best]))
            t->best = i;
    /* a trial halving stopped has short curves: against the finished ones it
     * would always look underfit */
    if (strcmp(t->status, "ok") || n < 3 || t->best < 0 || !isfinite(t->val_loss[n - 1]) ||
        !isfinite(t->train_loss[n - 1]))
        return;
    int b = t->best;
    if (b <= n - 3 && t->val_loss[n - 1] > 1.05 * t->val_loss[b] &&
        t->train_loss[n - 1] < t->train_loss[b]) {
        t->verdict = RG_FIT_OVERFIT;
        return;
    }
    if (t->train_loss[n - 1] >= 1.5 * rep->lowest_train_loss &&
        t->val_loss[n - 1] <= 1.1 * t->train_loss[n - 1]) {
        t->verdict = RG_FIT_UNDERFIT;
        return;
    }
    t->verdict = RG_FIT_NEITHER;
}

static const char *status_text(const rg_jsonl_record *r)
{
    const rg_jv_field *f = rg_jsonl_get(r, NULL, "status");
    return f && f->type == RG_JV_STRING ? f->string : "ok";
}

/* The numeric parameters that vary over the trials with the metric. */
static void find_paths(rg_report *rep)
{
    for (int i = 0; i < rep->n; i++) {
        const rg_jsonl_record *r = rep->t[i].r;
        for (int k = 0; k < r->nfields && rep->npaths < RG_REPORT_MAX_PATHS; k++) {
            const rg_jv_field *f = &r->fields[k];
            if (f->parent < 0 || strcmp(r->fields[f->parent].key, "params"))
                continue;
            int seen = 0, numeric = 1, varies = 0;
            for (int p = 0; p < rep->npaths && !seen; p++)
                seen = !strcmp(rep->paths[p], f->key);
            double first = NAN;
            for (int q = 0; q < rep->n && !seen; q++) {
                const rg_jv_field *g = param_of(rep->t[q].r, f->key);
                if (g && g->type != RG_JV_NUMBER)
                    numeric = 0;
                if (g && g->type == RG_JV_NUMBER) {
                    if (isnan(first))
                        first = g->number;
                    varies |= g->number != first;
                }
            }
            if (!seen && numeric && varies)
                snprintf(rep->paths[rep->npaths++], sizeof rep->paths[0], "%s", f->key);
        }
    }
}

rg_status rg_report_load(const char *dir, const char *metric, rg_report **out)
{
    *out = NULL;
    rg_report *rep = calloc(1, sizeof *rep);
    if (!rep)
        return rg_cli_error_set(RG_ERR_NOMEM, "out of memory");
    snprintf(rep->dir, sizeof rep->dir, "%s", dir);
    rep->metric = metric ? metric : "val_accuracy";
    rep->higher = strstr(rep->metric, "loss") == NULL;
    rep->winner = -1;
    char path[4300];
    snprintf(path, sizeof path, "%s/sweep.jsonl", dir);
    rg_status st = RG_OK;
    if (!exists(path))
        st = rg_cli_error_set(RG_ERR_IO, "%s: %s (is %s the --dir of a finished regula sweep?)",
                              path, strerror(errno), dir);
    if (st == RG_OK)
        st = rg_jsonl_read(path, &rep->sweep);
    if (st == RG_OK && rep->sweep->nrecords == 0)
        st = rg_cli_error_set(RG_ERR_FORMAT, "%s: no trials", path);
    if (st == RG_OK && !(rep->t = calloc((size_t)rep->sweep->nrecords, sizeof *rep->t)))
        st = rg_cli_error_set(RG_ERR_NOMEM, "out of memory");
    for (int i = 0; st == RG_OK && i < rep->sweep->nrecords; i++) {
        rg_report_trial *t = &rep->t[rep->n];
        t->r = &rep->sweep->records[i];
        double num = rg_jsonl_number(t->r, NULL, "trial");
        if (!(num >= 1 && num < 1e9 && num == floor(num))) {
            st = rg_cli_error_set(RG_ERR_FORMAT, "%s:%d: no trial number (is this a sweep.jsonl?)",
                                  path, t->r->line);
            break;
        }
        t->number = (int)num;
        t->status = status_text(t->r);
        t->metric = rg_jsonl_number(t->r, NULL, rep->metric);
        char sdkey[80];
        snprintf(sdkey, sizeof sdkey, "%s_sd", rep->metric);
        t->sd = rg_jsonl_number(t->r, NULL, sdkey);
        if (!isfinite(t->sd))
            t->sd = 0;
        label_of(t->r, t->label, sizeof t->label);
        st = load_curves(rep, t);
        if (st == RG_OK && rep->winner < 0 && !strcmp(t->status, "ok") && isfinite(t->metric))
            rep->winner = rep->n;
        rep->n++;
    }
    if (st == RG_OK) {
        rep->lowest_train_loss = INFINITY;
        for (int i = 0; i < rep->n; i++) {
            const rg_report_trial *t = &rep->t[i];
            if (!strcmp(t->status, "ok") && t->n >= 3 && isfinite(t->train_loss[t->n - 1]))
                rep->lowest_train_loss = fmin(rep->lowest_train_loss, t->train_loss[t->n - 1]);
        }
        for (int i = 0; i < rep->n; i++)
            judge(rep, &rep->t[i]);
        find_paths(rep);
    }
    if (st != RG_OK) {
        rg_report_destroy(rep);
        return st;
    }
    *out = rep;
    return RG_OK;
}

void rg_report_destroy(rg_report *r)
{
    if (!r)
        return;
    for (int i = 0; r->t && i < r->n; i++)
        free(r->t[i].epoch);
    free(r->t);
    rg_jsonl_destroy(r->sweep);
    free(r);
}

/* ---- the text ------------------------------------------------------------------ */

static const char *verdict_word(rg_fit_verdict v)
{
    return v == RG_FIT_OVERFIT ? "overfits" : v == RG_FIT_UNDERFIT ? "underfits"
           : v == RG_FIT_NEITHER ? "fits" : "not judged";
}

static void fmt_metric(FILE *f, const rg_report_trial *t)
{
    if (!isfinite(t->metric))
        fputs("-", f);
    else if (t->seeds > 1)
        fprintf(f, "%.4f ± %.4f", t->metric, t->sd);
    else
        fprintf(f, "%.4f", t->metric);
}

/* The path along one parameter: per value, the best trial with it. */
static void path_text(FILE *f, const rg_report *rep, const char *key)
{
    fprintf(f, "\nregularization path: %s against %s (per value, its best trial):\n",
            rep->metric, key);
    int *best = malloc((size_t)rep->n * sizeof *best);
    double *vals = malloc((size_t)rep->n * sizeof *vals);
    if (!best || !vals) {
        free(best);
        free(vals);
        return;
    }
    int nv = 0, off = -1;
    for (int i = 0; i < rep->n; i++) {
        const rg_report_trial *t = &rep->t[i];
        if (strcmp(t->status, "ok") || !isfinite(t->metric))
            continue;
        const rg_jv_field *p = param_of(t->r, key);
        if (!p) { /* the plugin is off in this trial */
            if (off < 0 || (rep->higher ? t->metric > rep->t[off].metric
                                        : t->metric < rep->t[off].metric))
                off = i;
            continue;
        }
        int v = 0;
        while (v < nv && vals[v] != p->number)
            v++;
        if (v == nv) {
            vals[nv] = p->number;
            best[nv++] = i;
        } else if (rep->higher ? t->metric > rep->t[best[v]].metric
                               : t->metric < rep->t[best[v]].metric) {
            best[v] = i;
        }
    }
    /* ascending values */
    for (int a = 1; a < nv; a++)
        for (int b = a; b > 0 && vals[b - 1] > vals[b]; b--) {
            double tv = vals[b];
            vals[b] = vals[b - 1];
            vals[b - 1] = tv;
            int tb = best[b];
            best[b] = best[b - 1];
            best[b - 1] = tb;
        }
    int at = -1;
    if (off >= 0) {
        fprintf(f, "  %-12s ", "off");
        fmt_metric(f, &rep->t[off]);
        fprintf(f, "  trial %d, %s%s\n", rep->t[off].number, verdict_word(rep->t[off].verdict),
                off == rep->winner ? "  <- winner" : "");
    }
    for (int v = 0; v < nv; v++) {
        const rg_report_trial *t = &rep->t[best[v]];
        fprintf(f, "  %-12g ", vals[v]);
        fmt_metric(f, t);
        fprintf(f, "  trial %d, %s%s\n", t->number, verdict_word(t->verdict),
                best[v] == rep->winner ? "  <- winner" : "");
        if (best[v] == rep->winner)
            at = v;
    }
    if (at >= 0 && nv >= 2) {
        int lo_over = 0, hi_under = 0;
        for (int v = 0; v < at; v++)
            lo_over += rep->t[best[v]].verdict == RG_FIT_OVERFIT;
        for (int v = at + 1; v < nv; v++)
            hi_under += rep->t[best[v]].verdict == RG_FIT_UNDERFIT;
        if (at == 0 || at == nv - 1)
            fprintf(f, "  the winner is at the %s end of the range: try values %s %g\n",
                    at == 0 ? "low" : "high", at == 0 ? "below" : "above", vals[at]);
        else
            fprintf(f, "  the winner is inside the range; below it %d of %d overfit, above it "
                    "%d of %d underfit%s\n", lo_over, at, hi_under, nv - 1 - at,
                    lo_over && hi_under ? " (the U-shape: too little regularization "
                                          "overfits, too much underfits)"
                    : lo_over ? " (nothing stronger underfits: the range may stop short of too "
                                "much regularization)"
                    : hi_under ? " (nothing weaker overfits)" : "");
    }
    free(best);
    free(vals);
}

static void verdict_list(FILE *f, const rg_report *rep, rg_fit_verdict v, const char *title)
{
    int n = 0;
    for (int i = 0; i < rep->n; i++)
        n += rep->t[i].verdict == v;
    fprintf(f, "\n%s: %d trial%s\n", title, n, n == 1 ? "" : "s");
    for (int i = 0; i < rep->n; i++) {
        const rg_report_trial *t = &rep->t[i];
        if (t->verdict != v)
            continue;
        int e = t->n - 1, b = t->best;
        fprintf(f, "  trial %d (%s): ", t->number, t->label);
        if (v == RG_FIT_OVERFIT)
            fprintf(f, "val_loss %.4f at epoch %d is %.0f%% above its lowest %.4f (epoch %d) "
                    "while train_loss fell %.4f -> %.4f\n", t->val_loss[e], e + 1,
                    100.0 * (t->val_loss[e] / t->val_loss[b] - 1.0), t->val_loss[b], b + 1,
                    t->train_loss[b], t->train_loss[e]);
        else if (v == RG_FIT_UNDERFIT)
            fprintf(f, "train_loss %.4f at epoch %d is %.1fx the sweep's lowest (%.4f), "
                    "val_loss %.4f\n", t->train_loss[e], e + 1,
                    t->train_loss[e] / rep->lowest_train_loss, rep->lowest_train_loss,
                    t->val_loss[e]);
        else if (v == RG_FIT_UNJUDGED && !strcmp(t->status, "stopped"))
            fprintf(f, "stopped by successive halving after %d epoch%s\n", t->n,
                    t->n == 1 ? "" : "s");
        else if (v == RG_FIT_UNJUDGED)
            fprintf(f, "%d epoch%s of curves (%s)\n", t->n, t->n == 1 ? "" : "s", t->status);
        else
            fprintf(f, "lowest val_loss %.4f at epoch %d of %d\n", t->val_loss[b], b + 1, t->n);
    }
}

char *rg_report_text(const rg_report *rep)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    int ok = 0, stopped = 0, failed = 0, seeds = 0;
    for (int i = 0; i < rep->n; i++) {
        ok += !strcmp(rep->t[i].status, "ok");
        stopped += !strcmp(rep->t[i].status, "stopped");
        failed += !strcmp(rep->t[i].status, "failed");
        seeds = rep->t[i].seeds > seeds ? rep->t[i].seeds : seeds;
    }
    fprintf(f, "sweep report: %s: %d trial%s (%d ok, %d stopped by halving, %d failed), %d "
            "seed%s each; %s\n", rep->dir, rep->n, rep->n == 1 ? "" : "s", ok, stopped, failed,
            seeds, seeds == 1 ? "" : "s", rep->metric);
    if (rep->winner >= 0) {
        const rg_report_trial *w = &rep->t[rep->winner];
        fprintf(f, "winner: trial %d (%s): %s ", w->number, w->label, rep->metric);
        fmt_metric(f, w);
        fprintf(f, ", %s\n", verdict_word(w->verdict));
    } else {
        fprintf(f, "winner: none (no trial has status ok and a %s)\n", rep->metric);
    }
    for (int p = 0; p < rep->npaths; p++)
        path_text(f, rep, rep->paths[p]);
    verdict_list(f, rep, RG_FIT_OVERFIT, "overfit (validation loss rising while the training "
                 "loss falls)");
    verdict_list(f, rep, RG_FIT_UNDERFIT, "underfit (training loss >= 1.5x the sweep's lowest, "
                 "validation loss not 10% above it)");
    verdict_list(f, rep, RG_FIT_NEITHER, "neither");
    verdict_list(f, rep, RG_FIT_UNJUDGED, "not judged (stopped or failed, or fewer than 3 epochs "
                 "of curves)");
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
