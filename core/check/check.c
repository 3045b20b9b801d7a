/* The order of the conformance checks, which of them apply to a plugin, and
 * how a child's fate (verdict, crash, exit, timeout) becomes a report line. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../error.h"
#include "../plugin/host.h"
#include "../plugin/probe.h"
#include "check_internal.h"

/* A hook that hung once would hang again: later checks that call it are
 * reported as not run instead of costing another timeout each. */
#define MAX_HUNG 8

typedef struct runner {
    rg_check_ctx ctx;
    const rg_check_options *opt;
    double timeout_s;
    rg_check_summary *sum;
    char hung[MAX_HUNG][RG_CHECK_HOOK_CAP];
    int num_hung;
} runner;

const char *rg_check_verdict_name(rg_check_verdict v)
{
    switch (v) {
    case RG_CHECK_PASS: return "PASS";
    case RG_CHECK_FAIL: return "FAIL";
    case RG_CHECK_NA: return "n/a";
    }
    return "?";
}

static void emit(runner *r, rg_check_verdict v, const char *name, const char *detail)
{
    rg_check_result res;
    res.verdict = v;
    snprintf(res.name, sizeof res.name, "%s", name);
    snprintf(res.detail, sizeof res.detail, "%s", detail);
    if (v == RG_CHECK_PASS)
        r->sum->passed++;
    else if (v == RG_CHECK_FAIL)
        r->sum->failed++;
    else
        r->sum->na++;
    if (r->opt && r->opt->report)
        r->opt->report(r->opt->report_ctx, &res);
}

/* "penalty() on the 12x9 weight tensor crashed with SIGSEGV ..." */
static void describe_fate(const runner *r, const rg_isolated_result *iso, char *buf, size_t cap)
{
    const char *what = iso->stage[0] ? iso->stage : "the check (before any plugin call)";
    switch (iso->outcome) {
    case RG_CHILD_CRASHED: {
        const char *sig = rg_signal_name(iso->code);
        char num[32];
        if (!sig) {
            snprintf(num, sizeof num, "signal %d", iso->code);
            sig = num;
        }
        snprintf(buf, cap,
                 "%s crashed with %s: run it under gdb, or build the plugin with "
                 "-fsanitize=address,undefined to find the bad access",
                 what, sig);
        return;
    }
    case RG_CHILD_EXITED:
        snprintf(buf, cap,
                 "%s called exit(%d): a plugin reports failure by returning an rg_status after "
                 "host->set_error, never by exiting the trainer",
                 what, iso->code);
        return;
    case RG_CHILD_TIMED_OUT:
        snprintf(buf, cap,
                 "%s timed out after %g s: an endless loop or a deadlock? (--timeout sets the "
                 "limit)",
                 what, r->timeout_s);
        return;
    case RG_CHILD_DONE:
        snprintf(buf, cap, "%s", iso->detail);
        return;
    }
}

/* Runs one check in a child; `hooks` ("create() penalty()") name the plugin
 * calls it makes, to skip it after one of them hung. Returns the verdict,
 * or -1 if the checker itself failed (error set). */
static int run(runner *r, const char *name, const char *hooks, rg_check_body body,
               const void *arg)
{
    for (int i = 0; i < r->num_hung; i++)
        if (hooks && strstr(hooks, r->hung[i])) {
            char detail[RG_CHECK_DETAIL_CAP];
            snprintf(detail, sizeof detail, "not run: %s timed out in an earlier check",
                     r->hung[i]);
            emit(r, RG_CHECK_NA, name, detail);
            return RG_CHECK_NA;
        }
    rg_isolated_result iso;
    if (rg_check_isolated(body, &r->ctx, arg, r->timeout_s, &iso) != RG_OK)
        return -1;
    if (iso.outcome == RG_CHILD_TIMED_OUT && iso.hook[0] && r->num_hung < MAX_HUNG)
        snprintf(r->hung[r->num_hung++], RG_CHECK_HOOK_CAP, "%s", iso.hook);
    rg_check_verdict v = iso.outcome == RG_CHILD_DONE ? iso.verdict : RG_CHECK_FAIL;
    char detail[RG_CHECK_DETAIL_CAP];
    describe_fate(r, &iso, detail, sizeof detail);
    emit(r, v, name, detail);
    return (int)v;
}

