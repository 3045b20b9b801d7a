/* regula sweep: what to try. A sweep is a list of axes (KEY=VALUES) and a
 * list of trials, each trial one value per axis. No I/O here: functions
 * return rg_status with the message kept (core/error.h); the command prints. */
#ifndef RG_CLI_SWEEP_PLAN_H
#define RG_CLI_SWEEP_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "regula/status.h"

enum { RG_SWEEP_MAX_AXES = 16, RG_SWEEP_MAX_VALUES = 256, RG_SWEEP_MAX_TRIALS = 10000 };
enum { RG_SWEEP_VALUE_CHARS = 64, RG_SWEEP_MAX_SEEDS = 100 };

typedef enum { RG_SWEEP_LIST, RG_SWEEP_LIN, RG_SWEEP_LOG } rg_sweep_kind;

typedef struct rg_sweep_axis {
    char key[96];        /* as given: "l2.lambda" or "lr" */
    char plugin[64];     /* "l2" for a plugin key, "" for a train option */
    char param[32];      /* "lambda", or the train option without "--" */
    int integer;         /* a train option that takes an integer */
    int set;             /* "reg" or "aug" (in param): which plugins of that kind are on */
    rg_sweep_kind kind;
    double lo, hi;       /* ranges */
    int count;           /* values of a range in a grid (0: not given) */
    int n;               /* values listed or spaced (grid) */
    char values[RG_SWEEP_MAX_VALUES][RG_SWEEP_VALUE_CHARS];
} rg_sweep_axis;

/* Parses "KEY=VALUES": VALUES is a list "a,b,c" (numbers or words) or a range
 * "LO..HI:lin|log[:COUNT]". Numbers are rewritten in their shortest exact
 * form; a range with a count is spaced into values[] (endpoints exact, the
 * others rounded to 6 significant digits, which also removes the noise of
 * the arithmetic: 0.1 + 2 * 0.1 becomes 0.3). Integer train options
 * get integer values (rounded, duplicates dropped). KEY reg or aug makes a
 * set axis: each value is "none" or plugin specs joined by '+'
 * (random_crop:padding=2+hflip). */
rg_status rg_sweep_axis_parse(const char *arg, rg_sweep_axis *out);

/* Number of grid combinations, or an error naming a range without a count
 * or a grid above RG_SWEEP_MAX_TRIALS. */
rg_status rg_sweep_grid_size(const rg_sweep_axis *axes, int n_axes, int64_t *out);

/* Value text of axis a in a trial (0-based). Grid: the mixed-radix digit of
 * `trial`, the first axis varying slowest. Random: a seeded draw of
 * (seed, trial, axis): uniform over a list, uniform (lin) or log-uniform (log)
 * over a range, rounded to 6 significant digits. */
void rg_sweep_grid_value(const rg_sweep_axis *axes, int n_axes, int64_t trial, int a,
                         char *buf, size_t cap);
void rg_sweep_random_value(const rg_sweep_axis *axis, uint64_t seed, int64_t trial, int a,
                           char *buf, size_t cap);

/* Shortest "%.Ng" text that reads back as v. */
void rg_sweep_format_number(double v, char *buf, size_t cap);
/* 1 if text is a whole finite number (strtod), with the value in *v. */
int rg_sweep_is_number(const char *text, double *v);

#endif
