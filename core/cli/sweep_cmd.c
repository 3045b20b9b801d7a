/* regula sweep: run `regula train` once per combination of values, choose on
 * the validation split, evaluate only the winner on the test set. This file
 * reads the command line and drives the sweep; see sweep.h for the parts. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_error.h"
#include "regula/regula.h"
#include "args.h"
#include "cli.h"
#include "sweep.h"

static const char sweep_usage[] =
    "usage: regula sweep --dir DIR [--grid | --random N] --sweep KEY=VALUES [--sweep ...]\n"
    "                    [--metric val_accuracy|val_loss] [--seeds K] [--rank STAT]\n"
    "                    [--halving [--eta E] [--min-epochs R]] [--budget B] [--jobs N]\n"
    "                    [--ranks-per-trial K] [--seed S] [--dry-run] -- TRAIN-ARGS...\n"
    "       regula sweep report DIR -o report.png   (see regula sweep report --help)\n"
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
    "                    KEY reg or aug: which plugins of that kind are on, replacing the\n"
    "                    --reg/--aug of TRAIN-ARGS; each value is none or specs joined\n"
    "                    by '+': aug=none,hflip,random_crop:padding=2+hflip. A PLUGIN.PARAM\n"
    "                    axis then applies only where its plugin is on (a conditional\n"
    "                    space): elsewhere its value is shown as - and the duplicate\n"
    "                    configurations are tried once\n"
    "  --grid            every combination (default); trial numbers count through the\n"
    "                    combinations with the first --sweep varying slowest\n"
    "  --random N        N combinations drawn with --seed: a list uniformly, a lin range\n"
    "                    uniformly, a log range log-uniformly (6 significant digits)\n"
    "  --metric M        val_accuracy (default, higher is better) or val_loss (lower)\n"
    "  --seeds K         train each configuration with K seeds, --seed S .. S+K-1 (S is\n"
    "                    TRAIN-ARGS' --seed, default 1): the table shows mean ± sd, the\n"
    "                    winner is chosen on the --rank statistic and its test accuracy\n"
    "                    is the mean ± sd over its K checkpoints\n"
    "  --rank STAT       mean (default), median or worst (the lowest accuracy, the\n"
    "                    highest loss) of the metric over the seeds\n"
    "  --halving         successive halving: every configuration trains to epoch R\n"
    "                    (--min-epochs, default 1), the best 1/E (--eta, default 3) go on\n"
    "                    from their checkpoints to R*E, R*E^2, ... and the last rung, the\n"
    "                    train arguments' --epochs; the others stop. Rungs use\n"
    "                    --stop-at-epoch, so the schedule follows --epochs and a run that\n"
    "                    reaches the end is bit-identical to one trained straight through\n"
    "  --budget B        refuse a plan that needs more than B trial-epochs (epochs summed\n"
    "                    over every run); the plan's count is printed either way\n"
    "  --jobs N          N trials at once as parallel processes, the cores divided among\n"
    "                    them (each trial gets --threads cores/N unless TRAIN-ARGS sets\n"
    "                    --threads; never more threads than cores: N is lowered then).\n"
    "                    The same --threads give the same numbers with any N\n"
    "  --ranks-per-trial K  under mpirun -np N (N a multiple of K): each trial trains\n"
    "                    data-parallel on a group of K ranks, the N/K groups taking trials\n"
    "                    in turn (default 1: every rank trains its own trials, each as a\n"
    "                    child process). A group runs its trials in its own processes: a\n"
    "                    trial that crashes one ends the sweep (run it again to go on)\n"
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
    "With --seeds K > 1 the files of seed k are DIR/trial-N-sk.*. Ctrl-C or SIGTERM is\n"
    "passed on to the running trials, which save their checkpoints; running the same\n"
    "command again continues them (--resume) and skips what is done.\n"
    "\n"
    "Writes DIR/sweep.csv and DIR/sweep.jsonl (one object per trial: trial, params,\n"
    "val_accuracy, val_loss, with --seeds val_accuracy_sd, val_loss_sd and seeds, with\n"
    "--halving epochs, status ok|stopped|failed), best first, then runs `regula eval` on\n"
    "the winner's checkpoints (output also in DIR/winner-test.log).\n"
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
    for (int k = 0; k < s->n_axes; k++) {
        const rg_sweep_axis *set = &s->axes[k];
        for (int v = 0; set->set && v < set->n; v++) {
            char buf[RG_SWEEP_VALUE_CHARS];
            snprintf(buf, sizeof buf, "%s", set->values[v]);
            for (char *part = strtok(buf, "+"); part; part = strtok(NULL, "+"))
                if (rg_sweep_spec_names(part, ax->plugin)) {
                    found = 1;
                    char spec[RG_SWEEP_VALUE_CHARS];
                    snprintf(spec, sizeof spec, "%s", part);
                    rg_status st = check_axis_values(ax, spec, set->param);
                    if (st != RG_OK)
                        return st;
                    break;
                }
        }
    }
    if (!found)
        return rg_cli_error_set(RG_ERR_INVALID, "--sweep %s: plugin '%s' is not in the train "
                            "arguments; add --reg %s or --aug %s after --", ax->key,
                            ax->plugin, ax->plugin, ax->plugin);
    return RG_OK;
}

/* Every plugin of a set axis' values, checked against its schema. */
static rg_status check_set_axis(const rg_sweep_axis *ax)
{
    for (int v = 0; v < ax->n; v++) {
        if (!strcmp(ax->values[v], "none"))
            continue;
        char buf[RG_SWEEP_VALUE_CHARS];
        snprintf(buf, sizeof buf, "%s", ax->values[v]);
        for (char *part = strtok(buf, "+"); part; part = strtok(NULL, "+")) {
            rg_context *ctx = NULL;
            rg_status st = rg_cli_context(0, &ctx);
            if (st == RG_OK && (st = rg_plugin_validate(ctx, ax->param, part)) != RG_OK)
                rg_cli_error_set(st, "%s", rg_context_error(ctx));
            rg_context_destroy(ctx);
            if (st != RG_OK)
                return rg_cli_error_wrap(RG_ERR_INVALID, "--sweep %s=%s", ax->key,
                                         ax->values[v]);
        }
    }
    return RG_OK;
}

