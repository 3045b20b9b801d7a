/* The unit_norm plugin against tf.keras.constraints.UnitNorm(axis=0) on a Keras
 * Dense kernel (keras/constraints.py): each unit's incoming weights w_u become
 * w_u / (1e-7 + ||w_u||). Expected values are worked from that formula here. */
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

TestSuite(unit_norm, .init = two_threads);
TestSuite(unit_norm_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

Test(unit_norm, each_row_is_divided_by_eps_plus_its_norm_up_or_down)
{
    rg_plugin_instance *pi = pt_load("unit_norm", R);
    int64_t shape[2] = {2, 2};
    float w[4] = {3.0f, 4.0f, 0.3f, 0.4f};
    pt_project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    /* row 0: norm 5, divided by 5 + 1e-7; row 1: norm 0.5 (of the floats 0.3f, 0.4f),
     * divided by 0.5 + 1e-7: scaled up */
    double n1 = hypot((double)0.3f, (double)0.4f);
    const double want[4] = {3.0 / (5.0 + 1e-7), 4.0 / (5.0 + 1e-7), 0.3f / (n1 + 1e-7),
                            0.4f / (n1 + 1e-7)};
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(w[i], (float)want[i], 1e-7, "w[%d] = %.9g, want %.9g", i,
                           (double)w[i], want[i]);
    cr_assert_float_eq(hypot(w[0], w[1]), 1.0, 1e-6);
    cr_assert_float_eq(hypot(w[2], w[3]), 1.0, 1e-6);
    rg_plugin_instance_destroy(pi);
}

Test(unit_norm, a_zero_unit_stays_zero)
{
    rg_plugin_instance *pi = pt_load("unit_norm", R);
    int64_t shape[2] = {2, 3};
    float w[6] = {0.0f, 0.0f, 0.0f, 1.0f, 2.0f, 2.0f};
    pt_project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    cr_assert(w[0] == 0.0f && w[1] == 0.0f && w[2] == 0.0f);
    cr_assert_float_eq(w[4], (float)(2.0 / (3.0 + 1e-7)), 1e-7);
    rg_plugin_instance_destroy(pi);
}

Test(unit_norm, conv_filters_are_the_units)
{
    rg_plugin_instance *pi = pt_load("unit_norm", R);
    int64_t shape[4] = {2, 1, 2, 2};
    /* filter 0: norm 2; filter 1: norm sqrt(0.3) */
    float w[8] = {1.0f, -1.0f, 1.0f, 1.0f, 0.1f, 0.2f, 0.3f, 0.4f};
    float w0[8];
    memcpy(w0, w, sizeof w);
    pt_project(pi, w, 4, shape, RG_TENSOR_WEIGHT);
    for (int i = 0; i < 8; i++) {
        double sq = 0.0;
        for (int k = i < 4 ? 0 : 4; k < (i < 4 ? 4 : 8); k++)
            sq += (double)w0[k] * w0[k];
        double d = 1e-7 + sqrt(sq); /* 2 and about sqrt(0.3) */
        double want = (double)w0[i] / d;
        cr_assert_float_eq(w[i], (float)want, 2e-7, "w[%d] = %.9g, want %.9g", i, (double)w[i],
                           want);
    }
    rg_plugin_instance_destroy(pi);
}

Test(unit_norm, a_bias_is_one_unit)
{
    rg_plugin_instance *pi = pt_load("unit_norm", R);
    int64_t shape[1] = {3};
    float b[3] = {3.0f, 4.0f, 0.0f};
    pt_project(pi, b, 1, shape, RG_TENSOR_BIAS);
    cr_assert_float_eq(b[0], (float)(3.0 / (5.0 + 1e-7)), 1e-7);
    cr_assert_float_eq(b[1], (float)(4.0 / (5.0 + 1e-7)), 1e-7);
    cr_assert_eq(b[2], 0.0f);
    rg_plugin_instance_destroy(pi);
}

/* rows of norms from about 0.03 to 16: every one ends at ||w|| / (1e-7 + ||w||), i.e.
 * 1 within 1e-7 / 0.03, and each element at w / (1e-7 + ||w||) */
Test(unit_norm, after_projection_every_unit_has_norm_one)
{
    rg_plugin_instance *pi = pt_load("unit_norm", R);
    int64_t rows = 50, cols = 300, n = rows * cols, shape[2] = {50, 300};
    float *w = pt_floats(n), *before = pt_floats(n);
    pt_fill(w, n, 3, -1.0f, 1.0f);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < cols; i++)
            w[r * cols + i] *= 0.002f * (float)((r + 1) * (r + 1));
    memcpy(before, w, (size_t)n * sizeof(float));
    pt_project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    for (int64_t r = 0; r < rows; r++) {
        double nb = pt_unit_norm(before, r, cols), na = pt_unit_norm(w, r, cols);
        cr_assert_float_eq(na, nb / (1e-7 + nb), 1e-7, "row %lld: norm %.9g -> %.9g",
                           (long long)r, nb, na);
        cr_assert_float_eq(na, 1.0, 1e-5, "row %lld: norm %.9g", (long long)r, na);
        for (int64_t i = 0; i < cols; i++) {
            double want = (double)before[r * cols + i] / (1e-7 + nb);
            cr_assert(fabs(w[r * cols + i] - want) <= 6e-8 * fabs(want) + 1e-30,
                      "row %lld element %lld: %.9g, want %.9g", (long long)r, (long long)i,
                      (double)w[r * cols + i], want);
        }
    }
    cr_assert_lt(pt_unit_norm(before, 0, cols), 0.1);
    cr_assert_gt(pt_unit_norm(before, rows - 1, cols), 2.0);
    rg_free(w);
    rg_free(before);
    rg_plugin_instance_destroy(pi);
}