#define LIFE "create() destroy()"

static rg_status run_regularizer(runner *r)
{
    const rg_plugin *p = r->ctx.plugin;
    if (p->reg.penalty) {
        if (run(r, "penalty gradient", LIFE " penalty()", rg_check_penalty_gradient, NULL) < 0)
            return RG_ERR_IO;
        if (!(p->desc.caps & RG_CAP_PENALTY_NONNEG))
            emit(r, RG_CHECK_NA, "penalty >= 0",
                 "the plugin does not declare RG_CAP_PENALTY_NONNEG");
        else if (run(r, "penalty >= 0", LIFE " penalty()", rg_check_penalty_nonneg, NULL) < 0)
            return RG_ERR_IO;
        if (run(r, "penalty 1 vs 2 threads", LIFE " penalty()", rg_check_penalty_threads,
                NULL) < 0)
            return RG_ERR_IO;
        if (p->reg.linear_decay &&
            run(r, "linear decay", LIFE " linear_decay() penalty()", rg_check_linear_decay,
                NULL) < 0)
            return RG_ERR_IO;
    }
    if (p->reg.project &&
        run(r, "project idempotent", LIFE " project()", rg_check_project, NULL) < 0)
        return RG_ERR_IO;
    if (p->reg.project_step &&
        run(r, "project_step", LIFE " project_step()", rg_check_project_step, NULL) < 0)
        return RG_ERR_IO;
    if (p->reg.targets && run(r, "targets distributions", LIFE " targets()", rg_check_targets,
                              NULL) < 0)
        return RG_ERR_IO;
    if (p->reg.weight_forward) {
        const char *hooks = LIFE " weight_forward() weight_backward()";
        if (run(r, "transform gradient", hooks, rg_check_weight_gradient, NULL) < 0 ||
            run(r, "transform threads", hooks, rg_check_param_threads, NULL) < 0)
            return RG_ERR_IO;
    }
    if (p->reg.gradient && !p->reg.weight_forward &&
        run(r, "gradient hook threads", LIFE " gradient()", rg_check_param_threads, NULL) < 0)
        return RG_ERR_IO;
    if (p->reg.step_wrap &&
        run(r, "step wrapper", LIFE " step_wrap()", rg_check_step_wrap, NULL) < 0)
        return RG_ERR_IO;
    if (p->reg.activation_forward) {
        const char *hooks = LIFE " activation_state_bytes() activation_forward() "
                                 "activation_backward()";
        if (run(r, "activation eval identity", hooks, rg_check_act_eval, NULL) < 0 ||
            run(r, "activation gradient", hooks, rg_check_act_gradient, NULL) < 0 ||
            run(r, "activation determinism", hooks, rg_check_act_determinism, NULL) < 0 ||
            run(r, "activation data-parallel", hooks, rg_check_act_split, NULL) < 0)
            return RG_ERR_IO;
    }
    return RG_OK;
}

static rg_status run_augmenter(runner *r)
{
    const char *hooks = LIFE " apply()";
    if (run(r, "augment bounds", hooks, rg_check_aug_bounds, NULL) < 0 ||
        run(r, "augment determinism", hooks, rg_check_aug_determinism, NULL) < 0 ||
        run(r, "augment seed", hooks, rg_check_aug_seed, NULL) < 0 ||
        run(r, "augment composition", hooks, rg_check_aug_compose, NULL) < 0)
        return RG_ERR_IO;
    return RG_OK;
}

