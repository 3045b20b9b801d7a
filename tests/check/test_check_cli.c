/* `regula plugin check` as a plugin author meets it: each broken fixture
 * gets exit status 1 and a FAIL line that names the problem and the fix;
 * stock and well-behaved plugins get exit status 0. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "regula/plugin.h"

#define CLI_RUN_NAME "check"
#include "../cli_run.h"
#define FX REGULA_CHECK_FIXTURES "/"

/* Runs `regula plugin check ARGS`; returns the exit code (128+signal). */
static int check(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "plugin check %s", args);
    return run_regula(0, cmd);
}

/* The report line of check `name`, copied into line (without newline). */
static int find_line(const char *name, char *line, size_t cap)
{
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        /* "VERD  name<spaces>  detail" */
        if (len > 6 && strncmp(p + 6, name, strlen(name)) == 0 && p[6 + strlen(name)] == ' ') {
            snprintf(line, cap, "%.*s", (int)len, p);
            return 1;
        }
        p += len + (nl ? 1 : 0);
    }
    return 0;
}

static void expect_line(const char *verdict, const char *name, const char *phrase)
{
    char line[2048];
    cr_assert(find_line(name, line, sizeof line), "no line for check '%s' in:\n%s", name, out);
    cr_assert(strncmp(line, verdict, strlen(verdict)) == 0, "expected %s, got: %s", verdict,
              line);
    if (phrase)
        cr_assert(strstr(line, phrase) != NULL, "line lacks '%s': %s", phrase, line);
}

static void expect_fails(const char *plugin, const char *args, const char *name,
                         const char *phrase, int failures)
{
    char a[1024];
    snprintf(a, sizeof a, "%s%s %s", FX, plugin, args);
    int code = check(a);
    cr_assert_eq(code, 1, "exit %d for %s; stdout:\n%s\nstderr:\n%s", code, plugin, out, err);
    expect_line("FAIL", name, phrase);
    char summary[64];
    snprintf(summary, sizeof summary, " passed, %d failed", failures);
    cr_assert(strstr(out, summary) != NULL, "expected '%s' in:\n%s", summary, out);
}

static void expect_passes(const char *path)
{
    int code = check(path);
    cr_assert_eq(code, 0, "exit %d for %s; stdout:\n%s\nstderr:\n%s", code, path, out, err);
    cr_assert(strstr(out, "FAIL") == NULL, "%s", out);
    cr_assert(strstr(out, " passed, 0 failed") != NULL, "%s", out);
}

TestSuite(check_cli, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------ good code */

Test(check_cli, stock_l2_passes)
{
    expect_passes(REGULA_TEST_PLUGINS "/l2.so");
    expect_line("PASS", "penalty gradient", "matches central finite differences");
    expect_line("PASS", "penalty 1 vs 2 threads", NULL);
    expect_line("PASS", "param lambda", "accepts 0 and 1");
#if REGULA_ABI_MINOR > 0
    expect_line("PASS", "older host refused", "is refused with RG_ERR_VERSION");
#else
    expect_line("n/a", "older host refused", "needs ABI 1.0");
#endif
}

/* Whatever stock plugins the build has: each must pass, l2 among them. */
Test(check_cli, every_stock_plugin_passes)
{
    DIR *d = opendir(REGULA_TEST_PLUGINS);
    cr_assert_not_null(d, "cannot open %s", REGULA_TEST_PLUGINS);
    int checked = 0, saw_l2 = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", REGULA_TEST_PLUGINS, e->d_name);
        expect_passes(path);
        checked++;
        saw_l2 |= strcmp(e->d_name, "l2.so") == 0;
    }
    closedir(d);
    cr_assert(saw_l2 && checked >= 1, "checked %d stock plugins, l2.so among them: %d", checked,
              saw_l2);
}

Test(check_cli, well_behaved_regularizer_passes_penalty_and_project_checks)
{
    expect_passes(FX "quadratic.so");
    expect_line("PASS", "project idempotent", NULL);
    expect_line("PASS", "penalty >= 0", NULL);
    expect_line("PASS", "create/destroy x200", "no host memory held");
}

