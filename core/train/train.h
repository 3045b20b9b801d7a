/* The training loop. Data flows one way per step:
 *   batch (augmenters) -> forward (activation hooks) -> loss + penalties
 *   -> backward (activation hooks, penalty gradients) -> optimizer step
 *   -> constraints (project) -> metrics.
 * The library reports progress through callbacks; it never prints. */
#ifndef RG_CORE_TRAIN_H
#define RG_CORE_TRAIN_H

#include <stdint.h>

#include "../model/model.h"
#include "../optim/optim.h"
#include "../optim/schedule.h"
#include "../plugin/instance.h"
#include "dataset.h"

#define RG_TRAIN_MAX_PLUGINS 32

typedef struct rg_progress {
    int64_t epoch, epochs;    /* 1-based epoch */
    int64_t batch, batches;   /* 1-based batch within the epoch */
    double loss, accuracy;    /* running means over the epoch so far */
    double seconds;           /* since the epoch started */
    int64_t step;             /* optimizer steps of the run so far, this one included */
    double step_loss, step_penalty; /* this step's data loss and regularizers' terms */
} rg_progress;

typedef struct rg_epoch_stats {
    int64_t epoch;
    double train_loss, train_accuracy; /* running means in train mode, data loss only */
    double train_penalty;              /* running mean of the regularizers' loss terms */
    double val_loss, val_accuracy;     /* eval mode; NaN without a validation split */
    double seconds;                    /* training steps only, evaluation excluded */
    double eval_seconds;
    int interrupted;                   /* stop_flag was raised: the epoch stopped between two
                                          batches, its progress is kept in the trainer state
                                          (rg_trainer_partial) and the next run_epoch goes on */
} rg_epoch_stats;

typedef enum rg_early_metric {
    RG_EARLY_NONE = 0,
    RG_EARLY_VAL_LOSS = 1,
    RG_EARLY_VAL_ACCURACY = 2
} rg_early_metric;

typedef struct rg_train_config {
    int64_t epochs;
    int64_t batch;
    rg_optim_config optim;
    rg_lr_config lr;
    /* Early stopping: stop after `patience` epochs without an improvement of
     * at least min_delta in the metric, and restore the best weights. */
    rg_early_metric early_metric;
    int64_t patience;
    double min_delta;
    uint64_t seed;
    double val_fraction;      /* held out from the training set */
    int64_t train_limit;      /* use the first N training images; 0 = all */
    int64_t val_size;         /* > 0: this many random validation images instead of val */
    int64_t train_size;       /* > 0: this many random training images of the rest */
    int num_regs, num_augs;
    rg_plugin_instance *regs[RG_TRAIN_MAX_PLUGINS];
    rg_plugin_instance *augs[RG_TRAIN_MAX_PLUGINS];
    /* 0: augs[k] applies to every sample; g > 0: consecutive augmenters with
     * the same g form a one-of group, each sample gets one of them. */
    int aug_group[RG_TRAIN_MAX_PLUGINS];
    /* Checked before every batch; when it becomes nonzero the epoch stops there
     * (rg_epoch_stats.interrupted), keeping its progress. May be raised from a signal
     * handler. */
    volatile int *stop_flag;
    void (*on_batch)(void *user, const rg_progress *p);
    void (*on_epoch)(void *user, const rg_epoch_stats *s);
    void *user;
    /* Call penalty() even where a plugin's linear_decay() lets the optimizer fold it (the
     * tests compare both paths). */
    int no_fold;
    /* Data-parallel: this rank trains its rows of every global batch of `batch` and the
     * gradients are summed over the group (NULL or one rank: all rows here). */
    const struct rg_dist *dist;
} rg_train_config;

typedef struct rg_eval {
    double loss, accuracy;
    int64_t count;
} rg_eval;

typedef struct rg_trainer rg_trainer;

void rg_train_config_defaults(rg_train_config *cfg);
/* Splits `train` into training and validation parts (seeded), resolves
 * which tensors and sites each regularizer touches, sizes every buffer. */
rg_status rg_trainer_create(rg_model *model, const rg_dataset *train, const rg_train_config *cfg,
                            rg_trainer **out);
void rg_trainer_destroy(rg_trainer *t);
rg_status rg_trainer_run_epoch(rg_trainer *t, rg_epoch_stats *stats);
/* Replaces the progress callbacks given at creation (on_epoch is dropped). */
void rg_trainer_set_callbacks(rg_trainer *t, void (*on_batch)(void *, const rg_progress *),
                              void *user);
/* Eval-mode loss (data loss only) and accuracy over a whole dataset, or
 * over the trainer's own training / validation parts. */
rg_status rg_trainer_evaluate(rg_trainer *t, const rg_dataset *ds, rg_eval *out);
rg_status rg_trainer_evaluate_train(rg_trainer *t, rg_eval *out);
rg_status rg_trainer_evaluate_val(rg_trainer *t, rg_eval *out);
int64_t rg_trainer_train_count(const rg_trainer *t);
/* Learning rate of the next step under the configured schedule. */
double rg_trainer_lr(const rg_trainer *t);

/* After each epoch: plateau schedule and early stopping bookkeeping (keeps a
 * copy of the best weights). *stop becomes 1 when patience ran out. */
rg_status rg_trainer_end_epoch(rg_trainer *t, const rg_epoch_stats *s, int *stop);
/* Puts back the weights of the best epoch seen (early stopping); returns that
 * epoch (1-based), or 0 if there is nothing to restore. */
int64_t rg_trainer_restore_best(rg_trainer *t);

/* Everything besides weights and optimizer slots that a resumed run needs to
 * continue bit-identically (randomness is keyed on these counters). */
/* An epoch stopped between batches: where it goes on and its running sums. */
typedef struct rg_trainer_partial {
    int64_t batch;            /* next batch of the epoch (0: at an epoch boundary) */
    double loss_sum, pen_sum, seconds;
    int64_t hits, seen;
    double penalty[RG_TRAIN_MAX_PLUGINS];
} rg_trainer_partial;

typedef struct rg_trainer_state {
    int64_t epoch, step, opt_steps;
    rg_lr_state lr;
    double es_best;
    int64_t es_best_epoch, es_wait;
    rg_trainer_partial part;
} rg_trainer_state;
void rg_trainer_get_state(const rg_trainer *t, rg_trainer_state *s);
void rg_trainer_set_state(rg_trainer *t, const rg_trainer_state *s);
/* The snapshot of the best weights (NULL when early stopping is off), laid
 * out as the model's parameters then buffers, in order. */
float *rg_trainer_best_weights(rg_trainer *t, int64_t *count);
int64_t rg_trainer_val_count(const rg_trainer *t);
/* Mean over the last epoch's steps of the loss terms regularizer k added
 * (penalty() and activation hooks), in units of the loss. */
double rg_trainer_penalty(const rg_trainer *t, int k);
/* Fraction of exactly-zero values in the parameters regularizer k touches
 * (NaN if it touches none). */
double rg_trainer_sparsity(const rg_trainer *t, int k);
/* Human-readable list of what regularizer k was attached to. */
const char *rg_trainer_targets(const rg_trainer *t, int k);
/* The regularizers touching layer `layer` (its tensors or an activation site after it),
 * "name, name" into buf. */
void rg_trainer_layer_hooks(const rg_trainer *t, int layer, char *buf, size_t cap);

#endif
