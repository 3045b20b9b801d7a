#include "schedule.h"

#include <math.h>

void rg_lr_config_defaults(rg_lr_config *c)
{
    *c = (rg_lr_config){0};
    c->kind = RG_LR_CONSTANT;
    c->gamma = 0.1;
    c->step_size = 10;
    c->patience = 5;
}

void rg_lr_state_init(rg_lr_state *s)
{
    s->plateau_scale = 1.0;
    s->plateau_best = INFINITY;
    s->plateau_wait = 0;
}

const char *rg_lr_schedule_name(rg_lr_schedule k)
{
    static const char *const names[] = {"constant", "cosine", "step", "multistep", "exponential",
                                        "plateau"};
    return (unsigned)k < 6 ? names[k] : "unknown";
}

double rg_lr_at(const rg_lr_config *c, const rg_lr_state *s, double base, int64_t epoch,
                int64_t step, int64_t steps_per_epoch, int64_t total_steps)
{
    double lr = base;
    switch (c->kind) {
    case RG_LR_CONSTANT:
        break;
    case RG_LR_COSINE:
        if (total_steps > 0)
            lr = 0.5 * base * (1.0 + cos(M_PI * (double)step / (double)total_steps));
        break;
    case RG_LR_STEP:
        lr = base * pow(c->gamma, (double)(epoch / (c->step_size > 0 ? c->step_size : 1)));
        break;
    case RG_LR_MULTISTEP: {
        int passed = 0;
        for (int i = 0; i < c->n_milestones; i++)
            passed += epoch >= c->milestones[i];
        lr = base * pow(c->gamma, passed);
        break;
    }
    case RG_LR_EXPONENTIAL:
        lr = base * pow(c->gamma, (double)epoch);
        break;
    case RG_LR_PLATEAU:
        lr = base * s->plateau_scale;
        if (lr < c->min_lr)
            lr = c->min_lr;
        break;
    }
    int64_t warm = c->warmup_epochs * steps_per_epoch;
    if (warm > 0 && step < warm)
        lr *= (double)(step + 1) / (double)warm;
    return lr;
}

void rg_lr_epoch_end(const rg_lr_config *c, rg_lr_state *s, double base, double val_loss)
{
    if (c->kind != RG_LR_PLATEAU || isnan(val_loss))
        return;
    if (val_loss < s->plateau_best * (1.0 - 1e-4)) {
        s->plateau_best = val_loss;
        s->plateau_wait = 0;
        return;
    }
    if (++s->plateau_wait > c->patience) {
        double next = s->plateau_scale * c->gamma;
        if (base * next < c->min_lr && base > 0)
            next = c->min_lr / base;
        s->plateau_scale = next;
        s->plateau_wait = 0;
    }
}
