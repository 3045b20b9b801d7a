/* pixel_noise: x -> clamp(x + stddev z, 0, 1), z ~ N(0, 1) per pixel.
 * Expected statistics come from the normal distribution, not the plugin. */
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
#include "rng.h"
#include "threads.h"
#include "train/train.h"

#define A RG_PLUGIN_AUGMENTER

static float *floats(int64_t n)
{
    float *p = rg_alloc_floats((size_t)n);
    cr_assert_not_null(p);
    return p;
}

/* One apply() on an n x c x h x w batch with k classes, stream keyed on
 * (seed, step) at the first augmenter site, as the trainer calls it. */
static void run_aug(rg_plugin_instance *pi, float *x, float *lab, int64_t n, int64_t c, int64_t h,
                    int64_t w, int64_t k, uint64_t seed, uint64_t step)
{
    rg_batch_view b = {sizeof b, 0, n, c, h, w, x, lab, k};
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, step, RG_SITE_AUGMENT);
    rg_error_clear();
    cr_assert_eq(pi->plugin->aug.apply(pi->inst, &b, &s), RG_OK, "%s", rg_error_message());
    cr_assert(b.n == n && b.c == c && b.h == h && b.w == w && b.data == x && b.labels == lab);
}

/* One-hot labels: image i has class i % k. */
static float *one_hot(int64_t n, int64_t k)
{
    float *t = floats(n * k);
    memset(t, 0, (size_t)(n * k) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        t[i * k + i % k] = 1.0f;
    return t;
}

/* Applies `spec` to copies of one random batch: twice on the same stream at 1
 * and 2 threads (must agree bit for bit), once on another step's stream (must
 * differ), for c channels. Pixels stay in [0, 1] and label rows sum to 1. */
static void check_streams(const char *spec, int64_t c)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 32, h = 12, w = 10, k = 5, numel = n * c * h * w;
    float *x0 = floats(numel), *x1 = floats(numel), *x2 = floats(numel), *x3 = floats(numel);
    float *t1 = one_hot(n, k), *t2 = one_hot(n, k), *t3 = one_hot(n, k);
    pt_fill(x0, numel, 77, 0.05f, 1.0f);
    memcpy(x1, x0, (size_t)numel * sizeof(float));
    memcpy(x2, x0, (size_t)numel * sizeof(float));
    memcpy(x3, x0, (size_t)numel * sizeof(float));
    rg_threads_init(1);
    run_aug(pi, x1, t1, n, c, h, w, k, 5, 0);
    rg_threads_init(2);
    run_aug(pi, x2, t2, n, c, h, w, k, 5, 0);
    run_aug(pi, x3, t3, n, c, h, w, k, 5, 1);
    cr_assert(memcmp(x1, x2, (size_t)numel * sizeof(float)) == 0, "1 and 2 threads differ");
    cr_assert(memcmp(t1, t2, (size_t)(n * k) * sizeof(float)) == 0, "labels: 1 and 2 threads differ");
    cr_assert(memcmp(x1, x0, (size_t)numel * sizeof(float)) != 0, "the batch is unchanged");
    cr_assert(memcmp(x1, x3, (size_t)numel * sizeof(float)) != 0, "another stream, same batch");
    for (int64_t q = 0; q < numel; q++)
        cr_assert(x1[q] >= 0.0f && x1[q] <= 1.0f, "pixel %lld = %g", (long long)q, x1[q]);
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < k; j++) {
            cr_assert_geq(t3[i * k + j], 0.0f);
            s += t3[i * k + j];
        }
        cr_assert_lt(fabs(s - 1.0), 1e-5, "label row %lld sums to %.8f", (long long)i, s);
    }
    rg_free(x0);
    rg_free(x1);
    rg_free(x2);
    rg_free(x3);
    rg_free(t1);
    rg_free(t2);
    rg_free(t3);
    rg_plugin_instance_destroy(pi);
}

/* apply() with `spec` leaves a 3-channel batch and its labels bit for bit
 * unchanged. */
static void check_identity(const char *spec)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 16, c = 3, h = 7, w = 6, k = 4, numel = n * c * h * w;
    float *x = floats(numel), *y = floats(numel), *t = one_hot(n, k), *t0 = one_hot(n, k);
    pt_fill(x, numel, 3, 0.0f, 1.0f);
    memcpy(y, x, (size_t)numel * sizeof(float));
    run_aug(pi, y, t, n, c, h, w, k, 9, 0);
    cr_assert(memcmp(x, y, (size_t)numel * sizeof(float)) == 0, "%s changed the batch", spec);
    cr_assert(memcmp(t, t0, (size_t)(n * k) * sizeof(float)) == 0, "%s changed the labels", spec);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(t0);
    rg_plugin_instance_destroy(pi);
}

/* ---- a short Fashion-MNIST run with augmenters ------------------------- */

/* mlp:128 on the first 2000 training images for `epochs` epochs with the
 * given augmenters (paths relative to the plugin build dir); returns the
 * test accuracy. */
