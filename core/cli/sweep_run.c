/* regula sweep: runs as child processes (fork + execv of /proc/self/exe, no
 * shell), so a crash or an out-of-range value fails one run, not the sweep,
 * and a run's files are exactly what `regula train` writes for a user. A run
 * is read back from its summary, or at a rung of successive halving from its
 * metrics line of that epoch; one whose results exist for the same arguments
 * is not run again, and one with a checkpoint continues from it. Up to
 * s->jobs children run at once, each in its own process group, so the sweep
 * alone decides what a Ctrl-C means: it is passed on once to every running
 * child, which saves its checkpoint, and no new run starts. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
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


static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* ---- one run's files ------------------------------------------------------------ */

typedef struct run_files {
    char summary[4200], ckpt[4200], log[4200], params[4200], metrics[4200];
} run_files;

void rg_sweep_run_base(const rg_sweep *s, const rg_sweep_trial *t, int k, char *buf, size_t cap)
{
    if (s->seeds > 1)
        snprintf(buf, cap, "%s/trial-%lld-s%d", s->dir, (long long)t->number, k + 1);
    else
        snprintf(buf, cap, "%s/trial-%lld", s->dir, (long long)t->number);
}

static void run_files_of(const rg_sweep *s, const rg_sweep_trial *t, int k, run_files *f)
{
    char base[4096];
    rg_sweep_run_base(s, t, k, base, sizeof base);
    snprintf(f->summary, sizeof f->summary, "%s.json", base);
    snprintf(f->ckpt, sizeof f->ckpt, "%s.ckpt", base);
    snprintf(f->log, sizeof f->log, "%s.log", base);
    snprintf(f->params, sizeof f->params, "%s.params", base);
    snprintf(f->metrics, sizeof f->metrics, "%s.metrics.jsonl", base);
}

/* What DIR/trial-N[-sK].params holds: the identity of the run's results. The
 * rung a run stops at is not part of it: a rung is a prefix of the full run. */
static char *params_text(const rg_sweep *s, const rg_sweep_trial *t, int k, const rg_argvec *args)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f, "trial %lld\n", (long long)t->number);
    if (s->seeds > 1)
        fprintf(f, "seed %d of %d\n", k + 1, s->seeds);
    for (int a = 0; a < s->n_axes; a++)
        fprintf(f, "%s=%s\n", s->axes[a].key, t->values[a]);
    fputs("train arguments:\n", f);
    for (int i = 0; i < args->n; i++)
        fprintf(f, "%s\n", args->v[i]);
    fclose(f);
    return text;
}

/* A top-level number of a JSON object; null (no validation split) is NaN. */
static int json_number_of(const json_t *o, const char *key, double *v)
{
    const json_t *x = json_object_get(o, key);
    if (json_is_null(x))
        *v = NAN;
    else if (json_is_number(x))
        *v = json_number_value(x);
    else
        return 0;
    return 1;
}

/* 1 with the run's validation metrics from its summary; 0 with the reason in
 * why ("FILE:LINE:COLUMN: what is wrong" for a file that is not JSON). */
static int read_summary(const char *path, rg_sweep_result *r, char *why, size_t cap)
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
    double epochs = NAN;
    int ok = json_number_of(summary, "val_accuracy", &r->val_accuracy) &&
             json_number_of(summary, "val_loss", &r->val_loss);
    if (ok && json_number_of(summary, "epochs", &epochs) && isfinite(epochs))
        r->epochs = (int64_t)epochs;
    json_decref(summary);
    if (!ok)
        snprintf(why, cap, "%s: no val_accuracy/val_loss", path);
    return ok;
}

/* 1 with the validation metrics of epoch `epoch` from the metrics file (the
 * last line of that epoch: a resumed epoch writes its line again). */
