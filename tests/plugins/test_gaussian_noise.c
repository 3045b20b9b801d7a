/* gaussian_noise: y = x + N(0, stddev^2) in training, identity in eval, as
 * keras.layers.GaussianNoise. Expected statistics come from the published
 * definition, never from the plugin. */
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

TestSuite(gaussian_noise, .init = init_threads);

Test(gaussian_noise, eval_mode_is_the_identity_bitwise)
{
    rg_plugin_instance *pi = pt_load("gaussian_noise:stddev=0.5", R);
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

/* Over 100k elements: the mean of the noise within 4 standard errors of 0,
 * its standard deviation within 4 standard errors (sigma / sqrt(2n)) of
 * sigma, and the share inside +-sigma near 0.6827 (normal, not uniform). */
Test(gaussian_noise, training_noise_has_mean_0_and_stddev_sigma)
{
    rg_plugin_instance *pi = pt_load("gaussian_noise:stddev=0.5", R);
    const double sigma = 0.5;
    int64_t n = 100, f = 1000, total = n * f;
    float *x = pt_floats(total), *y = pt_floats(total);
    pt_fill(x, total, 2, -1.0f, 1.0f);
    memcpy(y, x, (size_t)total * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 3, n, f);
    pt_forward(&s, RG_MODE_TRAIN, y, n, f);
    double sum = 0.0, sq = 0.0;
    int64_t inside = 0;
    for (int64_t i = 0; i < total; i++) {
        double d = (double)y[i] - (double)x[i];
        sum += d;
        sq += d * d;
        inside += fabs(d) <= sigma;
    }
    double mean = sum / (double)total, sd = sqrt(sq / (double)total - mean * mean);
    double frac = (double)inside / (double)total;
    cr_assert_lt(fabs(mean), 4.0 * sigma / sqrt((double)total), "noise mean %.6f", mean);
    cr_assert_lt(fabs(sd - sigma), 4.0 * sigma / sqrt(2.0 * (double)total), "noise sd %.6f", sd);
    cr_assert_lt(fabs(frac - 0.682689), 4.0 * sqrt(0.682689 * 0.317311 / (double)total),
                 "share within one sigma %.4f", frac);
    pt_site_free(&s);
    rg_free(x);
    rg_free(y);
    rg_plugin_instance_destroy(pi);
}

Test(gaussian_noise, backward_is_the_identity)
{
    rg_plugin_instance *pi = pt_load("gaussian_noise:stddev=1", R);
    int64_t n = 8, f = 77;
    float *x = pt_floats(n * f), *g = pt_floats(n * f), *g0 = pt_floats(n * f);
    pt_fill(x, n * f, 4, -1.0f, 1.0f);
    pt_fill(g0, n * f, 5, -1.0f, 1.0f);
    memcpy(g, g0, (size_t)(n * f) * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 9, n, f);
    pt_forward(&s, RG_MODE_TRAIN, x, n, f);
    pt_backward(&s, x, g, n, f);
    cr_assert(memcmp(g, g0, (size_t)(n * f) * sizeof(float)) == 0);
    pt_site_free(&s);
    rg_free(x);
    rg_free(g);
    rg_free(g0);
    rg_plugin_instance_destroy(pi);
}

static void noise_of(rg_plugin_instance *pi, uint64_t seed, uint64_t step, float *out, int64_t n,
                     int64_t f)
{
    pt_site s;
    pt_site_init(&s, pi, seed, n, f);
    rg_rng_stream_init(&s.rng, seed, 0, step, 12345);
    memset(out, 0, (size_t)(n * f) * sizeof(float));
    pt_forward(&s, RG_MODE_TRAIN, out, n, f);
    pt_site_free(&s);
}

Test(gaussian_noise, same_stream_same_noise_other_step_other_noise_any_thread_count)
{
    rg_plugin_instance *pi = pt_load("gaussian_noise", R);
    int64_t n = 128, f = 500;
    size_t bytes = (size_t)(n * f) * sizeof(float);
    float *a = pt_floats(n * f), *b = pt_floats(n * f), *c = pt_floats(n * f);
    rg_threads_init(1);
    noise_of(pi, 3, 0, a, n, f);
    rg_threads_init(2);
    noise_of(pi, 3, 0, b, n, f);
    noise_of(pi, 3, 1, c, n, f);
    cr_assert(memcmp(a, b, bytes) == 0, "1 and 2 threads drew different noise");
    cr_assert(memcmp(a, c, bytes) != 0, "another step drew the same noise");
    rg_free(a);
    rg_free(b);
    rg_free(c);
    rg_plugin_instance_destroy(pi);
}

Test(gaussian_noise, stddev_zero_is_the_identity_in_training)
{
    rg_plugin_instance *pi = pt_load("gaussian_noise:stddev=0", R);
    int64_t n = 4, f = 50;
    float *x = pt_floats(n * f), *y = pt_floats(n * f);
    pt_fill(x, n * f, 6, -1.0f, 1.0f);
    memcpy(y, x, (size_t)(n * f) * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 1, n, f);
    pt_forward(&s, RG_MODE_TRAIN, y, n, f);
    cr_assert(memcmp(x, y, (size_t)(n * f) * sizeof(float)) == 0);
    pt_site_free(&s);
    rg_free(x);
    rg_free(y);
    rg_plugin_instance_destroy(pi);
}

Test(gaussian_noise, stddev_outside_0_to_100_is_refused_with_the_host_message)
{
    cr_assert_str_eq(pt_load_fails("gaussian_noise:stddev=101", R),
                     "gaussian_noise: parameter stddev=101 is out of range [0, 100]");
    cr_assert_str_eq(pt_load_fails("gaussian_noise:stddev=-0.5", R),
                     "gaussian_noise: parameter stddev=-0.5 is out of range [0, 100]");
}

/* ---- training on a Fashion-MNIST subset ---------------------------------- */




TestSuite(gaussian_noise_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);




Test(gaussian_noise_train, trains_to_a_sane_accuracy_with_noise_after_relu1_only)
{
    pt_run r;
    pt_start(&r, "mlp:128,64", 1, 2000, "gaussian_noise:stddev=0.5,after=relu1");
    cr_assert_str_eq(rg_trainer_targets(r.trainer, 0), "after:relu1");
    pt_train(&r, 5);
    rg_eval te;
    cr_assert_eq(rg_trainer_evaluate(r.trainer, pt_test_set, &te), RG_OK);
    cr_log_info("gaussian_noise 0.5: test accuracy %.4f", te.accuracy);
    /* chance is 0.10; without noise this recipe reaches ~0.76 */
    cr_assert_gt(te.accuracy, 0.70, "test accuracy %.4f", te.accuracy);
    pt_finish(&r);
}
