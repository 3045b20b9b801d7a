/* A plugin that crashes, aborts, calls exit() or hangs inside a hook, or returns output no
 * network should see: `regula train` ends
 * with exit status 3 and a message naming the plugin, the hook, the epoch and step, and
 * the last good checkpoint, which stays loadable. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

#define FAULT REGULA_TEST_FIXTURES "/fixture_fault.so"

static char out[1 << 16];

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 120);

/* regula train on 600 images of mlp:16 with `args`; stdout and stderr land in out. Returns
 * the exit status (128 + signal for a death by signal). */
static int train(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             REGULA " train --model mlp:16 --train-limit 600 --val 0 --threads 2 --quiet %s "
             ">%s/out.txt 2>&1", args, dir);
    int st = system(cmd);
    snprintf(cmd, sizeof cmd, "%s/out.txt", dir);
    FILE *f = fopen(cmd, "r");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Batch 128: 5 steps an epoch; mlp:16 has two weight tensors, so penalty() runs twice a
 * step and its 12th call is in epoch 2, at global step 5. */
static int train_with(const char *how, const char *extra)
{
    char args[1024];
    snprintf(args, sizeof args, "--epochs 3 --save %s/r.ckpt --reg " FAULT ":how=%s,at=12 %s",
             dir, how, extra);
    return train(args);
}

static void expect_blamed(const char *first_words)
{
    char want[256];
    snprintf(want, sizeof want, "regula: %s plugin fault (", first_words);
    cr_assert(strstr(out, want) != NULL, "no '%s' in:\n%s", want, out);
    cr_assert(strstr(out, "fixture_fault.so), hook penalty(), epoch 2, step 5\n"), "%s", out);
    snprintf(want, sizeof want, "regula: the last good checkpoint is %s/r.ckpt (epoch 1)", dir);
    cr_assert(strstr(out, want) != NULL, "no '%s' in:\n%s", want, out);
    cr_assert(strstr(out, "regula plugin check"), "%s", out);
    cr_assert_null(strstr(out, "test accuracy"), "a failed run printed results:\n%s", out);
    /* the checkpoint of epoch 1 is whole */
    char cmd[256];
    snprintf(cmd, sizeof cmd, REGULA " eval %s/r.ckpt >/dev/null 2>&1", dir);
    cr_assert_eq(system(cmd), 0, "the last good checkpoint does not load");
}

Test(faults, a_segfault_in_a_hook_names_the_plugin_and_keeps_the_checkpoint)
{
    cr_assert_eq(train_with("segv", ""), 3, "%s", out);
    expect_blamed("SIGSEGV in");
}

Test(faults, abort_in_a_hook_is_reported_as_the_plugins)
{
    cr_assert_eq(train_with("abort", ""), 3, "%s", out);
    expect_blamed("SIGABRT in");
}

Test(faults, exit_0_in_a_hook_is_a_failure_not_a_success)
{
    cr_assert_eq(train_with("exit", ""), 3, "%s", out);
    expect_blamed("exit() called by");
}

Test(faults, a_hung_hook_is_ended_by_the_watchdog)
{
    cr_assert_eq(train_with("hang", "--hook-timeout 1"), 3, "%s", out);
    expect_blamed("no return after 1 s (--hook-timeout) from");
}

Test(faults, a_plugin_that_does_no_harm_changes_nothing)
{
    /* at=1000000 is never reached: the run completes and exits 0 */
    cr_assert_eq(train("--epochs 1 --reg " FAULT ":at=1000000"), 0, "%s", out);
}

/* Writes a status cannot report but the host sees after the hook: past the end of the
 * gradient (guard words), into the const weights (sampled comparison). */
Test(faults, a_gradient_overrun_is_named_with_its_size)
{
    int st = train_with("overrun", "");
    cr_assert_eq(st, 1, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "plugin fault (") != NULL, "%s", out);
    cr_assert(strstr(out, "penalty() wrote 5 floats past the end of its gradient for "
                          "dense2.weight (160 elements)") != NULL, "%s", out);
    cr_assert_null(strstr(out, "test accuracy"), "%s", out);
}