static rg_status check_train_args(rg_sweep *s)
{
    for (int k = 0; k < s->n_axes; k++) {
        rg_status st = s->axes[k].set ? check_set_axis(&s->axes[k])
                       : s->axes[k].plugin[0] ? check_plugin_axis(s, &s->axes[k])
                                              : RG_OK;
        if (st != RG_OK)
            return st;
        if (!strcmp(s->axes[k].param, "seed") && !s->axes[k].plugin[0] && s->seeds > 1)
            return rg_cli_error_set(RG_ERR_INVALID, "sweep: --sweep seed=... and --seeds %d "
                                    "exclude each other", s->seeds);
        if (!strcmp(s->axes[k].param, "epochs") && !s->axes[k].plugin[0] && s->halving)
            return rg_cli_error_set(RG_ERR_INVALID, "sweep: --halving chooses the epochs; "
                                    "--sweep epochs=... cannot be used with it");
    }
    s->base_seed = 1;
    for (int i = 0; i < s->n_train; i++) {
        const char *a = s->train[i];
        if (!strcmp(a, "--resume"))
            return rg_cli_error_set(RG_ERR_INVALID, "sweep: --resume cannot be swept; an "
                                "interrupted sweep resumes by running it again");
        if (!strcmp(a, "--stop-after") || !strcmp(a, "--stop-at-epoch"))
            return rg_cli_error_set(RG_ERR_INVALID, "sweep: %s cannot be given to the trials; "
                                    "the sweep stops and resumes them itself", a);
        if (i + 1 < s->n_train && !rg_sweep_is_switch(a)) {
            int64_t n;
            if (!strcmp(a, "--seed") && rg_arg_int(a, s->train[i + 1], 0, INT64_MAX / 2, &n) == RG_OK)
                s->base_seed = n;
            if (!strcmp(a, "--epochs") && rg_arg_int(a, s->train[i + 1], 1, 100000, &n) == RG_OK)
                s->max_epochs = n;
            if (!strcmp(a, "--threads") && rg_arg_int(a, s->train[i + 1], 1, 1024, &n) == RG_OK)
                s->threads = (int)n; /* the user's: kept in every trial's arguments */
        }
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
    } else if (!strcmp(a, "--seeds")) {
        st = rg_arg_int(a, v, 1, RG_SWEEP_MAX_SEEDS, &n);
        s->seeds = (int)n;
    } else if (!strcmp(a, "--jobs")) {
        st = rg_arg_int(a, v, 1, 256, &n);
        s->jobs = (int)n;
    } else if (!strcmp(a, "--ranks-per-trial")) {
        st = rg_arg_int(a, v, 1, 4096, &n);
        s->ranks_per_trial = (int)n;
    } else if (!strcmp(a, "--eta")) {
        st = rg_arg_int(a, v, 2, 100, &n);
        s->eta = (int)n;
    } else if (!strcmp(a, "--min-epochs")) {
        st = rg_arg_int(a, v, 1, 100000, &s->min_epochs);
    } else if (!strcmp(a, "--budget")) {
        st = rg_arg_int(a, v, 1, INT64_MAX / 2, &s->budget);
    } else if (!strcmp(a, "--rank")) {
        if (!strcmp(v, "mean"))
            s->rank_by = RG_SWEEP_RANK_MEAN;
        else if (!strcmp(v, "median"))
            s->rank_by = RG_SWEEP_RANK_MEDIAN;
        else if (!strcmp(v, "worst"))
            s->rank_by = RG_SWEEP_RANK_WORST;
        else
            st = rg_cli_error_set(RG_ERR_INVALID, "--rank %s: expected mean, median or worst", v);
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
    s->seeds = 1;
    s->jobs = 1;
    s->ranks_per_trial = 1;
    s->eta = 3;
    s->min_epochs = 1;
    s->max_epochs = 10; /* the recipe's default */
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
        if (!strcmp(a, "--halving")) {
            s->halving = 1;
            continue;
        }
        static const char *const valued[] = {"--dir", "--random", "--sweep", "--metric",
                                             "--seed", "--seeds", "--jobs", "--eta",
                                             "--min-epochs", "--budget", "--rank",
                                             "--ranks-per-trial", NULL};
        int known = 0;
        for (int k = 0; valued[k] && !known; k++)
            known = !strcmp(a, valued[k]);
        if (!known)
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
    if (s->ranks_per_trial > 1 && s->jobs > 1)
        return rg_cli_error_set(RG_ERR_INVALID, "sweep: --jobs and --ranks-per-trial exclude "
                                "each other (a group of ranks trains one trial at a time)");
    if (!s->halving && (s->eta != 3 || s->min_epochs != 1))
        return rg_cli_error_set(RG_ERR_INVALID, "sweep: --eta and --min-epochs belong to "
                                "--halving");
    s->train = argv + i + 1;
    s->n_train = argc - i - 1;
    rg_status st = check_train_args(s);
    if (st == RG_OK && s->halving) {
        int has_epochs = 0;
        for (int k = 0; k < s->n_train; k++)
            has_epochs |= !strcmp(s->train[k], "--epochs");
        if (!has_epochs)
            return rg_cli_error_set(RG_ERR_INVALID, "sweep: --halving needs --epochs N in the "
                                    "train arguments (the last rung)");
    }
    if (st == RG_OK && rg_sweep_plan_rungs(s) != 0)
        st = RG_ERR_INVALID;
    return st;
}

/* The configurations and their values, in trial order; NULL when out of
 * memory. A plugin axis whose plugin is off in a configuration gets "-",
 * and a configuration equal to an earlier one is dropped, so `*n` may
 * shrink; numbers count the configurations that remain. */
static rg_sweep_trial *plan_trials(const rg_sweep *s, int64_t *n,
                                   char (**values)[RG_SWEEP_VALUE_CHARS],
                                   rg_sweep_result **runs)
{
    rg_sweep_trial *ts = calloc((size_t)*n, sizeof *ts);
    *values = calloc((size_t)*n * (size_t)s->n_axes, sizeof **values);
    *runs = calloc((size_t)*n * (size_t)s->seeds, sizeof **runs);
    if (!ts || !*values || !*runs) {
        free(ts);
        free(*values);
        free(*runs);
        *values = NULL;
        *runs = NULL;
        return NULL;
    }
    int64_t kept = 0;
    for (int64_t i = 0; i < *n; i++) {
        rg_sweep_trial *t = &ts[kept];
        t->values = *values + kept * s->n_axes;
        for (int a = 0; a < s->n_axes; a++) {
            if (s->random)
                rg_sweep_random_value(&s->axes[a], s->seed, i, a, t->values[a],
                                      RG_SWEEP_VALUE_CHARS);
            else
                rg_sweep_grid_value(s->axes, s->n_axes, i, a, t->values[a],
                                    RG_SWEEP_VALUE_CHARS);
        }
        for (int a = 0; a < s->n_axes; a++)
            if (!rg_sweep_axis_active(s, t->values, a))
                snprintf(t->values[a], RG_SWEEP_VALUE_CHARS, "-");
        int dup = 0;
        for (int64_t j = 0; j < kept && !dup; j++) {
            dup = 1;
            for (int a = 0; a < s->n_axes && dup; a++)
                dup = !strcmp(ts[j].values[a], t->values[a]);
        }
        if (dup)
            continue;
        t->number = kept + 1;
        t->runs = *runs + kept * s->seeds;
        t->val_accuracy = t->val_loss = NAN;
        for (int k = 0; k < s->seeds; k++)
            t->runs[k].val_accuracy = t->runs[k].val_loss = NAN;
        kept++;
    }
    *n = kept;
    return ts;
}

static void print_plan(const rg_sweep *s, int64_t n)
{
    int64_t full = rg_sweep_plan_cost(s, n, 0), cost = rg_sweep_plan_cost(s, n, s->halving);
    printf("plan: %lld configuration%s x %d seed%s", (long long)n, n == 1 ? "" : "s", s->seeds,
           s->seeds == 1 ? "" : "s");
    if (s->halving) {
        printf(", successive halving (eta %d) at epochs", s->eta);
        for (int r = 0; r < s->n_rungs; r++)
            printf("%s%lld", r ? "," : " ", (long long)s->rung_epochs[r]);
        printf(": %lld trial-epochs (every configuration to the end: %lld)\n",
               (long long)cost, (long long)full);
    } else {
        printf(", %lld epochs each: %lld trial-epochs\n", (long long)s->max_epochs,
               (long long)cost);
    }
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

/* Cores for the trials: REGULA_THREADS when set (what one run would use),
 * else the online CPUs. */
static int cores(void)
{
    const char *env = getenv("REGULA_THREADS");
    long n = env && *env ? strtol(env, NULL, 10) : 0;
    if (n < 1 || n > 1024)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

/* --jobs N and the threads of each trial, never more threads than cores. */
static void divide_cores(rg_sweep *s)
{
    int c = cores(), asked = s->jobs;
    if (s->threads > 0) { /* the user's --threads */
        int fit = c / s->threads;
        s->jobs = s->jobs < fit ? s->jobs : fit < 1 ? 1 : fit;
    } else {
        if (s->jobs > c)
            s->jobs = c;
        if (s->jobs > 1)
            s->threads = c / s->jobs;
    }
    if (s->jobs < asked)
        printf("--jobs %d: %d core%s%s, so %d trial%s at once\n", asked, c, c == 1 ? "" : "s",
               s->threads > 0 ? " and --threads in the train arguments" : "", s->jobs,
               s->jobs == 1 ? "" : "s");
}

/* Every trial, the results, the winner and its test-set evaluation; the
 * command's exit code. */
static int run_sweep(rg_sweep *s, rg_sweep_trial *ts, int64_t n)
{
    int ranks = rg_cli_mpi_ranks(), k = s->ranks_per_trial;
    if (k > 1 && (ranks % k != 0 || ranks == 1))
        return rg_cli_fail(2, "sweep: --ranks-per-trial %d needs mpirun -np N with N a multiple "
                           "of %d (this is %d rank%s)", k, k, ranks, ranks == 1 ? "" : "s");
    if (mkdir(s->dir, 0755) != 0 && errno != EEXIST)
        return rg_cli_fail(1, "--dir %s: cannot create: %s", s->dir, strerror(errno));
    divide_cores(s);
    printf("regula sweep: %lld trials (%s), chosen on %s%s, in %s", (long long)n,
           s->random ? "random" : "grid", s->by_loss ? "val_loss" : "val_accuracy",
           s->seeds == 1 ? ""
           : s->rank_by == RG_SWEEP_RANK_MEDIAN ? " (median over seeds)"
           : s->rank_by == RG_SWEEP_RANK_WORST ? " (worst seed)"
                                                : " (mean over seeds)",
           s->dir);
    if (s->jobs > 1)
        printf(", %d at once with %d thread%s each", s->jobs, s->threads,
               s->threads == 1 ? "" : "s");
    if (k > 1)
        printf(", each trial data-parallel on %d ranks (%d at once)", k, ranks / k);
    printf("\n");
    print_plan(s, n);
    int st = rg_sweep_train(s, ts, n);
    if (st < 0)
        return rg_cli_fail(1, "%s", rg_cli_error_message());
    rg_sweep_rank(s, ts, n);
    if (rg_cli_mpi_rank() != 0) /* rank 0 writes the results and evaluates the winner */
        return st < 0 ? 1 : 0;
    rg_sweep_print_table(s, ts, n);
    for (int64_t i = 0; i < n; i++)
        if (!ts[i].ok && ts[i].ran)
            printf("trial %lld failed: %s (see %s/trial-%lld%s.log)\n", (long long)ts[i].number,
                   ts[i].message, s->dir, (long long)ts[i].number, s->seeds > 1 ? "-s*" : "");
    if (rg_sweep_write_results(s, ts, n))
        return rg_cli_fail(1, "%s", rg_cli_error_message());
    printf("results: %s/sweep.csv, %s/sweep.jsonl\n", s->dir, s->dir);
    if (st == 1)
        return rg_cli_fail(130, "sweep interrupted; the running trials saved their "
                           "checkpoints: run the same command again to continue");
    if (isnan(rg_sweep_metric(s, &ts[0])))
        return rg_cli_fail(1, "no trial has a %s: every trial failed or none had a validation "
                           "split", s->by_loss ? "val_loss" : "val_accuracy");
    if (rg_sweep_print_winner(s, &ts[0]))
        return rg_cli_fail(1, "out of memory");
    return rg_sweep_eval_winner(s, &ts[0]);
}

int rg_cmd_sweep(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "report"))
        return rg_cmd_sweep_report(argc - 1, argv + 1);
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
    rg_sweep_result *runs = NULL;
    rg_sweep_trial *ts = plan_trials(&s, &n, &values, &runs);
    int code = 0;
    int64_t cost = ts ? rg_sweep_plan_cost(&s, n, s.halving) : 0;
    if (!ts) {
        code = rg_cli_fail(1, "out of memory");
    } else if (s.budget && cost > s.budget) {
        print_plan(&s, n);
        code = rg_cli_fail(2, "sweep: the plan needs %lld trial-epochs, more than --budget %lld "
                           "(fewer configurations, seeds or epochs, or --halving)",
                           (long long)cost, (long long)s.budget);
    } else if (s.dry_run) {
        print_plan(&s, n);
        print_dry_run(&s, ts, n);
    } else {
        code = run_sweep(&s, ts, n);
    }
    free(ts);
    free(values);
    free(runs);
    free(s.axes);
    return code;
}
