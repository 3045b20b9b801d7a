/* regula sweep in parts, one job each: sweep_cmd.c reads the command line
 * and drives the sweep, sweep_args.c builds a trial's train arguments,
 * sweep_run.c runs trials (and the winner's evaluation) as child
 * processes, sweep_report.c ranks the trials and writes what they gave.
 * What to try, and no I/O, is in sweep_plan.h. */
#ifndef RG_CLI_SWEEP_H
#define RG_CLI_SWEEP_H

#include <stdint.h>

#include "sweep_plan.h"

typedef struct rg_sweep_trial {
    int64_t number; /* 1-based */
    char (*values)[RG_SWEEP_VALUE_CHARS];
    double val_accuracy, val_loss;
    int ok, ran;
    char message[320];
} rg_sweep_trial;

typedef struct rg_sweep {
    const char *dir;
    int random, dry_run, by_loss;
    int64_t n_random;
    uint64_t seed;
    rg_sweep_axis *axes;
    int n_axes;
    int n_train;
    char **train; /* the user's train arguments */
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

/* ---- sweep_run.c: child processes ---------------------------------------------- */

/* Runs trial t unless its results are on disk for the same arguments and
 * records the outcome in t. Returns 0, or -1 with the error set when the
 * sweep itself cannot go on (out of memory, DIR not writable). */
int rg_sweep_run_trial(const rg_sweep *s, rg_sweep_trial *t, int64_t total);
/* `regula eval` on the winner's checkpoint, its output shown and kept in
 * DIR/winner-test.log; the command's exit code. */
int rg_sweep_eval_winner(const rg_sweep *s, const rg_sweep_trial *w);

/* ---- sweep_report.c: ranking and results ------------------------------------- */

/* "key=value key=value" of the trial, on stdout. */
void rg_sweep_print_values(const rg_sweep *s, const rg_sweep_trial *t);
/* The trial's ranking metric, NaN when it has none (failed, no validation). */
double rg_sweep_metric(const rg_sweep_trial *t, int by_loss);
/* Sorts best first; trials without the metric last, ties by trial number. */
void rg_sweep_rank(const rg_sweep *s, rg_sweep_trial *ts, int64_t n);
void rg_sweep_print_table(const rg_sweep *s, const rg_sweep_trial *ts, int64_t n);
/* DIR/sweep.csv and DIR/sweep.jsonl, in the order of ts. 0, or -1 with the
 * error set. */
int rg_sweep_write_results(const rg_sweep *s, const rg_sweep_trial *ts, int64_t n);
/* The winner and the command that trains it again. -1 when out of memory. */
int rg_sweep_print_winner(const rg_sweep *s, const rg_sweep_trial *w);

#endif
