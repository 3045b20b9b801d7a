/* The min_max_norm plugin against tf.keras.constraints.MinMaxNorm(min_value,
 * max_value, rate, axis=0) on a Keras Dense kernel (keras/constraints.py): with
 * n = ||w_u||, desired = rate * clip(n, min, max) + (1 - rate) * n and
 * w_u <- w_u * desired / (1e-7 + n), except that a unit with n inside [min, max] is
 * left exactly as it is (see the plugin's header comment). Expected values are
 * worked from that formula here, never by the plugin. */
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

TestSuite(min_max_norm, .init = two_threads);
TestSuite(min_max_norm_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

/* Keras's factor desired / (eps + n) for a unit of norm n */
static double keras_factor(double n, double lo, double hi, double rate)
{
    double clipped = n < lo ? lo : n > hi ? hi : n;
    return (rate * clipped + (1.0 - rate) * n) / (1e-7 + n);
}

/* project a [units, len] tensor and compare every element with the Keras formula
 * (units inside [lo, hi] bit-identical instead) */
static void check_against_keras(const char *spec, float *w, int64_t units, int64_t len,
                                double lo, double hi, double rate)
{
    rg_plugin_instance *pi = pt_load(spec, R);
    int64_t n = units * len, shape[2] = {units, len};
    float *before = pt_floats(n);
    memcpy(before, w, (size_t)n * sizeof(float));
    pt_project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    for (int64_t u = 0; u < units; u++) {
        double nb = pt_unit_norm(before, u, len);
        int inside = nb >= lo && nb <= hi;
        for (int64_t i = 0; i < len; i++) {
            float got = w[u * len + i], was = before[u * len + i];
            if (inside) {
                cr_assert(memcmp(&got, &was, sizeof got) == 0,
                          "%s: unit %lld of norm %.9g inside [%g, %g] changed at %lld: %.9g -> "
                          "%.9g", spec, (long long)u, nb, lo, hi, (long long)i, (double)was,
                          (double)got);
                continue;
            }
            double want = (double)was * keras_factor(nb, lo, hi, rate);
            cr_assert(fabs(got - want) <= 6e-8 * fabs(want) + 1e-30,
                      "%s: unit %lld (norm %.9g) element %lld: %.9g, want %.9g", spec,
                      (long long)u, nb, (long long)i, (double)got, want);
        }
    }
    rg_free(before);
    rg_plugin_instance_destroy(pi);
}

Test(min_max_norm, defaults_rescale_a_unit_over_1_and_leave_the_others)
{
    /* defaults min 0, max 1, rate 1: row 0 (norm 5) times 1 / (5 + 1e-7); row 1 (norm 0.5)
     * and row 2 (norm 0) as they are */
    float w[6] = {3.0f, 4.0f, 0.3f, 0.4f, 0.0f, 0.0f};
    check_against_keras("min_max_norm", w, 3, 2, 0.0, 1.0, 1.0);
    cr_assert_float_eq(w[0], (float)(3.0 / (5.0 + 1e-7)), 1e-7);
    cr_assert_float_eq(hypot(w[0], w[1]), 1.0, 1e-6);
    cr_assert(w[2] == 0.3f && w[3] == 0.4f && w[4] == 0.0f && w[5] == 0.0f);
}

Test(min_max_norm, a_unit_under_min_value_is_scaled_up_to_it)
{
    float w[4] = {0.3f, 0.4f, 1.5f, 2.0f}; /* norms 0.5 and 2.5 */
    check_against_keras("min_max_norm:min_value=1,max_value=3", w, 2, 2, 1.0, 3.0, 1.0);
    double n0 = hypot((double)0.3f, (double)0.4f);
    cr_assert_float_eq(w[0], (float)(0.3f * 1.0 / (1e-7 + n0)), 1e-7, "%.9g", (double)w[0]);
    cr_assert_float_eq(hypot(w[0], w[1]), 1.0, 1e-6);
    cr_assert(w[2] == 1.5f && w[3] == 2.0f);
}

Test(min_max_norm, rate_one_half_moves_the_norm_half_way)
{
    /* max 1, rate 0.5: norm 5 -> desired 0.5 * 1 + 0.5 * 5 = 3; norm 0.1 with min 0.5 ->
     * desired 0.5 * 0.5 + 0.5 * 0.1 = 0.3 */
    float w[4] = {3.0f, 4.0f, 0.06f, 0.08f};
    check_against_keras("min_max_norm:min_value=0.5,max_value=1,rate=0.5", w, 2, 2, 0.5, 1.0,
                        0.5);
    cr_assert_float_eq(hypot(w[0], w[1]), 3.0, 1e-6);
    cr_assert_float_eq(hypot(w[2], w[3]), 0.3, 1e-6);
}

Test(min_max_norm, rate_zero_leaves_every_unit_as_it_is)
{
    rg_plugin_instance *pi = pt_load("min_max_norm:min_value=1,max_value=2,rate=0", R);
    int64_t shape[2] = {3, 2};
    float w[6] = {3.0f, 4.0f, 0.3f, 0.4f, 1.0f, 1.0f}, w0[6];
    memcpy(w0, w, sizeof w);
    pt_project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    /* desired = n: Keras's factor n / (1e-7 + n), within 1e-7 / 0.5 of 1, plus a rounding */
    for (int i = 0; i < 6; i++)
        cr_assert(fabs(w[i] - w0[i]) <= 4e-7 * fabs(w0[i]) + 1e-30, "w[%d] %.9g -> %.9g", i,
                  (double)w0[i], (double)w[i]);
    rg_plugin_instance_destroy(pi);
}

Test(min_max_norm, units_inside_the_interval_are_left_bit_identical_at_any_rate)
{
    const char *specs[] = {"min_max_norm:min_value=0.4,max_value=5",
                           "min_max_norm:min_value=0.4,max_value=5,rate=0.3"};
    for (int k = 0; k < 2; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], R);
        int64_t shape[2] = {3, 2};
        /* norms 0.5, 5 (the upper bound itself) and 0.4f = 0.4000000060 (just above the
         * lower bound) */
        float w[6] = {0.3f, 0.4f, 3.0f, 4.0f, 0.4f, 0.0f}, w0[6];
        memcpy(w0, w, sizeof w);
        pt_project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
        cr_assert(memcmp(w, w0, sizeof w) == 0, "%s changed a unit inside", specs[k]);
        rg_plugin_instance_destroy(pi);
    }
}

