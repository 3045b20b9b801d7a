/* Running one check in a forked child with a timeout, so a crashing plugin is reported, not fatal.
 *
 * The child sends fixed-size records through a pipe: a STAGE record before
 * each plugin call it makes, and one VERDICT record at the end. Each record
 * is smaller than PIPE_BUF, so every write() is atomic and the parent never
 * sees half a record. If the pipe closes without a verdict, the last stage
 * names the call that crashed or exited; if the deadline passes, the parent
 * kills the child and the last stage names the call that hung. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../error.h"
#include "check_internal.h"

enum { REC_STAGE = 1, REC_VERDICT = 2 };

typedef struct rg_check_record {
    uint32_t type;
    uint32_t verdict;
    char hook[RG_CHECK_HOOK_CAP];
    char text[RG_CHECK_DETAIL_CAP];
} rg_check_record;

_Static_assert(sizeof(rg_check_record) <= PIPE_BUF, "records must be written atomically");

struct rg_check_child {
    int fd;
};

static void send_record(int fd, const rg_check_record *r)
{
    const char *p = (const char *)r;
    size_t left = sizeof *r;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the parent is gone: nothing left to tell */
        p += n;
        left -= (size_t)n;
    }
}

void rg_check_stage(rg_check_child *c, const char *hook, const char *fmt, ...)
{
    rg_check_record r;
    memset(&r, 0, sizeof r);
    r.type = REC_STAGE;
    snprintf(r.hook, sizeof r.hook, "%s", hook);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.text, RG_CHECK_STAGE_CAP, fmt, ap);
    va_end(ap);
    send_record(c->fd, &r);
}

/* Crashes must kill the child by their signal, so the parent can name it:
 * a handler inherited from the host program, or a sanitizer runtime's,
 * would turn a SIGSEGV into an ordinary exit status. */
static void child_default_signals(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    /* A checker killed from outside takes its children along. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static _Noreturn void child_main(int fd, rg_check_body body, const rg_check_ctx *ctx,
                                 const void *arg)
{
    child_default_signals();
    rg_check_child c = {fd};
    rg_check_record r;
    memset(&r, 0, sizeof r);
    r.type = REC_VERDICT;
    r.verdict = (uint32_t)body(&c, ctx, arg, r.text, sizeof r.text);
    send_record(fd, &r);
    close(fd);
    /* _exit, not exit: the parent's atexit handlers and stdio buffers are
     * the parent's business. */
    _exit(0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads records until EOF or the deadline. Returns 1 on EOF, 0 on timeout. */
static int read_records(int fd, double deadline, rg_isolated_result *out, int *got_verdict)
{
    rg_check_record r;
    size_t have = 0;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, (int)(left * 1000.0) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            continue; /* re-check the deadline */
        if (pr < 0)
            return 1;
        ssize_t n = read(fd, (char *)&r + have, sizeof r - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 1;
        have += (size_t)n;
        if (have < sizeof r)
            continue;
        have = 0;
        if (r.type == REC_STAGE) {
            memcpy(out->hook, r.hook, sizeof out->hook);
            out->hook[sizeof out->hook - 1] = '\0';
            snprintf(out->stage, sizeof out->stage, "%.*s", RG_CHECK_STAGE_CAP - 1, r.text);
        } else if (r.type == REC_VERDICT) {
            out->verdict = (rg_check_verdict)r.verdict;
            memcpy(out->detail, r.text, sizeof out->detail);
            out->detail[sizeof out->detail - 1] = '\0';
            *got_verdict = 1;
        }
    }
}

/* Waits for the child until the deadline; kills it after. Returns 1 if it
 * ended on its own. */
static int reap(pid_t pid, double deadline, int *status)
{
    /* after EOF the child is exiting: look again soon, then back off to 2 ms */
    long nap_ns = 50 * 1000;
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            return 1;
        if (w < 0 && errno != EINTR)
            return 1;
        if (now_s() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
            return 0;
        }
        struct timespec nap = {0, nap_ns};
        nanosleep(&nap, NULL);
        nap_ns = nap_ns < 2 * 1000 * 1000 ? 2 * nap_ns : nap_ns;
    }
}

rg_status rg_check_isolated(rg_check_body body, const rg_check_ctx *ctx, const void *arg,
                            double timeout_s, rg_isolated_result *out)
{
    memset(out, 0, sizeof *out);
    int fds[2];
    if (pipe(fds) != 0)
        return rg_error_set(RG_ERR_IO, "plugin check: pipe() failed: %s", strerror(errno));
    /* Unflushed stdio buffers would be written twice if the plugin calls
     * exit() in the child. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return rg_error_set(RG_ERR_IO, "plugin check: fork() failed: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], body, ctx, arg);
    }
    close(fds[1]);
    double deadline = now_s() + timeout_s;
    int got_verdict = 0;
    int eof = read_records(fds[0], deadline, out, &got_verdict);
    close(fds[0]);
    int status = 0;
    int ended = eof ? reap(pid, deadline, &status) : reap(pid, 0.0, &status);
    if (got_verdict && ended) {
        out->outcome = RG_CHILD_DONE;
    } else if (!ended) {
        out->outcome = RG_CHILD_TIMED_OUT;
    } else if (WIFSIGNALED(status)) {
        out->outcome = RG_CHILD_CRASHED;
        out->code = WTERMSIG(status);
    } else {
        out->outcome = RG_CHILD_EXITED;
        out->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return RG_OK;
}
