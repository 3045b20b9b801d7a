/* regula sweep: trials as child processes (fork + execv of /proc/self/exe,
 * no shell), so a crash or an out-of-range value fails one trial, not the
 * sweep, and a trial's files are exactly what `regula train` writes for a
 * user. A trial is read back from its summary; one whose summary exists for
 * the same arguments is not run again. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_error.h"
#include "cli.h"
#include "sweep.h"

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

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

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

/* ---- one trial ------------------------------------------------------------------ */

typedef struct trial_files {
    char summary[4200], ckpt[4200], log[4200], params[4200], metrics[4200];
} trial_files;

static void trial_files_of(const rg_sweep *s, const rg_sweep_trial *t, trial_files *tf)
{
    char base[4096];
    snprintf(base, sizeof base, "%s/trial-%lld", s->dir, (long long)t->number);
    snprintf(tf->summary, sizeof tf->summary, "%s.json", base);
    snprintf(tf->ckpt, sizeof tf->ckpt, "%s.ckpt", base);
    snprintf(tf->log, sizeof tf->log, "%s.log", base);
    snprintf(tf->params, sizeof tf->params, "%s.params", base);
    snprintf(tf->metrics, sizeof tf->metrics, "%s.metrics.jsonl", base);
}

/* What DIR/trial-K.params holds: the identity of the trial's results. */
static char *params_text(const rg_sweep *s, const rg_sweep_trial *t, const rg_argvec *args)
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

/* A top-level number of the summary; null (no validation split) is NaN. */
static int summary_number(const json_t *summary, const char *key, double *v)
{
    const json_t *x = json_object_get(summary, key);
    if (json_is_null(x))
        *v = NAN;
    else if (json_is_number(x))
        *v = json_number_value(x);
    else
        return 0;
    return 1;
}

/* 1 with the trial's validation metrics from its summary; 0 with the reason
 * in why ("FILE:LINE:COLUMN: what is wrong" for a file that is not JSON). */
static int read_summary(const char *path, rg_sweep_trial *t, char *why, size_t cap)
{
    json_error_t err;
    json_t *summary = json_load_file(path, 0, &err);
    if (!summary) {
        if (err.line < 0) /* could not open or read: the text names the file */
            snprintf(why, cap, "%s", err.text);
        else
            snprintf(why, cap, "%s:%d:%d: %s", path, err.line, err.column, err.text);
        return 0;
    }
    int ok = summary_number(summary, "val_accuracy", &t->val_accuracy) &&
             summary_number(summary, "val_loss", &t->val_loss);
    json_decref(summary);
    if (!ok)
        snprintf(why, cap, "%s: no val_accuracy/val_loss", path);
    return ok;
}

/* 1 if the results on disk belong to these arguments. A summary that is
 * there but unreadable is named, since the trial then runs again. */
static int already_done(rg_sweep_trial *t, const trial_files *tf, const char *want)
{
    char *have = read_file(tf->params);
    int same = want && have && !strcmp(want, have) && file_exists(tf->ckpt);
    free(have);
    if (!same || !file_exists(tf->summary))
        return 0;
    char why[sizeof t->message];
    if (read_summary(tf->summary, t, why, sizeof why))
        return 1;
    printf("%s; running trial %lld again\n", why, (long long)t->number);
    return 0;
}

/* regula train ARGS --no-test --quiet --summary ... --save ... --metrics ... */
static int child_argv(const rg_argvec *args, const trial_files *tf, rg_argvec *child)
{
    int bad = rg_argvec_push(child, "regula") || rg_argvec_push(child, "train");
    for (int i = 0; !bad && i < args->n; i++)
        bad = rg_argvec_push(child, args->v[i]);
    return bad || rg_argvec_push(child, "--no-test") || rg_argvec_push(child, "--quiet") ||
           rg_argvec_push(child, "--summary") || rg_argvec_push(child, tf->summary) ||
           rg_argvec_push(child, "--save") || rg_argvec_push(child, tf->ckpt) ||
           rg_argvec_push(child, "--metrics") || rg_argvec_push(child, tf->metrics);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* Runs the trial's train command and records what it gave. */
static int run_train(rg_sweep_trial *t, const trial_files *tf, const rg_argvec *args)
{
    rg_argvec child = {0};
    if (child_argv(args, tf, &child)) {
        rg_argvec_free(&child);
        return rg_cli_error_set(RG_ERR_NOMEM, "out of memory"), -1;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int code = run_child(child.v, tf->log);
    int start_errno = errno;
    double secs = seconds_since(&t0);
    rg_argvec_free(&child);
    t->ran = 1;
    char why[sizeof t->message];
    if (code == 0 && read_summary(tf->summary, t, why, sizeof why)) {
        t->ok = 1;
        printf("  val_accuracy %.4f  val_loss %.4f  %.1f s\n", t->val_accuracy, t->val_loss,
               secs);
        return 0;
    }
    if (code == 0)
        snprintf(t->message, sizeof t->message, "%s", why);
    else if (code < 0)
        snprintf(t->message, sizeof t->message, "cannot start: %s", strerror(start_errno));
    else
        last_line(tf->log, t->message, sizeof t->message);
    printf("  failed (exit %d): %s\n", code, t->message);
    return 0;
}

int rg_sweep_run_trial(const rg_sweep *s, rg_sweep_trial *t, int64_t total)
{
    trial_files tf;
    trial_files_of(s, t, &tf);
    rg_argvec args = {0};
    if (rg_sweep_train_args(s, t->values, 1, &args)) {
        rg_argvec_free(&args);
        return rg_cli_error_set(RG_ERR_NOMEM, "out of memory"), -1;
    }
    char *want = params_text(s, t, &args);
    int done = already_done(t, &tf, want);
    printf("trial %lld/%lld  ", (long long)t->number, (long long)total);
    rg_sweep_print_values(s, t);
    if (done) {
        t->ok = 1;
        printf("  val_accuracy %.4f  val_loss %.4f  skipped, already done\n", t->val_accuracy,
               t->val_loss);
        free(want);
        rg_argvec_free(&args);
        return 0;
    }
    fflush(stdout);
    /* Stale results go before the new parameters are written, so a summary
     * on disk always belongs to the parameters beside it. */
    remove(tf.summary);
    remove(tf.ckpt);
    remove(tf.metrics);
    int bad = !want || write_text(tf.params, want);
    free(want);
    if (bad) {
        rg_argvec_free(&args);
        return rg_cli_error_set(RG_ERR_IO, "%s: cannot write", tf.params), -1;
    }
    int st = run_train(t, &tf, &args);
    rg_argvec_free(&args);
    return st;
}

/* ---- the winner ------------------------------------------------------------------- */

int rg_sweep_eval_winner(const rg_sweep *s, const rg_sweep_trial *w)
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