Test(min_max_norm, a_zero_unit_stays_zero_under_a_positive_min_value)
{
    rg_plugin_instance *pi = pt_load("min_max_norm:min_value=1,max_value=2", R);
    int64_t shape[2] = {1, 3};
    float w[3] = {0.0f, 0.0f, 0.0f};
    pt_project(pi, w, 2, shape, RG_TENSOR_WEIGHT);
    cr_assert(w[0] == 0.0f && w[1] == 0.0f && w[2] == 0.0f);
    rg_plugin_instance_destroy(pi);
}

Test(min_max_norm, conv_filters_and_a_bias_are_units)
{
    rg_plugin_instance *pi = pt_load("min_max_norm:min_value=0.5,max_value=1", R);
    int64_t shape4[4] = {3, 1, 2, 2}, shape1[1] = {3};
    /* filter 0: norm 2 -> 1; filter 1: norm sqrt(0.3) inside; filter 2: norm 0.2 -> 0.5 */
    float w[12] = {1.0f, -1.0f, 1.0f, 1.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.1f, 0.1f, -0.1f, 0.1f};
    float w0[12], b[3] = {3.0f, 4.0f, 0.0f};
    memcpy(w0, w, sizeof w);
    pt_project(pi, w, 4, shape4, RG_TENSOR_WEIGHT);
    pt_project(pi, b, 1, shape1, RG_TENSOR_BIAS);
    for (int f = 0; f < 3; f++) {
        double n = pt_unit_norm(w0, f, 4);
        for (int i = 4 * f; i < 4 * f + 4; i++) {
            double want = f == 1 ? w0[i] : w0[i] * keras_factor(n, 0.5, 1.0, 1.0);
            cr_assert_float_eq(w[i], (float)want, 1e-7, "w[%d] = %.9g, want %.9g", i,
                               (double)w[i], want);
        }
    }
    cr_assert(memcmp(w + 4, w0 + 4, 4 * sizeof(float)) == 0);
    cr_assert_float_eq(pt_unit_norm(w, 2, 4), 0.5, 1e-6);
    /* the bias: norm 5 -> 1 */
    cr_assert_float_eq(b[0], (float)(3.0 / (5.0 + 1e-7)), 1e-7);
    cr_assert_float_eq(b[1], (float)(4.0 / (5.0 + 1e-7)), 1e-7);
    cr_assert_eq(b[2], 0.0f);
    rg_plugin_instance_destroy(pi);
}

