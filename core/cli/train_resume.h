/* Saving a run so that --resume continues it bit-identically: the weights,
 * optimizer state, early-stopping snapshot, trainer counters (all randomness
 * is keyed on them), learning-rate schedule state, per-epoch history, the
 * command-line arguments that configured the run and the identity of every
 * plugin. */
#ifndef RG_CLI_TRAIN_RESUME_H
#define RG_CLI_TRAIN_RESUME_H

#include "../train/checkpoint.h"
#include "../train/train.h"

typedef struct rg_run_record {
    int argc;
    char **argv;              /* the train arguments that define the run */
    rg_plugin_instance *const *plugins; /* regularizers then augmenters */
    int num_plugins;
    const rg_epoch_stats *history;
    int64_t epochs_done;
} rg_run_record;

rg_status rg_cli_run_save(const char *path, const char *meta_json, const rg_run_record *rec,
                          rg_model *m, rg_trainer *t);

/* For `train --resume FILE args...`: reads FILE and returns the run's stored
 * arguments followed by the new ones (which may only change --epochs,
 * --stop-after, --save, --summary, --metrics, --quiet, --threads). *out_argv
 * is malloc'ed, its strings point into *ckpt or argv. */
rg_status rg_cli_resume_args(const char *path, int argc, char **argv, rg_checkpoint **ckpt,
                             int *out_argc, char ***out_argv);

/* Puts the checkpoint's state into a freshly built model and trainer after
 * checking that every plugin is the same (name, version, ABI, parameters).
 * Fills history[0..*epochs_done). */
rg_status rg_cli_run_restore(const rg_checkpoint *c, const char *path, const rg_run_record *rec,
                             rg_model *m, rg_trainer *t, rg_epoch_stats *history,
                             int64_t *epochs_done);

#endif
