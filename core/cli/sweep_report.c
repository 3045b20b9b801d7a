/* regula sweep: the trials ranked on the validation metric, the table, the
 * result files (DIR/sweep.csv, DIR/sweep.jsonl) and the winner's command. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_error.h"
#include "cli_json.h"
#include "sweep.h"

void rg_sweep_print_values(const rg_sweep *s, const rg_sweep_trial *t)
{
    for (int a = 0; a < s->n_axes; a++)
        printf("%s%s=%s", a ? " " : "", s->axes[a].key, t->values[a]);
}

/* ---- ranking ------------------------------------------------------------------ */

void rg_sweep_aggregate(const rg_sweep *s, rg_sweep_trial *t)
{
    double sa = 0, sl = 0;
    int n = 0;
    t->ok = 1;
    t->ran = 0;
    t->message[0] = '\0';
    for (int k = 0; k < s->seeds; k++) {
        const rg_sweep_result *r = &t->runs[k];
        t->ran |= r->ran;
        if (!r->ok) {
            if (t->ok && s->seeds > 1)
                snprintf(t->message, sizeof t->message, "seed %lld: %s",
                         (long long)(s->base_seed + k), r->message);
            else if (t->ok)
                snprintf(t->message, sizeof t->message, "%s", r->message);
            t->ok = 0;
            continue;
        }
        sa += r->val_accuracy;
        sl += r->val_loss;
        n++;
    }
    t->val_accuracy = n ? sa / n : NAN;
    t->val_loss = n ? sl / n : NAN;
    double va = 0, vl = 0;
    for (int k = 0; k < s->seeds; k++)
        if (t->runs[k].ok) {
            va += (t->runs[k].val_accuracy - t->val_accuracy) *
                  (t->runs[k].val_accuracy - t->val_accuracy);
            vl += (t->runs[k].val_loss - t->val_loss) * (t->runs[k].val_loss - t->val_loss);
        }
    t->sd_accuracy = n > 1 ? sqrt(va / (n - 1)) : 0;
    t->sd_loss = n > 1 ? sqrt(vl / (n - 1)) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double rg_sweep_metric(const rg_sweep *s, const rg_sweep_trial *t)
{
    if (!t->ok)
        return NAN;
    double v[RG_SWEEP_MAX_SEEDS];
    int n = 0;
    for (int k = 0; k < s->seeds; k++) {
        double m = s->by_loss ? t->runs[k].val_loss : t->runs[k].val_accuracy;
        if (!isfinite(m))
            return NAN;
        v[n++] = m;
    }
    if (n == 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    switch (s->rank_by) {
    case RG_SWEEP_RANK_MEDIAN:
        return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    case RG_SWEEP_RANK_WORST:
        return s->by_loss ? v[n - 1] : v[0];
    default:
        return s->by_loss ? t->val_loss : t->val_accuracy;
    }
}

int rg_sweep_compare(const rg_sweep *s, const rg_sweep_trial *a, const rg_sweep_trial *b)
{
    if (a->rung != b->rung)
        return a->rung > b->rung ? -1 : 1;
    double ma = rg_sweep_metric(s, a), mb = rg_sweep_metric(s, b);
    int ha = !isnan(ma), hb = !isnan(mb);
    if (ha != hb)
        return hb - ha;
    if (ha && ma != mb)
        return (s->by_loss ? ma < mb : ma > mb) ? -1 : 1;
    return a->number < b->number ? -1 : a->number > b->number;
}

static const rg_sweep *g_sweep; /* qsort has no context argument in C11 */

static int by_metric(const void *pa, const void *pb)
{
    return rg_sweep_compare(g_sweep, pa, pb);
}

void rg_sweep_rank(const rg_sweep *s, rg_sweep_trial *ts, int64_t n)
{
    g_sweep = s;
    qsort(ts, (size_t)n, sizeof *ts, by_metric);
}

/* "ok", "failed", or "stopped" for a configuration successive halving dropped. */
static const char *status_of(const rg_sweep_trial *t)
{
    return !t->ok ? "failed" : t->stopped ? "stopped" : "ok";
}

/* ---- the table ------------------------------------------------------------------ */

static void fmt_mean_sd(const rg_sweep *s, int ok, double mean, double sd, char *buf, size_t cap)
{
    if (!ok || !isfinite(mean))
        snprintf(buf, cap, "-");
    else if (s->seeds > 1)
        snprintf(buf, cap, "%.4f ± %.4f", mean, sd);
    else
        snprintf(buf, cap, "%.4f", mean);
}

void rg_sweep_print_table(const rg_sweep *s, const rg_sweep_trial *ts, int64_t n)
{
    int w[RG_SWEEP_MAX_AXES];
    for (int a = 0; a < s->n_axes; a++) {
        w[a] = (int)strlen(s->axes[a].key);
        for (int64_t i = 0; i < n; i++)
            if ((int)strlen(ts[i].values[a]) > w[a])
                w[a] = (int)strlen(ts[i].values[a]);
    }
    /* "0.1234 ± 0.0012" is 15 columns on a terminal, 16 bytes */
    int wm = s->seeds > 1 ? 15 : 12, wl = s->seeds > 1 ? 15 : 8;
    printf("\n%5s", "trial");
    for (int a = 0; a < s->n_axes; a++)
        printf("  %-*s", w[a], s->axes[a].key);
    printf("  %*s  %*s  ", wm, "val_accuracy", wl, "val_loss");
    if (s->halving)
        printf("%6s  ", "epochs");
    printf("status%s\n", s->seeds > 1 ? " (mean ± sd over seeds)" : "");
    for (int64_t i = 0; i < n; i++) {
        char acc[48], loss[48];
        int pad = s->seeds > 1 ? 1 : 0; /* '±' takes two bytes */
        fmt_mean_sd(s, ts[i].ok, ts[i].val_accuracy, ts[i].sd_accuracy, acc, sizeof acc);
        fmt_mean_sd(s, ts[i].ok, ts[i].val_loss, ts[i].sd_loss, loss, sizeof loss);
        printf("%5lld", (long long)ts[i].number);
        for (int a = 0; a < s->n_axes; a++)
            printf("  %-*s", w[a], ts[i].values[a]);
        printf("  %*s  %*s  ", wm + (strchr(acc, '\xc2') ? pad : 0), acc,
               wl + (strchr(loss, '\xc2') ? pad : 0), loss);
        if (s->halving)
            printf("%6lld  ", (long long)ts[i].epochs);
        printf("%s\n", status_of(&ts[i]));
    }
}

/* ---- sweep.csv ------------------------------------------------------------------ */

static void put_csv(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_csv_row(FILE *f, const rg_sweep *s, const rg_sweep_trial *t)
{
    fprintf(f, "%lld", (long long)t->number);
    for (int a = 0; a < s->n_axes; a++) {
        fputc(',', f);
        put_csv(f, t->values[a]);
    }
    double m[4] = {t->val_accuracy, t->sd_accuracy, t->val_loss, t->sd_loss};
    for (int c = 0; c < 4; c++) {
        if (s->seeds == 1 && c % 2)
            continue;
        fputc(',', f);
        if (t->ok && isfinite(m[c]))
            fprintf(f, "%.9g", m[c]);
    }
    if (s->halving)
        fprintf(f, ",%lld", (long long)t->epochs);
    fprintf(f, ",%s,", status_of(t));
    put_csv(f, t->ok ? "" : t->message);
    fputc('\n', f);
}

static int write_csv(FILE *f, const rg_sweep *s, const rg_sweep_trial *ts, int64_t n)
{
    fputs("trial", f);
    for (int a = 0; a < s->n_axes; a++) {
        fputc(',', f);
        put_csv(f, s->axes[a].key);
    }
    fputs(s->seeds > 1 ? ",val_accuracy,val_accuracy_sd,val_loss,val_loss_sd" : ",val_accuracy,val_loss", f);
    fputs(s->halving ? ",epochs,status,message\n" : ",status,message\n", f);
    for (int64_t i = 0; i < n; i++)
        put_csv_row(f, s, &ts[i]);
    return 0;
}

/* ---- sweep.jsonl ---------------------------------------------------------------- */

/* Digits that give v back, 9 at least: jansson prints every real of a dump
 * with one precision, and a swept value must read back as what train got. */
static int digits_of(double v)
{
    char t[40];
    int p = 9;
    for (; p < 17; p++) { /* 17 digits always give a double back */
        snprintf(t, sizeof t, "%.*g", p, v);
        if (strtod(t, NULL) == v)
            break;
    }
    return p;
}

/* 1 if text is a whole number in JSON's integer spelling (no '.', no 'e'). */
static int integer_text(const char *text)
{
    const char *p = text + (text[0] == '-');
    return *p && strspn(p, "0123456789") == strlen(p) && strlen(p) < 16;
}

/* A metric as "%.9g" writes it: a whole number stays an integer ("1", not
 * jansson's "1.0"), a missing one is null. */
static json_t *metric_json(int ok, double v)
{
    char t[40];
    if (!ok || !isfinite(v))
        return json_null();
    snprintf(t, sizeof t, "%.9g", v);
    return integer_text(t) ? json_integer(strtoll(t, NULL, 10)) : json_real(v);
}

/* A swept value as passed to train: a number stays a number, the rest
 * (optimizer=adam, model=mlp:64) is a string. *digits grows to what the
 * number needs. */
static json_t *value_json(const char *text, int *digits)
{
    double v;
    if (!rg_sweep_is_number(text, &v))
        return rg_cli_jstring(text);
    if (integer_text(text))
        return json_integer(strtoll(text, NULL, 10));
    int p = digits_of(v);
    *digits = p > *digits ? p : *digits;
    return json_real(v);
}

static json_t *trial_json(const rg_sweep *s, const rg_sweep_trial *t, int *digits)
{
    json_t *params = json_object();
    for (int a = 0; params && a < s->n_axes; a++) {
        /* the key as the user typed it, which need not be UTF-8 */
        json_t *key = rg_cli_jstring(s->axes[a].key);
        json_t *v = strcmp(t->values[a], "-") ? value_json(t->values[a], digits) : json_null();
        if (!key || json_object_set_new(params, json_string_value(key), v)) {
            json_decref(params);
            params = NULL;
        }
        json_decref(key);
    }
    json_t *o = json_pack("{s:I, s:o, s:o, s:o}", "trial", (json_int_t)t->number, "params",
                          params, "val_accuracy", metric_json(t->ok, t->val_accuracy),
                          "val_loss", metric_json(t->ok, t->val_loss));
    int bad = !o;
    if (!bad && s->seeds > 1) {
        json_t *runs = json_array();
        for (int k = 0; runs && k < s->seeds; k++)
            json_array_append_new(runs, json_pack("{s:I, s:o, s:o}", "seed",
                                                  (json_int_t)(s->base_seed + k), "val_accuracy",
                                                  metric_json(t->runs[k].ok,
                                                              t->runs[k].val_accuracy),
                                                  "val_loss",
                                                  metric_json(t->runs[k].ok,
                                                              t->runs[k].val_loss)));
        bad = json_object_set_new(o, "val_accuracy_sd", metric_json(t->ok, t->sd_accuracy)) ||
              json_object_set_new(o, "val_loss_sd", metric_json(t->ok, t->sd_loss)) ||
              json_object_set_new(o, "seeds", runs);
    }
    if (!bad && s->halving)
        bad = json_object_set_new(o, "epochs", json_integer(t->epochs));
    if (!bad)
        bad = json_object_set_new(o, "status", json_string(status_of(t)));
    if (!bad && !t->ok)
        bad = json_object_set_new(o, "error", rg_cli_jstring(t->message));
    if (bad) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* One object per line with ", " and ": " between items, as before jansson
 * (JSON_COMPACT would drop the spaces). */
static int write_jsonl(FILE *f, const rg_sweep *s, const rg_sweep_trial *ts, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        int digits = 9;
        json_t *o = trial_json(s, &ts[i], &digits);
        int bad = !o || json_dumpf(o, f, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(digits)) != 0;
        json_decref(o);
        if (bad || fputc('\n', f) == EOF)
            return -1;
    }
    return 0;
}

/* Writes the file's content; -1 if it could not (out of memory, write error). */
typedef int (*writer_fn)(FILE *, const rg_sweep *, const rg_sweep_trial *, int64_t);

/* DIR/name written whole or not at all (a .tmp file renamed). */
static int write_result_file(const rg_sweep *s, const char *name, writer_fn write,
                             const rg_sweep_trial *ts, int64_t n)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return rg_cli_error_set(RG_ERR_IO, "%s: cannot write: %s", path, strerror(errno)), -1;
    int bad = write(f, s, ts, n) != 0;
    bad |= ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return rg_cli_error_set(RG_ERR_IO, "%s: cannot write", path), -1;
    }
    return 0;
}

int rg_sweep_write_results(const rg_sweep *s, const rg_sweep_trial *ts, int64_t n)
{
    if (write_result_file(s, "sweep.csv", write_csv, ts, n))
        return -1;
    return write_result_file(s, "sweep.jsonl", write_jsonl, ts, n);
}

/* ---- the winner ------------------------------------------------------------------ */

/* POSIX-shell quoting: safe words bare, the rest in '...' with ' as '\''. */
static void put_quoted(FILE *f, const char *w)
{
    int safe = w[0] != '\0';
    for (const char *p = w; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("@%+=:,./_-", *p)))
            safe = 0;
    if (safe) {
        fputs(w, f);
        return;
    }
    fputc('\'', f);
    for (const char *p = w; *p; p++)
        if (*p == '\'')
            fputs("'\\''", f);
        else
            fputc(*p, f);
    fputc('\'', f);
}

