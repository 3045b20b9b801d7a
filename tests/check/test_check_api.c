/* The checker as library code: the isolation primitive turns crashes,
 * exits and hangs into outcomes; the ELF reader finds extra exports; the
 * older-host negotiation check passes a plugin that refuses cleanly and
 * fails one that accepts or crashes; n/a is never counted as passed. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check/check.h"
#include "check/check_internal.h"
#include "error.h"

#define FX REGULA_CHECK_FIXTURES "/"

#define MAX_RESULTS 64
static rg_check_result results[MAX_RESULTS];
static int num_results;

static void collect(void *ctx, const rg_check_result *r)
{
    (void)ctx;
    if (num_results < MAX_RESULTS)
        results[num_results++] = *r;
}

static rg_check_summary run_checker(const char *path, uint32_t host_minor, double timeout)
{
    num_results = 0;
    rg_check_options opt = {timeout, host_minor, collect, NULL};
    rg_check_summary sum;
    cr_assert_eq(rg_check_plugin(path, &opt, &sum), RG_OK, "%s", rg_error_message());
    return sum;
}

static const rg_check_result *result(const char *name)
{
    for (int i = 0; i < num_results; i++)
        if (strcmp(results[i].name, name) == 0)
            return &results[i];
    cr_assert_fail("no result for check '%s'", name);
    return NULL;
}

static void expect(const char *name, rg_check_verdict v, const char *phrase)
{
    const rg_check_result *r = result(name);
    cr_assert_eq(r->verdict, v, "%s: %s %s", name, rg_check_verdict_name(r->verdict), r->detail);
    if (phrase)
        cr_assert(strstr(r->detail, phrase) != NULL, "%s: '%s' lacks '%s'", name, r->detail,
                  phrase);
}

/* ------------------------------------------------------------ isolation */

static rg_check_verdict body_pass(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                  char *detail, size_t cap)
{
    (void)ctx;
    rg_check_stage(c, "hook()", "hook() on something");
    snprintf(detail, cap, "fine: %d", *(const int *)arg);
    return RG_CHECK_PASS;
}

static rg_check_verdict body_exit(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                  char *detail, size_t cap)
{
    (void)ctx, (void)arg, (void)detail, (void)cap;
    rg_check_stage(c, "create()", "create() with default parameters");
    exit(7);
}

static rg_check_verdict body_crash(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                   char *detail, size_t cap)
{
    (void)ctx, (void)arg, (void)detail, (void)cap;
    rg_check_stage(c, "penalty()", "penalty() on the 12x9 weight tensor");
    raise(SIGFPE);
    return RG_CHECK_PASS;
}

static rg_check_verdict body_hang(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                  char *detail, size_t cap)
{
    (void)ctx, (void)arg, (void)detail, (void)cap;
    rg_check_stage(c, "apply()", "apply() on a batch");
    for (volatile int spin = 1; spin;)
        pause();
    return RG_CHECK_FAIL;
}

Test(check_isolate, verdict_and_detail_cross_the_pipe)
{
    rg_check_ctx ctx = {0};
    rg_isolated_result r;
    int arg = 42;
    cr_assert_eq(rg_check_isolated(body_pass, &ctx, &arg, 5.0, &r), RG_OK);
    cr_assert_eq(r.outcome, RG_CHILD_DONE);
    cr_assert_eq(r.verdict, RG_CHECK_PASS);
    cr_assert_str_eq(r.detail, "fine: 42");
    cr_assert_str_eq(r.stage, "hook() on something");
}

Test(check_isolate, exit_is_an_outcome_with_its_status_and_stage)
{
    rg_check_ctx ctx = {0};
    rg_isolated_result r;
    cr_assert_eq(rg_check_isolated(body_exit, &ctx, NULL, 5.0, &r), RG_OK);
    cr_assert_eq(r.outcome, RG_CHILD_EXITED);
    cr_assert_eq(r.code, 7);
    cr_assert_str_eq(r.hook, "create()");
}

Test(check_isolate, crash_is_an_outcome_with_its_signal)
{
    rg_check_ctx ctx = {0};
    rg_isolated_result r;
    cr_assert_eq(rg_check_isolated(body_crash, &ctx, NULL, 5.0, &r), RG_OK);
    cr_assert_eq(r.outcome, RG_CHILD_CRASHED);
    cr_assert_eq(r.code, SIGFPE);
    cr_assert_str_eq(r.stage, "penalty() on the 12x9 weight tensor");
}