Test(unit_norm, result_is_bit_identical_at_one_and_two_threads)
{
    rg_plugin_instance *pi = pt_load("unit_norm", R);
    int64_t n = 64 * 784, shape[2] = {64, 784};
    float *a = pt_floats(n), *b = pt_floats(n);
    pt_fill(a, n, 4, -0.1f, 0.1f);
    memcpy(b, a, (size_t)n * sizeof(float));
    rg_threads_init(1);
    pt_project(pi, a, 2, shape, RG_TENSOR_WEIGHT);
    rg_threads_init(2);
    pt_project(pi, b, 2, shape, RG_TENSOR_WEIGHT);
    cr_assert(memcmp(a, b, (size_t)n * sizeof(float)) == 0);
    rg_free(a);
    rg_free(b);
    rg_plugin_instance_destroy(pi);
}

Test(unit_norm, is_a_constraint_without_parameters_or_loss_term)
{
    rg_plugin_instance *pi = pt_load("unit_norm", R);
    cr_assert_null(pi->plugin->reg.penalty);
    cr_assert_eq(pi->plugin->num_params, 0);
    cr_assert_eq(pi->plugin->desc.caps, RG_CAP_DETERMINISTIC);
    cr_assert_str_eq(pi->plugin->desc.version, "1.0.0");
    rg_plugin_instance_destroy(pi);
}

Test(unit_norm, a_parameter_is_refused_with_the_host_message)
{
    cr_assert_str_eq(pt_load_fails("unit_norm:max_value=1", R),
                     "unit_norm: unknown parameter 'max_value' (known: layers, tensors, after)");
}

/* ---- training ---- */

/* smallest and largest unit norm over the model's weight tensors */
static void norm_range(const rg_model *m, double *lo, double *hi)
{
    *lo = 1e300;
    *hi = 0.0;
    for (int i = 0; i < m->num_params; i++) {
        const rg_param *p = m->params[i];
        if (p->kind != RG_TENSOR_WEIGHT)
            continue;
        int64_t len = p->numel / p->shape[0];
        for (int64_t u = 0; u < p->shape[0]; u++) {
            double n = pt_unit_norm(p->value, u, len);
            *lo = n < *lo ? n : *lo;
            *hi = n > *hi ? n : *hi;
        }
    }
}

Test(unit_norm_train, every_unit_has_norm_one_through_training)
{
    pt_run plain, reg;
    pt_start(&plain, "mlp:64", 24, 3000, NULL);
    pt_start(&reg, "mlp:64", 24, 3000, "unit_norm");
    pt_train(&plain, 2);
    pt_train(&reg, 2);
    double plo, phi, lo, hi;
    norm_range(plain.model, &plo, &phi);
    norm_range(reg.model, &lo, &hi);
    rg_eval te;
    cr_assert_eq(rg_trainer_evaluate(reg.trainer, pt_test_set, &te), RG_OK);
    cr_log_info("unit_norm: unit norms in [%.9f, %.9f] ([%.4f, %.4f] without), test acc %.4f",
                lo, hi, plo, phi, te.accuracy);
    cr_assert(fabs(plo - 1.0) > 0.05 || fabs(phi - 1.0) > 0.05,
              "without the constraint the norms are already 1: the test proves nothing");
    cr_assert_float_eq(lo, 1.0, 1e-5, "smallest unit norm %.9g", lo);
    cr_assert_float_eq(hi, 1.0, 1e-5, "largest unit norm %.9g", hi);
    cr_assert_gt(te.accuracy, 0.5, "test accuracy %.4f", te.accuracy);
    pt_finish(&plain);
    pt_finish(&reg);
}

Test(unit_norm_train, eval_metrics_do_not_include_the_regularizer)
{
    pt_eval_ignores_the_regularizer("mlp:64", 11, 3000, "unit_norm", 1, 0.4);
}
