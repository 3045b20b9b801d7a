/* gaussian_dropout: y = x * e, e ~ N(1, rate/(1-rate)) in training, identity in
 * eval, as keras.layers.GaussianDropout ("The multiplicative noise will have
 * standard deviation sqrt(rate / (1 - rate))"). Expected statistics come
 * from that definition, never from the plugin. */
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

#define R RG_PLUGIN_REGULARIZER


static void init_threads(void)
{
    rg_threads_init(2);
}

TestSuite(gaussian_dropout, .init = init_threads);

Test(gaussian_dropout, eval_mode_is_the_identity_bitwise)
{
    rg_plugin_instance *pi = pt_load("gaussian_dropout:rate=0.5", R);
    int64_t n = 16, f = 300;
    float *x = pt_floats(n * f), *y = pt_floats(n * f);
    pt_fill(x, n * f, 1, -2.0f, 2.0f);
    memcpy(y, x, (size_t)(n * f) * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 7, n, f);
    pt_forward(&s, RG_MODE_EVAL, y, n, f);
    cr_assert(memcmp(x, y, (size_t)(n * f) * sizeof(float)) == 0);
    pt_site_free(&s);
    rg_free(x);
    rg_free(y);
    rg_plugin_instance_destroy(pi);
}

/* x = 1 everywhere, so y is the multiplier. Over 100k draws its mean is
 * within 4 standard errors of 1 and its variance within 4 standard errors
 * (var * sqrt(2/n) for a normal) of rate / (1 - rate). */
static void check_multiplier_moments(const char *spec, double rate)
{
    rg_plugin_instance *pi = pt_load(spec, R);
    int64_t n = 100, f = 1000, total = n * f;
    float *y = pt_floats(total);
    for (int64_t i = 0; i < total; i++)
        y[i] = 1.0f;
    pt_site s;
    pt_site_init(&s, pi, 3, n, f);
    pt_forward(&s, RG_MODE_TRAIN, y, n, f);
    double sum = 0.0, sq = 0.0;
    for (int64_t i = 0; i < total; i++) {
        sum += y[i];
        sq += (double)y[i] * y[i];
    }
    double var_want = rate / (1.0 - rate);
    double mean = sum / (double)total, var = sq / (double)total - mean * mean;
    cr_assert_lt(fabs(mean - 1.0), 4.0 * sqrt(var_want / (double)total), "%s: mean %.6f", spec,
                 mean);
    cr_assert_lt(fabs(var - var_want), 4.0 * var_want * sqrt(2.0 / (double)total),
                 "%s: variance %.6f, want %.6f", spec, var, var_want);
    pt_site_free(&s);
    rg_free(y);
    rg_plugin_instance_destroy(pi);
}

Test(gaussian_dropout, training_multiplier_has_mean_1_and_variance_rate_over_1_minus_rate)
{
    check_multiplier_moments("gaussian_dropout:rate=0.5", 0.5);
    check_multiplier_moments("gaussian_dropout:rate=0.2", 0.2);
    check_multiplier_moments("gaussian_dropout:rate=0.9", 0.9);
}

Test(gaussian_dropout, backward_multiplies_by_the_forward_multipliers)
{
    rg_plugin_instance *pi = pt_load("gaussian_dropout:rate=0.3", R);
    int64_t n = 12, f = 345;
    float *x = pt_floats(n * f), *y = pt_floats(n * f), *g = pt_floats(n * f), *g0 = pt_floats(n * f);
    pt_fill(x, n * f, 4, 0.5f, 2.0f);
    pt_fill(g0, n * f, 5, -1.0f, 1.0f);
    memcpy(y, x, (size_t)(n * f) * sizeof(float));
    memcpy(g, g0, (size_t)(n * f) * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 9, n, f);
    pt_forward(&s, RG_MODE_TRAIN, y, n, f);
    pt_backward(&s, y, g, n, f);
    for (int64_t i = 0; i < n * f; i++) {
        double e = (double)y[i] / (double)x[i]; /* the multiplier forward applied */
        double want = (double)g0[i] * e;
        cr_assert(fabs(g[i] - want) <= 1e-6 * fabs(want) + 1e-7, "element %lld: %.9g, want %.9g",
                  (long long)i, (double)g[i], want);
    }
    pt_site_free(&s);
    rg_free(x);
    rg_free(y);
    rg_free(g);
    rg_free(g0);
    rg_plugin_instance_destroy(pi);
}

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