static int read_metrics_at(const char *path, int64_t epoch, rg_sweep_result *r)
{
    char *text = read_file(path);
    if (!text)
        return 0;
    int found = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        json_t *o = json_loads(line, 0, NULL);
        double e, acc, loss;
        if (o && json_number_of(o, "epoch", &e) && e == (double)epoch &&
            json_number_of(o, "val_accuracy", &acc) && json_number_of(o, "val_loss", &loss)) {
            r->val_accuracy = acc;
            r->val_loss = loss;
            r->epochs = epoch;
            found = 1;
        }
        json_decref(o);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return found;
}

/* ---- the pool of children -------------------------------------------------------- */

enum { MAX_JOBS = 256 };

typedef struct slot {
    pid_t pid;
    rg_sweep_job *job;
    run_files f;
    rg_argvec args; /* the run's train arguments */
    int resumed;
    struct timespec t0;
    char cause[512]; /* data-parallel trial: the failing rank's last line, if another's */
} slot;

/* The running children, for the signal handler. */
static volatile pid_t g_pids[MAX_JOBS];
static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
    for (int i = 0; i < MAX_JOBS; i++)
        if (g_pids[i] > 0)
            kill(g_pids[i], sig);
}

static void print_run(const rg_sweep *s, const rg_sweep_job *j, int64_t configs)
{
    printf("trial %lld/%lld  ", (long long)j->t->number, (long long)configs);
    rg_sweep_print_values(s, j->t);
    if (s->seeds > 1)
        printf("  seed %lld", (long long)(s->base_seed + j->k));
}

static void print_metrics(const rg_sweep *s, const rg_sweep_result *r)
{
    printf("  val_accuracy %.4f  val_loss %.4f", r->val_accuracy, r->val_loss);
    if (s->halving)
        printf("  epoch %lld", (long long)r->epochs);
}

/* A run whose results were on disk; 1 for prepare(). */
/* mpirun: the pass that reads every rank's results (jobs of its list, ranks in the group) */
static const rg_sweep_job *g_gather_jobs;
static int g_gather_groups, g_gather_size; /* groups of g_gather_size ranks each */

static int skipped(const rg_sweep *s, const rg_sweep_job *j, rg_sweep_result *r, int64_t configs)
{
    r->ok = 1;
    int by = g_gather_jobs ? (int)((j - g_gather_jobs) % g_gather_groups) : -1;
    if (by >= 0 && by == rg_cli_mpi_rank() / g_gather_size)
        return 1; /* printed when this rank's group ran it */
    print_run(s, j, configs);
    print_metrics(s, r);
    if (by >= 0 && g_gather_size > 1)
        printf("  on ranks %d-%d\n", by * g_gather_size, (by + 1) * g_gather_size - 1);
    else if (by >= 0)
        printf("  on rank %d\n", by);
    else
        printf("  skipped, already done\n");
    return 1;
}

/* The gather pass's record of a run another rank (group) ran and got no results from: 1. */
static int gathered_failure(const rg_sweep *s, const rg_sweep_job *j, const slot *sl,
                            int64_t configs)
{
    rg_sweep_result *r = &j->t->runs[j->k];
    r->ran = 1;
    r->ok = 0;
    last_line(sl->f.log, r->message, sizeof r->message);
    int by = (int)((j - g_gather_jobs) % g_gather_groups);
    if (by == rg_cli_mpi_rank() / g_gather_size)
        return 1; /* printed when this rank's group ran it */
    print_run(s, j, configs);
    printf("  failed: %s  on rank%s %d", r->message, g_gather_size > 1 ? "s" : "",
           by * g_gather_size);
    if (g_gather_size > 1)
        printf("-%d", (by + 1) * g_gather_size - 1);
    printf("\n");
    return 1;
}

/* regula train ARGS --no-test --quiet --summary ... --save ... --metrics ...
 * [--stop-at-epoch E] [--resume CKPT] */
