/* Learning-rate schedules against torch.optim.lr_scheduler's definitions,
 * values worked by hand. */
#include <criterion/criterion.h>
#include <math.h>

#include "optim/schedule.h"

static double at(rg_lr_config *c, rg_lr_state *s, int64_t epoch, int64_t step)
{
    return rg_lr_at(c, s, 0.1, epoch, step, 10, 100);
}

Test(schedule, step_lr_decays_every_step_size_epochs)
{
    rg_lr_config c;
    rg_lr_state s;
    rg_lr_config_defaults(&c);
    rg_lr_state_init(&s);
    c.kind = RG_LR_STEP;
    c.step_size = 3;
    c.gamma = 0.5;
    /* StepLR: lr * gamma^floor(epoch / step_size) */
    cr_assert_float_eq(at(&c, &s, 0, 0), 0.1, 1e-15);
    cr_assert_float_eq(at(&c, &s, 2, 29), 0.1, 1e-15);
    cr_assert_float_eq(at(&c, &s, 3, 30), 0.05, 1e-15);
    cr_assert_float_eq(at(&c, &s, 7, 70), 0.025, 1e-15);
}

Test(schedule, multistep_counts_the_milestones_passed)
{
    rg_lr_config c;
    rg_lr_state s;
    rg_lr_config_defaults(&c);
    rg_lr_state_init(&s);
    c.kind = RG_LR_MULTISTEP;
    c.n_milestones = 2;
    c.milestones[0] = 2;
    c.milestones[1] = 5;
    c.gamma = 0.1;
    cr_assert_float_eq(at(&c, &s, 1, 10), 0.1, 1e-15);
    cr_assert_float_eq(at(&c, &s, 2, 20), 0.01, 1e-15);
    cr_assert_float_eq(at(&c, &s, 5, 50), 0.001, 1e-15);
}

Test(schedule, exponential_and_cosine_follow_their_formulas)
{
    rg_lr_config c;
    rg_lr_state s;
    rg_lr_config_defaults(&c);
    rg_lr_state_init(&s);
    c.kind = RG_LR_EXPONENTIAL;
    c.gamma = 0.9;
    cr_assert_float_eq(at(&c, &s, 3, 30), 0.1 * 0.729, 1e-15);
    c.kind = RG_LR_COSINE;
    /* CosineAnnealingLR(T_max=100): lr/2 (1 + cos(pi t / 100)) */
    cr_assert_float_eq(at(&c, &s, 0, 0), 0.1, 1e-15);
    cr_assert_float_eq(at(&c, &s, 5, 50), 0.05, 1e-15);
    cr_assert_float_eq(at(&c, &s, 2, 25), 0.05 * (1 + sqrt(0.5)), 1e-15);
}

Test(schedule, linear_warmup_scales_the_first_epochs_steps)
{
    rg_lr_config c;
    rg_lr_state s;
    rg_lr_config_defaults(&c);
    rg_lr_state_init(&s);
    c.warmup_epochs = 2; /* 20 steps of 10 per epoch */
    cr_assert_float_eq(at(&c, &s, 0, 0), 0.1 / 20, 1e-15);
    cr_assert_float_eq(at(&c, &s, 0, 9), 0.1 * 10 / 20, 1e-15);
    cr_assert_float_eq(at(&c, &s, 1, 19), 0.1, 1e-15);
    cr_assert_float_eq(at(&c, &s, 2, 20), 0.1, 1e-15);
}

Test(schedule, plateau_reduces_after_patience_epochs_without_gain)
{
    rg_lr_config c;
    rg_lr_state s;
    rg_lr_config_defaults(&c);
    rg_lr_state_init(&s);
    c.kind = RG_LR_PLATEAU;
    c.gamma = 0.5;
    c.patience = 2;
    c.min_lr = 0.02;
    /* ReduceLROnPlateau(mode=min, factor=0.5, patience=2, threshold=1e-4 rel) */
    double losses[] = {1.0, 0.9, 0.9, 0.9, 0.95, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9};
    double expect[] = {0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02};
    for (int e = 0; e < 12; e++) {
        rg_lr_epoch_end(&c, &s, 0.1, losses[e]);
        cr_assert_float_eq(at(&c, &s, e + 1, 0), expect[e], 1e-15, "after epoch %d", e);
    }
}
