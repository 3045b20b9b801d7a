/* regula sweep in parts, one job each: sweep_cmd.c reads the command line
 * and drives the sweep, sweep_args.c builds a trial's train arguments,
 * sweep_run.c runs trials (and the winner's evaluation) as child
 * processes, sweep_report.c ranks the trials and writes what they gave.
 * What to try, and no I/O, is in sweep_plan.h. */
#ifndef RG_CLI_SWEEP_H
#define RG_CLI_SWEEP_H

#include <stdint.h>

#include "sweep_plan.h"

/* One training run: a configuration with one of its seeds. */
typedef struct rg_sweep_result {
    double val_accuracy, val_loss; /* at the configuration's last rung (or the end) */
    int ok, ran;
    int64_t epochs;                /* epochs trained when the metrics were read */
    char message[320];
} rg_sweep_result;

typedef struct rg_sweep_trial {
    int64_t number; /* 1-based configuration number */
    char (*values)[RG_SWEEP_VALUE_CHARS]; /* "-": the axis does not apply (plugin off) */
    double val_accuracy, val_loss; /* mean over the seeds that ran */
    double sd_accuracy, sd_loss;   /* sample standard deviation (0 with one seed) */
    int ok, ran;                   /* ok: every seed gave its metrics */
    int rung;                      /* successive halving: the last rung reached (0-based) */
    int stopped;                   /* successive halving: not promoted past `rung` */
    int64_t epochs;                /* epochs of the last rung reached */
    char message[320];             /* the first failed seed's reason */
    rg_sweep_result *runs;         /* one per seed */
} rg_sweep_trial;

typedef enum { RG_SWEEP_RANK_MEAN, RG_SWEEP_RANK_MEDIAN, RG_SWEEP_RANK_WORST } rg_sweep_rank_by;

typedef struct rg_sweep {
    const char *dir;
    int random, dry_run, by_loss;
    int64_t n_random;
    uint64_t seed;
    rg_sweep_axis *axes;
    int n_axes;
    int n_train;
    char **train; /* the user's train arguments */
    int seeds;          /* --seeds K: training seeds base_seed .. base_seed + K - 1 */
    int64_t base_seed;  /* TRAIN-ARGS' --seed, else 1 */
    rg_sweep_rank_by rank_by;
    int jobs;           /* trials at once (after the cores are counted) */
    int ranks_per_trial; /* mpirun: ranks that train one trial data-parallel (1: a rank each) */
    int threads;        /* each trial's --threads when the sweep sets it, else 0 */
    int halving;        /* successive halving */
    int eta;            /* keep the best 1/eta at each rung */
    int64_t min_epochs; /* the first rung */
    int64_t max_epochs; /* TRAIN-ARGS' --epochs */
    int64_t budget;     /* --budget: trial-epochs the plan may use (0: no limit) */
    int n_rungs;
    int64_t rung_epochs[32];
} rg_sweep;

/* A NULL-terminated argv that owns its strings. */
typedef struct rg_argvec {
    char **v;
    int n, cap;
} rg_argvec;

/* ---- sweep_args.c: train arguments ------------------------------------------ */

int rg_argvec_push(rg_argvec *a, const char *s);
void rg_argvec_free(rg_argvec *a);
/* 1 if train argument `a` takes no value (a switch, or not an option). */
int rg_sweep_is_switch(const char *a);
/* 1 if the spec "NAME[:params]" or "path/NAME.so[:params]" names `plugin`. */
int rg_sweep_spec_names(const char *spec, const char *plugin);
/* spec with param=value set (replaced if present); malloc'd, NULL when out
 * of memory. */
char *rg_sweep_spec_with(const char *spec, const char *param, const char *value);
/* The user's train arguments with a trial's values. for_trial drops the
 * flags the sweep owns (--summary, --save, --metrics, --no-test, --quiet);
 * otherwise (the winner's command) only --no-test goes. -1 when out of
 * memory. */
int rg_sweep_train_args(const rg_sweep *s, char (*values)[RG_SWEEP_VALUE_CHARS], int for_trial,
                        rg_argvec *out);
