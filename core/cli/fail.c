/* How the command reports: one line on stderr per error or log message. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"
#include "cli_error.h"

int rg_cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("regula: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

void rg_cli_log(void *user, int level, const char *message)
{
    static const char *names[] = {"debug", "info", "warning", "error"};
    const char *name = level >= 0 && level <= 3 ? names[level] : "log";
    (void)user;
    fflush(stdout);
    fprintf(stderr, "regula %s: %s\n", name, message);
}

rg_status rg_cli_context(int threads, rg_context **ctx)
{
    rg_context_params cp = rg_context_default_params();
    cp.threads = threads;
    cp.log = rg_cli_log;
    rg_status st = rg_context_create(&cp, ctx);
    if (st != RG_OK)
        rg_cli_error_set(st, "%s", rg_last_error());
    return st;
}