static int child_argv(const slot *sl, rg_argvec *child)
{
    const run_files *f = &sl->f;
    int bad = rg_argvec_push(child, "regula") || rg_argvec_push(child, "train");
    for (int i = 0; !bad && i < sl->args.n; i++)
        bad = rg_argvec_push(child, sl->args.v[i]);
    bad = bad || rg_argvec_push(child, "--no-test") || rg_argvec_push(child, "--quiet") ||
          rg_argvec_push(child, "--summary") || rg_argvec_push(child, f->summary) ||
          rg_argvec_push(child, "--save") || rg_argvec_push(child, f->ckpt) ||
          rg_argvec_push(child, "--metrics") || rg_argvec_push(child, f->metrics);
    if (!bad && sl->job->stop_at) {
        char e[32];
        snprintf(e, sizeof e, "%lld", (long long)sl->job->stop_at);
        bad = rg_argvec_push(child, "--stop-at-epoch") || rg_argvec_push(child, e);
    }
    if (!bad && sl->resumed)
        bad = rg_argvec_push(child, "--resume") || rg_argvec_push(child, f->ckpt);
    return bad;
}

/* Forks /proc/self/exe with argv, stdout and stderr to log (appended or
 * truncated); own_group puts it in a process group of its own, so only the
 * pool decides what a Ctrl-C means to it. The child's pid, -1 (errno set). */
