#include "faults.h"

#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regula/regula.h"

/* Prepared in normal context, only read (with write(2)) by the handlers. */
static char g_checkpoint[4300] = "regula: no checkpoint was kept (--save FILE keeps one per "
                                 "epoch)\n";
static double g_timeout;
/* What the command was doing, for a crash outside any hook: two buffers, the one in use
 * named by g_phase_at, so the handler never reads one being written. */
static char g_phase[2][160] = {"starting", "starting"};
static volatile sig_atomic_t g_phase_at;
static volatile sig_atomic_t g_done;

static void put(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void blame(void)
{
    put(g_checkpoint);
    put("regula: check the plugin with: regula plugin check PATH.so\n");
    _exit(RG_CLI_EXIT_PLUGIN);
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    }
    return "a fatal signal";
}

static void on_fatal(int sig)
{
    /* fflush is not async-signal-safe; the epoch lines still in stdout's buffer are worth
     * the risk (a plugin rarely dies inside stdio) */
    fflush(NULL);
    char prefix[64] = "regula: ";
    strcat(prefix, signal_name(sig));
    strcat(prefix, " in ");
    if (rg_hooks_describe(-1, NULL) > 0) {
        rg_hooks_describe(STDERR_FILENO, prefix);
        blame();
    }
    put("regula: ");
    put(signal_name(sig));
    put(" outside any plugin hook, while ");
    put(g_phase[g_phase_at]);
    put(": a bug in regula, please report it\n");
    put(g_checkpoint);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_exit_check(void)
{
    if (g_done || rg_hooks_describe(-1, NULL) == 0)
        return;
    fflush(NULL);
    rg_hooks_describe(STDERR_FILENO, "regula: exit() called by ");
    blame();
}

static void *watchdog(void *arg)
{
    (void)arg;
    struct timespec nap = {0, 100 * 1000 * 1000};
    for (;;) {
        nanosleep(&nap, NULL);
        if (!g_done && rg_hooks_longest() > g_timeout) {
            fflush(NULL);
            char prefix[96];
            snprintf(prefix, sizeof prefix, "regula: no return after %g s (--hook-timeout) from ",
                     g_timeout);
            rg_hooks_describe(STDERR_FILENO, prefix);
            blame();
        }
    }
    return NULL;
}

void rg_cli_faults_install(double hook_timeout)
{
    static char stack[64 * 1024]; /* a plugin's stack overflow still gets its message */
    stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    atexit(on_exit_check);
    g_timeout = hook_timeout;
    pthread_t t;
    if (hook_timeout > 0 && pthread_create(&t, NULL, watchdog, NULL) == 0)
        pthread_detach(t);
}

void rg_cli_faults_checkpoint(const char *path, int64_t epoch)
{
    if (path && *path)
        snprintf(g_checkpoint, sizeof g_checkpoint, "regula: the last good checkpoint is %s "
                 "(epoch %lld); continue with --resume %s\n", path, (long long)epoch, path);
}

void rg_cli_faults_phase(const char *fmt, ...)
{
    int next = !g_phase_at;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_phase[next], sizeof g_phase[next], fmt, ap);
    va_end(ap);
    g_phase_at = next;
}

void rg_cli_faults_done(void)
{
    g_done = 1;
}
