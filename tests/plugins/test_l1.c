/* The l1 plugin against its definitions: tf.keras.regularizers.L1,
 * "loss = l1 * reduce_sum(abs(x))" (gradient lambda * sign(w), 0 at 0), and
 * for proximal=true the soft threshold, the proximal operator of
 * lr*lambda*|w| (Parikh & Boyd, "Proximal Algorithms", 2014, section 6.5.2):
 * w <- sign(w) * max(|w| - lr*lambda, 0). Expected values are worked by hand
 * from those formulas. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "idx.h"
#include "model/model.h"
#include "plugin_test_util.h"
#include "threads.h"
#include "train/train.h"

/* ---- training on Fashion-MNIST subsets, as tests/e2e/test_train.c ----
 * Data: Debian's dataset-fashion-mnist or $REGULA_DATA. */



static void two_threads(void)
{
    rg_threads_init(2);
}




/* A weight regularizer acts in training only: after training with it, a
 * trainer without any regularizer on the same model and split (same seed)
 * reports bit-identical validation and test metrics, so the eval-mode
 * numbers never include the regularizer. */
static void eval_ignores_the_regularizer(const char *spec)
{
    pt_run reg;
    pt_start(&reg, "mlp:64", 11, 3000, spec);
    pt_train(&reg, 1);
    rg_train_config cfg;
    rg_train_config_defaults(&cfg);
    cfg.seed = 11;
    cfg.train_limit = 3000;
    rg_trainer *bare = NULL;
    cr_assert_eq(rg_trainer_create(reg.model, pt_train_set, &cfg, &bare), RG_OK, "%s",
                 rg_error_message());
    rg_eval with, without;
    cr_assert_eq(rg_trainer_evaluate_val(bare, &without), RG_OK);
    cr_assert(memcmp(&reg.last.val_loss, &without.loss, sizeof(double)) == 0,
              "val loss %.17g during training, %.17g without the regularizer",
              reg.last.val_loss, without.loss);
    cr_assert(memcmp(&reg.last.val_accuracy, &without.accuracy, sizeof(double)) == 0);
    cr_assert_eq(rg_trainer_evaluate(reg.trainer, pt_test_set, &with), RG_OK);
    cr_assert_eq(rg_trainer_evaluate(bare, pt_test_set, &without), RG_OK);
    cr_assert(memcmp(&with, &without, sizeof with) == 0, "test loss %.17g vs %.17g",
              with.loss, without.loss);
    /* and the regularized model still learned something (chance is 0.10) */
    cr_assert_gt(with.accuracy, 0.4, "test accuracy %.4f", with.accuracy);
    rg_trainer_destroy(bare);
    pt_finish(&reg);
}

