/* alpha_dropout: Klambauer et al. 2017 ("Self-Normalizing Neural Networks", section "New
 * Dropout Technique") as torch.nn.AlphaDropout(p). In training a dropped element becomes
 * alpha' = -1.7580993408473766 and every element then goes through a * x + b with
 * a = ((1 - p)(1 + p alpha'^2))^(-1/2), b = -a alpha' p; evaluation is the identity.
 * Expected values come from those formulas, worked here, and the mask from the documented
 * rng positions (element i kept when uniform i >= p), never from the plugin. */
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
#define ALPHA_PRIME (-1.7580993408473766) /* -lambda * alpha, SELU paper */

static void init_threads(void)
{
    rg_threads_init(2);
}

TestSuite(alpha_dropout, .init = init_threads);
TestSuite(alpha_dropout_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

/* the paper's affine map for dropout rate p */
static double coef_a(double p)
{
    return pow((1.0 - p) * (1.0 + p * ALPHA_PRIME * ALPHA_PRIME), -0.5);
}

static double coef_b(double p)
{
    return -coef_a(p) * ALPHA_PRIME * p;
}

/* the documented mask: element i kept when uniform i of the site's stream >= p */
static uint8_t *expected_mask(const pt_site *s, double p, int64_t n)
{
    float *u = pt_floats(n);
    uint8_t *m = malloc((size_t)n);
    cr_assert_not_null(m);
    rg_rng_uniform(&s->rng, 0, u, (size_t)n);
    for (int64_t i = 0; i < n; i++)
        m[i] = u[i] >= (float)p;
    rg_free(u);
    return m;
}

Test(alpha_dropout, the_published_constants_for_p_0_1_and_0_5)
{
    /* alpha' = -lambda * alpha with SELU's lambda = 1.0507009873554805 and
     * alpha = 1.6732632423543772; a and b worked by hand for p = 0.1 and 0.5 */
    cr_assert_float_eq(-1.0507009873554805 * 1.6732632423543772, ALPHA_PRIME, 1e-15);
    cr_assert_float_eq(coef_a(0.1), 1.0 / sqrt(0.9 * (1.0 + 0.1 * 3.0909132966)), 1e-9);
    cr_assert_float_eq(coef_a(0.5), 1.0 / sqrt(0.5 * (1.0 + 0.5 * 3.0909132966)), 1e-9);
    cr_assert_float_eq(coef_b(0.5), coef_a(0.5) * 1.7580993408 * 0.5, 1e-9);
}

Test(alpha_dropout, eval_mode_is_the_identity_bitwise)
{
    rg_plugin_instance *pi = pt_load("alpha_dropout:rate=0.5", R);
    int64_t n = 16, f = 300;
    float *x = pt_floats(n * f), *y = pt_floats(n * f);
    pt_fill(x, n * f, 1, -2.0f, 2.0f);
    memcpy(y, x, (size_t)(n * f) * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 7, n, f);
    pt_forward(&s, RG_MODE_EVAL, y, n, f);
    cr_assert(memcmp(x, y, (size_t)(n * f) * sizeof(float)) == 0);
    cr_assert_eq(s.penalty, 0.0);
    pt_site_free(&s);
    rg_free(x);
    rg_free(y);
    rg_plugin_instance_destroy(pi);
}

Test(alpha_dropout, kept_elements_are_a_x_plus_b_and_dropped_ones_a_alpha_prime_plus_b)
{
    const char *specs[] = {"alpha_dropout:rate=0.1", "alpha_dropout:rate=0.5",
                           "alpha_dropout:rate=0.8"};
    const double rates[] = {0.1, 0.5, 0.8};
    for (int c = 0; c < 3; c++) {
        rg_plugin_instance *pi = pt_load(specs[c], R);
        int64_t n = 32, f = 257, total = n * f;
        float *x = pt_floats(total), *y = pt_floats(total);
        pt_fill(x, total, 2, -3.0f, 3.0f);
        memcpy(y, x, (size_t)total * sizeof(float));
        pt_site s;
        pt_site_init(&s, pi, 3, n, f);
        uint8_t *m = expected_mask(&s, rates[c], total);
        pt_forward(&s, RG_MODE_TRAIN, y, n, f);
        double a = coef_a(rates[c]), b = coef_b(rates[c]), dropped = a * ALPHA_PRIME + b;
        int64_t kept = 0;
        for (int64_t i = 0; i < total; i++) {
            double want = m[i] ? a * x[i] + b : dropped;
            /* float a, b and one float multiply-add: within a few float roundings */
            cr_assert(fabs(y[i] - want) <= 3e-7 * (fabs(a * x[i]) + fabs(b)) + 1e-7,
                      "%s element %lld (%s): x %.9g -> %.9g, want %.9g", specs[c],
                      (long long)i, m[i] ? "kept" : "dropped", (double)x[i], (double)y[i],
                      want);
            kept += m[i];
        }
        cr_assert(kept > 0 && kept < total, "%s: %lld kept", specs[c], (long long)kept);
        free(m);
        pt_site_free(&s);
        rg_free(x);
        rg_free(y);
        rg_plugin_instance_destroy(pi);
    }
}

/* x ~ N(0, 1), 400k elements: y's mean is within 4 standard errors of 0 and its variance
 * within 4 standard errors of 1 (the standard error of a sample variance is
 * sqrt((m4 - var^2) / n), m4 taken from the sample). */
static void check_self_normalizing(const char *spec, uint64_t seed)
{
    rg_plugin_instance *pi = pt_load(spec, R);
    int64_t n = 400, f = 1000, total = n * f;
    float *y = pt_floats(total);
    rg_rng_stream src;
    rg_rng_stream_init(&src, seed, 0, 0, 4242);
    rg_rng_normal(&src, 0, y, (size_t)total);
    pt_site s;
    pt_site_init(&s, pi, seed + 1, n, f);
    pt_forward(&s, RG_MODE_TRAIN, y, n, f);
    double sum = 0.0;
    for (int64_t i = 0; i < total; i++)
        sum += y[i];
    double mean = sum / (double)total, m2 = 0.0, m4 = 0.0;
    for (int64_t i = 0; i < total; i++) {
        double d = y[i] - mean;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    m2 /= (double)total;
    m4 /= (double)total;
    double se_mean = sqrt(m2 / (double)total), se_var = sqrt((m4 - m2 * m2) / (double)total);
    cr_log_info("%s: mean %.5f (se %.5f), variance %.5f (se %.5f)", spec, mean, se_mean, m2,
                se_var);
    cr_assert(fabs(mean) < 4.0 * se_mean, "%s: mean %.6f, 4 se = %.6f", spec, mean,
              4.0 * se_mean);
    cr_assert(fabs(m2 - 1.0) < 4.0 * se_var, "%s: variance %.6f, 4 se = %.6f", spec, m2,
              4.0 * se_var);
    pt_site_free(&s);
    rg_free(y);
    rg_plugin_instance_destroy(pi);
}

Test(alpha_dropout, inputs_of_mean_0_variance_1_keep_mean_0_and_variance_1)
{
    check_self_normalizing("alpha_dropout:rate=0.05", 11);
    check_self_normalizing("alpha_dropout:rate=0.1", 12);
    check_self_normalizing("alpha_dropout:rate=0.5", 13);
}

/* Plain dropout's inverted scaling on the same inputs does not keep the variance: the
 * check above can tell (dropout 0.5 doubles it). */
Test(alpha_dropout, the_variance_check_rejects_plain_dropout)
{
    rg_plugin_instance *pi = pt_load("dropout:rate=0.5", R);
    int64_t n = 400, f = 1000, total = n * f;
    float *y = pt_floats(total);
    rg_rng_stream src;
    rg_rng_stream_init(&src, 13, 0, 0, 4242);
    rg_rng_normal(&src, 0, y, (size_t)total);
    pt_site s;
    pt_site_init(&s, pi, 14, n, f);
    pt_forward(&s, RG_MODE_TRAIN, y, n, f);
    double sq = 0.0;
    for (int64_t i = 0; i < total; i++)
        sq += (double)y[i] * y[i];
    cr_assert_gt(sq / (double)total, 1.5);
    pt_site_free(&s);
    rg_free(y);
    rg_plugin_instance_destroy(pi);
}

Test(alpha_dropout, kept_fraction_over_100k_elements_is_within_4_sigma_of_1_minus_p)
{
    rg_plugin_instance *pi = pt_load("alpha_dropout:rate=0.3", R);
    int64_t n = 100, f = 1000, total = n * f;
    float *x = pt_floats(total);
    for (int64_t i = 0; i < total; i++)
        x[i] = 1.0f;
    pt_site s;
    pt_site_init(&s, pi, 11, n, f);
    pt_forward(&s, RG_MODE_TRAIN, x, n, f);
    float dropped = (float)(coef_a(0.3) * ALPHA_PRIME + coef_b(0.3));
    int64_t kept = 0;
    for (int64_t i = 0; i < total; i++)
        kept += fabsf(x[i] - dropped) > 1e-3f;
    double mean = 0.7 * (double)total, sd = sqrt((double)total * 0.3 * 0.7); /* binomial */
    cr_assert(fabs((double)kept - mean) < 4.0 * sd, "kept %lld of %lld, expected %.0f +- %.0f",
              (long long)kept, (long long)total, mean, 4.0 * sd);
    pt_site_free(&s);
    rg_free(x);
    rg_plugin_instance_destroy(pi);
}

Test(alpha_dropout, backward_multiplies_by_a_where_kept_and_zeroes_where_dropped)
{
    rg_plugin_instance *pi = pt_load("alpha_dropout:rate=0.4", R);
    int64_t n = 20, f = 333, total = n * f;
    float *x = pt_floats(total), *g = pt_floats(total), *g0 = pt_floats(total);
    pt_fill(x, total, 6, -2.0f, 2.0f);
    pt_fill(g0, total, 7, -1.0f, 1.0f);
    memcpy(g, g0, (size_t)total * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 13, n, f);
    uint8_t *m = expected_mask(&s, 0.4, total);
    pt_forward(&s, RG_MODE_TRAIN, x, n, f);
    pt_backward(&s, x, g, n, f);
    double a = coef_a(0.4);
    for (int64_t i = 0; i < total; i++) {
        double want = m[i] ? a * g0[i] : 0.0;
        cr_assert(fabs(g[i] - want) <= 1.2e-7 * fabs(want), "element %lld (%s): grad %.9g, want "
                  "%.9g", (long long)i, m[i] ? "kept" : "dropped", (double)g[i], want);
    }
    free(m);
    pt_site_free(&s);
    rg_free(x);
    rg_free(g);
    rg_free(g0);
    rg_plugin_instance_destroy(pi);
}

/* L(x) = sum_i r_i * f(x)_i for a fixed stream, in double */
static double weighted_forward(pt_site *s, const float *x, const float *r, float *scratch,
                               int64_t n, int64_t f)
{
    memcpy(scratch, x, (size_t)(n * f) * sizeof(float));
    pt_forward(s, RG_MODE_TRAIN, scratch, n, f);
    double sum = 0.0;
    for (int64_t i = 0; i < n * f; i++)
        sum += (double)r[i] * scratch[i];
    return sum;
}

Test(alpha_dropout, backward_matches_finite_differences_of_the_forward)
{
    rg_plugin_instance *pi = pt_load("alpha_dropout:rate=0.3", R);
    int64_t n = 6, f = 40;
    float *x = pt_floats(n * f), *r = pt_floats(n * f), *g = pt_floats(n * f),
          *tmp = pt_floats(n * f);
    pt_fill(x, n * f, 31, -2.0f, 2.0f);
    pt_fill(r, n * f, 32, -1.0f, 1.0f);
    pt_site s;
    pt_site_init(&s, pi, 17, n, f);
    memcpy(tmp, x, (size_t)(n * f) * sizeof(float));
    pt_forward(&s, RG_MODE_TRAIN, tmp, n, f);
    memcpy(g, r, (size_t)(n * f) * sizeof(float));
    pt_backward(&s, tmp, g, n, f);
    const float h = 1e-2f;
    for (int64_t i = 0; i < n * f; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double up = weighted_forward(&s, x, r, tmp, n, f);
        x[i] = keep - h;
        double down = weighted_forward(&s, x, r, tmp, n, f);
        x[i] = keep;
        double fd = (up - down) / ((double)(keep + h) - (double)(keep - h));
        cr_assert(fabs(fd - g[i]) <= 1e-3 * fabs(fd) + 1e-4,
                  "element %lld: finite difference %.9g, backward %.9g", (long long)i, fd,
                  (double)g[i]);
    }
    pt_site_free(&s);
    rg_free(x);
    rg_free(r);
    rg_free(g);
    rg_free(tmp);
    rg_plugin_instance_destroy(pi);
}

Test(alpha_dropout, rate_zero_is_the_identity_in_training_forward_and_backward)
{
    rg_plugin_instance *pi = pt_load("alpha_dropout:rate=0", R);
    int64_t n = 10, f = 99;
    float *x = pt_floats(n * f), *y = pt_floats(n * f), *g = pt_floats(n * f),
          *g0 = pt_floats(n * f);
    pt_fill(x, n * f, 8, -3.0f, 3.0f);
    pt_fill(g0, n * f, 9, -1.0f, 1.0f);
    memcpy(y, x, (size_t)(n * f) * sizeof(float));
    memcpy(g, g0, (size_t)(n * f) * sizeof(float));
    /* the formula's map at p = 0: a = 1, b = 0 */
    cr_assert_eq(coef_a(0.0), 1.0);
    cr_assert_eq(coef_b(0.0), 0.0);
    pt_site s;
    pt_site_init(&s, pi, 1, n, f);
    pt_forward(&s, RG_MODE_TRAIN, y, n, f);
    pt_backward(&s, y, g, n, f);
    cr_assert(memcmp(x, y, (size_t)(n * f) * sizeof(float)) == 0);
    cr_assert(memcmp(g, g0, (size_t)(n * f) * sizeof(float)) == 0);
    pt_site_free(&s);
    rg_free(x);
    rg_free(y);
    rg_free(g);
    rg_free(g0);
    rg_plugin_instance_destroy(pi);
}

/* forward of ones on a stream keyed (seed, 0, step, 12345) into out */
static void forward_ones(rg_plugin_instance *pi, uint64_t seed, uint64_t step, float *out,
                         int64_t n, int64_t f)
{
    pt_site s;
    pt_site_init(&s, pi, seed, n, f);
    rg_rng_stream_init(&s.rng, seed, 0, step, 12345);
    for (int64_t i = 0; i < n * f; i++)
        out[i] = 1.0f;
    pt_forward(&s, RG_MODE_TRAIN, out, n, f);
    pt_site_free(&s);
}

Test(alpha_dropout, same_stream_gives_the_same_mask_another_step_or_seed_a_different_one)
{
    rg_plugin_instance *pi = pt_load("alpha_dropout", R);
    int64_t n = 8, f = 128, bytes = n * f * (int64_t)sizeof(float);
    float *a = pt_floats(n * f), *b = pt_floats(n * f), *c = pt_floats(n * f);
    float *d = pt_floats(n * f);
    forward_ones(pi, 21, 0, a, n, f);
    forward_ones(pi, 21, 0, b, n, f);
    forward_ones(pi, 21, 1, c, n, f);
    forward_ones(pi, 22, 0, d, n, f);
    cr_assert(memcmp(a, b, (size_t)bytes) == 0, "same stream, different masks");
    cr_assert(memcmp(a, c, (size_t)bytes) != 0, "another step gave the same mask");
    cr_assert(memcmp(a, d, (size_t)bytes) != 0, "another seed gave the same mask");
    rg_free(a);
    rg_free(b);
    rg_free(c);
    rg_free(d);
    rg_plugin_instance_destroy(pi);
}

Test(alpha_dropout, output_does_not_depend_on_the_thread_count)
{
    rg_plugin_instance *pi = pt_load("alpha_dropout:rate=0.4", R);
    int64_t n = 128, f = 1000; /* many blocks, so two threads really split the work */
    float *a = pt_floats(n * f), *b = pt_floats(n * f);
    rg_threads_init(1);
    forward_ones(pi, 5, 3, a, n, f);
    rg_threads_init(2);
    forward_ones(pi, 5, 3, b, n, f);
    cr_assert(memcmp(a, b, (size_t)(n * f) * sizeof(float)) == 0);
    rg_free(a);
    rg_free(b);
    rg_plugin_instance_destroy(pi);
}

/* element-wise masks at their flat index: a data-parallel process's rows (the host offsets
 * their positions) draw what one process draws for them */
Test(alpha_dropout, a_batch_cut_across_processes_gives_the_masks_of_one_process)
{
    pt_split_matches_whole("alpha_dropout:rate=0.5", 6, 4, 5, 5, 4, 13);
}

Test(alpha_dropout, training_without_activation_state_is_refused_with_a_message)
{
    rg_plugin_instance *pi = pt_load("alpha_dropout", R);
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t shape[2] = {2, 4};
    rg_tensor_view v = pt_view(x, RG_TENSOR_ACTIVATION, 2, shape);
    rg_rng_stream rng;
    rg_rng_stream_init(&rng, 1, 0, 0, 1);
    rg_activation_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.mode = RG_MODE_TRAIN;
    c.rng = &rng;
    rg_error_clear();
    cr_assert_eq(pi->plugin->reg.activation_forward(pi->inst, &c, &v), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(),
                     "alpha_dropout: activation_forward needs 8 bytes of activation state, got 0");
    rg_plugin_instance_destroy(pi);
}

Test(alpha_dropout, rate_outside_0_to_1_is_refused_with_the_host_message)
{
    cr_assert_str_eq(pt_load_fails("alpha_dropout:rate=1", R),
                     "alpha_dropout: parameter rate=1 is out of range [0, 1)");
    cr_assert_str_eq(pt_load_fails("alpha_dropout:rate=-0.1", R),
                     "alpha_dropout: parameter rate=-0.1 is out of range [0, 1)");
}

/* ---- training on a Fashion-MNIST subset ---------------------------------- */

/* mlp:128,64, 3000 images, 5 epochs, seed 1: with alpha dropout 0.1 after both ReLUs the
 * training loss (measured with the dropout on) falls epoch after epoch, and the test
 * accuracy ends close to the unregularized run's (measured: 0.734 against 0.750; the
 * training loss 0.84 against 0.51). Alpha dropout is made for SELU networks, whose
 * activations have mean 0 and variance 1; the trainer has no SELU layer, so this only shows
 * that a ReLU network still trains through it. */
Test(alpha_dropout_train, training_loss_falls_and_the_model_learns)
{
    pt_run plain, r;
    pt_start(&plain, "mlp:128,64", 1, 3000, NULL);
    pt_start(&r, "mlp:128,64", 1, 3000, "alpha_dropout:rate=0.1");
    cr_assert_str_eq(rg_trainer_targets(r.trainer, 0), "after:relu1 after:relu2");
    pt_train(&plain, 5);
    double loss[5];
    for (int e = 0; e < 5; e++) {
        pt_train(&r, 1);
        loss[e] = r.last.train_loss;
    }
    rg_eval te, pte;
    cr_assert_eq(rg_trainer_evaluate(r.trainer, pt_test_set, &te), RG_OK);
    cr_assert_eq(rg_trainer_evaluate(plain.trainer, pt_test_set, &pte), RG_OK);
    cr_log_info("alpha_dropout 0.1: train loss %.4f -> %.4f -> %.4f, test acc %.4f; without: "
                "%.4f, %.4f", loss[0], loss[2], loss[4], te.accuracy, plain.last.train_loss,
                pte.accuracy);
    for (int e = 1; e < 5; e++)
        cr_assert_lt(loss[e], loss[e - 1], "epoch %d: train loss %.4f after %.4f", e + 1,
                     loss[e], loss[e - 1]);
    cr_assert_gt(te.accuracy, 0.65, "test accuracy %.4f", te.accuracy);
    cr_assert_gt(te.accuracy, pte.accuracy - 0.05, "test accuracy %.4f, %.4f without",
                 te.accuracy, pte.accuracy);
    pt_finish(&plain);
    pt_finish(&r);
}

Test(alpha_dropout_train, eval_metrics_do_not_include_the_regularizer)
{
    pt_eval_ignores_the_regularizer("mlp:64", 11, 3000, "alpha_dropout:rate=0.2", 1, 0.4);
}
