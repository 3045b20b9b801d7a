/* The max_norm plugin against tf.keras.constraints.MaxNorm(max_value=c,
 * axis=0) on a Keras Dense kernel (keras/constraints.py): each unit's
 * incoming weights w_u become w_u * clip(||w_u||, 0, c) / (1e-7 + ||w_u||),
 * except that a unit already within the norm is left exactly as it is (see
 * the plugin's header comment). Expected values are worked by hand. */
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

TestSuite(max_norm, .init = two_threads);
TestSuite(max_norm_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

static void project(rg_plugin_instance *pi, float *w, int ndim, const int64_t *shape,
                    uint32_t kind)
{
    rg_tensor_view v = pt_view(w, kind, ndim, shape);
    cr_assert_not_null(pi->plugin->reg.project);
    cr_assert_eq(pi->plugin->reg.project(pi->inst, &v), RG_OK, "%s", rg_error_message());
}

Test(max_norm, a_unit_over_the_norm_is_rescaled_to_max_value)
{
    rg_plugin_instance *pi = pt_load("max_norm:max_value=1", RG_PLUGIN_REGULARIZER);
    int64_t shape[2] = {2, 2};
    float w[4] = {3.0f, 4.0f, 0.3f, 0.4f};
    project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    /* row 0: norm 5 > 1, times 1 / (1e-7 + 5) */
    double s = 1.0 / (1e-7 + 5.0);
    cr_assert_float_eq(w[0], (float)(3.0 * s), 1e-7, "%.9g", (double)w[0]);
    cr_assert_float_eq(w[1], (float)(4.0 * s), 1e-7, "%.9g", (double)w[1]);
    cr_assert_float_eq(hypot(w[0], w[1]), 1.0, 1e-6);
    rg_plugin_instance_destroy(pi);
}

Test(max_norm, a_unit_within_the_norm_is_left_bit_identical)
{
    rg_plugin_instance *pi = pt_load("max_norm:max_value=1", RG_PLUGIN_REGULARIZER);
    int64_t shape[2] = {3, 2};
    /* norms 5, 0.5 and 0 */
    float w[6] = {3.0f, 4.0f, 0.3f, 0.4f, 0.0f, 0.0f};
    project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    cr_assert(w[2] == 0.3f && w[3] == 0.4f, "row 1 changed: %.9g %.9g", (double)w[2],
              (double)w[3]);
    cr_assert(w[4] == 0.0f && w[5] == 0.0f);
    rg_plugin_instance_destroy(pi);
}

Test(max_norm, a_unit_exactly_at_the_norm_is_left_bit_identical)
{
    rg_plugin_instance *pi = pt_load("max_norm:max_value=5", RG_PLUGIN_REGULARIZER);
    int64_t shape[2] = {1, 2};
    float w[2] = {3.0f, 4.0f};
    project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    cr_assert(w[0] == 3.0f && w[1] == 4.0f);
    rg_plugin_instance_destroy(pi);
}

Test(max_norm, conv_filters_are_the_units)
{
    rg_plugin_instance *pi = pt_load("max_norm:max_value=1", RG_PLUGIN_REGULARIZER);
    int64_t shape[4] = {2, 1, 2, 2};
    /* filter 0: norm 2 -> times 1 / (2 + 1e-7); filter 1: norm sqrt(0.3) < 1 */
    float w[8] = {1.0f, -1.0f, 1.0f, 1.0f, 0.1f, 0.2f, 0.3f, 0.4f};
    project(pi, w, 4, shape, RG_TENSOR_WEIGHT);
    float half = (float)(1.0 / (2.0 + 1e-7));
    const float want[8] = {half, -half, half, half, 0.1f, 0.2f, 0.3f, 0.4f};
    for (int i = 0; i < 8; i++)
        cr_assert_float_eq(w[i], want[i], 1e-7, "w[%d] = %.9g, want %.9g", i, (double)w[i],
                           (double)want[i]);
    for (int i = 4; i < 8; i++)
        cr_assert_eq(w[i], want[i]);
    rg_plugin_instance_destroy(pi);
}

Test(max_norm, a_bias_is_one_unit)
{
    rg_plugin_instance *pi = pt_load("max_norm:max_value=2.5", RG_PLUGIN_REGULARIZER);
    int64_t shape[1] = {3};
    float b[3] = {3.0f, 4.0f, 0.0f};
    project(pi, b, 1, shape, RG_TENSOR_BIAS);
    /* norm 5: times 2.5 / (5 + 1e-7) */
    double s = 2.5 / (5.0 + 1e-7);
    cr_assert_float_eq(b[0], (float)(3.0 * s), 1e-7);
    cr_assert_float_eq(b[1], (float)(4.0 * s), 1e-7);
    cr_assert_eq(b[2], 0.0f);
    rg_plugin_instance_destroy(pi);
}

static double row_norm(const float *w, int64_t len)
{
    double s = 0.0;
    for (int64_t i = 0; i < len; i++)
        s += (double)w[i] * w[i];
    return sqrt(s);
}

Test(max_norm, after_projection_every_unit_is_within_the_norm)
{
    rg_plugin_instance *pi = pt_load("max_norm:max_value=0.5", RG_PLUGIN_REGULARIZER);
    int64_t rows = 50, cols = 300, shape[2] = {50, 300};
    float *w = rg_alloc_floats((size_t)(rows * cols)), *before = rg_alloc_floats(rows * cols);
    /* rows of growing scale: some under, some over the norm */
    pt_fill(w, rows * cols, 3, -1.0f, 1.0f);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < cols; i++)
            w[r * cols + i] *= 0.002f * (float)(r + 1);
    memcpy(before, w, (size_t)(rows * cols) * sizeof(float));
    project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    int over = 0;
    for (int64_t r = 0; r < rows; r++) {
        double nb = row_norm(before + r * cols, cols), na = row_norm(w + r * cols, cols);
        cr_assert_leq(na, 0.5 + 1e-6, "row %lld: norm %.9g", (long long)r, na);
        if (nb > 0.5) {
            over++;
            cr_assert_float_eq(na, 0.5, 1e-6, "row %lld over the norm ends at %.9g",
                               (long long)r, na);
        } else {
            cr_assert(memcmp(w + r * cols, before + r * cols, (size_t)cols * sizeof(float)) == 0,
                      "row %lld under the norm changed", (long long)r);
        }
    }
    cr_assert(over > 0 && over < rows, "%d rows over the norm: the test needs both kinds", over);
    rg_free(w);
    rg_free(before);
    rg_plugin_instance_destroy(pi);
}