Test(check_cli, well_behaved_smoothing_passes_abi_1_1_hook_checks)
{
    expect_passes(FX "smoothing.so");
    expect_line("PASS", "targets distributions", NULL);
    expect_line("PASS", "project_step", NULL);
}

Test(check_cli, well_behaved_dropout_passes_activation_checks)
{
    expect_passes(FX "dropout.so");
    expect_line("PASS", "activation eval identity", NULL);
    expect_line("PASS", "activation gradient", NULL);
    expect_line("PASS", "activation determinism", NULL);
    expect_line("PASS", "activation data-parallel", "gives one process's bits and penalty");
    expect_line("PASS", "param p", "0.999999"); /* max is exclusive: probed just inside */
}

Test(check_cli, well_behaved_flip_passes_augmenter_checks)
{
    expect_passes(FX "hflip.so");
    expect_line("PASS", "augment bounds", NULL);
    expect_line("PASS", "augment determinism", NULL);
    expect_line("PASS", "augment seed", NULL);
}

/* ------------------------------------------------------------ broken code */

Test(check_cli, gradient_off_by_factor_two_is_named)
{
    expect_fails("grad_x2.so", "", "penalty gradient",
                 "gradient of penalty() on the [17] weight tensor differs from finite "
                 "differences at element 0",
                 1);
    expect_line("FAIL", "penalty gradient", "check the constant factor of your gradient");
}

Test(check_cli, declared_linear_decay_is_checked_against_penalty)
{
    expect_passes(FX "decay.so");
    expect_line("PASS", "linear decay", "gradient to the bit");
    expect_fails("bad_decay.so", "", "linear decay",
                 "declares grad += 0.2 * w, but penalty() made element 0", 1);
}

Test(check_cli, penalty_that_overwrites_grad_is_named)
{
    expect_fails("overwrite.so", "", "penalty gradient",
                 "overwrites grad instead of adding to it", 1);
}

Test(check_cli, segfault_in_penalty_is_reported_not_fatal)
{
    expect_fails("segv.so", "", "penalty gradient",
                 "penalty() on the [17] weight tensor crashed with SIGSEGV", 3);
    /* the checker went on after the crash */
    expect_line("PASS", "project idempotent", NULL);
}

Test(check_cli, hang_in_penalty_times_out_once)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect_fails("hang.so", "--timeout 2", "penalty gradient",
                 "penalty() on the [17] weight tensor timed out after 2 s", 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* later penalty checks are skipped instead of hanging again */
    expect_line("n/a", "penalty 1 vs 2 threads", "not run: penalty() timed out");
    cr_assert_lt(t1.tv_sec - t0.tv_sec, 10, "took %lld s", (long long)(t1.tv_sec - t0.tv_sec));
}

Test(check_cli, exit_in_create_is_reported)
{
    int code = check(FX "exit3.so");
    cr_assert_eq(code, 1, "%s", out);
    expect_line("FAIL", "create/destroy x200",
                "create() with default parameters called exit(3): a plugin reports failure by "
                "returning an rg_status");
    cr_assert(strstr(out, " failed") != NULL, "no summary after exit(): %s", out);
}

Test(check_cli, extra_export_is_named)
{
    expect_fails("export.so", "", "exports",
                 "exports 'helper_fn' besides regula_plugin_entry_v1: declare it static or "
                 "build with -fvisibility=hidden",
                 1);
}

Test(check_cli, host_memory_leak_is_measured)
{
    expect_fails("leak.so", "", "create/destroy x200",
                 "leaks 48 bytes per create/destroy (9600 bytes still held after 200 cycles)", 1);
}

Test(check_cli, create_refusing_a_declared_bound_is_named)
{
    expect_fails("bound.so", "", "param lambda", "lambda=0 is inside the declared range", 1);
}

Test(check_cli, thread_dependent_reduction_is_named)
{
    expect_fails("threads.so", "", "penalty 1 vs 2 threads", "differs between 1 and 2 threads",
                 1);
}

