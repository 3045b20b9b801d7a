/* Loading a plugin once in a short-lived child first (as GStreamer's registry scanner
 * does): a constructor or entry point that crashes, exits or hangs takes the child down,
 * and the parent reports it, instead of dying with it. */
#include "probe.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../error.h"

const char *rg_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGPIPE: return "SIGPIPE";
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double rg_plugin_probe_timeout(void)
{
    const char *e = getenv("REGULA_PLUGIN_PROBE_TIMEOUT");
    char *end;
    double v = e ? strtod(e, &end) : 0;
    return e && end != e && v > 0 ? v : 10.0;
}

static void child(const char *path, const rg_host_api *host, int fd)
{
    const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    rg_plugin *pl = NULL;
    rg_status st = rg_plugin_load_unprobed(path, host, &pl);
    char rec[4096];
    int32_t code = (int32_t)st;
    memcpy(rec, &code, sizeof code);
    size_t n = sizeof code;
    if (st != RG_OK) {
        snprintf(rec + n, sizeof rec - n, "%s", rg_error_message());
        n += strlen(rec + n);
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, rec + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    _exit(0); /* no atexit handler or destructor of the parent runs twice */
}

rg_status rg_plugin_probe(const char *path, const rg_host_api *host)
{
    int fds[2];
    if (pipe(fds) != 0)
        return rg_error_set(RG_ERR_IO, "%s: cannot probe the plugin: pipe: %s", path,
                            strerror(errno));
    fflush(NULL); /* the child must not print the parent's buffered output again */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return rg_error_set(RG_ERR_IO, "%s: cannot probe the plugin: fork: %s", path,
                            strerror(e));
    }
    if (pid == 0) {
        close(fds[0]);
        child(path, host, fds[1]);
    }
    close(fds[1]);
    char rec[4096];
    size_t got = 0;
    double timeout = rg_plugin_probe_timeout(), deadline = now_s() + timeout;
    int hung = 0;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) {
            hung = 1;
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(fds[0], rec + got, sizeof rec - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (got += (size_t)n) >= sizeof rec - 1)
            break;
    }
    close(fds[0]);
    if (hung)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (hung)
        return rg_error_set(RG_ERR_PLUGIN,
                            "%s: the plugin did not finish loading within %g s (its constructor "
                            "or entry point hangs); check it with: regula plugin check %s",
                            path, timeout, path);
    if (got >= sizeof(int32_t)) {
        int32_t code;
        memcpy(&code, rec, sizeof code);
        rec[got] = '\0';
        if (code == RG_OK)
            return RG_OK;
        return rg_error_set((rg_status)code, "%s", rec + sizeof code);
    }
    if (WIFSIGNALED(status))
        return rg_error_set(RG_ERR_PLUGIN,
                            "%s: the plugin crashed while loading: %s in its constructor or "
                            "entry point; check it with: regula plugin check %s",
                            path, rg_signal_name(WTERMSIG(status)) ? rg_signal_name(WTERMSIG(status)) : "a signal", path);
    return rg_error_set(RG_ERR_PLUGIN,
                        "%s: the plugin called exit(%d) while loading (in its constructor or "
                        "entry point): a plugin reports errors by returning them, never by "
                        "exiting; check it with: regula plugin check %s",
                        path, WIFEXITED(status) ? WEXITSTATUS(status) : -1, path);
}
