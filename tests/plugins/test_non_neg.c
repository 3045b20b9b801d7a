/* The non_neg plugin against tf.keras.constraints.NonNeg (keras/constraints.py):
 * w <- w * (w >= 0), element by element, except that a negative weight becomes +0.0
 * where the product gives -0.0 (see the plugin's header comment). Expected values
 * come from that formula, evaluated here, never from the plugin. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "model/model.h"
#include "plugin_test_util.h"
#include "threads.h"
#include "train/train.h"

#define R RG_PLUGIN_REGULARIZER

static void two_threads(void)
{
    rg_threads_init(2);
}

TestSuite(non_neg, .init = two_threads);
TestSuite(non_neg_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

/* Keras's w * (w >= 0), in float as Keras computes it */
static float keras_non_neg(float w)
{
    return w * (float)(w >= 0.0f);
}

Test(non_neg, negative_weights_become_zero_and_the_others_stay_bit_identical)
{
    rg_plugin_instance *pi = pt_load("non_neg", R);
    int64_t shape[2] = {2, 4};
    float w[8] = {-1.5f, 0.0f, 2.0f, -0.0f, -1e-30f, 3e-38f, -1e30f, 0.25f};
    float before[8];
    memcpy(before, w, sizeof w);
    pt_project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    for (int i = 0; i < 8; i++) {
        float want = keras_non_neg(before[i]);
        cr_assert(w[i] == want, "w[%d]: %.9g -> %.9g, want %.9g", i, (double)before[i],
                  (double)w[i], (double)want);
        if (before[i] >= 0.0f)
            cr_assert(memcmp(&w[i], &before[i], sizeof(float)) == 0,
                      "w[%d] = %.9g >= 0 changed its bits", i, (double)before[i]);
    }
    rg_plugin_instance_destroy(pi);
}

Test(non_neg, a_negative_weight_becomes_plus_zero_not_minus_zero)
{
    rg_plugin_instance *pi = pt_load("non_neg", R);
    int64_t shape[1] = {3};
    float w[3] = {-2.0f, -1e-40f, -0.0f}; /* a subnormal too */
    pt_project(pi, w, 1, shape, RG_TENSOR_BIAS);
    cr_assert(w[0] == 0.0f && !signbit(w[0]), "%.9g", (double)w[0]);
    cr_assert(w[1] == 0.0f && !signbit(w[1]), "%.9g", (double)w[1]);
    /* -0.0 >= 0: kept as it is, sign bit and all */
    cr_assert(w[2] == 0.0f && signbit(w[2]));
    rg_plugin_instance_destroy(pi);
}

Test(non_neg, a_nan_stays_nan_as_in_keras)
{
    rg_plugin_instance *pi = pt_load("non_neg", R);
    int64_t shape[1] = {2};
    float w[2] = {NAN, -1.0f};
    pt_project(pi, w, 1, shape, RG_TENSOR_BIAS);
    cr_assert(isnan(w[0]) && isnan(keras_non_neg(NAN)));
    cr_assert(w[1] == 0.0f);
    rg_plugin_instance_destroy(pi);
}

Test(non_neg, conv_filters_and_biases_are_clamped_element_by_element)
{
    rg_plugin_instance *pi = pt_load("non_neg", R);
    int64_t shape4[4] = {3, 2, 3, 3}, shape1[1] = {7}, n4 = 54;
    float w[54], b[7], w0[54], b0[7];
    pt_fill(w, n4, 5, -1.0f, 1.0f);
    pt_fill(b, 7, 6, -1.0f, 1.0f);
    memcpy(w0, w, sizeof w);
    memcpy(b0, b, sizeof b);
    pt_project(pi, w, 4, shape4, RG_TENSOR_WEIGHT);
    pt_project(pi, b, 1, shape1, RG_TENSOR_BIAS);
    int neg = 0;
    for (int64_t i = 0; i < n4; i++) {
        neg += w0[i] < 0.0f;
        cr_assert(w[i] == keras_non_neg(w0[i]), "w[%lld]", (long long)i);
    }
    for (int i = 0; i < 7; i++)
        cr_assert(b[i] == keras_non_neg(b0[i]), "b[%d]", i);
    cr_assert(neg > 5 && neg < 49, "%d negative weights: the test needs both signs", neg);
    rg_plugin_instance_destroy(pi);
}

