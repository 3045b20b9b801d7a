/* Learning-rate schedules with PyTorch's semantics (torch.optim.lr_scheduler):
 * the rate of a step depends on the epoch and step counters only, except
 * ReduceLROnPlateau, whose state is kept in rg_lr_state (and checkpointed). */
#ifndef RG_CORE_SCHEDULE_H
#define RG_CORE_SCHEDULE_H

#include <stdint.h>

#include "regula/status.h"

typedef enum rg_lr_schedule {
    RG_LR_CONSTANT = 0,
    /* lr/2 * (1 + cos(pi * t / T)) over the T steps of the run:
     * CosineAnnealingLR(T_max=T, eta_min=0) stepped per batch */
    RG_LR_COSINE = 1,
    RG_LR_STEP = 2,        /* lr * gamma^floor(epoch / step_size)       StepLR */
    RG_LR_MULTISTEP = 3,   /* lr * gamma^(milestones <= epoch)          MultiStepLR */
    RG_LR_EXPONENTIAL = 4, /* lr * gamma^epoch                          ExponentialLR */
    RG_LR_PLATEAU = 5      /* * gamma after `patience` epochs without a val-loss gain */
} rg_lr_schedule;

#define RG_LR_MAX_MILESTONES 16

typedef struct rg_lr_config {
    rg_lr_schedule kind;
    double gamma;
    int64_t step_size;
    int n_milestones;
    int64_t milestones[RG_LR_MAX_MILESTONES];
    int64_t warmup_epochs;   /* linear warmup over the first epochs' steps, any schedule */
    int64_t patience;        /* plateau */
    double min_lr;           /* plateau floor */
} rg_lr_config;

typedef struct rg_lr_state {
    double plateau_scale;    /* product of the reductions so far */
    double plateau_best;     /* best validation loss seen */
    int64_t plateau_wait;    /* epochs since it improved */
} rg_lr_state;

void rg_lr_config_defaults(rg_lr_config *c);
void rg_lr_state_init(rg_lr_state *s);
/* Rate for global step `step` (0-based) in epoch `epoch` (0-based). */
double rg_lr_at(const rg_lr_config *c, const rg_lr_state *s, double base, int64_t epoch,
                int64_t step, int64_t steps_per_epoch, int64_t total_steps);
/* ReduceLROnPlateau(mode="min", threshold=1e-4, threshold_mode="rel"): after
 * each epoch with its validation loss. Other schedules ignore it. */
void rg_lr_epoch_end(const rg_lr_config *c, rg_lr_state *s, double base, double val_loss);
const char *rg_lr_schedule_name(rg_lr_schedule k);

#endif