Test(max_norm, result_is_bit_identical_at_one_and_two_threads)
{
    rg_plugin_instance *pi = pt_load("max_norm:max_value=0.5", RG_PLUGIN_REGULARIZER);
    int64_t n = 64 * 784, shape[2] = {64, 784};
    float *a = rg_alloc_floats((size_t)n), *b = rg_alloc_floats((size_t)n);
    pt_fill(a, n, 4, -0.1f, 0.1f);
    memcpy(b, a, (size_t)n * sizeof(float));
    rg_threads_init(1);
    project(pi, a, 2, shape, RG_TENSOR_WEIGHT);
    rg_threads_init(2);
    project(pi, b, 2, shape, RG_TENSOR_WEIGHT);
    cr_assert(memcmp(a, b, (size_t)n * sizeof(float)) == 0);
    rg_free(a);
    rg_free(b);
    rg_plugin_instance_destroy(pi);
}

Test(max_norm, is_a_constraint_not_a_loss_term)
{
    rg_plugin_instance *pi = pt_load("max_norm", RG_PLUGIN_REGULARIZER);
    cr_assert_null(pi->plugin->reg.penalty);
    cr_assert_eq(pi->plugin->desc.caps, RG_CAP_DETERMINISTIC);
    cr_assert_str_eq(pi->plugin->desc.version, "1.0.0");
    rg_plugin_instance_destroy(pi);
}

Test(max_norm, out_of_range_max_value_is_refused_by_the_host)
{
    cr_assert_str_eq(pt_load_fails("max_norm:max_value=0", RG_PLUGIN_REGULARIZER),
                     "max_norm: parameter max_value=0 is out of range (0, 1e+06]");
    cr_assert_str_eq(pt_load_fails("max_norm:max_value=-1", RG_PLUGIN_REGULARIZER),
                     "max_norm: parameter max_value=-1 is out of range (0, 1e+06]");
    cr_assert_str_eq(pt_load_fails("max_norm:max_value=2e6", RG_PLUGIN_REGULARIZER),
                     "max_norm: parameter max_value=2e6 is out of range (0, 1e+06]");
}

/* ---- training ---- */

static double largest_unit_norm(const rg_model *m)
{
    double top = 0.0;
    for (int i = 0; i < m->num_params; i++) {
        const rg_param *p = m->params[i];
        if (p->kind != RG_TENSOR_WEIGHT)
            continue;
        int64_t len = p->numel / p->shape[0];
        for (int64_t u = 0; u < p->shape[0]; u++) {
            double n = row_norm(p->value + u * len, len);
            top = n > top ? n : top;
        }
    }
    return top;
}

Test(max_norm_train, every_unit_stays_within_the_norm_through_training)
{
    pt_run plain, reg;
    pt_start(&plain, "mlp:64", 24, 3000, NULL);
    pt_start(&reg, "mlp:64", 24, 3000, "max_norm:max_value=0.5");
    pt_train(&plain, 2);
    pt_train(&reg, 2);
    double a = largest_unit_norm(plain.model), b = largest_unit_norm(reg.model);
    cr_log_info("max_norm max_value=0.5: largest unit norm %.6f vs %.4f without, val acc %.4f "
                "vs %.4f", b, a, reg.last.val_accuracy, plain.last.val_accuracy);
    cr_assert_gt(a, 0.5, "the constraint must bind for the test to mean anything");
    cr_assert_leq(b, 0.5 + 1e-5, "a unit has norm %.9g", b);
    pt_finish(&plain);
    pt_finish(&reg);
}

Test(max_norm_train, eval_metrics_do_not_include_the_regularizer)
{
    eval_ignores_the_regularizer("max_norm:max_value=1");
}
