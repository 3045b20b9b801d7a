/* regula sweep: run `regula train` once per combination of values, choose on
 * the validation split, evaluate only the winner on the test set.
 *
 * Each trial is a child process (fork + execv of /proc/self/exe, no shell):
 * a crash or an out-of-range value fails one trial, not the sweep, and the
 * trial's files are exactly what `regula train` writes for a user. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../error.h"
#include "args.h"
#include "cli.h"
#include "sweep_plan.h"

static const char sweep_usage[] =
    "usage: regula sweep --dir DIR [--grid | --random N] --sweep KEY=VALUES [--sweep ...]\n"
    "                    [--metric val_accuracy|val_loss] [--seed S] [--dry-run]\n"
    "                    -- TRAIN-ARGS...\n"
    "\n"
    "Hyperparameter search on the validation split: runs `regula train TRAIN-ARGS` once\n"
    "per trial with the trial's values, ranks the trials by a validation metric, prints\n"
    "the winner as a ready-to-run command and evaluates only the winner on the test set.\n"
    "\n"
    "  --dir DIR         where trials and results go (created if missing)\n"
    "  --sweep KEY=VALUES  repeatable. KEY is PLUGIN.PARAM, a parameter of a plugin given\n"
    "                    in TRAIN-ARGS as --reg/--aug NAME[:...] (every --reg/--aug naming\n"
    "                    it gets the value, set or replaced in its spec), e.g. l2.lambda,\n"
    "                    dropout.rate; or a train option: lr, momentum, batch, epochs,\n"
    "                    seed, val, train-limit, lr-gamma, min-lr, min-delta, lr-step,\n"
    "                    lr-patience, warmup-epochs, patience, optimizer, lr-schedule,\n"
    "                    model, early-stop (set or replaced as --KEY VALUE).\n"
    "                    VALUES: a list  0,1e-4,1e-3  (';' separates values that contain\n"
    "                    ',': model=mlp:64;mlp:128,64), or a range\n"
    "                      LO..HI:lin:COUNT  COUNT values evenly spaced, ends included\n"
    "                      LO..HI:log:COUNT  COUNT values evenly spaced in log(value)\n"
    "                    (inner values rounded to 6 significant digits)\n"
    "                    (COUNT may be left out with --random)\n"
    "  --grid            every combination (default); trial numbers count through the\n"
    "                    combinations with the first --sweep varying slowest\n"
    "  --random N        N combinations drawn with --seed: a list uniformly, a lin range\n"
    "                    uniformly, a log range log-uniformly (6 significant digits)\n"
    "  --metric M        val_accuracy (default, higher is better) or val_loss (lower)\n"
    "  --seed S          seed of the --random draws (default 1); the training seed is\n"
    "                    TRAIN-ARGS' --seed, which can be swept too\n"
    "  --dry-run         print the trials' values and stop\n"
    "\n"
    "Trial K runs `regula train TRAIN-ARGS --no-test --quiet --summary DIR/trial-K.json\n"
    "--save DIR/trial-K.ckpt --metrics DIR/trial-K.metrics.jsonl`, output in\n"
    "DIR/trial-K.log, its arguments in DIR/trial-K.params. The test set is not touched\n"
    "by any trial. A trial whose summary exists for the same arguments is not run again\n"
    "(an interrupted sweep continues where it stopped); a failed trial is recorded with\n"
    "the last line of its log and run again next time. --summary, --save and --metrics in\n"
    "TRAIN-ARGS are kept for the winner's command line only.\n"
    "\n"
    "Writes DIR/sweep.csv and DIR/sweep.jsonl (one object per trial: trial, params,\n"
    "val_accuracy, val_loss, status), best first, then runs `regula eval` on the winner's\n"
    "checkpoint (output also in DIR/winner-test.log).\n"
    "\n"
    "Example: regula sweep --dir runs/l2 --sweep l2.lambda=1e-5..1e-2:log:4 \\\n"
    "           --sweep lr=0.01,0.05 -- --model mlp:512,256 --epochs 20 --reg l2\n";

typedef struct trial {
    int64_t number;           /* 1-based */
    char (*values)[RG_SWEEP_VALUE_CHARS];
    double val_accuracy, val_loss;
    int ok, ran;
    char message[320];
} trial;