Test(gaussian_dropout, backward_matches_finite_differences_of_the_forward)
{
    rg_plugin_instance *pi = pt_load("gaussian_dropout:rate=0.5", R);
    int64_t n = 6, f = 40;
    float *x = pt_floats(n * f), *r = pt_floats(n * f), *g = pt_floats(n * f), *tmp = pt_floats(n * f);
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

static void mult_of(rg_plugin_instance *pi, uint64_t seed, uint64_t step, float *out, int64_t n,
                    int64_t f)
{
    pt_site s;
    pt_site_init(&s, pi, seed, n, f);
    rg_rng_stream_init(&s.rng, seed, 0, step, 12345);
    for (int64_t i = 0; i < n * f; i++)
        out[i] = 1.0f;
    pt_forward(&s, RG_MODE_TRAIN, out, n, f);
    pt_site_free(&s);
}

Test(gaussian_dropout, same_stream_same_noise_other_step_other_noise_any_thread_count)
{
    rg_plugin_instance *pi = pt_load("gaussian_dropout", R);
    int64_t n = 128, f = 500;
    size_t bytes = (size_t)(n * f) * sizeof(float);
    float *a = pt_floats(n * f), *b = pt_floats(n * f), *c = pt_floats(n * f);
    rg_threads_init(1);
    mult_of(pi, 3, 0, a, n, f);
    rg_threads_init(2);
    mult_of(pi, 3, 0, b, n, f);
    mult_of(pi, 3, 1, c, n, f);
    cr_assert(memcmp(a, b, bytes) == 0, "1 and 2 threads drew different multipliers");
    cr_assert(memcmp(a, c, bytes) != 0, "another step drew the same multipliers");
    rg_free(a);
    rg_free(b);
    rg_free(c);
    rg_plugin_instance_destroy(pi);
}

Test(gaussian_dropout, rate_zero_is_the_identity_in_training_forward_and_backward)
{
    rg_plugin_instance *pi = pt_load("gaussian_dropout:rate=0", R);
    int64_t n = 4, f = 50;
    float *x = pt_floats(n * f), *y = pt_floats(n * f), *g = pt_floats(n * f), *g0 = pt_floats(n * f);
    pt_fill(x, n * f, 6, -1.0f, 1.0f);
    pt_fill(g0, n * f, 7, -1.0f, 1.0f);
    memcpy(y, x, (size_t)(n * f) * sizeof(float));
    memcpy(g, g0, (size_t)(n * f) * sizeof(float));
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

Test(gaussian_dropout, rate_outside_0_to_1_is_refused_with_the_host_message)
{
    cr_assert_str_eq(pt_load_fails("gaussian_dropout:rate=1", R),
                     "gaussian_dropout: parameter rate=1 is out of range [0, 1)");
    cr_assert_str_eq(pt_load_fails("gaussian_dropout:rate=-0.25", R),
                     "gaussian_dropout: parameter rate=-0.25 is out of range [0, 1)");
}

/* ---- training on a Fashion-MNIST subset ---------------------------------- */




TestSuite(gaussian_dropout_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);




/* Same recipe as the dropout test: 1800 images, 2 x 256 hidden units, 20
 * epochs. Gaussian dropout of rate 0.5 (multiplier variance 1) after both
 * ReLUs: measured accuracy gap (eval-mode train - test) 0.06-0.075 against
 * 0.10-0.12 without, over seeds 1-6. */
Test(gaussian_dropout_train, gaussian_dropout_narrows_the_train_test_gap_at_the_same_seed)
{
    pt_run plain, gd;
    pt_start(&plain, "mlp:256,256", 1, 2000, NULL);
    pt_start(&gd, "mlp:256,256", 1, 2000, "gaussian_dropout:rate=0.5");
    cr_assert_str_eq(rg_trainer_targets(gd.trainer, 0), "after:relu1 after:relu2");
    pt_train(&plain, 20);
    pt_train(&gd, 20);
    rg_eval ptr, pte, gtr, gte;
    cr_assert_eq(rg_trainer_evaluate_train(plain.trainer, &ptr), RG_OK);
    cr_assert_eq(rg_trainer_evaluate(plain.trainer, pt_test_set, &pte), RG_OK);
    cr_assert_eq(rg_trainer_evaluate_train(gd.trainer, &gtr), RG_OK);
    cr_assert_eq(rg_trainer_evaluate(gd.trainer, pt_test_set, &gte), RG_OK);
    double gap_plain = ptr.accuracy - pte.accuracy, gap_gd = gtr.accuracy - gte.accuracy;
    cr_log_info("none: train %.4f test %.4f; gaussian_dropout 0.5: train %.4f test %.4f",
                ptr.accuracy, pte.accuracy, gtr.accuracy, gte.accuracy);
    cr_assert_lt(gap_gd, gap_plain - 0.02, "gap with gaussian dropout %.4f, without %.4f",
                 gap_gd, gap_plain);
    cr_assert_gt(gte.accuracy, 0.70, "test accuracy %.4f", gte.accuracy);
    pt_finish(&plain);
    pt_finish(&gd);
}

Test(gaussian_dropout_train, after_relu1_attaches_to_one_site)
{
    pt_run r;
    pt_start(&r, "mlp:32,16", 1, 500, "gaussian_dropout:after=relu1");
    cr_assert_str_eq(rg_trainer_targets(r.trainer, 0), "after:relu1");
    pt_finish(&r);
}

Test(gaussian_dropout, a_batch_cut_across_processes_gives_the_noise_of_one_process)
{
    pt_split_matches_whole("gaussian_dropout:rate=0.5", 6, 4, 5, 5, 2, 14);
}