Test(faults, a_penalty_that_writes_its_const_weights_is_refused)
{
    int st = train_with("const", "");
    cr_assert_eq(st, 1, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "penalty() wrote into the weights of dense2.weight (element 0:") !=
                  NULL, "%s", out);
    cr_assert(strstr(out, "which are const") != NULL, "%s", out);
}

Test(faults, a_single_nan_in_a_penalty_gradient_is_found_and_blamed)
{
    int st = train_with("nan1", "");
    cr_assert_eq(st, 1, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "plugin fault: penalty() on dense2.weight produced a non-finite "
                          "gradient (epoch 2, step 5; the loss is finite)") != NULL, "%s", out);
}

Test(faults, a_single_nan_written_by_a_constraint_hook_is_found_and_blamed)
{
    /* the next loss is NaN; the full scan of the constrained weights names the plugin */
    int st = train_with("projnan1", "");
    cr_assert_eq(st, 1, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "plugin fault: constraint on dense1.weight produced a non-finite "
                          "weight") != NULL, "%s", out);
    cr_assert_null(strstr(out, "lower --lr"), "%s", out);
}

/* A stateful plugin whose state_save() writes past the size it announced: the checkpoint
 * write is refused, naming it. */
Test(faults, a_state_save_overrun_is_refused_when_the_checkpoint_is_written)
{
    char args[512];
    /* the fixture anchors one tensor of at most 256 elements: dense2.weight, 16 x 10 */
    snprintf(args, sizeof args, "--epochs 1 --save %s/s.ckpt --reg " REGULA_TEST_FIXTURES
             "/../check-fixtures/state_overrun.so:layers=dense2", dir);
    int st = train(args);
    cr_assert_eq(st, 1, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "state_overrun.so): state_save() wrote past the ") != NULL &&
                  strstr(out, " bytes state_size() announced") != NULL,
              "%s", out);
}

/* One NaN where the per-step sample does not look: found by the non-finite loss (forward)
 * or the optimizer's gradient check (backward), then traced back to the hook. */
Test(faults, a_single_nan_from_an_activation_hook_is_traced_back_to_it)
{
    int st = train("--epochs 1 --reg " REGULA_TEST_FIXTURES "/fixture_badact.so:mode=fwd,"
                   "after=relu1");
    cr_assert_eq(st, 1, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "plugin badact: activation_forward() produced a non-finite "
                          "activation after relu1 (epoch 1, step 0)") != NULL, "%s", out);
    st = train("--epochs 1 --reg " REGULA_TEST_FIXTURES "/fixture_badact.so:mode=bwd,"
               "after=relu1");
    cr_assert_eq(st, 1, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "plugin badact: activation_backward() produced a non-finite "
                          "gradient at relu1 (epoch 1, step ") != NULL, "%s", out);
}

/* A bad augmenter output is refused at the boundary, naming the plugin and the element. */
static void expect_refused_spec(const char *spec, const char *message)
{
    char args[512];
    snprintf(args, sizeof args, "--epochs 1 --aug %s", spec);
    int st = train(args);
    cr_assert_eq(st, 1, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, message) != NULL, "no '%s' in:\n%s", message, out);
    cr_assert_null(strstr(out, "test accuracy"), "%s", out);
}

static void expect_refused(const char *mode, const char *message)
{
    char spec[256];
    snprintf(spec, sizeof spec, REGULA_TEST_FIXTURES "/fixture_badaug.so:mode=%s", mode);
    expect_refused_spec(spec, message);
}

Test(faults, augmented_pixels_must_be_finite_and_in_range_and_targets_distributions)
{
    expect_refused("nan", "plugin badaug: apply() wrote nan at image 1, channel 0, row 2, "
                          "column 3 (epoch 1, step 0): augmented pixels must be finite and "
                          "inside [0, 1]");
    expect_refused("range", "plugin badaug: apply() wrote 1.5 at image 1, channel 0, row 2, "
                            "column 3 (epoch 1, step 0)");
    expect_refused("labels", "plugin badaug: apply() left target row 1 summing to 2 (smallest "
                             "entry 0) (epoch 1, step 0): targets must be non-negative and sum "
                             "to 1");
}

/* A step wrapper (ABI 1.5) that leaves the weights where it moved them: the host compares
 * the weights it sampled before the call and refuses. (One that puts them back as
 * (w + e) - e differs from w in a few elements only, below the per-step sample's reach:
 * `regula plugin check`, which compares every element, catches that one.) */