TestSuite(l1, .init = two_threads);
TestSuite(l1_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

static const float W6[6] = {1.0f, -2.0f, 3.0f, 0.5f, 0.0f, -0.25f};
static const int64_t SHAPE_2x3[2] = {2, 3};

Test(l1, penalty_is_lambda_times_the_sum_of_absolute_values)
{
    rg_plugin_instance *pi = pt_load("l1:lambda=0.1", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W6, sizeof w);
    /* 0.1 * (1 + 2 + 3 + 0.5 + 0 + 0.25) = 0.675 */
    cr_assert_float_eq(pt_penalty(pi, w, g, 2, SHAPE_2x3, RG_TENSOR_WEIGHT), 0.675, 1e-7);
    rg_plugin_instance_destroy(pi);
}

Test(l1, gradient_is_lambda_sign_w_and_zero_at_zero)
{
    rg_plugin_instance *pi = pt_load("l1:lambda=0.1", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W6, sizeof w);
    pt_penalty(pi, w, g, 2, SHAPE_2x3, RG_TENSOR_WEIGHT);
    const float want[6] = {0.1f, -0.1f, 0.1f, 0.1f, 0.0f, -0.1f};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(g[i], want[i], "g[%d] = %g, want %g", i, (double)g[i], (double)want[i]);
    rg_plugin_instance_destroy(pi);
}

Test(l1, gradient_is_added_to_the_data_gradient)
{
    rg_plugin_instance *pi = pt_load("l1:lambda=0.1", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W6, sizeof w);
    for (int i = 0; i < 6; i++)
        g[i] = 10.0f;
    rg_tensor_view wv = pt_view(w, RG_TENSOR_WEIGHT, 2, SHAPE_2x3);
    rg_tensor_view gv = pt_view(g, RG_TENSOR_WEIGHT, 2, SHAPE_2x3);
    double loss = 1.0;
    cr_assert_eq(pi->plugin->reg.penalty(pi->inst, &wv, &loss, &gv), RG_OK);
    cr_assert_float_eq(loss, 1.675, 1e-7); /* added to what was there */
    cr_assert_float_eq(g[0], 10.1f, 1e-6);
    cr_assert_float_eq(g[1], 9.9f, 1e-6);
    cr_assert_eq(g[4], 10.0f);
    rg_plugin_instance_destroy(pi);
}

Test(l1, gradient_matches_central_differences_away_from_zero)
{
    rg_plugin_instance *pi = pt_load("l1:lambda=0.3", RG_PLUGIN_REGULARIZER);
    int64_t shape[2] = {8, 12};
    float w[96];
    pt_fill(w, 96, 5, -1.0f, 1.0f);
    /* |w| is linear on each side of 0: skip the elements the step would
     * carry across the kink */
    pt_check_penalty_gradient(pi, w, 2, shape, 1e-2, 1e-3, 1e-5, 2e-2f);
    rg_plugin_instance_destroy(pi);
}

Test(l1, penalty_is_bit_identical_at_one_and_two_threads)
{
    rg_plugin_instance *pi = pt_load("l1:lambda=0.01", RG_PLUGIN_REGULARIZER);
    int64_t n = 100000, shape[2] = {1000, 100};
    float *w = rg_alloc_floats((size_t)n), *g1 = rg_alloc_floats((size_t)n);
    float *g2 = rg_alloc_floats((size_t)n);
    pt_fill(w, n, 9, -1.0f, 1.0f);
    rg_threads_init(1);
    double one = pt_penalty(pi, w, g1, 2, shape, RG_TENSOR_WEIGHT);
    rg_threads_init(2);
    double two = pt_penalty(pi, w, g2, 2, shape, RG_TENSOR_WEIGHT);
    cr_assert(memcmp(&one, &two, sizeof one) == 0, "%.17g vs %.17g", one, two);
    cr_assert(memcmp(g1, g2, (size_t)n * sizeof(float)) == 0);
    rg_free(w);
    rg_free(g1);
    rg_free(g2);
    rg_plugin_instance_destroy(pi);
}

Test(l1, proximal_penalty_reports_the_value_but_adds_no_gradient)
{
    rg_plugin_instance *pi = pt_load("l1:lambda=0.1,proximal=true", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W6, sizeof w);
    cr_assert_float_eq(pt_penalty(pi, w, g, 2, SHAPE_2x3, RG_TENSOR_WEIGHT), 0.675, 1e-7);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(g[i], 0.0f, "g[%d] = %g: the update belongs to project_step", i,
                     (double)g[i]);
    rg_plugin_instance_destroy(pi);
}

static void step(rg_plugin_instance *pi, double lr, float *w, int64_t n)
{
    int64_t shape[1] = {n};
    rg_tensor_view v = pt_view(w, RG_TENSOR_WEIGHT, 1, shape);
    rg_step_info info = {sizeof info, 0, 0, 0, lr};
    cr_assert_not_null(pi->plugin->reg.project_step);
    cr_assert_eq(pi->plugin->reg.project_step(pi->inst, &info, &v), RG_OK, "%s",
                 rg_error_message());
}

Test(l1, proximal_step_soft_thresholds_by_lr_times_lambda)
{
    rg_plugin_instance *pi = pt_load("l1:lambda=0.5,proximal=true", RG_PLUGIN_REGULARIZER);
    /* lr 0.1, lambda 0.5: threshold 0.05 */
    float w[8] = {0.5f, -0.5f, 0.04f, -0.05f, 0.05f, 0.0f, 1.0f, -0.2f};
    step(pi, 0.1, w, 8);
    const float want[8] = {0.45f, -0.45f, 0.0f, 0.0f, 0.0f, 0.0f, 0.95f, -0.15f};
    for (int i = 0; i < 8; i++)
        cr_assert_float_eq(w[i], want[i], 1e-7, "w[%d] = %.9g, want %.9g", i, (double)w[i],
                           (double)want[i]);
    /* within the threshold means exactly +0: what makes the model sparse */
    for (int i = 2; i < 6; i++)
        cr_assert(w[i] == 0.0f && !signbit(w[i]), "w[%d] = %g is not +0", i, (double)w[i]);
    rg_plugin_instance_destroy(pi);
}

Test(l1, subgradient_mode_does_nothing_after_the_step)
{
    rg_plugin_instance *pi = pt_load("l1:lambda=0.5", RG_PLUGIN_REGULARIZER);
    float w[8] = {0.5f, -0.5f, 0.04f, -0.05f, 0.05f, 0.0f, 1.0f, -0.2f}, keep[8];
    memcpy(keep, w, sizeof w);
    step(pi, 0.1, w, 8);
    cr_assert(memcmp(w, keep, sizeof w) == 0);
    rg_plugin_instance_destroy(pi);
}

Test(l1, proximal_step_refuses_a_negative_learning_rate)
{
    rg_plugin_instance *pi = pt_load("l1:lambda=0.5,proximal=true", RG_PLUGIN_REGULARIZER);
    float w[2] = {1.0f, -1.0f};
    int64_t shape[1] = {2};
    rg_tensor_view v = pt_view(w, RG_TENSOR_WEIGHT, 1, shape);
    rg_step_info info = {sizeof info, 0, 0, 0, -0.1};
    cr_assert_eq(pi->plugin->reg.project_step(pi->inst, &info, &v), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(),
                     "l1: proximal step needs a finite learning rate >= 0 (got -0.1)");
    cr_assert(w[0] == 1.0f && w[1] == -1.0f);
    rg_plugin_instance_destroy(pi);
}

Test(l1, out_of_range_parameters_are_refused_by_the_host)
{
    cr_assert_str_eq(pt_load_fails("l1:lambda=2", RG_PLUGIN_REGULARIZER),
                     "l1: parameter lambda=2 is out of range [0, 1]");
    cr_assert_str_eq(pt_load_fails("l1:lambda=-1e-3", RG_PLUGIN_REGULARIZER),
                     "l1: parameter lambda=-1e-3 is out of range [0, 1]");
    cr_assert_str_eq(pt_load_fails("l1:proximal=maybe", RG_PLUGIN_REGULARIZER),
                     "l1: parameter proximal=maybe is not a bool (true/false)");
}

Test(l1, declares_determinism_and_a_nonnegative_penalty)
{
    rg_plugin_instance *pi = pt_load("l1", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->desc.caps, RG_CAP_DETERMINISTIC | RG_CAP_PENALTY_NONNEG);
    cr_assert_str_eq(pi->plugin->desc.version, "1.0.0");
    rg_plugin_instance_destroy(pi);
}

/* ---- training ---- */

Test(l1_train, proximal_l1_makes_many_weights_exactly_zero)
{
    pt_run r;
    pt_start(&r, "mlp:64", 21, 3000, "l1:lambda=3e-2,proximal=true");
    pt_train(&r, 2);
    double sparsity = rg_trainer_sparsity(r.trainer, 0);
    cr_log_info("l1 proximal lambda=3e-2: sparsity %.4f, penalty %.4g, val acc %.4f", sparsity,
                rg_trainer_penalty(r.trainer, 0), r.last.val_accuracy);
    cr_assert_gt(sparsity, 0.3, "only %.4f of the weights are exactly 0", sparsity);
    cr_assert_gt(r.last.train_penalty, 0.0, "the penalty is still reported in proximal mode");
    pt_finish(&r);
}

Test(l1_train, subgradient_l1_leaves_almost_no_exact_zeros)
{
    pt_run r;
    pt_start(&r, "mlp:64", 21, 3000, "l1:lambda=3e-2");
    pt_train(&r, 2);
    double sparsity = rg_trainer_sparsity(r.trainer, 0);
    cr_log_info("l1 subgradient lambda=3e-2: sparsity %.4f, val acc %.4f", sparsity,
                r.last.val_accuracy);
    cr_assert_lt(sparsity, 0.01, "%.4f of the weights are exactly 0", sparsity);
    pt_finish(&r);
}

Test(l1_train, eval_metrics_do_not_include_the_regularizer)
{
    eval_ignores_the_regularizer("l1:lambda=1e-3,proximal=true");
}