static rg_status run_loaded(runner *r)
{
    const rg_plugin *p = r->ctx.plugin;
    char detail[RG_CHECK_DETAIL_CAP];
    char name[RG_CHECK_NAME_CAP];
    if (p->abi_minor == 0) {
        snprintf(detail, sizeof detail,
                 "the plugin needs ABI %d.0, the oldest there is: no older host to refuse",
                 REGULA_ABI_MAJOR);
        emit(r, RG_CHECK_NA, "older host refused", detail);
    } else if (run(r, "older host refused", "regula_plugin_entry_v1()", rg_check_older_host,
                   NULL) < 0) {
        return RG_ERR_IO;
    }
    if (run(r, "exports", NULL, rg_check_exports, NULL) < 0)
        return RG_ERR_IO;
    if (run(r, "create/destroy x200", LIFE, rg_check_lifecycle, NULL) < 0)
        return RG_ERR_IO;
    uint32_t index[RG_PLUGIN_MAX_PARAMS];
    for (uint32_t i = 0; i < p->num_params; i++) {
        index[i] = i;
        snprintf(name, sizeof name, "param %s", p->params[i].name);
        if (run(r, name, LIFE, rg_check_param, &index[i]) < 0)
            return RG_ERR_IO;
    }
    if (p->desc.state_save) {
        if (run(r, "state round trip", LIFE " state_size() state_save() state_load()",
                rg_check_state, NULL) < 0)
            return RG_ERR_IO;
    } else if (p->desc.caps & RG_CAP_STATEFUL) {
        emit(r, RG_CHECK_FAIL, "state round trip",
             "the plugin declares RG_CAP_STATEFUL but has no state hooks (ABI 1.2 "
             "state_size/state_save/state_load): its state is lost in checkpoints and "
             "--resume refuses runs that use it");
    }
    return p->desc.kind == RG_PLUGIN_AUGMENTER ? run_augmenter(r) : run_regularizer(r);
}

rg_status rg_check_plugin(const char *path, const rg_check_options *options,
                          rg_check_summary *summary)
{
    runner r;
    memset(&r, 0, sizeof r);
    memset(summary, 0, sizeof *summary);
    r.opt = options;
    r.sum = summary;
    r.timeout_s = options && options->timeout_s > 0 ? options->timeout_s
                                                     : RG_CHECK_DEFAULT_TIMEOUT;
    r.ctx.path = path;
    r.ctx.host_minor = options && options->host_minor ? options->host_minor : REGULA_ABI_MINOR;
    rg_host_api_make(&r.ctx.host, r.ctx.host_minor);

    /* Load in a child first: constructors and the entry point may crash. */
    int v = run(&r, "load", "regula_plugin_entry_v1()", rg_check_load, NULL);
    if (v < 0)
        return rg_error_wrap(RG_ERR_IO, "plugin check");
    if (v != RG_CHECK_PASS) {
        if (run(&r, "exports", NULL, rg_check_exports, NULL) < 0)
            return rg_error_wrap(RG_ERR_IO, "plugin check");
        emit(&r, RG_CHECK_NA, "remaining checks", "not run: the plugin does not load");
        return RG_OK;
    }
    /* It loaded cleanly there, so load it here too: the children inherit
     * the mapped plugin and its validated descriptor through fork. */
    rg_status st = rg_plugin_load_unprobed(path, &r.ctx.host, &r.ctx.plugin);
    if (st != RG_OK) {
        char detail[RG_CHECK_DETAIL_CAP];
        snprintf(detail, sizeof detail, "loads in a child process but not in the checker: %s",
                 rg_error_message());
        emit(&r, RG_CHECK_FAIL, "load (again)", detail);
        return RG_OK;
    }
    st = run_loaded(&r);
    rg_plugin_unload(r.ctx.plugin);
    return st == RG_OK ? RG_OK : rg_error_wrap(st, "plugin check");
}