/* 300k elements: many blocks, so two threads really split the tensor */
Test(non_neg, result_is_bit_identical_at_one_and_two_threads)
{
    rg_plugin_instance *pi = pt_load("non_neg", R);
    int64_t shape[2] = {300, 1000}, n = 300000;
    float *a = pt_floats(n), *b = pt_floats(n), *w0 = pt_floats(n);
    pt_fill(w0, n, 7, -1.0f, 1.0f);
    memcpy(a, w0, (size_t)n * sizeof(float));
    memcpy(b, w0, (size_t)n * sizeof(float));
    rg_threads_init(1);
    pt_project(pi, a, 2, shape, RG_TENSOR_WEIGHT);
    rg_threads_init(2);
    pt_project(pi, b, 2, shape, RG_TENSOR_WEIGHT);
    cr_assert(memcmp(a, b, (size_t)n * sizeof(float)) == 0);
    for (int64_t i = 0; i < n; i++)
        cr_assert(a[i] == keras_non_neg(w0[i]), "element %lld", (long long)i);
    rg_free(a);
    rg_free(b);
    rg_free(w0);
    rg_plugin_instance_destroy(pi);
}

Test(non_neg, is_a_constraint_without_parameters_or_loss_term)
{
    rg_plugin_instance *pi = pt_load("non_neg", R);
    cr_assert_null(pi->plugin->reg.penalty);
    cr_assert_null(pi->plugin->reg.activation_forward);
    cr_assert_eq(pi->plugin->num_params, 0);
    cr_assert_eq(pi->plugin->desc.caps, RG_CAP_DETERMINISTIC);
    cr_assert_str_eq(pi->plugin->desc.version, "1.0.0");
    rg_plugin_instance_destroy(pi);
}

Test(non_neg, a_parameter_is_refused_with_the_host_message)
{
    cr_assert_str_eq(pt_load_fails("non_neg:min_value=0", R),
                     "non_neg: unknown parameter 'min_value' (known: layers, tensors, after)");
}

/* ---- training ---- */

static int64_t negative_weights(const rg_model *m, int64_t *total)
{
    int64_t neg = 0;
    *total = 0;
    for (int i = 0; i < m->num_params; i++) {
        const rg_param *p = m->params[i];
        if (p->kind != RG_TENSOR_WEIGHT)
            continue;
        for (int64_t k = 0; k < p->numel; k++)
            neg += p->value[k] < 0.0f;
        *total += p->numel;
    }
    return neg;
}

Test(non_neg_train, every_weight_is_nonnegative_after_training)
{
    pt_run plain, reg;
    pt_start(&plain, "mlp:64", 24, 3000, NULL);
    pt_start(&reg, "mlp:64", 24, 3000, "non_neg");
    pt_train(&plain, 2);
    pt_train(&reg, 2);
    int64_t total = 0, a = negative_weights(plain.model, &total), b;
    b = negative_weights(reg.model, &total);
    rg_eval te;
    cr_assert_eq(rg_trainer_evaluate(reg.trainer, pt_test_set, &te), RG_OK);
    cr_log_info("non_neg: %lld of %lld weights < 0 (%lld without), test acc %.4f",
                (long long)b, (long long)total, (long long)a, te.accuracy);
    cr_assert_gt(a, total / 4, "without the constraint only %lld weights are negative",
                 (long long)a);
    cr_assert_eq(b, 0, "%lld weights are negative", (long long)b);
    cr_assert_gt(te.accuracy, 0.2, "test accuracy %.4f (chance 0.10)", te.accuracy);
    pt_finish(&plain);
    pt_finish(&reg);
}

Test(non_neg_train, eval_metrics_do_not_include_the_regularizer)
{
    /* every weight clamped from a random start learns slowly (measured: test accuracy 0.16
     * after 1 epoch, 0.57 after 4, against 0.10 by chance) */
    pt_eval_ignores_the_regularizer("mlp:64", 11, 3000, "non_neg", 4, 0.4);
}
