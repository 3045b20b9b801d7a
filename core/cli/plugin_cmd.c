/* regula plugin <subcommand>: tools for plugin authors.
 *
 * regula plugin check PATH.so runs the conformance checks (core/check) and
 * prints one line per check, then "N passed, M failed". Exit status: 0 if
 * no check failed, 1 if one did, 2 for usage errors. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_error.h"
#include "cli_json.h"

static const char check_usage[] =
    "usage: regula plugin check PATH.so [--timeout SECONDS] [--json]\n"
    "\n"
    "Runs the conformance checks a plugin should pass before it ships, each in a\n"
    "separate process, so a plugin that crashes, hangs or calls exit() is reported\n"
    "rather than fatal:\n"
    "  load                 entry symbol, ABI negotiation, descriptor and schema\n"
    "  older host refused   a host one minor older is refused with RG_ERR_VERSION\n"
    "  exports              nothing but regula_plugin_entry_v1 is exported\n"
    "  create/destroy x200  no host memory held after destroy()\n"
    "  param NAME           the declared range or enum values are accepted at their\n"
    "                       edges, values just outside are rejected\n"
    "  penalty ...          gradient vs finite differences, >= 0 if declared,\n"
    "                       bitwise equal at 1 and 2 threads\n"
    "  project idempotent   projecting twice equals projecting once\n"
    "  project_step         finite, in bounds and reproducible (ABI 1.1)\n"
    "  targets distributions  target rows stay distributions (ABI 1.1)\n"
    "  activation ...       identity in eval mode, backward vs finite differences,\n"
    "                       reproducible for a fixed rng stream\n"
    "  augment ...          shape, [0, 1] pixels, label distributions, same seed\n"
    "                       reproduces at 1 and 2 threads, another seed differs\n"
    "\n"
    "options:\n"
    "  --timeout SECONDS  limit per check (default 20)\n"
    "  --json             one JSON object instead of the text report\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 no check failed, 1 a check failed, 2 usage error\n";

typedef struct report_ctx {
    json_t *checks; /* NULL: text */
    int nomem;
} report_ctx;

static const char *verdict_json(rg_verdict v)
{
    return v == RG_VERDICT_PASS ? "pass" : v == RG_VERDICT_FAIL ? "fail" : "n/a";
}

static void report_line(void *vctx, const rg_check_report *r)
{
    report_ctx *ctx = vctx;
    if (ctx->checks) {
        json_t *o = json_pack("{s:o, s:s, s:o}", "name", rg_cli_jstring(r->check), "verdict",
                              verdict_json(r->verdict), "detail", rg_cli_jstring(r->detail));
        ctx->nomem |= json_array_append_new(ctx->checks, o) != 0;
        return;
    }
    printf("%-4s  %-24s  %s\n", rg_verdict_string(r->verdict), r->check, r->detail);
    fflush(stdout); /* a line per check as it finishes: some take seconds */
}

static int print_json_report(const char *path, report_ctx *ctx, const rg_check_counts *sum)
{
    json_t *o = json_pack("{s:o, s:O, s:i, s:i, s:i}", "plugin", rg_cli_jstring(path), "checks",
                          ctx->checks, "passed", sum->passed, "failed", sum->failed, "na",
                          sum->na);
    /* an empty line after the object, as the report has always ended */
    int bad = ctx->nomem || !o || rg_cli_json_print(stdout, o) != 0 || fputc('\n', stdout) == EOF;
    json_decref(o);
    return bad ? rg_cli_fail(1, "plugin check: %s", ctx->nomem || !o ? "out of memory"
                                                                     : "write error")
               : 0;
}

static int cmd_check(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    rg_check_params opt = rg_check_default_params();
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(check_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--timeout")) {
            if (i + 1 >= argc)
                return rg_cli_fail(2, "plugin check: --timeout needs a number of seconds");
            char *end = NULL;
            errno = 0;
            double t = strtod(argv[++i], &end);
            if (end == argv[i] || *end || errno || !isfinite(t) || t <= 0 || t > 86400)
                return rg_cli_fail(2, "plugin check: --timeout %s: expected seconds in (0, 86400]",
                                   argv[i]);
            opt.timeout_s = t;
        } else if (a[0] == '-' && a[1]) {
            return rg_cli_fail(2, "plugin check: unknown option '%s' (see regula plugin check "
                                  "--help)", a);
        } else if (path) {
            return rg_cli_fail(2, "plugin check: one plugin at a time ('%s' and '%s')", path, a);
        } else {
            path = a;
        }
    }
    if (!path)
        return rg_cli_fail(2, "plugin check: expected PATH.so (see regula plugin check --help)");
    if (access(path, R_OK) != 0)
        return rg_cli_fail(2, "plugin check: cannot read %s: %s", path, strerror(errno));

    report_ctx ctx = {json ? json_array() : NULL, 0};
    if (json && !ctx.checks)
        return rg_cli_fail(1, "out of memory");
    opt.report = report_line;
    opt.user = &ctx;
    if (!json)
        printf("checking %s\n", path);
    rg_check_counts sum = {.struct_size = sizeof sum};
    int code = 0;
    /* one thread here: the checks choose their own counts in their forked children */
    rg_context *rc = NULL;
    if (rg_cli_context(1, &rc) != RG_OK)
        code = rg_cli_fail(1, "%s", rg_cli_error_message());
    else if (rg_plugin_check(rc, path, &opt, &sum) != RG_OK)
        code = rg_cli_fail(1, "%s", rg_context_error(rc));
    rg_context_destroy(rc);
    if (!code && json)
        code = print_json_report(path, &ctx, &sum);
    else if (!code && sum.na)
        printf("%d passed, %d failed (%d n/a)\n", sum.passed, sum.failed, sum.na);
    else if (!code)
        printf("%d passed, %d failed\n", sum.passed, sum.failed);
    json_decref(ctx.checks);
    if (code)
        return code;
    return sum.failed ? 1 : 0;
}

int rg_cmd_plugin(int argc, char **argv)
{
    if (argc < 2)
        return rg_cli_fail(2, "plugin: expected a subcommand (check)");
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 2, argv + 2);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(check_usage, stdout);
        return 0;
    }
    return rg_cli_fail(2, "plugin: unknown subcommand '%s' (expected check)", argv[1]);
}