__attribute__((unused)) static double train_with(const char *const *augs, int num_augs, int epochs)
{
    const char *dir = getenv("REGULA_DATA");
    if (!dir || !*dir)
        dir = "/usr/share/datasets/fashion-mnist";
    rg_dataset *train_set = NULL, *test_set = NULL;
    cr_assert_eq(rg_dataset_open_idx(dir, "train", &train_set), RG_OK,
                 "%s (install dataset-fashion-mnist)", rg_error_message());
    cr_assert_eq(rg_dataset_open_idx(dir, "t10k", &test_set), RG_OK, "%s", rg_error_message());
    rg_threads_init(2);
    rg_train_config cfg;
    rg_train_config_defaults(&cfg);
    cfg.seed = 1;
    cfg.train_limit = 2000;
    for (int k = 0; k < num_augs; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", REGULA_TEST_PLUGINS, augs[k]);
        cr_assert_eq(rg_plugin_instance_create(path, A, NULL, &cfg.augs[k]), RG_OK, "%s",
                     rg_error_message());
    }
    cfg.num_augs = num_augs;
    rg_model_spec spec;
    rg_model *model = NULL;
    rg_trainer *trainer = NULL;
    cr_assert_eq(rg_model_spec_parse("mlp:128", &spec), RG_OK);
    cr_assert_eq(rg_model_create(&spec, (rg_shape){784, 1, 1, 1}, 10, &model), RG_OK);
    rg_model_init_params(model, 1);
    cr_assert_eq(rg_trainer_create(model, train_set, &cfg, &trainer), RG_OK, "%s",
                 rg_error_message());
    rg_epoch_stats last;
    for (int e = 0; e < epochs; e++)
        cr_assert_eq(rg_trainer_run_epoch(trainer, &last), RG_OK, "%s", rg_error_message());
    rg_eval te;
    cr_assert_eq(rg_trainer_evaluate(trainer, test_set, &te), RG_OK);
    rg_trainer_destroy(trainer);
    rg_model_destroy(model);
    for (int k = 0; k < num_augs; k++)
        rg_plugin_instance_destroy(cfg.augs[k]);
    rg_dataset_destroy(train_set);
    rg_dataset_destroy(test_set);
    return te.accuracy;
}

Test(pixel_noise, stddev_0_and_p_0_are_the_identity)
{
    check_identity("pixel_noise:stddev=0");
    check_identity("pixel_noise:p=0");
}

/* 100 RGB 16x16 images at 0.5 (clamping is 10 sigma away): the noise has
 * mean 0 and standard deviation 0.05 within 4 standard errors, and the share
 * within one sigma is near 0.6827 (normal, not uniform). */
Test(pixel_noise, noise_has_mean_0_and_stddev_sigma)
{
    rg_plugin_instance *pi = pt_load("pixel_noise:stddev=0.05", A);
    const double sigma = 0.05;
    const int64_t n = 100, img = 3 * 16 * 16, total = n * img;
    float *x = floats(total), *t = one_hot(n, 3), *t0 = one_hot(n, 3);
    for (int64_t q = 0; q < total; q++)
        x[q] = 0.5f;
    run_aug(pi, x, t, n, 3, 16, 16, 3, 1, 0);
    double sum = 0.0, sq = 0.0;
    int64_t inside = 0;
    for (int64_t q = 0; q < total; q++) {
        double d = (double)x[q] - 0.5;
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
    cr_assert(memcmp(t, t0, (size_t)(n * 3) * sizeof(float)) == 0, "labels changed");
    rg_free(x);
    rg_free(t);
    rg_free(t0);
    rg_plugin_instance_destroy(pi);
}

/* stddev 1 on pixels at 0.1: P(x + z < 0) = Phi(-0.1) ~ 0.46 of the pixels
 * clamp to exactly 0, none leave [0, 1]. */
Test(pixel_noise, large_noise_is_clamped_to_0_1)
{
    rg_plugin_instance *pi = pt_load("pixel_noise:stddev=1", A);
    const int64_t n = 20, img = 28 * 28, total = n * img;
    float *x = floats(total), *t = one_hot(n, 2);
    for (int64_t q = 0; q < total; q++)
        x[q] = 0.1f;
    run_aug(pi, x, t, n, 1, 28, 28, 2, 2, 0);
    int64_t zeros = 0;
    for (int64_t q = 0; q < total; q++) {
        cr_assert(x[q] >= 0.0f && x[q] <= 1.0f, "element %lld = %g", (long long)q, x[q]);
        zeros += x[q] == 0.0f;
    }
    double frac = (double)zeros / (double)total;
    cr_assert_lt(fabs(frac - 0.460172), 4.0 * sqrt(0.25 / (double)total), "share at 0: %.4f", frac);
    rg_free(x);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* p = 0.5: about half the images get noise, the others are untouched. */
Test(pixel_noise, p_half_noises_about_half_the_images)
{
    rg_plugin_instance *pi = pt_load("pixel_noise:p=0.5", A);
    const int64_t n = 1000, img = 16;
    float *x = floats(n * img), *t = one_hot(n, 2);
    for (int64_t q = 0; q < n * img; q++)
        x[q] = 0.5f;
    run_aug(pi, x, t, n, 1, 4, 4, 2, 3, 0);
    int64_t noisy = 0;
    for (int64_t i = 0; i < n; i++) {
        int same = 1;
        for (int64_t q = 0; q < img; q++)
            same &= x[i * img + q] == 0.5f;
        noisy += !same;
    }
    cr_assert_lt(fabs((double)noisy / (double)n - 0.5), 4.0 * sqrt(0.25 / (double)n),
                 "%lld of %lld noisy", (long long)noisy, (long long)n);
    rg_free(x);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(pixel_noise, same_stream_same_noise_at_1_and_2_threads_other_stream_other_noise)
{
    check_streams("pixel_noise", 1);
    check_streams("pixel_noise", 3);
}

Test(pixel_noise, stddev_above_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("pixel_noise:stddev=2", A),
                     "pixel_noise: parameter stddev=2 is out of range [0, 1]");
}
