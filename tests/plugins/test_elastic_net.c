/* The elastic_net plugin against tf.keras.regularizers.L1L2(l1, l2):
 * "loss = l1 * reduce_sum(abs(x)) + l2 * reduce_sum(square(x))", gradient
 * l1 * sign(w) + 2 * l2 * w (0 from the L1 part at w == 0). Expected values
 * are worked by hand from that formula. */
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

TestSuite(elastic_net, .init = two_threads);
TestSuite(elastic_net_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

static const float W6[6] = {1.0f, -2.0f, 3.0f, 0.5f, 0.0f, -0.25f};
static const int64_t SHAPE_2x3[2] = {2, 3};

Test(elastic_net, penalty_is_l1_sum_abs_plus_l2_sum_squares)
{
    rg_plugin_instance *pi = pt_load("elastic_net:l1=0.1,l2=0.2", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W6, sizeof w);
    /* sum|w| = 6.75, sum w^2 = 1 + 4 + 9 + 0.25 + 0 + 0.0625 = 14.3125:
     * 0.1 * 6.75 + 0.2 * 14.3125 = 0.675 + 2.8625 = 3.5375 */
    cr_assert_float_eq(pt_penalty(pi, w, g, 2, SHAPE_2x3, RG_TENSOR_WEIGHT), 3.5375, 1e-7);
    rg_plugin_instance_destroy(pi);
}

Test(elastic_net, gradient_is_l1_sign_plus_two_l2_w)
{
    rg_plugin_instance *pi = pt_load("elastic_net:l1=0.1,l2=0.2", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W6, sizeof w);
    pt_penalty(pi, w, g, 2, SHAPE_2x3, RG_TENSOR_WEIGHT);
    /* 0.1 * sign(w) + 0.4 * w */
    const float want[6] = {0.5f, -0.9f, 1.3f, 0.3f, 0.0f, -0.2f};
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(g[i], want[i], 1e-6, "g[%d] = %.9g, want %.9g", i, (double)g[i],
                           (double)want[i]);
    cr_assert_eq(g[4], 0.0f, "the L1 subgradient at 0 is 0");
    rg_plugin_instance_destroy(pi);
}

Test(elastic_net, l1_zero_is_the_keras_l2_penalty)
{
    rg_plugin_instance *pi = pt_load("elastic_net:l1=0,l2=0.1", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W6, sizeof w);
    /* Keras L2: 0.1 * 14.3125, no 1/2; gradient 0.2 * w */
    cr_assert_float_eq(pt_penalty(pi, w, g, 2, SHAPE_2x3, RG_TENSOR_WEIGHT), 1.43125, 1e-7);
    cr_assert_float_eq(g[1], -0.4f, 1e-7);
    rg_plugin_instance_destroy(pi);
}

Test(elastic_net, gradient_is_added_to_the_data_gradient)
{
    rg_plugin_instance *pi = pt_load("elastic_net:l1=0.1,l2=0.2", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W6, sizeof w);
    for (int i = 0; i < 6; i++)
        g[i] = 10.0f;
    rg_tensor_view wv = pt_view(w, RG_TENSOR_WEIGHT, 2, SHAPE_2x3);
    rg_tensor_view gv = pt_view(g, RG_TENSOR_WEIGHT, 2, SHAPE_2x3);
    double loss = 1.0;
    cr_assert_eq(pi->plugin->reg.penalty(pi->inst, &wv, &loss, &gv), RG_OK);
    cr_assert_float_eq(loss, 4.5375, 1e-7);
    cr_assert_float_eq(g[0], 10.5f, 1e-6);
    cr_assert_float_eq(g[1], 9.1f, 1e-6);
    rg_plugin_instance_destroy(pi);
}

Test(elastic_net, gradient_matches_central_differences_away_from_zero)
{
    rg_plugin_instance *pi = pt_load("elastic_net:l1=0.3,l2=0.2", RG_PLUGIN_REGULARIZER);
    int64_t shape[2] = {8, 12};
    float w[96];
    pt_fill(w, 96, 6, -1.0f, 1.0f);
    pt_check_penalty_gradient(pi, w, 2, shape, 1e-2, 1e-3, 1e-5, 2e-2f);
    rg_plugin_instance_destroy(pi);
}

Test(elastic_net, penalty_is_bit_identical_at_one_and_two_threads)
{
    rg_plugin_instance *pi = pt_load("elastic_net:l1=0.01,l2=0.02", RG_PLUGIN_REGULARIZER);
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

Test(elastic_net, out_of_range_parameters_are_refused_by_the_host)
{
    cr_assert_str_eq(pt_load_fails("elastic_net:l1=1.5", RG_PLUGIN_REGULARIZER),
                     "elastic_net: parameter l1=1.5 is out of range [0, 1]");
    cr_assert_str_eq(pt_load_fails("elastic_net:l2=-1", RG_PLUGIN_REGULARIZER),
                     "elastic_net: parameter l2=-1 is out of range [0, 1]");
}

Test(elastic_net, declares_determinism_and_a_nonnegative_penalty)
{
    rg_plugin_instance *pi = pt_load("elastic_net", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->desc.caps, RG_CAP_DETERMINISTIC | RG_CAP_PENALTY_NONNEG);
    cr_assert_str_eq(pi->plugin->desc.version, "1.0.0");
    rg_plugin_instance_destroy(pi);
}

/* ---- training ---- */

/* The Keras L1L2 value of the weights the regularizer sees (weights only,
 * the host's default), computed here from the formula. */
static double l1l2_of(const rg_model *m, double l1, double l2)
{
    double a = 0.0, q = 0.0;
    for (int i = 0; i < m->num_params; i++)
        if (m->params[i]->kind == RG_TENSOR_WEIGHT)
            for (int64_t k = 0; k < m->params[i]->numel; k++) {
                double x = m->params[i]->value[k];
                a += fabs(x);
                q += x * x;
            }
    return l1 * a + l2 * q;
}

Test(elastic_net_train, training_with_it_lowers_its_penalty)
{
    pt_run plain, reg;
    pt_start(&plain, "mlp:64", 22, 3000, NULL);
    pt_start(&reg, "mlp:64", 22, 3000, "elastic_net:l1=1e-3,l2=1e-2");
    pt_train(&plain, 2);
    pt_train(&reg, 2);
    double a = l1l2_of(plain.model, 1e-3, 1e-2), b = l1l2_of(reg.model, 1e-3, 1e-2);
    cr_log_info("elastic_net l1=1e-3,l2=1e-2: penalty %.4f vs %.4f unregularized (x%.3f), "
                "val acc %.4f vs %.4f", b, a, b / a, reg.last.val_accuracy,
                plain.last.val_accuracy);
    cr_assert_lt(b, 0.8 * a, "L1L2 penalty %g with elastic_net, %g without", b, a);
    cr_assert_gt(reg.last.train_penalty, 0.0);
    pt_finish(&plain);
    pt_finish(&reg);
}

Test(elastic_net_train, eval_metrics_do_not_include_the_regularizer)
{
    eval_ignores_the_regularizer("elastic_net:l1=1e-4,l2=1e-3");
}