/* rows of norms from about 0.03 to 16 with [0.5, 2]: every norm ends inside, within
 * Keras's eps under a bound, and each element is the formula's */
Test(min_max_norm, after_projection_every_unit_norm_is_inside_the_interval)
{
    int64_t rows = 50, cols = 300, n = rows * cols;
    float *w = pt_floats(n);
    pt_fill(w, n, 3, -1.0f, 1.0f);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < cols; i++)
            w[r * cols + i] *= 0.002f * (float)((r + 1) * (r + 1));
    int under = 0, inside = 0, over = 0;
    double nb[50];
    for (int64_t r = 0; r < rows; r++) {
        nb[r] = pt_unit_norm(w, r, cols);
        under += nb[r] < 0.5;
        inside += nb[r] >= 0.5 && nb[r] <= 2.0;
        over += nb[r] > 2.0;
    }
    cr_assert(under > 0 && inside > 0 && over > 0, "%d under, %d inside, %d over", under, inside,
              over);
    check_against_keras("min_max_norm:min_value=0.5,max_value=2", w, rows, cols, 0.5, 2.0, 1.0);
    for (int64_t r = 0; r < rows; r++) {
        double na = pt_unit_norm(w, r, cols);
        /* Keras's eps leaves a unit raised to 0.5 short of it by 0.5 * 1e-7 / ||w|| */
        double floor = 0.5 * nb[r] / (1e-7 + nb[r]) * (1.0 - 1e-7);
        cr_assert(na >= floor && na <= 2.0 * (1.0 + 1e-7), "row %lld: norm %.9g -> %.9g",
                  (long long)r, nb[r], na);
    }
    rg_free(w);
}

Test(min_max_norm, result_is_bit_identical_at_one_and_two_threads)
{
    rg_plugin_instance *pi = pt_load("min_max_norm:min_value=0.3,max_value=0.6,rate=0.7", R);
    int64_t n = 64 * 784, shape[2] = {64, 784};
    float *a = pt_floats(n), *b = pt_floats(n);
    pt_fill(a, n, 4, -0.03f, 0.03f);
    for (int64_t r = 0; r < 64; r++) /* norms about 0.05 to 3 */
        for (int64_t i = 0; i < 784; i++)
            a[r * 784 + i] *= 0.1f * (float)(r + 1);
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

Test(min_max_norm, is_a_constraint_not_a_loss_term)
{
    rg_plugin_instance *pi = pt_load("min_max_norm", R);
    cr_assert_null(pi->plugin->reg.penalty);
    cr_assert_eq(pi->plugin->desc.caps, RG_CAP_DETERMINISTIC);
    cr_assert_str_eq(pi->plugin->desc.version, "1.0.0");
    rg_plugin_instance_destroy(pi);
}

/* create() refuses; the host reports it as a failed create() with the plugin's message */
static const char *create_fails(const char *params)
{
    char path[512];
    snprintf(path, sizeof path, "%s/min_max_norm.so:%s", REGULA_TEST_PLUGINS, params);
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(path, R, NULL, &pi), RG_ERR_PLUGIN,
                 "%s was not refused by create()", params);
    return rg_error_message();
}

