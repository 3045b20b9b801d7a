/* regula sweep: run `regula train` once per combination of values, choose on
 * the validation split, evaluate only the winner on the test set. This file
 * reads the command line and drives the sweep; see sweep.h for the parts. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_error.h"
#include "regula/regula.h"
#include "args.h"
#include "cli.h"
#include "sweep.h"

static const char sweep_usage[] =
    "usage: regula sweep --dir DIR [--grid | --random N] --sweep KEY=VALUES [--sweep ...]\n"
    "                    [--metric val_accuracy|val_loss] [--seed S] [--dry-run]\n"
    "                    -- TRAIN-ARGS...\n"
    "\n"
    "Hyperparameter search on the validation split: runs `regula train TRAIN-ARGS` once\n"
    "per trial with the trial's values, ranks the trials by a validation metric, prints\n"
    "the winner as a ready-to-run command and evaluates only the winner on the test set.\n"
    "\n"
    "  --dir DIR         where trials and results go (created if missing)\n"
    "  --sweep KEY=VALUES  repeatable. KEY is PLUGIN.PARAM, a parameter of a plugin given\n"
    "                    in TRAIN-ARGS as --reg/--aug NAME[:...] (every --reg/--aug naming\n"
    "                    it gets the value, set or replaced in its spec), e.g. l2.lambda,\n"
    "                    dropout.rate; or a train option that holds one number or word\n"
    "                    (a recipe field: lr, momentum, batch, epochs, seed, val,\n"
    "                    lr-schedule, optimizer, model, ...; set or replaced as\n"
    "                    --KEY VALUE; lr_schedule and lr-schedule both work).\n"
    "                    VALUES: a list  0,1e-4,1e-3  (';' separates values that contain\n"
    "                    ',': model=mlp:64;mlp:128,64), or a range\n"
    "                      LO..HI:lin:COUNT  COUNT values evenly spaced, ends included\n"
    "                      LO..HI:log:COUNT  COUNT values evenly spaced in log(value)\n"
    "                    (inner values rounded to 6 significant digits)\n"
    "                    (COUNT may be left out with --random)\n"
    "  --grid            every combination (default); trial numbers count through the\n"
    "                    combinations with the first --sweep varying slowest\n"
    "  --random N        N combinations drawn with --seed: a list uniformly, a lin range\n"
    "                    uniformly, a log range log-uniformly (6 significant digits)\n"
    "  --metric M        val_accuracy (default, higher is better) or val_loss (lower)\n"
    "  --seed S          seed of the --random draws (default 1); the training seed is\n"
    "                    TRAIN-ARGS' --seed, which can be swept too\n"
    "  --dry-run         print the trials' values and stop\n"
    "\n"
    "Trial K runs `regula train TRAIN-ARGS --no-test --quiet --summary DIR/trial-K.json\n"
    "--save DIR/trial-K.ckpt --metrics DIR/trial-K.metrics.jsonl`, output in\n"
    "DIR/trial-K.log, its arguments in DIR/trial-K.params. The test set is not touched\n"
    "by any trial. A trial whose summary exists for the same arguments is not run again\n"
    "(an interrupted sweep continues where it stopped); a failed trial is recorded with\n"
    "the last line of its log and run again next time. --summary, --save and --metrics in\n"
    "TRAIN-ARGS are kept for the winner's command line only.\n"
    "\n"
    "Writes DIR/sweep.csv and DIR/sweep.jsonl (one object per trial: trial, params,\n"
    "val_accuracy, val_loss, status), best first, then runs `regula eval` on the winner's\n"
    "checkpoint (output also in DIR/winner-test.log).\n"
    "\n"
    "Example: regula sweep --dir runs/l2 --sweep l2.lambda=1e-5..1e-2:log:4 \\\n"
    "           --sweep lr=0.01,0.05 -- --model mlp:512,256 --epochs 20 --reg l2\n";

/* ---- options ------------------------------------------------------------------------ */

/* Validates an axis' values against the plugin's schema now: a typo should
 * cost milliseconds, not a sweep of failed trials. A range is tried at its
 * ends. */
static rg_status check_axis_values(const rg_sweep_axis *ax, const char *spec, const char *kind)
{
    int nv = ax->n ? ax->n : 2;
    for (int v = 0; v < nv; v++) {
        char text[RG_SWEEP_VALUE_CHARS];
        if (ax->n)
            snprintf(text, sizeof text, "%s", ax->values[v]);
        else
            rg_sweep_format_number(v ? ax->hi : ax->lo, text, sizeof text);
        char *trial_spec = rg_sweep_spec_with(spec, ax->param, text);
        if (!trial_spec)
            return rg_cli_error_set(RG_ERR_NOMEM, "out of memory");
        rg_context *ctx = NULL;
        rg_status st = rg_cli_context(0, &ctx);
        if (st == RG_OK && (st = rg_plugin_validate(ctx, kind, trial_spec)) != RG_OK)
            rg_cli_error_set(st, "%s", rg_context_error(ctx));
        rg_context_destroy(ctx);
        free(trial_spec);
        if (st != RG_OK)
            return rg_cli_error_wrap(RG_ERR_INVALID, "--sweep %s=%s", ax->key, text);
    }
    return RG_OK;
}

