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

double rg_sweep_metric(const rg_sweep_trial *t, int by_loss)
{
    double m = by_loss ? t->val_loss : t->val_accuracy;
    return t->ok && isfinite(m) ? m : NAN;
}

/* qsort has no context argument in C11. */
static int g_by_loss;

static int by_metric(const void *pa, const void *pb)
{
    const rg_sweep_trial *a = pa, *b = pb;
    double ma = rg_sweep_metric(a, g_by_loss), mb = rg_sweep_metric(b, g_by_loss);
    int ha = !isnan(ma), hb = !isnan(mb);
    if (ha != hb)
        return hb - ha;
    if (ha && ma != mb)
        return (g_by_loss ? ma < mb : ma > mb) ? -1 : 1;
    return a->number < b->number ? -1 : a->number > b->number;
}

void rg_sweep_rank(const rg_sweep *s, rg_sweep_trial *ts, int64_t n)
{
    g_by_loss = s->by_loss;
    qsort(ts, (size_t)n, sizeof *ts, by_metric);
}

/* ---- the table ------------------------------------------------------------------ */

static void fmt_metric(double v, char *buf, size_t cap)
{
    if (isfinite(v))
        snprintf(buf, cap, "%.4f", v);
    else
        snprintf(buf, cap, "-");
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
    printf("\n%5s", "trial");
    for (int a = 0; a < s->n_axes; a++)
        printf("  %-*s", w[a], s->axes[a].key);
    printf("  %12s  %8s  status\n", "val_accuracy", "val_loss");
    for (int64_t i = 0; i < n; i++) {
        char acc[32], loss[32];
        fmt_metric(ts[i].ok ? ts[i].val_accuracy : NAN, acc, sizeof acc);
        fmt_metric(ts[i].ok ? ts[i].val_loss : NAN, loss, sizeof loss);
        printf("%5lld", (long long)ts[i].number);
        for (int a = 0; a < s->n_axes; a++)
            printf("  %-*s", w[a], ts[i].values[a]);
        printf("  %12s  %8s  %s\n", acc, loss, ts[i].ok ? "ok" : "failed");
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
    fputc(',', f);
    if (t->ok && isfinite(t->val_accuracy))
        fprintf(f, "%.9g", t->val_accuracy);
    fputc(',', f);
    if (t->ok && isfinite(t->val_loss))
        fprintf(f, "%.9g", t->val_loss);
    fprintf(f, ",%s,", t->ok ? "ok" : "failed");
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
    fputs(",val_accuracy,val_loss,status,message\n", f);
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
        if (!key || json_object_set_new(params, json_string_value(key),
                                        value_json(t->values[a], digits))) {
            json_decref(params);
            params = NULL;
        }
        json_decref(key);
    }
    json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:s}", "trial", (json_int_t)t->number, "params",
                          params, "val_accuracy", metric_json(t->ok, t->val_accuracy),
                          "val_loss", metric_json(t->ok, t->val_loss), "status",
                          t->ok ? "ok" : "failed");
    if (o && !t->ok && json_object_set_new(o, "error", rg_cli_jstring(t->message))) {
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
    printf("\nbest on %s: trial %lld (", s->by_loss ? "val_loss" : "val_accuracy",
           (long long)w->number);
    rg_sweep_print_values(s, w);
    printf("), to train it again:\n");
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
