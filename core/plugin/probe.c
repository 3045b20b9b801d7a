/* Loading a plugin once in a short-lived child first (as GStreamer's registry scanner
 * does): a constructor or entry point that crashes, exits or hangs takes the child down,
 * and the parent reports it, instead of dying with it. The child is the conformance
 * checker's isolation primitive (core/check/isolate.c): default signal dispositions, a
 * deadline, the outcome read from the pipe and the exit status. */
#include "probe.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "../check/check_internal.h"
#include "../error.h"
#include "host.h"

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

double rg_plugin_probe_timeout(void)
{
    const char *e = getenv("REGULA_PLUGIN_PROBE_TIMEOUT");
    char *end;
    double v = e ? strtod(e, &end) : 0;
    return e && end != e && v > 0 ? v : 10.0;
}

/* The child's whole job. How the load failed, if it did not crash, is of no interest
 * here: the parent's own load fails the same way and says so. */
static rg_check_verdict probe_body(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                   char *detail, size_t cap)
{
    (void)arg;
    (void)detail;
    (void)cap;
    rg_check_stage(c, "load", "loading the plugin");
    rg_plugin *pl = NULL;
    return rg_plugin_dlopen(ctx->path, &ctx->host, &pl) == RG_OK ? RG_CHECK_PASS
                                                                  : RG_CHECK_FAIL;
}

rg_status rg_plugin_probe(const char *path, const rg_host_api *host)
{
    rg_check_ctx ctx = {.path = path};
    ctx.host = host ? *host : *rg_host_api_get();
    ctx.host_minor = ctx.host.abi_minor;
    double timeout = rg_plugin_probe_timeout();
    rg_isolated_result r;
    if (rg_check_isolated(probe_body, &ctx, NULL, timeout, &r) != RG_OK)
        return rg_error_wrap(RG_ERR_IO, "%s: cannot probe the plugin", path);
    switch (r.outcome) {
    case RG_CHILD_DONE:
        return RG_OK;
    case RG_CHILD_TIMED_OUT:
        return rg_error_set(RG_ERR_PLUGIN,
                            "%s: the plugin did not finish loading within %g s (its constructor "
                            "or entry point hangs); check it with: regula plugin check %s",
                            path, timeout, path);
    case RG_CHILD_CRASHED:
        return rg_error_set(RG_ERR_PLUGIN,
                            "%s: the plugin crashed while loading: %s in its constructor or "
                            "entry point; check it with: regula plugin check %s",
                            path, rg_signal_name(r.code) ? rg_signal_name(r.code) : "a signal",
                            path);
    case RG_CHILD_EXITED:
        break;
    }
    return rg_error_set(RG_ERR_PLUGIN,
                        "%s: the plugin called exit(%d) while loading (in its constructor or "
                        "entry point): a plugin reports errors by returning them, never by "
                        "exiting; check it with: regula plugin check %s",
                        path, r.code, path);
}