/* Every --reg/--aug of the train arguments that names the axis' plugin. */
static rg_status check_plugin_axis(const rg_sweep *s, const rg_sweep_axis *ax)
{
    int found = 0;
    for (int i = 0; i + 1 < s->n_train; i++) {
        const char *a = s->train[i], *spec = s->train[i + 1];
        if (rg_sweep_is_switch(a))
            continue;
        i++;
        if ((strcmp(a, "--reg") && strcmp(a, "--aug")) ||
            !rg_sweep_spec_names(spec, ax->plugin))
            continue;
        found = 1;
        const char *kind = a[2] == 'r' ? "reg" : "aug";
        rg_status st = check_axis_values(ax, spec, kind);
        if (st != RG_OK)
            return st;
    }
    if (!found)
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s: plugin '%s' is not in the train "
                            "arguments; add --reg %s or --aug %s after --", ax->key,
                            ax->plugin, ax->plugin, ax->plugin);
    return RG_OK;
}

static rg_status check_train_args(const rg_sweep *s)
{
    for (int k = 0; k < s->n_axes; k++) {
        if (!s->axes[k].plugin[0])
            continue;
        rg_status st = check_plugin_axis(s, &s->axes[k]);
        if (st != RG_OK)
            return st;
    }
    for (int i = 0; i < s->n_train; i++) {
        if (!strcmp(s->train[i], "--resume"))
            return rg_cli_error_set(RG_ERR_INVALID, "sweep: --resume cannot be swept; an "
                                "interrupted sweep resumes by running it again");
        double v;
        if (!strcmp(s->train[i], "--val") && i + 1 < s->n_train &&
            rg_sweep_is_number(s->train[i + 1], &v) && v == 0)
            return rg_cli_error_set(RG_ERR_INVALID, "sweep: --val 0 leaves no validation split to "
                                "choose on");
    }
    return RG_OK;
}

static rg_status add_axis(rg_sweep *s, const char *arg)
{
    if (s->n_axes >= RG_SWEEP_MAX_AXES)
        return rg_cli_error_set(RG_ERR_INVALID, "sweep: at most %d --sweep keys", RG_SWEEP_MAX_AXES);
    rg_status st = rg_sweep_axis_parse(arg, &s->axes[s->n_axes]);
    for (int k = 0; st == RG_OK && k < s->n_axes; k++)
        if (!strcmp(s->axes[k].key, s->axes[s->n_axes].key))
            st = rg_cli_error_set(RG_ERR_INVALID, "--sweep %s: given twice", s->axes[k].key);
    if (st == RG_OK)
        s->n_axes++;
    return st;
}

/* One of the sweep's options that take a value. */
static rg_status set_option(rg_sweep *s, const char *a, const char *v)
{
    int64_t n;
    rg_status st = RG_OK;
    if (!strcmp(a, "--dir")) {
        s->dir = v;
    } else if (!strcmp(a, "--random")) {
        st = rg_arg_int(a, v, 1, RG_SWEEP_MAX_TRIALS, &s->n_random);
        s->random = 1;
    } else if (!strcmp(a, "--seed")) {
        st = rg_arg_int(a, v, 0, INT64_MAX, &n);
        s->seed = (uint64_t)n;
    } else if (!strcmp(a, "--metric")) {
        if (!strcmp(v, "val_loss"))
            s->by_loss = 1;
        else if (strcmp(v, "val_accuracy"))
            st = rg_cli_error_set(RG_ERR_INVALID, "--metric %s: expected val_accuracy or val_loss",
                              v);
    } else {
        st = add_axis(s, v);
    }
    return st;
}

static rg_status parse_sweep(int argc, char **argv, rg_sweep *s, int *help)
{
    int i = 1, grid = 0;
    s->seed = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = 1;
            return RG_OK;
        }
        if (!strcmp(a, "--grid")) {
            grid = 1;
            continue;
        }
        if (!strcmp(a, "--dry-run")) {
            s->dry_run = 1;
            continue;
        }
        if (strcmp(a, "--dir") && strcmp(a, "--random") && strcmp(a, "--sweep") &&
            strcmp(a, "--metric") && strcmp(a, "--seed"))
            return rg_cli_error_set(RG_ERR_INVALID, "sweep: unknown option '%s' (train arguments "
                                "go after --; see regula sweep --help)", a);
        if (i + 1 >= argc)
            return rg_cli_error_set(RG_ERR_INVALID, "sweep: %s needs a value", a);
        rg_status st = set_option(s, a, argv[++i]);
        if (st != RG_OK)
            return st;
    }
    if (grid && s->random)
        return rg_cli_error_set(RG_ERR_INVALID, "sweep: --grid and --random exclude each other");
    if (!s->dir && !s->dry_run)
        return rg_cli_error_set(RG_ERR_INVALID, "sweep: --dir DIR is required (where trials and "
                            "results go)");
    if (s->n_axes == 0)
        return rg_cli_error_set(RG_ERR_INVALID, "sweep: nothing to sweep; give --sweep KEY=VALUES, "
                            "e.g. --sweep l2.lambda=1e-5..1e-2:log:4");
    if (i >= argc)
        return rg_cli_error_set(RG_ERR_INVALID, "sweep: expected -- and the train arguments, "
                            "e.g. -- --reg l2 --epochs 20");
    s->train = argv + i + 1;
    s->n_train = argc - i - 1;
    return check_train_args(s);
}