static pid_t fork_regula(char **argv, const char *log, int append, int own_group)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    signal(SIGINT, SIG_DFL); /* the pool's handler is the parent's */
    signal(SIGTERM, SIG_DFL);
    if (own_group)
        setpgid(0, 0);
    int fd = open(log, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
        _exit(126);
    setenv("REGULA_MPI_CHILD", "1", 1); /* under mpirun the trial is not a rank */
    execv("/proc/self/exe", argv);
    dprintf(2, "regula: cannot run /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
}

/* Forks the child of slot `i`; -1 (errno set) if it could not. */
static int spawn(slot *sl, int i)
{
    rg_argvec child = {0};
    if (child_argv(sl, &child)) {
        rg_argvec_free(&child);
        errno = ENOMEM;
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &sl->t0);
    pid_t pid = fork_regula(child.v, sl->f.log, 0, 1);
    if (pid < 0) {
        rg_argvec_free(&child);
        return -1;
    }
    setpgid(pid, pid); /* also here: the child may not have run yet */
    sl->pid = pid;
    g_pids[i] = pid;
    rg_argvec_free(&child);
    return 0;
}

/* Decides what job j needs. 1: its results are on disk (recorded in its
 * run); 0: the slot is ready to spawn (fresh, or resumed from a checkpoint);
 * -1 with the error set. */
static int prepare(const rg_sweep *s, rg_sweep_job *j, slot *sl, int64_t configs, int fresh)
{
    rg_sweep_result *r = &j->t->runs[j->k];
    memset(sl, 0, sizeof *sl);
    sl->job = j;
    run_files_of(s, j->t, j->k, &sl->f);
    if (rg_sweep_run_args(s, j->t->values, j->k, &sl->args))
        return rg_cli_error_set(RG_ERR_NOMEM, "out of memory"), -1;
    char *want = params_text(s, j->t, j->k, &sl->args);
    if (!want)
        return rg_cli_error_set(RG_ERR_NOMEM, "out of memory"), -1;
    char *have = fresh ? NULL : read_file(sl->f.params);
    int same = have && !strcmp(want, have) && file_exists(sl->f.ckpt);
    free(have);
    /* At a rung, the metrics of the rung's epoch, also when the run went on
     * further (a full sweep in the same DIR): ranking on the end would be
     * peeking past the rung. */
    if (same && j->stop_at && read_metrics_at(sl->f.metrics, j->stop_at, r)) {
        free(want);
        return skipped(s, j, r, configs);
    }
    if (same && file_exists(sl->f.summary)) {
        char why[sizeof r->message];
        if (read_summary(sl->f.summary, r, why, sizeof why)) {
            free(want);
            return skipped(s, j, r, configs);
        }
        printf("%s; running trial %lld again\n", why, (long long)j->t->number);
        same = 0;
    }
    if (g_gather_jobs) {
        /* the pass that reads what the ranks did: a run without results failed (or was
         * stopped) on the rank that ran it, which said why; never run it here */
        free(want);
        return gathered_failure(s, j, sl, configs);
    }
    if (same) {
        sl->resumed = 1;
        free(want);
        return 0;
    }
    /* Stale results go before the new parameters are written, so results on
     * disk always belong to the parameters beside them. */
    remove(sl->f.summary);
    remove(sl->f.ckpt);
    remove(sl->f.metrics);
    int bad = write_text(sl->f.params, want);
    free(want);
    if (bad)
        return rg_cli_error_set(RG_ERR_IO, "%s: cannot write", sl->f.params), -1;
    return 0;
}

/* Records what the finished child of the slot gave. 1 when the run should
 * start again from scratch (a resumed run that gave no results). */
static int finish(const rg_sweep *s, slot *sl, int code, int64_t configs)
{
    rg_sweep_job *j = sl->job;
    rg_sweep_result *r = &j->t->runs[j->k];
    double secs = seconds_since(&sl->t0);
    r->ran = 1;
    r->ok = 0;
    char why[sizeof r->message] = "";
    int got = 0;
    if (code == 0) {
        if (j->stop_at && read_metrics_at(sl->f.metrics, j->stop_at, r))
            got = 1;
        else if (file_exists(sl->f.summary))
            got = read_summary(sl->f.summary, r, why, sizeof why);
        else
            snprintf(why, sizeof why, "train ended without a summary%s",
                     j->stop_at ? " or the metrics of its rung" : "");
    }
    if (!got && code == 0 && sl->resumed) {
        remove(sl->f.params); /* the checkpoint cannot give the results: start over */
        return 1;
    }
    print_run(s, j, configs);
    if (got) {
        r->ok = 1;
        print_metrics(s, r);
        printf("  %.1f s%s\n", secs, sl->resumed ? " (resumed)" : "");
        return 0;
    }
    if (g_signal && (code == 130 || code == 143)) {
        snprintf(r->message, sizeof r->message, "interrupted; its checkpoint is kept");
        printf("  interrupted, checkpoint kept\n");
        return 0;
    }
    if (code == 0)
        snprintf(r->message, sizeof r->message, "%s", why);
    else if (sl->cause[0])
        snprintf(r->message, sizeof r->message, "%s", sl->cause);
    else
        last_line(sl->f.log, r->message, sizeof r->message);
    printf("  failed (exit %d): %s\n", code, r->message);
    return 0;
}

static int exit_code(int status)
{
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static void install(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

/* Waits for one child of the pool; its slot index, or -1 (errno set). */
static int wait_one(slot *slots, int n_slots, int *code)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (int i = 0; i < n_slots; i++)
            if (slots[i].pid == pid) {
                g_pids[i] = 0;
                slots[i].pid = 0;
                *code = exit_code(status);
                return i;
            }
    }
}

/* Runs jobs[i] for i = rank, rank + ranks, ... (every job outside MPI). */
static int run_share(const rg_sweep *s, rg_sweep_job *jobs, int64_t n, int64_t configs,
                     int rank, int ranks)
{
    int n_slots = s->jobs < 1 ? 1 : s->jobs > MAX_JOBS ? MAX_JOBS : s->jobs;
    slot *slots = calloc((size_t)n_slots, sizeof *slots);
    if (!slots)
        return rg_cli_error_set(RG_ERR_NOMEM, "out of memory"), -1;
    struct sigaction old_int, old_term;
    g_signal = 0;
    install(&old_int, &old_term);
    int64_t next = 0;
    int running = 0, st = 0;
    while (st == 0) {
        for (int i = 0; i < n_slots && !g_signal && next < n && st == 0; i++) {
            if (slots[i].job)
                continue;
            while (next < n && next % ranks != rank)
                next++;
            if (next >= n)
                break;
            int p = prepare(s, &jobs[next++], &slots[i], configs, 0);
            if (p == 0 && spawn(&slots[i], i) != 0) {
                rg_cli_error_set(RG_ERR_IO, "cannot start regula train: %s", strerror(errno));
                p = -1;
            }
            if (p != 0) {
                rg_argvec_free(&slots[i].args);
                slots[i].job = NULL;
                st = p < 0 ? -1 : 0;
                if (p > 0)
                    i--; /* the slot is still free */
                continue;
            }
            running++;
        }
        if (!running)
            break;
        int code = 0;
        int i = wait_one(slots, n_slots, &code);
        if (i < 0) {
            rg_cli_error_set(RG_ERR_IO, "waiting for a trial: %s", strerror(errno));
            st = -1;
            break;
        }
        running--;
        rg_sweep_job *j = slots[i].job;
        int again = finish(s, &slots[i], code, configs);
        rg_argvec_free(&slots[i].args);
        slots[i].job = NULL;
        if (again && !g_signal) {
            int p = prepare(s, j, &slots[i], configs, 1);
            if (p == 0 && spawn(&slots[i], i) == 0) {
                running++;
                continue;
            }
            rg_argvec_free(&slots[i].args);
            slots[i].job = NULL;
            rg_cli_error_set(RG_ERR_IO, "cannot start regula train again");
            st = -1;
        }
    }
    /* an error of the sweep itself: the children still running end as interrupted */
    for (int i = 0; i < n_slots; i++)
        if (slots[i].pid > 0)
            kill(slots[i].pid, SIGTERM);
    while (running > 0) {
        int code, i = wait_one(slots, n_slots, &code);
        if (i < 0)
            break;
        running--;
        finish(s, &slots[i], code, configs);
        rg_argvec_free(&slots[i].args);
        slots[i].job = NULL;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(slots);
    fflush(stdout);
    if (st == 0 && g_signal)
        return 1;
    return st;
}

/* ---- data-parallel trials (--ranks-per-trial K) ------------------------------------- */

/* Where rank `member` of a group writes its stderr during a data-parallel trial. */
static void member_log(const slot *sl, int member, char *buf, size_t cap)
{
    if (member == 0)
        snprintf(buf, cap, "%s", sl->f.log);
    else
        snprintf(buf, cap, "%s.rank%d", sl->f.log, member);
}

/* Trains the slot's trial in this process, on the group's communicator: `regula train`
 * as a function. The group's first rank (member 0) writes stdout and stderr to the trial's
 * log, the others their stderr to a file of their own, which merge_logs() appends. The
 * exit code. */
static int train_here(slot *sl, int member)
{
    rg_argvec child = {0};
    if (child_argv(sl, &child)) {
        rg_argvec_free(&child);
        return rg_cli_fail(1, "out of memory");
    }
    char path[4300];
    member_log(sl, member, path, sizeof path);
    fflush(NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (member ? O_TRUNC : O_APPEND), 0644);
    int out = member == 0 ? dup(1) : -1, err = dup(2);
    if (fd >= 0) {
        if (member == 0)
            dup2(fd, 1);
        dup2(fd, 2);
    }
    clock_gettime(CLOCK_MONOTONIC, &sl->t0);
    int code = rg_cmd_train(child.n - 1, child.v + 1);
    fflush(NULL);
    if (out >= 0) {
        dup2(out, 1);
        close(out);
    }
    if (err >= 0) {
        dup2(err, 2);
        close(err);
    }
    if (fd >= 0)
        close(fd);
    rg_argvec_free(&child);
    return code;
}

/* The first rank, once the group is through: the other ranks' stderr goes at the end of
 * the trial's log, and the first line of theirs that is not "another rank failed" becomes
 * the cause a failure is recorded with (the rank that failed says why). */
static void merge_logs(slot *sl, int members)
{
    sl->cause[0] = '\0';
    FILE *log = fopen(sl->f.log, "a");
    for (int m = 1; m < members; m++) {
        char path[4300];
        member_log(sl, m, path, sizeof path);
        char *text = read_file(path);
        if (text && *text && log)
            fprintf(log, "--- rank %d of the trial ---\n%s", m, text);
        if (text && *text && !sl->cause[0] && !strstr(text, "other rank(s) failed")) {
            char line[sizeof sl->cause];
            last_line(path, line, sizeof line);
            snprintf(sl->cause, sizeof sl->cause, "rank %d: %s", m, line);
        }
        free(text);
        remove(path);
    }
    if (log)
        fclose(log);
}

/* Runs jobs[i] for i = group, group + groups, ... on this rank's group of ranks. The
 * group's first rank decides (prepare: skip, resume or start afresh, and it alone touches
 * the trial's files before the run) and tells the others; every rank of the group then
 * trains the trial data-parallel; the first rank records its result. */
static int run_group(const rg_sweep *s, rg_sweep_job *jobs, int64_t n, int64_t configs,
                     int group, int groups, int member, int members)
{
    int leader = member == 0;
    struct sigaction old_int, old_term;
    g_signal = 0;
    install(&old_int, &old_term);
    int st = 0;
    for (int64_t i = group; i < n && st == 0; i += groups) {
        for (int fresh = 0; fresh < 2; fresh++) {
            slot sl;
            memset(&sl, 0, sizeof sl);
            /* what the leader decided: prepare()'s answer, resumed, stop (a signal) */
            int said[3] = {0, 0, 0};
            if (leader) {
                said[2] = g_signal != 0;
                said[0] = said[2] ? 1 : prepare(s, &jobs[i], &sl, configs, fresh);
                said[1] = said[0] == 0 && sl.resumed;
                FILE *log = said[0] == 0 ? fopen(sl.f.log, "w") : NULL; /* a fresh log */
                if (log)
                    fclose(log);
            }
            if (rg_cli_mpi_group_bcast(said, 3) != 0) {
                rg_cli_error_set(RG_ERR_IO, "sweep: the group of ranks lost contact");
                st = -1;
                break;
            }
            if (said[2])
                st = 1;
            if (said[0] != 0) {
                if (leader)
                    rg_argvec_free(&sl.args);
                if (said[0] < 0 && !leader)
                    rg_cli_error_set(RG_ERR_IO, "the first rank of this group could not set "
                                     "up trial %lld (its output names the cause)",
                                     (long long)jobs[i].t->number);
                st = st ? st : said[0] < 0 ? -1 : 0;
                break;
            }
            if (!leader) {
                memset(&sl, 0, sizeof sl);
                sl.job = &jobs[i];
                run_files_of(s, jobs[i].t, jobs[i].k, &sl.f);
                sl.resumed = said[1];
                if (rg_sweep_run_args(s, jobs[i].t->values, jobs[i].k, &sl.args)) {
                    rg_cli_error_set(RG_ERR_NOMEM, "out of memory");
                    st = -1;
                    break;
                }
            }
            int code = train_here(&sl, member), again = 0;
            if (rg_cli_mpi_group_barrier() != 0) { /* every rank's log is complete */
                rg_cli_error_set(RG_ERR_IO, "sweep: the group of ranks lost contact");
                st = -1;
                break;
            }
            if (leader) {
                merge_logs(&sl, members);
                again = finish(s, &sl, code, configs);
            }
            rg_argvec_free(&sl.args);
            if (rg_cli_mpi_group_bcast(&again, 1) != 0) {
                rg_cli_error_set(RG_ERR_IO, "sweep: the group of ranks lost contact");
                st = -1;
                break;
            }
            if (!again || g_signal)
                break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    fflush(stdout);
    if (st == 0 && g_signal)
        return 1;
    return st;
}

/* mpirun -np N regula sweep: each rank runs its share of the jobs (job i on rank i mod N),
 * its trials as child processes as usual; once every rank is through, each reads every
 * job's results from the shared --dir (all of them done, so the second pass only reads), so
 * every rank takes the same decisions (halving rungs, the ranking) as one process would. */
int rg_sweep_run_jobs(const rg_sweep *s, rg_sweep_job *jobs, int64_t n, int64_t configs)
{
    int ranks = rg_cli_mpi_ranks(), k = s->ranks_per_trial > 1 ? s->ranks_per_trial : 1;
    if (ranks <= 1)
        return run_share(s, jobs, n, configs, 0, 1);
    int rank = rg_cli_mpi_rank(), st;
    if (k > 1) {
        if (rg_cli_mpi_group(k) != 0)
            return rg_cli_error_set(RG_ERR_INVALID, "sweep: %d ranks do not split into groups "
                                    "of %d", ranks, k), -1;
        st = run_group(s, jobs, n, configs, rank / k, ranks / k, rank % k, k);
    } else {
        st = run_share(s, jobs, n, configs, rank, ranks);
    }
    if (rg_cli_mpi_any(st != 0)) {
        if (st == 0)
            rg_cli_error_set(RG_ERR_IO, "another rank's trials failed or were interrupted "
                             "(its output names the cause)");
        return st ? st : -1;
    }
    g_gather_jobs = jobs;
    g_gather_groups = ranks / k;
    g_gather_size = k;
    st = run_share(s, jobs, n, configs, 0, 1);
    g_gather_jobs = NULL;
    return st;
}

/* ---- the winner ------------------------------------------------------------------- */

/* Runs `regula eval ckpt` with its output appended to log; the exit code. */
static int run_eval(const char *ckpt, const char *log, int append)
{
    char *argv[] = {"regula", "eval", (char *)ckpt, NULL};
    pid_t pid = fork_regula(argv, log, append, 0);
    if (pid < 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return exit_code(status);
}

int rg_sweep_eval_winner(const rg_sweep *s, const rg_sweep_trial *w)
{
    char log[4200];
    snprintf(log, sizeof log, "%s/winner-test.log", s->dir);
    double acc[RG_SWEEP_MAX_SEEDS], sum = 0;
    for (int k = 0; k < s->seeds; k++) {
        char base[4096], ckpt[4200];
        rg_sweep_run_base(s, w, k, base, sizeof base);
        snprintf(ckpt, sizeof ckpt, "%s.ckpt", base);
        if (k == 0)
            printf("\ntest set, winner only (regula eval %s%s):\n", ckpt,
                   s->seeds > 1 ? " and its other seeds" : "");
        long before = 0;
        char *prev = k ? read_file(log) : NULL;
        before = prev ? (long)strlen(prev) : 0;
        free(prev);
        int code = run_eval(ckpt, log, k > 0);
        char *text = read_file(log);
        const char *mine = text && (long)strlen(text) >= before ? text + before : "";
        const char *p = strstr(mine, "test accuracy ");
        if (s->seeds > 1)
            printf("seed %lld: ", (long long)(s->base_seed + k));
        fputs(mine, stdout);
        acc[k] = p ? strtod(p + strlen("test accuracy "), NULL) : NAN;
        free(text);
        if (code != 0 || !p)
            return rg_cli_fail(1, "regula eval %s failed (exit %d); see %s", ckpt, code, log);
        sum += acc[k];
    }
    if (s->seeds > 1) {
        double mean = sum / s->seeds, ss = 0;
        for (int k = 0; k < s->seeds; k++)
            ss += (acc[k] - mean) * (acc[k] - mean);
        printf("test accuracy over %d seeds: %.4f ± %.4f (mean ± sd)\n", s->seeds, mean,
               sqrt(ss / (s->seeds - 1)));
    }
    return 0;
}