int rg_sweep_print_winner(const rg_sweep *s, const rg_sweep_trial *w)
{
    rg_argvec best = {0};
    if (rg_sweep_train_args(s, w->values, 0, &best)) {
        rg_argvec_free(&best);
        return -1;
    }
    int has_threads = 0;
    for (int i = 0; i < best.n; i++)
        has_threads |= !strcmp(best.v[i], "--threads");
    char num[32];
    snprintf(num, sizeof num, "%d", s->threads);
    /* the thread count is part of what makes the numbers bit-identical */
    if (s->threads > 0 && !has_threads &&
        (rg_argvec_push(&best, "--threads") || rg_argvec_push(&best, num))) {
        rg_argvec_free(&best);
        return -1;
    }
    printf("\nbest on %s%s: trial %lld (", s->seeds > 1 ? "the mean " : "",
           s->by_loss ? "val_loss" : "val_accuracy", (long long)w->number);
    rg_sweep_print_values(s, w);
    if (s->seeds > 1)
        printf("; %s %.4f ± %.4f over %d seeds", s->by_loss ? "val_loss" : "val_accuracy",
               s->by_loss ? w->val_loss : w->val_accuracy,
               s->by_loss ? w->sd_loss : w->sd_accuracy, s->seeds);
    printf("), to train it again%s:\n", s->seeds > 1 ? " (its first seed)" : "");
    put_quoted(stdout, program_invocation_name);
    fputs(" train", stdout);
    for (int i = 0; i < best.n; i++) {
        fputc(' ', stdout);
        put_quoted(stdout, best.v[i]);
    }
    fputc('\n', stdout);
    rg_argvec_free(&best);
    return 0;
}