typedef struct sweep {
    const char *dir;
    int random, dry_run, by_loss;
    int64_t n_random;
    uint64_t seed;
    rg_sweep_axis *axes;
    int n_axes;
    int n_train;
    char **train; /* the user's train arguments */
} sweep;

/* ---- train arguments -------------------------------------------------------- */

static int is_switch(const char *a)
{
    return !strcmp(a, "--nesterov") || !strcmp(a, "--quiet") || !strcmp(a, "--no-test") ||
           !strcmp(a, "--center-crop") || !strcmp(a, "-h") || !strcmp(a, "--help") ||
           strncmp(a, "-", 1) != 0;
}

/* The plugin name of a spec "NAME[:params]"; a path names the plugin by its
 * file name without ".so". */
static int spec_names(const char *spec, const char *plugin)
{
    size_t len = strcspn(spec, ":");
    if (strlen(plugin) == len && !strncmp(spec, plugin, len))
        return 1;
    const char *base = spec;
    for (const char *p = spec; p < spec + len; p++)
        if (*p == '/')
            base = p + 1;
    size_t blen = (size_t)(spec + len - base);
    if (blen > 3 && !strncmp(spec + len - 3, ".so", 3))
        blen -= 3;
    return strlen(plugin) == blen && !strncmp(base, plugin, blen);
}

