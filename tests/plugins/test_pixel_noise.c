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
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"
#include "threads.h"
#include "train/train.h"

#define A RG_PLUGIN_AUGMENTER






/* ---- a short Fashion-MNIST run with augmenters ------------------------- */


Test(pixel_noise, stddev_0_and_p_0_are_the_identity)
{
    pt_aug_check_identity("pixel_noise:stddev=0");
    pt_aug_check_identity("pixel_noise:p=0");
}

/* 100 RGB 16x16 images at 0.5 (clamping is 10 sigma away): the noise has
 * mean 0 and standard deviation 0.05 within 4 standard errors, and the share
 * within one sigma is near 0.6827 (normal, not uniform). */
Test(pixel_noise, noise_has_mean_0_and_stddev_sigma)
{
    rg_plugin_instance *pi = pt_load("pixel_noise:stddev=0.05", A);
    const double sigma = 0.05;
    const int64_t n = 100, img = 3 * 16 * 16, total = n * img;
    float *x = pt_floats(total), *t = pt_one_hot(n, 3), *t0 = pt_one_hot(n, 3);
    for (int64_t q = 0; q < total; q++)
        x[q] = 0.5f;
    pt_aug_run(pi, x, t, n, 3, 16, 16, 3, 1, 0);
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
    float *x = pt_floats(total), *t = pt_one_hot(n, 2);
    for (int64_t q = 0; q < total; q++)
        x[q] = 0.1f;
    pt_aug_run(pi, x, t, n, 1, 28, 28, 2, 2, 0);
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
    float *x = pt_floats(n * img), *t = pt_one_hot(n, 2);
    for (int64_t q = 0; q < n * img; q++)
        x[q] = 0.5f;
    pt_aug_run(pi, x, t, n, 1, 4, 4, 2, 3, 0);
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
    pt_aug_check_streams("pixel_noise", 1);
    pt_aug_check_streams("pixel_noise", 3);
}

Test(pixel_noise, stddev_above_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("pixel_noise:stddev=2", A),
                     "pixel_noise: parameter stddev=2 is out of range [0, 1]");
}