/* The same for seed k of a configuration (--seeds), and the sweep's --threads. */
int rg_sweep_run_args(const rg_sweep *s, char (*values)[RG_SWEEP_VALUE_CHARS], int k,
                      rg_argvec *out);
/* 1 if plugin axis `a` applies to the configuration: some --reg/--aug of its
 * train arguments (set axes included) names the plugin. */
int rg_sweep_axis_active(const rg_sweep *s, char (*values)[RG_SWEEP_VALUE_CHARS], int a);

/* ---- sweep_run.c: one run's files and results ----------------------------------- */

/* What one run does: train configuration t with seed k (0-based) until epoch
 * stop_at (0: to the end). */
typedef struct rg_sweep_job {
    rg_sweep_trial *t;
    int k;
    int64_t stop_at;
} rg_sweep_job;

/* Runs the jobs, `s->jobs` child processes at a time, each recording its
 * outcome in its trial's runs[k]. A job whose results are on disk for the
 * same arguments is not run again; a run with a checkpoint for the same
 * arguments continues from it (--resume, bit-identical). Returns 0; 1 when
 * SIGINT or SIGTERM stopped the sweep (the running trials saved their
 * checkpoints); -1 with the error set when the sweep itself cannot go on. */
int rg_sweep_run_jobs(const rg_sweep *s, rg_sweep_job *jobs, int64_t n, int64_t configs);
/* `regula eval` on the checkpoints of the winner's seeds, their output shown
 * and kept in DIR/winner-test.log; the command's exit code. */
int rg_sweep_eval_winner(const rg_sweep *s, const rg_sweep_trial *w);
/* "DIR/trial-N" (one seed) or "DIR/trial-N-sK" (seed K of several). */
void rg_sweep_run_base(const rg_sweep *s, const rg_sweep_trial *t, int k, char *buf, size_t cap);

/* ---- sweep_halving.c: the schedule -------------------------------------------- */

/* The rungs from --min-epochs, --eta and the train arguments' --epochs; -1
 * with the error set when they do not make a schedule. */
int rg_sweep_plan_rungs(rg_sweep *s);
/* Trial-epochs the plan trains for n configurations: every configuration to
 * the end, or the rungs of successive halving. */
int64_t rg_sweep_plan_cost(const rg_sweep *s, int64_t n, int halving);
/* Trains the trials: all to the end, or by successive halving. 0, 1 when
 * interrupted, -1 with the error set. */
int rg_sweep_train(const rg_sweep *s, rg_sweep_trial *ts, int64_t n);

/* ---- sweep_report.c: ranking and results ------------------------------------- */

/* "key=value key=value" of the trial, on stdout. */
void rg_sweep_print_values(const rg_sweep *s, const rg_sweep_trial *t);
/* Mean, sd and ok of the trial from its runs. */
void rg_sweep_aggregate(const rg_sweep *s, rg_sweep_trial *t);
/* The trial's ranking statistic over its seeds (--rank), NaN when it has none
 * (failed, no validation split). */
double rg_sweep_metric(const rg_sweep *s, const rg_sweep_trial *t);
/* qsort order of two trials: the later rung first (successive halving), then
 * the metric; trials without the metric last, ties by trial number. */
int rg_sweep_compare(const rg_sweep *s, const rg_sweep_trial *a, const rg_sweep_trial *b);
/* Sorts best first, in rg_sweep_compare's order. */
void rg_sweep_rank(const rg_sweep *s, rg_sweep_trial *ts, int64_t n);
void rg_sweep_print_table(const rg_sweep *s, const rg_sweep_trial *ts, int64_t n);
/* DIR/sweep.csv and DIR/sweep.jsonl, in the order of ts. 0, or -1 with the
 * error set. */
int rg_sweep_write_results(const rg_sweep *s, const rg_sweep_trial *ts, int64_t n);
/* The winner and the command that trains it again. -1 when out of memory. */
int rg_sweep_print_winner(const rg_sweep *s, const rg_sweep_trial *w);

#endif