/* spec with param=value set (replaced if present). */
static char *spec_with(const char *spec, const char *param, const char *value)
{
    size_t len = strlen(spec) + strlen(param) + strlen(value) + 4;
    char *out = malloc(len);
    if (!out)
        return NULL;
    const char *colon = strchr(spec, ':');
    if (!colon || !colon[1]) {
        snprintf(out, len, "%.*s:%s=%s", (int)(colon ? colon - spec : (long)strlen(spec)), spec,
                 param, value);
        return out;
    }
    snprintf(out, len, "%.*s:", (int)(colon - spec + 0), spec);
    int replaced = 0, first = 1;
    const char *p = colon + 1;
    while (*p) {
        size_t n = strcspn(p, ",");
        size_t plen = strlen(param);
        if (!first)
            strcat(out, ",");
        first = 0;
        if (n > plen && !strncmp(p, param, plen) && p[plen] == '=') {
            strcat(out, param);
            strcat(out, "=");
            strcat(out, value);
            replaced = 1;
        } else {
            strncat(out, p, n);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (!replaced) {
        strcat(out, first ? "" : ",");
        strcat(out, param);
        strcat(out, "=");
        strcat(out, value);
    }
    return out;
}

typedef struct argvec {
    char **v;
    int n, cap;
} argvec;

static int push(argvec *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        int cap = a->cap ? a->cap * 2 : 32;
        char **v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n] = s ? strdup(s) : NULL;
    if (s && !a->v[a->n])
        return -1;
    a->n++;
    a->v[a->n] = NULL;
    return 0;
}

static void argvec_free(argvec *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* The user's train arguments with a trial's values. for_trial drops the
 * flags the sweep owns (--summary, --save, --metrics, --no-test, --quiet);
 * otherwise (the winner's command) only --no-test goes. */
static int build_train_args(const sweep *s, char (*values)[RG_SWEEP_VALUE_CHARS],
                            int for_trial, argvec *out)
{
    int set[RG_SWEEP_MAX_AXES] = {0};
    for (int i = 0; i < s->n_train; i++) {
        const char *a = s->train[i];
        const char *v = !is_switch(a) && i + 1 < s->n_train ? s->train[i + 1] : NULL;
        if (!strcmp(a, "--no-test") || (for_trial && !strcmp(a, "--quiet")))
            continue;
        if (for_trial && v && (!strcmp(a, "--summary") || !strcmp(a, "--save") ||
                               !strcmp(a, "--metrics"))) {
            i++;
            continue;
        }
        if (!v) {
            if (push(out, a))
                return -1;
            continue;
        }
        i++;
        char *value = strdup(v);
        if (!value)
            return -1;
        for (int k = 0; k < s->n_axes; k++) {
            const rg_sweep_axis *ax = &s->axes[k];
            if (ax->plugin[0] && (!strcmp(a, "--reg") || !strcmp(a, "--aug")) &&
                spec_names(value, ax->plugin)) {
                char *next = spec_with(value, ax->param, values[k]);
                free(value);
                if (!(value = next))
                    return -1;
                set[k] = 1;
            } else if (!ax->plugin[0] && a[0] == '-' && a[1] == '-' && !strcmp(a + 2, ax->param)) {
                free(value);
                if (!(value = strdup(values[k])))
                    return -1;
                set[k] = 1;
            }
        }
        int bad = push(out, a) || push(out, value);
        free(value);
        if (bad)
            return -1;
    }
    for (int k = 0; k < s->n_axes; k++)
        if (!set[k] && !s->axes[k].plugin[0]) {
            char flag[64];
            snprintf(flag, sizeof flag, "--%s", s->axes[k].param);
            if (push(out, flag) || push(out, values[k]))
                return -1;
        }
    return 0;
}

/* ---- small file helpers -------------------------------------------------------- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n + 1 < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static int write_text(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fputs(text, f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

static void last_line(const char *path, char *buf, size_t cap)
{
    char *text = read_file(path);
    snprintf(buf, cap, "(no output)");
    if (!text)
        return;
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        text[--n] = '\0';
    char *start = strrchr(text, '\n');
    start = start ? start + 1 : text;
    /* progress lines end in '\r' redraws; keep the last one */
    char *cr = strrchr(start, '\r');
    if (cr)
        start = cr + 1;
    if (*start)
        snprintf(buf, cap, "%s", start);
    free(text);
}

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

static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

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

/* ---- one trial ------------------------------------------------------------------ */

/* Runs /proc/self/exe with argv, stdout and stderr to log; returns the exit
 * status (128 + signal when killed), -1 if it could not start. */
static int run_child(char **argv, const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            _exit(126);
        if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execv("/proc/self/exe", argv);
        dprintf(2, "regula: cannot run /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static char *params_text(const sweep *s, const trial *t, const argvec *args)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f, "trial %lld\n", (long long)t->number);
    for (int a = 0; a < s->n_axes; a++)
        fprintf(f, "%s=%s\n", s->axes[a].key, t->values[a]);
    fputs("train arguments:\n", f);
    for (int i = 0; i < args->n; i++)
        fprintf(f, "%s\n", args->v[i]);
    fclose(f);
    return text;
}

static int read_summary(const char *path, trial *t)
{
    char *json = read_file(path);
    if (!json)
        return 0;
    int ok = rg_sweep_json_number(json, "val_accuracy", &t->val_accuracy) &&
             rg_sweep_json_number(json, "val_loss", &t->val_loss);
    free(json);
    return ok;
}

static void print_values(const sweep *s, const trial *t)
{
    for (int a = 0; a < s->n_axes; a++)
        printf("%s%s=%s", a ? " " : "", s->axes[a].key, t->values[a]);
}

/* Returns 0, or -1 when the sweep itself cannot go on (out of memory, DIR
 * not writable); a trial's own failure is recorded in t. */
static int run_trial(const sweep *s, trial *t, int64_t total)
{
    char base[4096], json[4200], ckpt[4200], log[4200], params[4200], metrics[4200];
    snprintf(base, sizeof base, "%s/trial-%lld", s->dir, (long long)t->number);
    snprintf(json, sizeof json, "%s.json", base);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", base);
    snprintf(log, sizeof log, "%s.log", base);
    snprintf(params, sizeof params, "%s.params", base);
    snprintf(metrics, sizeof metrics, "%s.metrics.jsonl", base);
    argvec args = {0};
    if (build_train_args(s, t->values, 1, &args)) {
        argvec_free(&args);
        return rg_error_set(RG_ERR_NOMEM, "out of memory"), -1;
    }
    char *want = params_text(s, t, &args);
    char *have = read_file(params);
    int done = want && have && !strcmp(want, have) && file_exists(ckpt) && read_summary(json, t);
    free(have);
    printf("trial %lld/%lld  ", (long long)t->number, (long long)total);
    print_values(s, t);
    if (done) {
        t->ok = 1;
        printf("  val_accuracy %.4f  val_loss %.4f  skipped, already done\n", t->val_accuracy,
               t->val_loss);
        free(want);
        argvec_free(&args);
        return 0;
    }
    fflush(stdout);
    /* Stale results go before the new parameters are written, so a summary
     * on disk always belongs to the parameters beside it. */
    remove(json);
    remove(ckpt);
    remove(metrics);
    if (!want || write_text(params, want)) {
        free(want);
        argvec_free(&args);
        return rg_error_set(RG_ERR_IO, "%s: cannot write", params), -1;
    }
    free(want);
    argvec child = {0};
    int bad = push(&child, "regula") || push(&child, "train");
    for (int i = 0; !bad && i < args.n; i++)
        bad = push(&child, args.v[i]);
    bad = bad || push(&child, "--no-test") || push(&child, "--quiet") ||
          push(&child, "--summary") || push(&child, json) || push(&child, "--save") ||
          push(&child, ckpt) || push(&child, "--metrics") || push(&child, metrics);
    argvec_free(&args);
    if (bad) {
        argvec_free(&child);
        return rg_error_set(RG_ERR_NOMEM, "out of memory"), -1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int code = run_child(child.v, log);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    argvec_free(&child);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    t->ran = 1;
    if (code == 0 && read_summary(json, t)) {
        t->ok = 1;
        printf("  val_accuracy %.4f  val_loss %.4f  %.1f s\n", t->val_accuracy, t->val_loss,
               secs);
    } else {
        if (code == 0)
            snprintf(t->message, sizeof t->message, "%s: no val_accuracy/val_loss", json);
        else if (code < 0)
            snprintf(t->message, sizeof t->message, "cannot start: %s", strerror(errno));
        else
            last_line(log, t->message, sizeof t->message);
        printf("  failed (exit %d): %s\n", code, t->message);
    }
    return 0;
}

/* ---- ranking and output ------------------------------------------------------------ */

static const sweep *g_sort_sweep;

static double metric_of(const trial *t, int by_loss)
{
    double m = by_loss ? t->val_loss : t->val_accuracy;
    return t->ok && isfinite(m) ? m : NAN;
}

/* Best first; trials without the metric (failed, no validation split) last;
 * ties by trial number so the order is deterministic. */
static int by_metric(const void *pa, const void *pb)
{
    const trial *a = pa, *b = pb;
    int by_loss = g_sort_sweep->by_loss;
    double ma = metric_of(a, by_loss), mb = metric_of(b, by_loss);
    int ha = !isnan(ma), hb = !isnan(mb);
    if (ha != hb)
        return hb - ha;
    if (ha && ma != mb)
        return (by_loss ? ma < mb : ma > mb) ? -1 : 1;
    return a->number < b->number ? -1 : a->number > b->number;
}

static void fmt_metric(double v, char *buf, size_t cap)
{
    if (isfinite(v))
        snprintf(buf, cap, "%.4f", v);
    else
        snprintf(buf, cap, "-");
}

static void print_table(const sweep *s, const trial *ts, int64_t n)
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

static int write_results(const sweep *s, const trial *ts, int64_t n)
{
    char path[4200], tmp[4300];
    int bad = 0;
    snprintf(path, sizeof path, "%s/sweep.csv", s->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return rg_error_set(RG_ERR_IO, "%s: cannot write: %s", path, strerror(errno)), -1;
    fputs("trial", f);
    for (int a = 0; a < s->n_axes; a++) {
        fputc(',', f);
        put_csv(f, s->axes[a].key);
    }
    fputs(",val_accuracy,val_loss,status,message\n", f);
    for (int64_t i = 0; i < n; i++) {
        fprintf(f, "%lld", (long long)ts[i].number);
        for (int a = 0; a < s->n_axes; a++) {
            fputc(',', f);
            put_csv(f, ts[i].values[a]);
        }
        fputc(',', f);
        if (ts[i].ok && isfinite(ts[i].val_accuracy))
            fprintf(f, "%.9g", ts[i].val_accuracy);
        fputc(',', f);
        if (ts[i].ok && isfinite(ts[i].val_loss))
            fprintf(f, "%.9g", ts[i].val_loss);
        fprintf(f, ",%s,", ts[i].ok ? "ok" : "failed");
        put_csv(f, ts[i].ok ? "" : ts[i].message);
        fputc('\n', f);
    }
    bad |= ferror(f);
    bad |= fclose(f) != 0;
    bad = bad || rename(tmp, path) != 0;
    if (bad)
        return rg_error_set(RG_ERR_IO, "%s: cannot write", path), -1;

    snprintf(path, sizeof path, "%s/sweep.jsonl", s->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(f = fopen(tmp, "w")))
        return rg_error_set(RG_ERR_IO, "%s: cannot write: %s", path, strerror(errno)), -1;
    for (int64_t i = 0; i < n; i++) {
        fprintf(f, "{\"trial\": %lld, \"params\": {", (long long)ts[i].number);
        for (int a = 0; a < s->n_axes; a++) {
            double v;
            fputs(a ? ", " : "", f);
            put_json_string(f, s->axes[a].key);
            fputs(": ", f);
            /* the number exactly as passed to train (shortest round-trip text) */
            if (rg_sweep_is_number(ts[i].values[a], &v))
                fputs(ts[i].values[a], f);
            else
                put_json_string(f, ts[i].values[a]);
        }
        fputs("}, \"val_accuracy\": ", f);
        put_json_number(f, ts[i].ok ? ts[i].val_accuracy : NAN);
        fputs(", \"val_loss\": ", f);
        put_json_number(f, ts[i].ok ? ts[i].val_loss : NAN);
        fprintf(f, ", \"status\": \"%s\"", ts[i].ok ? "ok" : "failed");
        if (!ts[i].ok) {
            fputs(", \"error\": ", f);
            put_json_string(f, ts[i].message);
        }
        fputs("}\n", f);
    }
    bad |= ferror(f);
    bad |= fclose(f) != 0;
    bad = bad || rename(tmp, path) != 0;
    if (bad)
        return rg_error_set(RG_ERR_IO, "%s: cannot write", path), -1;
    return 0;
}

/* ---- options ------------------------------------------------------------------------ */

static rg_status check_plugin_axes(const sweep *s)
{
    for (int k = 0; k < s->n_axes; k++) {
        const rg_sweep_axis *ax = &s->axes[k];
        if (!ax->plugin[0])
            continue;
        int found = 0;
        for (int i = 0; i + 1 < s->n_train; i++) {
            const char *a = s->train[i], *spec = s->train[i + 1];
            if (is_switch(a))
                continue;
            i++;
            if ((strcmp(a, "--reg") && strcmp(a, "--aug")) || !spec_names(spec, ax->plugin))
                continue;
            found = 1;
            /* Validate the values against the plugin's schema now: a typo
             * should cost milliseconds, not a sweep of failed trials. */
            uint32_t kind = a[2] == 'r' ? RG_PLUGIN_REGULARIZER : RG_PLUGIN_AUGMENTER;
            int nv = ax->n ? ax->n : 2;
            for (int v = 0; v < nv; v++) {
                char text[RG_SWEEP_VALUE_CHARS];
                if (ax->n)
                    snprintf(text, sizeof text, "%s", ax->values[v]);
                else
                    rg_sweep_format_number(v ? ax->hi : ax->lo, text, sizeof text);
                char *trial_spec = spec_with(spec, ax->param, text);
                if (!trial_spec)
                    return rg_error_set(RG_ERR_NOMEM, "out of memory");
                rg_plugin_instance *inst = NULL;
                rg_status st = rg_plugin_instance_create(trial_spec, kind, NULL, &inst);
                free(trial_spec);
                if (st != RG_OK)
                    return rg_error_wrap(RG_ERR_INVALID, "--sweep %s=%s", ax->key, text);
                rg_plugin_instance_destroy(inst);
            }
        }
        if (!found)
            return rg_error_set(RG_ERR_INVALID, "--sweep %s: plugin '%s' is not in the train "
                                "arguments; add --reg %s or --aug %s after --", ax->key,
                                ax->plugin, ax->plugin, ax->plugin);
    }
    for (int i = 0; i < s->n_train; i++) {
        if (!strcmp(s->train[i], "--resume"))
            return rg_error_set(RG_ERR_INVALID, "sweep: --resume cannot be swept; an "
                                "interrupted sweep resumes by running it again");
        double v;
        if (!strcmp(s->train[i], "--val") && i + 1 < s->n_train &&
            rg_sweep_is_number(s->train[i + 1], &v) && v == 0)
            return rg_error_set(RG_ERR_INVALID, "sweep: --val 0 leaves no validation split to "
                                "choose on");
    }
    return RG_OK;
}

static rg_status parse_sweep(int argc, char **argv, sweep *s, int *help)
{
    int i = 1, grid = 0;
    s->seed = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = 1;
            return RG_OK;
        }
        if (!strcmp(a, "--grid")) {
            grid = 1;
            continue;
        }
        if (!strcmp(a, "--dry-run")) {
            s->dry_run = 1;
            continue;
        }
        if (strcmp(a, "--dir") && strcmp(a, "--random") && strcmp(a, "--sweep") &&
            strcmp(a, "--metric") && strcmp(a, "--seed"))
            return rg_error_set(RG_ERR_INVALID, "sweep: unknown option '%s' (train arguments "
                                "go after --; see regula sweep --help)", a);
        if (i + 1 >= argc)
            return rg_error_set(RG_ERR_INVALID, "sweep: %s needs a value", a);
        const char *v = argv[++i];
        rg_status st = RG_OK;
        int64_t n;
        if (!strcmp(a, "--dir"))
            s->dir = v;
        else if (!strcmp(a, "--random")) {
            st = rg_arg_int(a, v, 1, RG_SWEEP_MAX_TRIALS, &s->n_random);
            s->random = 1;
        } else if (!strcmp(a, "--seed")) {
            st = rg_arg_int(a, v, 0, INT64_MAX, &n);
            s->seed = (uint64_t)n;
        } else if (!strcmp(a, "--metric")) {
            if (!strcmp(v, "val_loss"))
                s->by_loss = 1;
            else if (strcmp(v, "val_accuracy"))
                st = rg_error_set(RG_ERR_INVALID, "--metric %s: expected val_accuracy or "
                                  "val_loss", v);
        } else {
            if (s->n_axes >= RG_SWEEP_MAX_AXES)
                return rg_error_set(RG_ERR_INVALID, "sweep: at most %d --sweep keys",
                                    RG_SWEEP_MAX_AXES);
            st = rg_sweep_axis_parse(v, &s->axes[s->n_axes]);
            for (int k = 0; st == RG_OK && k < s->n_axes; k++)
                if (!strcmp(s->axes[k].key, s->axes[s->n_axes].key))
                    st = rg_error_set(RG_ERR_INVALID, "--sweep %s: given twice", s->axes[k].key);
            if (st == RG_OK)
                s->n_axes++;
        }
        if (st != RG_OK)
            return st;
    }
    if (grid && s->random)
        return rg_error_set(RG_ERR_INVALID, "sweep: --grid and --random exclude each other");
    if (!s->dir && !s->dry_run)
        return rg_error_set(RG_ERR_INVALID, "sweep: --dir DIR is required (where trials and "
                            "results go)");
    if (s->n_axes == 0)
        return rg_error_set(RG_ERR_INVALID, "sweep: nothing to sweep; give --sweep KEY=VALUES, "
                            "e.g. --sweep l2.lambda=1e-5..1e-2:log:4");
    if (i >= argc)
        return rg_error_set(RG_ERR_INVALID, "sweep: expected -- and the train arguments, "
                            "e.g. -- --reg l2 --epochs 20");
    s->train = argv + i + 1;
    s->n_train = argc - i - 1;
    return check_plugin_axes(s);
}

static int run_winner_eval(const sweep *s, const trial *w)
{
    char ckpt[4200], log[4200];
    snprintf(ckpt, sizeof ckpt, "%s/trial-%lld.ckpt", s->dir, (long long)w->number);
    snprintf(log, sizeof log, "%s/winner-test.log", s->dir);
    char *argv[] = {"regula", "eval", ckpt, NULL};
    printf("\ntest set, winner only (regula eval %s):\n", ckpt);
    int code = run_child(argv, log);
    char *text = read_file(log);
    if (text)
        fputs(text, stdout);
    free(text);
    if (code != 0)
        return rg_cli_fail(1, "regula eval %s failed (exit %d); see %s", ckpt, code, log);
    return 0;
}

int rg_cmd_sweep(int argc, char **argv)
{
    sweep s;
    memset(&s, 0, sizeof s);
    int help = 0;
    s.axes = calloc(RG_SWEEP_MAX_AXES, sizeof *s.axes);
    if (!s.axes)
        return rg_cli_fail(1, "out of memory");
    if (parse_sweep(argc, argv, &s, &help) != RG_OK) {
        free(s.axes);
        return rg_cli_fail(2, "%s", rg_error_message());
    }
    if (help) {
        fputs(sweep_usage, stdout);
        free(s.axes);
        return 0;
    }
    int64_t n = s.n_random;
    if (!s.random && rg_sweep_grid_size(s.axes, s.n_axes, &n) != RG_OK) {
        free(s.axes);
        return rg_cli_fail(2, "%s", rg_error_message());
    }
    trial *ts = calloc((size_t)n, sizeof *ts);
    char (*values)[RG_SWEEP_VALUE_CHARS] = calloc((size_t)n * (size_t)s.n_axes, sizeof *values);
    if (!ts || !values) {
        free(ts);
        free(values);
        free(s.axes);
        return rg_cli_fail(1, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        ts[i].number = i + 1;
        ts[i].values = values + i * s.n_axes;
        ts[i].val_accuracy = ts[i].val_loss = NAN;
        for (int a = 0; a < s.n_axes; a++) {
            if (s.random)
                rg_sweep_random_value(&s.axes[a], s.seed, i, a, ts[i].values[a],
                                      RG_SWEEP_VALUE_CHARS);
            else
                rg_sweep_grid_value(s.axes, s.n_axes, i, a, ts[i].values[a],
                                    RG_SWEEP_VALUE_CHARS);
        }
    }
    int code = 0;
    if (s.dry_run) {
        printf("%lld trials (%s)\n", (long long)n, s.random ? "random" : "grid");
        for (int64_t i = 0; i < n; i++) {
            printf("trial %lld  ", (long long)ts[i].number);
            print_values(&s, &ts[i]);
            printf("\n");
        }
        goto done;
    }
    if (mkdir(s.dir, 0755) != 0 && errno != EEXIST) {
        code = rg_cli_fail(1, "--dir %s: cannot create: %s", s.dir, strerror(errno));
        goto done;
    }
    printf("regula sweep: %lld trials (%s), chosen on %s, in %s\n", (long long)n,
           s.random ? "random" : "grid", s.by_loss ? "val_loss" : "val_accuracy", s.dir);
    for (int64_t i = 0; i < n; i++)
        if (run_trial(&s, &ts[i], n)) {
            code = rg_cli_fail(1, "%s", rg_error_message());
            goto done;
        }
    g_sort_sweep = &s;
    qsort(ts, (size_t)n, sizeof *ts, by_metric);
    print_table(&s, ts, n);
    for (int64_t i = 0; i < n; i++)
        if (!ts[i].ok)
            printf("trial %lld failed: %s (see %s/trial-%lld.log)\n", (long long)ts[i].number,
                   ts[i].message, s.dir, (long long)ts[i].number);
    if (write_results(&s, ts, n)) {
        code = rg_cli_fail(1, "%s", rg_error_message());
        goto done;
    }
    printf("results: %s/sweep.csv, %s/sweep.jsonl\n", s.dir, s.dir);
    if (isnan(metric_of(&ts[0], s.by_loss))) {
        code = rg_cli_fail(1, "no trial has a %s: every trial failed or none had a validation "
                           "split", s.by_loss ? "val_loss" : "val_accuracy");
        goto done;
    }
    argvec best = {0};
    if (build_train_args(&s, ts[0].values, 0, &best)) {
        argvec_free(&best);
        code = rg_cli_fail(1, "out of memory");
        goto done;
    }
    printf("\nbest on %s: trial %lld (", s.by_loss ? "val_loss" : "val_accuracy",
           (long long)ts[0].number);
    print_values(&s, &ts[0]);
    printf("), to train it again:\n");
    put_quoted(stdout, program_invocation_name);
    fputs(" train", stdout);
    for (int i = 0; i < best.n; i++) {
        fputc(' ', stdout);
        put_quoted(stdout, best.v[i]);
    }
    fputc('\n', stdout);
    argvec_free(&best);
    code = run_winner_eval(&s, &ts[0]);
done:
    free(ts);
    free(values);
    free(s.axes);
    return code;
}
