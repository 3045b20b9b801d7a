/* brightness_contrast: torchvision ColorJitter(brightness=b, contrast=c):
 * brightness multiplies by fb ~ U[1-b, 1+b], contrast blends with the
 * grayscale mean m by fc ~ U[1-c, 1+c] (x -> fc x + (1 - fc) m), each
 * clamped to [0, 1]. The tests check those relations on each image with m
 * computed here. */
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


Test(brightness_contrast, b_0_c_0_and_p_0_are_the_identity)
{
    pt_aug_check_identity("brightness_contrast:brightness=0,contrast=0");
    pt_aug_check_identity("brightness_contrast:p=0");
}

/* Brightness only, pixels in [0.1, 0.6] so 1.5 x never clips: each image is
 * its input times one factor in [0.5, 1.5], and factors spread over it. */
Test(brightness_contrast, brightness_scales_each_image_by_one_factor_in_range)
{
    rg_plugin_instance *pi = pt_load("brightness_contrast:brightness=0.5,contrast=0", A);
    const int64_t n = 300, c = 3, img = c * 4 * 4;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    pt_fill(x, n * img, 51, 0.1f, 0.6f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, 4, 4, 2, 1, 0);
    double lo = 9.0, hi = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double f = (double)y[i * img] / (double)x[i * img];
        cr_assert(f >= 0.5 - 1e-6 && f <= 1.5 + 1e-6, "image %lld factor %.6f", (long long)i, f);
        for (int64_t q = 0; q < img; q++)
            cr_assert_float_eq(y[i * img + q], f * x[i * img + q], 1e-6, "image %lld element %lld",
                               (long long)i, (long long)q);
        lo = f < lo ? f : lo;
        hi = f > hi ? f : hi;
    }
    cr_assert(lo < 0.6 && hi > 1.4, "factors %.3f..%.3f", lo, hi);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* Contrast only on RGB images with pixels in [0.3, 0.7] (no clipping for
 * factors up to 1.5): y - m = fc (x - m) with m the mean of
 * 0.2989 R + 0.587 G + 0.114 B, one fc in [0.5, 1.5] per image. */
Test(brightness_contrast, contrast_blends_rgb_images_with_their_grayscale_mean)
{
    rg_plugin_instance *pi = pt_load("brightness_contrast:brightness=0,contrast=0.5", A);
    const int64_t n = 200, c = 3, plane = 5 * 6, img = c * plane;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    pt_fill(x, n * img, 52, 0.3f, 0.7f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, 5, 6, 2, 2, 0);
    double lo = 9.0, hi = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *a = x + i * img, *b = y + i * img;
        double m = 0.0;
        for (int64_t q = 0; q < plane; q++)
            m += 0.2989 * a[q] + 0.587 * a[plane + q] + 0.114 * a[2 * plane + q];
        m /= (double)plane;
        /* the factor from the pixel farthest from the mean */
        int64_t far = 0;
        for (int64_t q = 1; q < img; q++)
            far = fabs(a[q] - m) > fabs(a[far] - m) ? q : far;
        double f = (b[far] - m) / (a[far] - m);
        cr_assert(f >= 0.5 - 1e-4 && f <= 1.5 + 1e-4, "image %lld factor %.6f", (long long)i, f);
        for (int64_t q = 0; q < img; q++)
            cr_assert_float_eq(b[q], f * a[q] + (1.0 - f) * m, 2e-6, "image %lld element %lld",
                               (long long)i, (long long)q);
        lo = f < lo ? f : lo;
        hi = f > hi ? f : hi;
    }
    cr_assert(lo < 0.6 && hi > 1.4, "factors %.3f..%.3f", lo, hi);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* A single-channel contrast by hand: 1 x 1 x 4 image {0.2, 0.4, 0.6, 0.8},
 * mean 0.5: with fc the drawn factor, y = 0.5 + fc (x - 0.5), so y is
 * symmetric about 0.5 and y[3] - y[0] = 0.6 fc. */
Test(brightness_contrast, grayscale_contrast_keeps_the_mean_of_a_4_pixel_image)
{
    rg_plugin_instance *pi = pt_load("brightness_contrast:brightness=0,contrast=0.5", A);
    float x[4] = {0.2f, 0.4f, 0.6f, 0.8f}, lab[1] = {1.0f};
    pt_aug_run(pi, x, lab, 1, 1, 1, 4, 1, 3, 0);
    double fc = (x[3] - x[0]) / 0.6;
    cr_assert(fc >= 0.5 - 1e-6 && fc <= 1.5 + 1e-6, "factor %.6f", fc);
    cr_assert_float_eq(x[0] + x[3], 1.0f, 1e-6);
    cr_assert_float_eq(x[1] + x[2], 1.0f, 1e-6);
    cr_assert_float_eq(x[1], 0.5 - 0.1 * fc, 1e-6);
    rg_plugin_instance_destroy(pi);
}

/* Strongest settings on full-range pixels: values stay in [0, 1], and some
 * pixels are clamped at each end. */
Test(brightness_contrast, results_stay_in_0_1_under_the_strongest_jitter)
{
    rg_plugin_instance *pi = pt_load("brightness_contrast:brightness=1,contrast=1", A);
    const int64_t n = 64, img = 3 * 8 * 8;
    float *x = pt_floats(n * img), *t = pt_one_hot(n, 2);
    pt_fill(x, n * img, 53, 0.0f, 1.0f);
    pt_aug_run(pi, x, t, n, 3, 8, 8, 2, 4, 0);
    int64_t zeros = 0, ones = 0;
    for (int64_t q = 0; q < n * img; q++) {
        cr_assert(x[q] >= 0.0f && x[q] <= 1.0f, "element %lld = %g", (long long)q, x[q]);
        zeros += x[q] == 0.0f;
        ones += x[q] == 1.0f;
    }
    cr_assert(zeros > 0 && ones > 0, "%lld zeros, %lld ones", (long long)zeros, (long long)ones);
    rg_free(x);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(brightness_contrast, same_stream_same_jitter_at_1_and_2_threads_other_stream_other_jitter)
{
    pt_aug_check_streams("brightness_contrast", 1);
    pt_aug_check_streams("brightness_contrast", 3);
}

Test(brightness_contrast, brightness_above_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("brightness_contrast:brightness=2", A),
                     "brightness_contrast: parameter brightness=2 is out of range [0, 1]");
}

/* brightness_contrast and pixel_noise on 2000 Fashion-MNIST images,
 * mlp:128, 10 epochs; chance is 0.10. */
Test(brightness_contrast, photometric_family_trains_fashion_mnist_to_a_sane_accuracy,
     .timeout = 300)
{
    const char *augs[] = {"brightness_contrast.so", "pixel_noise.so"};
    double acc = pt_aug_train_with(augs, 2, 10);
    cr_log_info("brightness_contrast+pixel_noise: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