Test(check_isolate, hang_is_killed_at_the_deadline)
{
    rg_check_ctx ctx = {0};
    rg_isolated_result r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(rg_check_isolated(body_hang, &ctx, NULL, 0.5, &r), RG_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    cr_assert_eq(r.outcome, RG_CHILD_TIMED_OUT);
    cr_assert_str_eq(r.hook, "apply()");
    cr_assert(took >= 0.45 && took < 3.0, "took %.2f s", took);
}

/* ------------------------------------------------------------ exports */

Test(check_elf, finds_the_extra_export_and_nothing_in_a_clean_plugin)
{
    char names[256];
    int count = -1;
    cr_assert_eq(rg_check_elf_exports(FX "export.so", names, sizeof names, &count), RG_OK, "%s",
                 rg_error_message());
    cr_assert_eq(count, 1, "%s", names);
    cr_assert_str_eq(names, "'helper_fn'");
    cr_assert_eq(rg_check_elf_exports(REGULA_TEST_PLUGINS "/l2.so", names, sizeof names, &count),
                 RG_OK);
    cr_assert_eq(count, 0, "%s", names);
}

Test(check_elf, refuses_a_file_that_is_not_elf)
{
    char path[] = "/tmp/regula-notelf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "hello, not an ELF file\n", 23), 23);
    close(fd);
    char names[64];
    int count;
    rg_status st = rg_check_elf_exports(path, names, sizeof names, &count);
    unlink(path);
    cr_assert_eq(st, RG_ERR_FORMAT);
    cr_assert(strstr(rg_error_message(),
                     "not a shared object: the file does not start with the ELF magic") != NULL,
              "%s", rg_error_message());
}

/* ------------------------------------------------------------ negotiation */

/* The fixtures needs_next*.so need one minor beyond this SDK, so the tests
 * play a host that new (options.host_minor) and the older host is today's. */
#define NEXT (REGULA_ABI_MINOR + 1)

Test(check_api, plugin_needing_1_0_gets_na_which_is_not_counted_as_passed)
{
    rg_check_summary s = run_checker(FX "needs_1_0.so", 0, 0);
    expect("older host refused", RG_CHECK_NA, "needs ABI 1.0");
    cr_assert_eq(s.failed, 0);
    cr_assert_eq(s.passed + s.failed + s.na, num_results);
    cr_assert_geq(s.na, 1);
}

Test(check_api, older_host_refused_cleanly_passes)
{
    char abi[32];
    snprintf(abi, sizeof abi, "ABI 1.%d", NEXT);
    rg_check_summary s = run_checker(FX "needs_next.so", NEXT, 0);
    expect("load", RG_CHECK_PASS, abi);
    expect("older host refused", RG_CHECK_PASS, "refused with RG_ERR_VERSION");
    cr_assert_eq(s.failed, 0, "%d failed", s.failed);
}

Test(check_api, plugin_accepting_a_host_too_old_fails)
{
    char msg[128];
    snprintf(msg, sizeof msg, "accepts a host offering ABI 1.%d although it needs 1.%d",
             NEXT - 1, NEXT);
    run_checker(FX "needs_next_accepts_old.so", NEXT, 0);
    expect("older host refused", RG_CHECK_FAIL, msg);
}

Test(check_api, plugin_crashing_on_an_older_host_fails)
{
    char msg[128];
    snprintf(msg, sizeof msg, "regula_plugin_entry_v1() offered ABI 1.%d crashed with SIGSEGV",
             NEXT - 1);
    run_checker(FX "needs_next_crashes_old.so", NEXT, 0);
    expect("older host refused", RG_CHECK_FAIL, msg);
}

Test(check_api, plugin_needing_a_newer_minor_than_the_host_fails_to_load)
{
    rg_check_summary s = run_checker(FX "needs_next.so", 0, 0);
    expect("load", RG_CHECK_FAIL, "rebuild the plugin against regula SDK 1.x");
    cr_assert_geq(s.failed, 1);
}

/* ------------------------------------------------------------ good code */

Test(check_api, every_activation_check_passes_inverted_dropout)
{
    rg_check_summary s = run_checker(FX "dropout.so", 0, 0);
    expect("activation eval identity", RG_CHECK_PASS, NULL);
    expect("activation gradient", RG_CHECK_PASS, "matches finite differences");
    expect("activation determinism", RG_CHECK_PASS, NULL);
    cr_assert_eq(s.failed, 0);
}

Test(check_api, every_augmenter_check_passes_horizontal_flip)
{
    rg_check_summary s = run_checker(FX "hflip.so", 0, 0);
    expect("augment bounds", RG_CHECK_PASS, NULL);
    expect("augment determinism", RG_CHECK_PASS, NULL);
    expect("augment seed", RG_CHECK_PASS, NULL);
    cr_assert_eq(s.failed, 0);
}

Test(check_api, timeout_option_bounds_a_hanging_hook)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run_checker(FX "hang.so", 0, 1.0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    expect("penalty gradient", RG_CHECK_FAIL, "timed out after 1 s");
    expect("penalty >= 0", RG_CHECK_NA, "not run");
    cr_assert_lt(t1.tv_sec - t0.tv_sec, 8);
}

/* ------------------------------------------------------------ plugin state (ABI 1.2) */

Test(check_api, a_complete_state_round_trip_passes)
{
    run_checker(FX "anchor.so", REGULA_ABI_MINOR, 20);
    expect("state round trip", RG_CHECK_PASS, "same penalty and gradient bits");
    run_checker(REGULA_TEST_PLUGINS "/l2sp.so", REGULA_ABI_MINOR, 20);
    expect("state round trip", RG_CHECK_PASS, "truncated states refused");
}

Test(check_api, a_state_that_does_not_restore_the_plugin_fails)
{
    run_checker(FX "state_lost.so", REGULA_ABI_MINOR, 20);
    expect("state round trip", RG_CHECK_FAIL, "the saved state is incomplete");
}

Test(check_api, a_state_load_that_accepts_a_truncated_state_fails)
{
    run_checker(FX "state_trusts.so", REGULA_ABI_MINOR, 20);
    expect("state round trip", RG_CHECK_FAIL, "accepted the first 0 of");
}

Test(check_api, stateful_without_state_hooks_fails)
{
    run_checker(REGULA_TEST_FIXTURES "/fixture_stateful.so", REGULA_ABI_MINOR, 20);
    expect("state round trip", RG_CHECK_FAIL, "declares RG_CAP_STATEFUL but has no state hooks");
}

Test(check_api, a_state_save_that_writes_past_its_size_fails)
{
    run_checker(FX "state_overrun.so", REGULA_ABI_MINOR, 20);
    expect("state round trip", RG_CHECK_FAIL,
           "state_save() wrote outside the buffer of state_size() bytes");
}

/* ------------------------------------------------------------ parameter hooks (ABI 1.5) */

Test(check_api, a_weight_transform_with_its_jacobian_passes)
{
    rg_check_summary s = run_checker(FX "transform.so", 0, 0);
    expect("load", RG_CHECK_PASS, "hooks: weight_forward/backward");
    expect("transform gradient", RG_CHECK_PASS, "matches central differences");
    expect("transform threads", RG_CHECK_PASS, "bitwise equal");
    cr_assert_eq(s.failed, 0);
}

Test(check_api, a_weight_backward_that_is_not_the_jacobian_fails)
{
    run_checker(FX "wrong_map.so", 0, 0);
    expect("transform gradient", RG_CHECK_FAIL, "central differences");
}

Test(check_api, a_weight_transform_drawing_by_thread_count_fails)
{
    run_checker(FX "transform_threads.so", 0, 0);
    expect("transform threads", RG_CHECK_FAIL, "differs between 1 and 2 threads");
}

Test(check_api, a_gradient_hook_passes_and_its_thread_bug_fails)
{
    rg_check_summary s = run_checker(FX "grad_hook.so", 0, 0);
    expect("gradient hook threads", RG_CHECK_PASS, "bitwise equal gradient");
    cr_assert_eq(s.failed, 0);
    run_checker(FX "grad_hook_threads.so", 0, 0);
    expect("gradient hook threads", RG_CHECK_FAIL, "differs between 1 and 2 threads");
}

Test(check_api, a_step_wrapper_that_restores_from_a_copy_passes)
{
    rg_check_summary s = run_checker(FX "wrap.so", 0, 0);
    expect("step wrapper", RG_CHECK_PASS, "1 second evaluation");
    cr_assert_eq(s.failed, 0);
}

Test(check_api, a_step_wrapper_that_subtracts_its_perturbation_fails)
{
    run_checker(FX "wrap_subtracts.so", 0, 0);
    expect("step wrapper", RG_CHECK_FAIL, "bit for bit");
}