Test(faults, a_step_wrapper_that_does_not_restore_the_weights_is_refused)
{
    int st = train("--epochs 1 --reg " REGULA_TEST_FIXTURES "/../check-fixtures/wrap_keeps.so");
    cr_assert_eq(st, 1, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "step_wrap() left the weights of dense") != NULL, "%s", out);
    cr_assert(strstr(out, "it must put back what it moved, bit for bit (epoch 1, step 0)") != NULL,
              "%s", out);
    /* the correct variant trains */
    st = train("--epochs 1 --reg " REGULA_TEST_FIXTURES "/../check-fixtures/wrap.so");
    cr_assert_eq(st, 0, "exit %d:\n%s", st, out);
}

/* A crash inside an augmenter that a policy composed (ABI 1.6) is blamed on the composed
 * plugin, named with the one that composed it; a NaN it writes is refused at the policy's
 * boundary, naming the policy. */
Test(faults, a_crash_inside_a_composed_augmenter_names_both_plugins)
{
    char args[512];
    snprintf(args, sizeof args, "--epochs 2 --save %s/r.ckpt --aug " REGULA_TEST_FIXTURES
             "/fixture_compose.so:target=badaug_segv,whole=1", dir);
    int st = train(args);
    cr_assert_eq(st, 3, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "plugin badaug (composed by compose) (") != NULL, "%s", out);
    cr_assert(strstr(out, "fixture_badaug.so), hook apply(), epoch 1, step 0") != NULL, "%s",
              out);
    cr_assert_null(strstr(out, "test accuracy"), "%s", out);
    expect_refused_spec(REGULA_TEST_FIXTURES "/fixture_compose.so:target=badaug_nan,whole=1",
                        "plugin compose: apply() wrote nan at image 1, channel 0, row 2, "
                        "column 3 (epoch 1, step 0)");
}

/* A constructor that crashes or exits while the plugin loads: the forked probe load sees it
 * and `regula train` refuses the plugin with that reason, instead of dying with it. */
Test(faults, a_constructor_that_crashes_or_exits_is_reported_before_training)
{
    const char *modes[] = {"segv", "exit"};
    const char *want[] = {"the plugin crashed while loading: SIGSEGV in its constructor",
                          "the plugin called exit(7) while loading"};
    for (int i = 0; i < 2; i++) {
        setenv("FIXTURE_CTOR", modes[i], 1);
        int st = train("--epochs 1 --reg " REGULA_TEST_FIXTURES "/fixture_ctor.so");
        cr_assert_eq(st, 1, "%s: exit %d:\n%s", modes[i], st, out);
        cr_assert(strstr(out, want[i]) != NULL, "no '%s' in:\n%s", want[i], out);
        cr_assert(strstr(out, "regula plugin check") != NULL, "%s", out);
    }
    unsetenv("FIXTURE_CTOR");
}

/* `regula plugins` with broken files on the search path lists each with its reason and
 * goes on to the good ones (exit status 1: something failed to load). */
Test(faults, plugins_lists_broken_files_with_their_reason_and_goes_on)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "head -c 3000 " REGULA_TEST_PLUGINS "/l2.so > %s/cut.so && "
             "echo hello > %s/text.so && cp " REGULA_TEST_PLUGINS "/l1.so %s/l1.so", dir, dir,
             dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "REGULA_PLUGIN_PATH=%s " REGULA " plugins >%s/out.txt 2>&1", dir,
             dir);
    int st = system(cmd);
    snprintf(cmd, sizeof cmd, "%s/out.txt", dir);
    FILE *f = fopen(cmd, "r");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d:\n%s", st, out);
    cr_assert(strstr(out, "cut  FAILED TO LOAD: ") && strstr(out, "cut.so: truncated ELF file"),
              "%s", out);
    cr_assert(strstr(out, "text  FAILED TO LOAD: ") &&
                  strstr(out, "does not start with the ELF magic"), "%s", out);
    cr_assert(strstr(out, "l1  regularizer") != NULL, "the good plugin is listed:\n%s", out);
    cr_assert(strstr(out, "l2  regularizer") != NULL, "and the installed ones:\n%s", out);
}