Test(check_cli, projection_that_is_not_idempotent_is_named)
{
    expect_fails("project.so", "", "project idempotent", "project() is not idempotent", 1);
}

Test(check_cli, activation_not_identity_in_eval_is_named)
{
    expect_fails("eval_scales.so", "", "activation eval identity",
                 "activation_forward() in RG_MODE_EVAL changed element", 1);
}

Test(check_cli, activation_backward_inconsistent_with_forward_is_named)
{
    expect_fails("backward_scale.so", "", "activation gradient",
                 "disagrees with finite differences of activation_forward()", 1);
}

Test(check_cli, activation_draws_that_a_batch_cut_changes_are_named)
{
    expect_fails("compact_draws.so", "", "activation data-parallel",
                 "cut at row 21, as two data-parallel processes hold it, differs from one "
                 "process at element",
                 1);
}

Test(check_cli, augmenter_breaking_label_distributions_is_named)
{
    expect_fails("labels.so", "", "augment bounds", "label row 0 sums to 2 after apply()", 1);
}

Test(check_cli, smoothing_that_breaks_target_distributions_is_named)
{
    expect_fails("no_renorm.so", "", "targets distributions",
                 "target row 0 sums to 1.1 after targets() on one-hot targets", 1);
}

Test(check_cli, project_step_producing_infinities_is_named)
{
    expect_fails("per_epoch.so", "", "project_step",
                 "project_step() on the 12x9 weight tensor left a non-finite value", 1);
}

Test(check_cli, augmenter_ignoring_the_seed_is_named)
{
    expect_fails("seedless.so", "", "augment seed",
                 "identical batches for seeds 7 and 8: it ignores its rng stream", 1);
}

Test(check_cli, augmenter_writing_out_of_bounds_is_named)
{
    expect_fails("overflow.so", "", "augment bounds", "wrote outside batch->data", 1);
}

Test(check_cli, non_plugin_fails_load_and_names_the_missing_entry)
{
    int code = check(REGULA_TEST_FIXTURES "/fixture_no_entry.so");
    cr_assert_eq(code, 1, "%s", out);
    expect_line("FAIL", "load", "no exported symbol regula_plugin_entry_v1");
    expect_line("FAIL", "exports", "'regula_plugin_entry'");
    expect_line("n/a", "remaining checks", "does not load");
}

/* ------------------------------------------------------------ the command */

Test(check_cli, json_report)
{
    cr_assert_eq(check(REGULA_TEST_PLUGINS "/l2.so --json"), 0, "%s", err);
    cr_assert(strstr(out, "\"plugin\"") && strstr(out, "\"checks\"") &&
                  strstr(out, "\"verdict\"") && strstr(out, "\"failed\""),
              "%s", out);
    cr_assert(strstr(out, "\"fail\"") == NULL, "%s", out);
    cr_assert_eq(check(FX "grad_x2.so --json"), 1);
    cr_assert(strstr(out, "\"fail\"") != NULL, "%s", out);
}

Test(check_cli, usage_errors_exit_2)
{
    cr_assert_eq(check(""), 2);
    cr_assert(strstr(err, "expected PATH.so") != NULL, "%s", err);
    cr_assert_eq(check(FX "quadratic.so --bogus"), 2);
    cr_assert(strstr(err, "unknown option '--bogus'") != NULL, "%s", err);
    cr_assert_eq(check(FX "quadratic.so --timeout"), 2);
    cr_assert_eq(check(FX "quadratic.so --timeout -1"), 2);
    cr_assert(strstr(err, "--timeout -1") != NULL, "%s", err);
    cr_assert_eq(check("/nonexistent/plugin.so"), 2);
    cr_assert(strstr(err, "cannot read /nonexistent/plugin.so") != NULL, "%s", err);
    cr_assert_eq(check(FX "quadratic.so " FX "dropout.so"), 2);
    cr_assert_eq(check("--help"), 0);
    cr_assert(strstr(out, "--timeout SECONDS") != NULL, "%s", out);
}