/* The trials and their values, in trial order; NULL when out of memory. */
static rg_sweep_trial *plan_trials(const rg_sweep *s, int64_t n,
                                   char (**values)[RG_SWEEP_VALUE_CHARS])
{
    rg_sweep_trial *ts = calloc((size_t)n, sizeof *ts);
    *values = calloc((size_t)n * (size_t)s->n_axes, sizeof **values);
    if (!ts || !*values) {
        free(ts);
        free(*values);
        *values = NULL;
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        ts[i].number = i + 1;
        ts[i].values = *values + i * s->n_axes;
        ts[i].val_accuracy = ts[i].val_loss = NAN;
        for (int a = 0; a < s->n_axes; a++) {
            if (s->random)
                rg_sweep_random_value(&s->axes[a], s->seed, i, a, ts[i].values[a],
                                      RG_SWEEP_VALUE_CHARS);
            else
                rg_sweep_grid_value(s->axes, s->n_axes, i, a, ts[i].values[a],
                                    RG_SWEEP_VALUE_CHARS);
        }
    }
    return ts;
}

static void print_dry_run(const rg_sweep *s, const rg_sweep_trial *ts, int64_t n)
{
    printf("%lld trials (%s)\n", (long long)n, s->random ? "random" : "grid");
    for (int64_t i = 0; i < n; i++) {
        printf("trial %lld  ", (long long)ts[i].number);
        rg_sweep_print_values(s, &ts[i]);
        printf("\n");
    }
}

/* Every trial, the results, the winner and its test-set evaluation; the
 * command's exit code. */
static int run_sweep(const rg_sweep *s, rg_sweep_trial *ts, int64_t n)
{
    if (mkdir(s->dir, 0755) != 0 && errno != EEXIST)
        return rg_cli_fail(1, "--dir %s: cannot create: %s", s->dir, strerror(errno));
    printf("regula sweep: %lld trials (%s), chosen on %s, in %s\n", (long long)n,
           s->random ? "random" : "grid", s->by_loss ? "val_loss" : "val_accuracy", s->dir);
    for (int64_t i = 0; i < n; i++)
        if (rg_sweep_run_trial(s, &ts[i], n))
            return rg_cli_fail(1, "%s", rg_cli_error_message());
    rg_sweep_rank(s, ts, n);
    rg_sweep_print_table(s, ts, n);
    for (int64_t i = 0; i < n; i++)
        if (!ts[i].ok)
            printf("trial %lld failed: %s (see %s/trial-%lld.log)\n", (long long)ts[i].number,
                   ts[i].message, s->dir, (long long)ts[i].number);
    if (rg_sweep_write_results(s, ts, n))
        return rg_cli_fail(1, "%s", rg_cli_error_message());
    printf("results: %s/sweep.csv, %s/sweep.jsonl\n", s->dir, s->dir);
    if (isnan(rg_sweep_metric(&ts[0], s->by_loss)))
        return rg_cli_fail(1, "no trial has a %s: every trial failed or none had a validation "
                           "split", s->by_loss ? "val_loss" : "val_accuracy");
    if (rg_sweep_print_winner(s, &ts[0]))
        return rg_cli_fail(1, "out of memory");
    return rg_sweep_eval_winner(s, &ts[0]);
}

int rg_cmd_sweep(int argc, char **argv)
{
    rg_sweep s;
    memset(&s, 0, sizeof s);
    int help = 0;
    s.axes = calloc(RG_SWEEP_MAX_AXES, sizeof *s.axes);
    if (!s.axes)
        return rg_cli_fail(1, "out of memory");
    if (parse_sweep(argc, argv, &s, &help) != RG_OK) {
        free(s.axes);
        return rg_cli_fail(2, "%s", rg_cli_error_message());
    }
    if (help) {
        fputs(sweep_usage, stdout);
        free(s.axes);
        return 0;
    }
    int64_t n = s.n_random;
    if (!s.random && rg_sweep_grid_size(s.axes, s.n_axes, &n) != RG_OK) {
        free(s.axes);
        return rg_cli_fail(2, "%s", rg_cli_error_message());
    }
    char (*values)[RG_SWEEP_VALUE_CHARS] = NULL;
    rg_sweep_trial *ts = plan_trials(&s, n, &values);
    int code = 0;
    if (!ts)
        code = rg_cli_fail(1, "out of memory");
    else if (s.dry_run)
        print_dry_run(&s, ts, n);
    else
        code = run_sweep(&s, ts, n);
    free(ts);
    free(values);
    free(s.axes);
    return code;
}