Test(min_max_norm, min_value_above_max_value_is_refused_with_a_message)
{
    cr_assert_str_eq(create_fails("min_value=0.5,max_value=0.25"),
                     "plugin min_max_norm: create() failed: min_max_norm: min_value=0.5 is "
                     "greater than max_value=0.25");
    cr_assert_str_eq(create_fails("max_value=0.9,min_value=1"),
                     "plugin min_max_norm: create() failed: min_max_norm: min_value=1 is "
                     "greater than max_value=0.9");
    /* equal bounds: a fixed norm */
    float w[4] = {3.0f, 4.0f, 0.3f, 0.4f};
    check_against_keras("min_max_norm:min_value=0.75,max_value=0.75", w, 2, 2, 0.75, 0.75, 1.0);
    cr_assert_float_eq(hypot(w[0], w[1]), 0.75, 1e-6);
    cr_assert_float_eq(hypot(w[2], w[3]), 0.75, 1e-6);
}

Test(min_max_norm, out_of_range_parameters_are_refused_by_the_host)
{
    cr_assert_str_eq(pt_load_fails("min_max_norm:max_value=0", R),
                     "min_max_norm: parameter max_value=0 is out of range (0, 1e+06]");
    cr_assert_str_eq(pt_load_fails("min_max_norm:min_value=-1", R),
                     "min_max_norm: parameter min_value=-1 is out of range [0, 1]");
    /* [0, 1], so that every declared min_value works beside the default max_value=1 */
    cr_assert_str_eq(pt_load_fails("min_max_norm:min_value=2,max_value=3", R),
                     "min_max_norm: parameter min_value=2 is out of range [0, 1]");
    cr_assert_str_eq(pt_load_fails("min_max_norm:rate=1.5", R),
                     "min_max_norm: parameter rate=1.5 is out of range [0, 1]");
    cr_assert_str_eq(pt_load_fails("min_max_norm:rate=-0.1", R),
                     "min_max_norm: parameter rate=-0.1 is out of range [0, 1]");
}

/* ---- training ---- */

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

/* Without the constraint mlp:8's unit norms spread over about [0.65, 2.15] after 2 epochs
 * (measured, seed 24): [1, 1.3] binds from both sides. */
Test(min_max_norm_train, every_unit_norm_stays_inside_the_interval_through_training)
{
    pt_run plain, reg;
    pt_start(&plain, "mlp:8", 24, 3000, NULL);
    pt_start(&reg, "mlp:8", 24, 3000, "min_max_norm:min_value=1,max_value=1.3");
    pt_train(&plain, 2);
    pt_train(&reg, 2);
    double plo, phi, lo, hi;
    norm_range(plain.model, &plo, &phi);
    norm_range(reg.model, &lo, &hi);
    rg_eval te;
    cr_assert_eq(rg_trainer_evaluate(reg.trainer, pt_test_set, &te), RG_OK);
    cr_log_info("min_max_norm [1, 1.3]: unit norms in [%.9f, %.9f] ([%.4f, %.4f] without), "
                "test acc %.4f", lo, hi, plo, phi, te.accuracy);
    cr_assert(plo < 1.0 && phi > 1.3, "without the constraint the norms span [%.4f, %.4f]: "
              "the interval must bind on both sides for the test to mean anything", plo, phi);
    cr_assert_geq(lo, 1.0 - 1e-5, "a unit has norm %.9g", lo);
    cr_assert_leq(hi, 1.3 + 1e-5, "a unit has norm %.9g", hi);
    cr_assert_gt(te.accuracy, 0.5, "test accuracy %.4f", te.accuracy);
    pt_finish(&plain);
    pt_finish(&reg);
}

Test(min_max_norm_train, eval_metrics_do_not_include_the_regularizer)
{
    pt_eval_ignores_the_regularizer("mlp:64", 11, 3000, "min_max_norm:min_value=0.5,max_value=1",
                                    1, 0.4);
}
