/* The weight_decay plugin against decoupled weight decay (Loshchilov &
 * Hutter, "Decoupled Weight Decay Regularization", ICLR 2019; the decay term
 * of torch.optim.AdamW): after the optimizer step, w <- w - lr*lambda*w =
 * (1 - lr*lambda) * w; no loss term. Expected values are worked by hand. */
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

TestSuite(weight_decay, .init = two_threads);
TestSuite(weight_decay_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

static rg_status step(rg_plugin_instance *pi, double lr, float *w, int ndim,
                      const int64_t *shape)
{
    rg_tensor_view v = pt_view(w, RG_TENSOR_WEIGHT, ndim, shape);
    rg_step_info info = {sizeof info, 0, 0, 0, lr};
    return pi->plugin->reg.project_step(pi->inst, &info, &v);
}

Test(weight_decay, step_multiplies_the_weights_by_one_minus_lr_lambda)
{
    rg_plugin_instance *pi = pt_load("weight_decay:lambda=0.1", RG_PLUGIN_REGULARIZER);
    int64_t shape[2] = {2, 2};
    float w[4] = {1.0f, -2.0f, 0.5f, 0.0f};
    cr_assert_eq(step(pi, 0.5, w, 2, shape), RG_OK, "%s", rg_error_message());
    /* 1 - 0.5 * 0.1 = 0.95 */
    const float want[4] = {0.95f, -1.9f, 0.475f, 0.0f};
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(w[i], want[i], 1e-7, "w[%d] = %.9g, want %.9g", i, (double)w[i],
                           (double)want[i]);
    rg_plugin_instance_destroy(pi);
}

Test(weight_decay, decay_follows_the_learning_rate_of_each_step)
{
    rg_plugin_instance *pi = pt_load("weight_decay:lambda=0.1", RG_PLUGIN_REGULARIZER);
    int64_t shape[1] = {1};
    float w[1] = {2.0f};
    cr_assert_eq(step(pi, 1.0, w, 1, shape), RG_OK); /* x 0.9  -> 1.8 */
    cr_assert_eq(step(pi, 0.2, w, 1, shape), RG_OK); /* x 0.98 -> 1.764 */
    cr_assert_float_eq(w[0], 1.764f, 1e-6);
    rg_plugin_instance_destroy(pi);
}

Test(weight_decay, zero_learning_rate_leaves_the_weights_bit_identical)
{
    rg_plugin_instance *pi = pt_load("weight_decay:lambda=0.5", RG_PLUGIN_REGULARIZER);
    int64_t shape[2] = {2, 2};
    float w[4] = {1.0f, -2.0f, 0.5f, 3.0e-3f}, keep[4];
    memcpy(keep, w, sizeof w);
    cr_assert_eq(step(pi, 0.0, w, 2, shape), RG_OK);
    cr_assert(memcmp(w, keep, sizeof w) == 0);
    rg_plugin_instance_destroy(pi);
}

Test(weight_decay, is_not_a_loss_term)
{
    rg_plugin_instance *pi = pt_load("weight_decay", RG_PLUGIN_REGULARIZER);
    cr_assert_null(pi->plugin->reg.penalty, "decoupled decay adds nothing to the loss");
    cr_assert_not_null(pi->plugin->reg.project_step);
    cr_assert_eq(pi->plugin->desc.caps, RG_CAP_DETERMINISTIC);
    cr_assert_str_eq(pi->plugin->desc.version, "1.0.0");
    rg_plugin_instance_destroy(pi);
}

Test(weight_decay, lr_times_lambda_above_one_is_an_error_naming_the_tensor)
{
    rg_plugin_instance *pi = pt_load("weight_decay:lambda=1", RG_PLUGIN_REGULARIZER);
    int64_t shape[1] = {2};
    float w[2] = {1.0f, -1.0f};
    cr_assert_eq(step(pi, 2.0, w, 1, shape), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(), "weight_decay: lr*lambda = 2*1 = 2 exceeds 1 on "
                                         "test.weight: lower lambda or the learning rate");
    cr_assert(w[0] == 1.0f && w[1] == -1.0f, "weights changed on failure");
    rg_plugin_instance_destroy(pi);
}

Test(weight_decay, out_of_range_lambda_is_refused_by_the_host)
{
    cr_assert_str_eq(pt_load_fails("weight_decay:lambda=1.5", RG_PLUGIN_REGULARIZER),
                     "weight_decay: parameter lambda=1.5 is out of range [0, 1]");
    cr_assert_str_eq(pt_load_fails("weight_decay:lambda=-0.1", RG_PLUGIN_REGULARIZER),
                     "weight_decay: parameter lambda=-0.1 is out of range [0, 1]");
}

/* ---- training ---- */

static double sum_sq_weights(const rg_model *m)
{
    double s = 0.0;
    for (int i = 0; i < m->num_params; i++)
        if (m->params[i]->kind == RG_TENSOR_WEIGHT)
            for (int64_t k = 0; k < m->params[i]->numel; k++)
                s += (double)m->params[i]->value[k] * m->params[i]->value[k];
    return s;
}

Test(weight_decay_train, decay_shrinks_the_weights_against_the_same_run_without_it)
{
    pt_run plain, reg;
    pt_start(&plain, "mlp:64", 23, 3000, NULL);
    pt_start(&reg, "mlp:64", 23, 3000, "weight_decay:lambda=0.2");
    pt_train(&plain, 2);
    pt_train(&reg, 2);
    double a = sum_sq_weights(plain.model), b = sum_sq_weights(reg.model);
    cr_log_info("weight_decay lambda=0.2: sum w^2 %.4f vs %.4f without (x%.3f), val acc %.4f "
                "vs %.4f", b, a, b / a, reg.last.val_accuracy, plain.last.val_accuracy);
    cr_assert_lt(b, 0.8 * a, "sum w^2 %g with decay, %g without", b, a);
    cr_assert_eq(reg.last.train_penalty, 0.0, "decoupled decay reports no loss term");
    pt_finish(&plain);
    pt_finish(&reg);
}

Test(weight_decay_train, eval_metrics_do_not_include_the_regularizer)
{
    eval_ignores_the_regularizer("weight_decay:lambda=0.05");
}
