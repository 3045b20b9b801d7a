/* The orthogonal plugin against tf.keras.regularizers.OrthogonalRegularizer
 * (keras/regularizers.py, Keras 2.13): with the L2-normalized rows (mode
 * "rows") or columns (mode "columns") n_1..n_S of the Keras kernel,
 *     penalty = factor * 0.5 * sum_{a != b} |n_a . n_b| / (S (S - 1) / 2).
 * Keras's Dense kernel is (input_dim, units), the transpose of regula's
 * [units, input_dim], so Keras rows are regula's columns and Keras columns
 * regula's rows. Expected values are worked by hand from that formula; the
 * gradient (derived in the plugin) is checked against central differences. */
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

TestSuite(orthogonal, .init = two_threads);
TestSuite(orthogonal_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

/* regula rows (1, 0), (1, 1), (0, 2): a dense weight with 3 units, 2 inputs */
static const float W3x2[6] = {1.0f, 0.0f, 1.0f, 1.0f, 0.0f, 2.0f};
static const int64_t SHAPE_3x2[2] = {3, 2};

Test(orthogonal, keras_columns_mode_uses_regula_rows_worked_by_hand)
{
    rg_plugin_instance *pi = pt_load("orthogonal:factor=1,mode=columns", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W3x2, sizeof w);
    /* Keras kernel = W^T (2, 3); its columns are W's rows, normalized:
     * (1, 0), (1, 1)/sqrt2, (0, 1); |cos| 1/sqrt2, 0, 1/sqrt2.
     * 0.5 * (2 * 2/sqrt2) / (3 * 2 / 2) = sqrt2 / 3 */
    double p = pt_penalty(pi, w, g, 2, SHAPE_3x2, RG_TENSOR_WEIGHT);
    cr_assert_float_eq(p, sqrt(2.0) / 3.0, 1e-7, "penalty %.9g", p);
    rg_plugin_instance_destroy(pi);
}

Test(orthogonal, keras_columns_mode_gradient_worked_by_hand)
{
    rg_plugin_instance *pi = pt_load("orthogonal:factor=1,mode=columns", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W3x2, sizeof w);
    pt_penalty(pi, w, g, 2, SHAPE_3x2, RG_TENSOR_WEIGHT);
    /* penalty = (1/3) (cos01 + |cos02| + cos12). Row 0 = (1, e): cos01 =
     * (1 + e)/sqrt(2(1 + e^2)), cos02 = e (a kink: subgradient 0), so
     * d/dw01 = 1/(3 sqrt2); scaling row 0 changes nothing: d/dw00 = 0.
     * Row 1 sits where its two cosines balance: 0. Row 2 = (d, 2):
     * cos12 = (d + 2)/(sqrt2 sqrt(d^2 + 4)), d/dd = 1/(2 sqrt2), so
     * d/dw20 = 1/(6 sqrt2); d/dw21 = 0. */
    const double want[6] = {0.0, 1.0 / (3.0 * sqrt(2.0)), 0.0, 0.0, 1.0 / (6.0 * sqrt(2.0)), 0.0};
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(g[i], want[i], 1e-6, "g[%d] = %.9g, want %.9g", i, (double)g[i],
                           want[i]);
    rg_plugin_instance_destroy(pi);
}

Test(orthogonal, keras_rows_mode_uses_regula_columns_worked_by_hand)
{
    rg_plugin_instance *pi = pt_load("orthogonal:factor=1,mode=rows", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W3x2, sizeof w);
    /* Keras kernel rows = W's columns (1, 1, 0) and (0, 1, 2): cos =
     * 1/(sqrt2 sqrt5) = 1/sqrt10; one pair: 0.5 * 2/sqrt10 / 1 = 1/sqrt10 */
    double p = pt_penalty(pi, w, g, 2, SHAPE_3x2, RG_TENSOR_WEIGHT);
    cr_assert_float_eq(p, 1.0 / sqrt(10.0), 1e-7, "penalty %.9g", p);
    /* d/dW[u][0] of (c0 . c1)/(|c0| |c1|) = (n1 - n0 cos)/|c0|:
     * ((0, 1, 2)/sqrt5 - (1, 1, 0)/sqrt20) / sqrt2 */
    double s5 = sqrt(5.0), s20 = sqrt(20.0), s2 = sqrt(2.0);
    const double want0[3] = {(0.0 - 1.0 / s20) / s2, (1.0 / s5 - 1.0 / s20) / s2,
                             (2.0 / s5) / s2};
    for (int u = 0; u < 3; u++)
        cr_assert_float_eq(g[u * 2], want0[u], 1e-6, "g[%d][0] = %.9g, want %.9g", u,
                           (double)g[u * 2], want0[u]);
    rg_plugin_instance_destroy(pi);
}

Test(orthogonal, default_mode_is_keras_rows_and_factor_scales_linearly)
{
    rg_plugin_instance *pi = pt_load("orthogonal", RG_PLUGIN_REGULARIZER);
    float w[6], g[6];
    memcpy(w, W3x2, sizeof w);
    /* Keras defaults: factor 0.01, mode "rows" */
    double p = pt_penalty(pi, w, g, 2, SHAPE_3x2, RG_TENSOR_WEIGHT);
    cr_assert_float_eq(p, 0.01 / sqrt(10.0), 1e-9, "penalty %.9g", p);
    rg_plugin_instance_destroy(pi);
}

Test(orthogonal, conv_weight_is_filters_by_fan_in)
{
    /* [2, 1, 1, 2] = the matrix [[3, 0], [4, 5]] (rows = filters) */
    int64_t shape[4] = {2, 1, 1, 2};
    float w[4] = {3.0f, 0.0f, 4.0f, 5.0f}, g[4];
    rg_plugin_instance *cols = pt_load("orthogonal:factor=1,mode=columns", RG_PLUGIN_REGULARIZER);
    rg_plugin_instance *rows = pt_load("orthogonal:factor=1,mode=rows", RG_PLUGIN_REGULARIZER);
    /* filters (3, 0), (4, 5): cos = 12 / (3 sqrt41); one pair */
    cr_assert_float_eq(pt_penalty(cols, w, g, 4, shape, RG_TENSOR_WEIGHT), 4.0 / sqrt(41.0), 1e-7);
    /* fan-in positions (3, 4), (0, 5): cos = 20 / 25 */
    cr_assert_float_eq(pt_penalty(rows, w, g, 4, shape, RG_TENSOR_WEIGHT), 0.8, 1e-7);
    rg_plugin_instance_destroy(cols);
    rg_plugin_instance_destroy(rows);
}

Test(orthogonal, fewer_than_two_vectors_add_nothing)
{
    rg_plugin_instance *cols = pt_load("orthogonal:factor=1,mode=columns", RG_PLUGIN_REGULARIZER);
    rg_plugin_instance *rows = pt_load("orthogonal:factor=1,mode=rows", RG_PLUGIN_REGULARIZER);
    float w[5] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f}, g[5];
    int64_t one_unit[2] = {1, 5}, one_input[2] = {5, 1};
    cr_assert_eq(pt_penalty(cols, w, g, 2, one_unit, RG_TENSOR_WEIGHT), 0.0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(g[i], 0.0f);
    cr_assert_eq(pt_penalty(rows, w, g, 2, one_input, RG_TENSOR_WEIGHT), 0.0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(g[i], 0.0f);
    rg_plugin_instance_destroy(cols);
    rg_plugin_instance_destroy(rows);
}

Test(orthogonal, a_one_dimensional_tensor_is_one_vector_and_adds_nothing)
{
    /* a bias is one vector in either mode: no pair to make orthogonal */
    rg_plugin_instance *cols = pt_load("orthogonal:factor=1,mode=columns", RG_PLUGIN_REGULARIZER);
    rg_plugin_instance *rows = pt_load("orthogonal:factor=1,mode=rows", RG_PLUGIN_REGULARIZER);
    float b[3] = {1.0f, 2.0f, 3.0f}, g[3];
    int64_t shape[1] = {3};
    cr_assert_eq(pt_penalty(cols, b, g, 1, shape, RG_TENSOR_BIAS), 0.0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(g[i], 0.0f);
    cr_assert_eq(pt_penalty(rows, b, g, 1, shape, RG_TENSOR_BIAS), 0.0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(g[i], 0.0f);
    rg_plugin_instance_destroy(cols);
    rg_plugin_instance_destroy(rows);
}

/* S vectors of length L with |cosines| well away from 0 (a shared direction
 * with per-vector signs, plus noise), so a finite-difference step never
 * crosses a kink of |n_a . n_b|; laid out as regula rows (columns=1) or
 * columns. Returns the smallest |cosine|. */
static double kink_free(float *w, int64_t S, int64_t L, int columns, uint64_t seed)
{
    float *u = malloc((size_t)L * sizeof *u), *noise = malloc((size_t)(S * L) * sizeof *noise);
    pt_fill(u, L, seed, -1.0f, 1.0f);
    pt_fill(noise, S * L, seed + 1, -0.8f, 0.8f);
    for (int64_t i = 0; i < L; i++)
        u[i] = u[i] < 0.0f ? u[i] - 0.5f : u[i] + 0.5f;
    for (int64_t a = 0; a < S; a++) {
        float s = a % 3 == 0 ? -1.0f : 1.0f;
        for (int64_t i = 0; i < L; i++) {
            float x = s * (u[i] + noise[a * L + i]);
            if (columns)
                w[a * L + i] = x;
            else
                w[i * S + a] = x;
        }
    }
    double least = 1.0;
    for (int64_t a = 0; a < S; a++)
        for (int64_t b = a + 1; b < S; b++) {
            double d = 0, na = 0, nb = 0;
            for (int64_t i = 0; i < L; i++) {
                double x = columns ? w[a * L + i] : w[i * S + a];
                double y = columns ? w[b * L + i] : w[i * S + b];
                d += x * y;
                na += x * x;
                nb += y * y;
            }
            double c = fabs(d) / sqrt(na * nb);
            least = c < least ? c : least;
        }
    free(u);
    free(noise);
    return least;
}

static void gradient_check(const char *spec, int64_t S, int64_t L, int columns, double h,
                           double atol)
{
    rg_plugin_instance *pi = pt_load(spec, RG_PLUGIN_REGULARIZER);
    int64_t shape[2] = {columns ? S : L, columns ? L : S};
    float *w = rg_alloc_floats((size_t)(S * L));
    double least = kink_free(w, S, L, columns, 40 + (uint64_t)S);
    cr_assert_gt(least, 0.05, "the test matrix has a cosine of %g, too near a kink", least);
    pt_check_penalty_gradient(pi, w, 2, shape, h, 1e-2, atol, 0.0f);
    rg_free(w);
    rg_plugin_instance_destroy(pi);
}

Test(orthogonal, gradient_matches_central_differences_columns_small)
{
    gradient_check("orthogonal:factor=1,mode=columns", 5, 4, 1, 1e-3, 1e-5);
}

Test(orthogonal, gradient_matches_central_differences_rows_small)
{
    gradient_check("orthogonal:factor=1,mode=rows", 5, 4, 0, 1e-3, 1e-5);
}

/* larger: several parallel chunks of rows */
Test(orthogonal, gradient_matches_central_differences_columns_large)
{
    gradient_check("orthogonal:factor=10,mode=columns", 40, 60, 1, 1e-2, 1e-5);
}

Test(orthogonal, gradient_matches_central_differences_rows_large)
{
    gradient_check("orthogonal:factor=10,mode=rows", 40, 60, 0, 1e-2, 1e-5);
}

static void same_bits_at_one_and_two_threads(const char *spec)
{
    rg_plugin_instance *pi = pt_load(spec, RG_PLUGIN_REGULARIZER);
    int64_t n = 64 * 784, shape[2] = {64, 784};
    float *w = rg_alloc_floats((size_t)n), *g1 = rg_alloc_floats((size_t)n);
    float *g2 = rg_alloc_floats((size_t)n);
    pt_fill(w, n, 8, -0.1f, 0.1f);
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

Test(orthogonal, penalty_and_gradient_are_bit_identical_at_one_and_two_threads_columns)
{
    same_bits_at_one_and_two_threads("orthogonal:factor=1,mode=columns");
}

Test(orthogonal, penalty_and_gradient_are_bit_identical_at_one_and_two_threads_rows)
{
    same_bits_at_one_and_two_threads("orthogonal:factor=1,mode=rows");
}

Test(orthogonal, out_of_range_parameters_are_refused_by_the_host)
{
    cr_assert_str_eq(pt_load_fails("orthogonal:factor=2000", RG_PLUGIN_REGULARIZER),
                     "orthogonal: parameter factor=2000 is out of range [0, 1000]");
    cr_assert_str_eq(pt_load_fails("orthogonal:factor=-0.5", RG_PLUGIN_REGULARIZER),
                     "orthogonal: parameter factor=-0.5 is out of range [0, 1000]");
    cr_assert_str_eq(pt_load_fails("orthogonal:mode=diagonal", RG_PLUGIN_REGULARIZER),
                     "orthogonal: parameter mode=diagonal: expected one of rows, columns");
}

Test(orthogonal, declares_determinism_and_a_nonnegative_penalty)
{
    rg_plugin_instance *pi = pt_load("orthogonal", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->desc.caps, RG_CAP_DETERMINISTIC | RG_CAP_PENALTY_NONNEG);
    cr_assert_str_eq(pi->plugin->desc.version, "1.0.0");
    rg_plugin_instance_destroy(pi);
}

/* ---- training ---- */

/* The Keras penalty of every weight tensor of m, computed here from the
 * formula in double (vectors: regula rows if columns, else regula columns). */
static double keras_orthogonal_of(const rg_model *m, double factor, int columns)
{
    double total = 0.0;
    for (int t = 0; t < m->num_params; t++) {
        const rg_param *p = m->params[t];
        if (p->kind != RG_TENSOR_WEIGHT)
            continue;
        int64_t U = p->shape[0], K = p->numel / U;
        int64_t S = columns ? U : K, L = columns ? K : U;
        double *n = malloc((size_t)(S * L) * sizeof *n);
        for (int64_t a = 0; a < S; a++) {
            double sq = 0.0;
            for (int64_t i = 0; i < L; i++) {
                double x = columns ? p->value[a * K + i] : p->value[i * K + a];
                n[a * L + i] = x;
                sq += x * x;
            }
            double d = sqrt(sq > 1e-12 ? sq : 1e-12);
            for (int64_t i = 0; i < L; i++)
                n[a * L + i] /= d;
        }
        double sum = 0.0;
        for (int64_t a = 0; a < S; a++)
            for (int64_t b = 0; b < S; b++) {
                if (a == b)
                    continue;
                double dot = 0.0;
                for (int64_t i = 0; i < L; i++)
                    dot += n[a * L + i] * n[b * L + i];
                sum += fabs(dot);
            }
        free(n);
        total += factor * 0.5 * sum / ((double)S * (double)(S - 1) / 2.0);
    }
    return total;
}

static void training_lowers_the_penalty(const char *spec, double factor, int columns)
{
    pt_run plain, reg;
    pt_start(&plain, "mlp:64", 25, 3000, NULL);
    pt_start(&reg, "mlp:64", 25, 3000, spec);
    pt_train(&plain, 2);
    pt_train(&reg, 2);
    double a = keras_orthogonal_of(plain.model, factor, columns);
    double b = keras_orthogonal_of(reg.model, factor, columns);
    cr_log_info("%s: penalty %.5f vs %.5f unregularized (x%.3f), val acc %.4f vs %.4f", spec, b,
                a, b / a, reg.last.val_accuracy, plain.last.val_accuracy);
    cr_assert_lt(b, 0.8 * a, "penalty %g with the regularizer, %g without", b, a);
    /* what the trainer reported is the same quantity */
    cr_assert_gt(reg.last.train_penalty, 0.0);
    pt_finish(&plain);
    pt_finish(&reg);
}

Test(orthogonal_train, training_lowers_the_penalty_keras_columns)
{
    training_lowers_the_penalty("orthogonal:factor=10,mode=columns", 10.0, 1);
}

Test(orthogonal_train, training_lowers_the_penalty_keras_rows)
{
    training_lowers_the_penalty("orthogonal:factor=10,mode=rows", 10.0, 0);
}

Test(orthogonal_train, eval_metrics_do_not_include_the_regularizer)
{
    eval_ignores_the_regularizer("orthogonal:factor=1,mode=columns");
}
