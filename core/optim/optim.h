/* Optimizers with PyTorch's update rules (torch.optim.SGD and Adam docs),
 * so a recipe means the same thing in both. */
#ifndef RG_CORE_OPTIM_H
#define RG_CORE_OPTIM_H

#include <stdint.h>

#include "../layers/layer.h"

typedef enum rg_optim_kind {
    RG_OPTIM_SGD = 1,
    RG_OPTIM_ADAM = 2
} rg_optim_kind;

typedef struct rg_optim_config {
    rg_optim_kind kind;
    double lr;
    double momentum;          /* SGD */
    int nesterov;             /* SGD */
    double beta1, beta2, eps; /* Adam */
} rg_optim_config;

typedef struct rg_optimizer {
    rg_optim_config cfg;
    int64_t steps;
} rg_optimizer;

void rg_optim_config_defaults(rg_optim_config *cfg);
/* Allocates each parameter's state slots (zeroed). */
rg_status rg_optim_init(rg_optimizer *opt, const rg_optim_config *cfg, rg_param **params,
                        int num_params);
/* One update from the gradients in params[i]->grad, at learning rate lr. */
/* Returns the index of the first parameter whose gradient held an inf or NaN (checked in
 * the update loop itself), or -1. */
int rg_optim_step(rg_optimizer *opt, rg_param **params, int num_params, double lr);
/* The same step with a linear decay folded into parameter i's update where folded[i]:
 * its gradient is taken as grad + coef[i] * value (what a penalty() of that form would
 * have added), and sumsq[i] receives the sum of value^2 before the update. */
int rg_optim_step_decay(rg_optimizer *opt, rg_param **params, int num_params, double lr,
                        const uint8_t *folded, const float *coef, double *sumsq);

#endif
