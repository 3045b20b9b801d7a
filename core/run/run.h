/* A run: a recipe made real (data, plugins, model, trainer) plus what the epoch driver
 * keeps between fits (history, state, final metrics). */
#ifndef RG_CORE_RUN_H
#define RG_CORE_RUN_H

#include <stdio.h>

#include "../train/checkpoint.h"
#include "../train/train.h"
#include "recipe.h"

struct rg_run {
    rg_context *ctx;
    rg_recipe *recipe;
    rg_dataset *own_train, *own_test;
    const rg_dataset *train, *test;
    char where[4096];           /* the data source resolved */
    rg_model *model;
    rg_train_config cfg;
    rg_trainer *trainer;
    int threads;
    rg_epoch_stats *history;    /* epochs_done entries, room for cfg.epochs */
    int64_t epochs_done;
    double seconds_sum;         /* over the timed_epochs this process trained */
    int64_t timed_epochs;       /* a checkpoint keeps no timings (byte-identical files) */
    double best_saved;          /* save_best: the best epoch's metric (lower is better), NaN */
    FILE *metrics_file;         /* during a fit: where log_every's step records go */
    int64_t log_every;
    rg_status step_status;      /* the first failed step record's */
    int resumed;                /* metrics append instead of truncating */
    rg_run_state state;
    int early_stopped, interrupted;
    int64_t best_epoch;
    rg_eval train_m, val_m, test_m;
    volatile int stop;
    const rg_callbacks *cb;
    char *plugins_text;
};

/* run.c */
rg_status rg_run_build(rg_context *ctx, rg_recipe *recipe, const rg_dataset *train,
                       const rg_dataset *test, rg_run **out);
/* fit.c: the epoch driver */
rg_status rg_run_fit_epochs(rg_run *run);
/* save.c */
rg_status rg_run_write(rg_run *run, const char *path);
/* series.c: checkpoint files. check: save's {epoch} field and what keep/save_best need;
 * path: the file of `epoch` (-1: the best one); save_epoch: what an epoch's end writes. */
rg_status rg_run_series_check(const char *save, int64_t keep, int best);
void rg_run_series_path(const char *save, int64_t epoch, char *buf, size_t cap);
rg_status rg_run_save_epoch(rg_run *run, const char *save, const rg_epoch_stats *s);
rg_status rg_run_restore(rg_run *run, const rg_checkpoint *c, const char *path);
/* Plugin state (plugin_state.c): appends a "plugin.I#state" tensor per plugin with state
 * hooks to ts (buffers in owned[np], for the caller to rg_free) and its byte count to cfg. */
rg_status rg_plugin_state_save(rg_plugin_instance **pl, int np, int64_t epoch, int64_t step,
                               rg_ckpt_tensor *ts, int *n, int cap, FILE *cfg, void **owned);
/* Hands each plugin its saved state; refuses a stateful plugin without state hooks. */
rg_status rg_plugin_state_restore(rg_plugin_instance **pl, int np, const rg_checkpoint *c,
                                  const char *path);
/* report.c: the JSON records (jansson), one line per epoch and the summary */
rg_status rg_run_write_metrics(rg_run *run, FILE *f, const rg_epoch_stats *s);
/* The first line of a new metrics file: {"record": "run", model, data, seed, batch,
 * regularizers, augmenters (their specs, space-separated), time}: what regula plot's
 * titles and legends say. */
rg_status rg_run_write_run_record(rg_run *run, FILE *f);
/* log_every: one record of step p->step ("record": "step", loss, lr, penalty, time). */
rg_status rg_run_write_step(rg_run *run, FILE *f, const rg_progress *p);
rg_status rg_run_write_summary(rg_run *run, const char *path);
/* ranks_agree.c: data-parallel runs, every rank: local is this rank's setup status; returns
 * an error on every rank when any rank failed or loaded other plugin files than rank 0. */
rg_status rg_run_ranks_agree(rg_run *run, rg_status local);
/* The run's identity as a JSON object (json_t *): version, data, model, seed, threads,
 * plugins with their parameters; checkpoints and summaries start with it. */
void *rg_run_identity_json(const rg_run *run);

#endif
