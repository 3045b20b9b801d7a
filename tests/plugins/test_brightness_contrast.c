/* brightness_contrast: torchvision ColorJitter(brightness=b, contrast=c):
 * brightness multiplies by fb ~ U[1-b, 1+b], contrast blends with the
 * grayscale mean m by fc ~ U[1-c, 1+c] (x -> fc x + (1 - fc) m), each
 * clamped to [0, 1]; with brightness_min / contrast_min the factor is
 * 1 +- m, m between the two bounds, sign random. The tests check those
 * relations on each image with m computed here. */
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

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

/* Version 1.0 on one 3 x plane image, written out from its definition in its
 * float operations: factors L + (1 + b - L) u with L = max(0, 1 - b) from the
 * uniforms at 4i + 1 and 4i + 2, contrast first if the one at 4i + 3 is < 0.5;
 * contrast blends with the mean of 0.2989 R + 0.587 G + 0.114 B (summed in
 * double), brightness scales. */
static void bc_v1_0(float *img, int64_t c, int64_t plane, double b, double cn, const float *u)
{
    double lb = b < 1.0 ? 1.0 - b : 0.0, lc = cn < 1.0 ? 1.0 - cn : 0.0;
    float fb = (float)(lb + (1.0 + b - lb) * (double)u[1]);
    float fc = (float)(lc + (1.0 + cn - lc) * (double)u[2]);
    for (int pass = 0; pass < 2; pass++) {
        int do_contrast = (pass == 0) == (u[3] < 0.5f);
        if (!do_contrast) {
            for (int64_t k = 0; k < c * plane; k++)
                img[k] = clamp01(fb * img[k]);
            continue;
        }
        double sum = 0.0;
        for (int64_t k = 0; k < plane; k++)
            sum += 0.2989 * img[k] + 0.587 * img[plane + k] + 0.114 * img[2 * plane + k];
        float m = (float)(sum / (double)plane), g = 1.0f - fc;
        for (int64_t k = 0; k < c * plane; k++)
            img[k] = clamp01(fc * img[k] + g * m);
    }
}

/* With brightness_min = contrast_min = 0, or without the keys, every image is
 * still version 1.0's result, bit for bit: existing runs reproduce. */
Test(brightness_contrast, min_0_reproduces_version_1_0_bit_for_bit)
{
    const char *specs[] = {"brightness_contrast:brightness=0.4,contrast=0.3,p=0.9",
                           "brightness_contrast:brightness=0.4,contrast=0.3,p=0.9,"
                           "brightness_min=0,contrast_min=0"};
    const int64_t n = 100, c = 3, plane = 5 * 4, img = c * plane;
    float *x = pt_floats(n * img), *t = pt_one_hot(n, 2), *want = pt_floats(img);
    float *y[2] = {pt_floats(n * img), pt_floats(n * img)};
    pt_fill(x, n * img, 54, 0.0f, 1.0f);
    for (int k = 0; k < 2; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], A);
        memcpy(y[k], x, (size_t)(n * img) * sizeof(float));
        pt_aug_run(pi, y[k], t, n, c, 5, 4, 2, 7, 2);
        rg_plugin_instance_destroy(pi);
    }
    cr_assert(memcmp(y[0], y[1], (size_t)(n * img) * sizeof(float)) == 0,
              "the _min=0 keys change the result");
    rg_rng_stream s;
    rg_rng_stream_init(&s, 7, 0, 2, RG_SITE_AUGMENT);
    for (int64_t i = 0; i < n; i++) {
        float u[4];
        rg_rng_uniform(&s, (uint64_t)(4 * i), u, 4);
        memcpy(want, x + i * img, (size_t)img * sizeof(float));
        if (u[0] < 0.9f)
            bc_v1_0(want, c, plane, 0.4, 0.3, u);
        cr_assert(memcmp(y[0] + i * img, want, (size_t)img * sizeof(float)) == 0,
                  "image %lld is not the version 1.0 result", (long long)i);
    }
    rg_free(x);
    rg_free(y[0]);
    rg_free(y[1]);
    rg_free(want);
    rg_free(t);
}

/* brightness = brightness_min = 0.3 (contrast off), pixels in [0.1, 0.6]: every
 * image is exactly clamp(f x) with f = 1.3 or f = 0.7 (as floats), and both occur. */
Test(brightness_contrast, brightness_min_equal_to_brightness_gives_a_fixed_factor_either_side)
{
    rg_plugin_instance *pi =
        pt_load("brightness_contrast:brightness=0.3,brightness_min=0.3,contrast=0", A);
    const int64_t n = 100, c = 3, img = c * 4 * 4;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    pt_fill(x, n * img, 55, 0.1f, 0.6f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, 4, 4, 2, 3, 0);
    const float up = (float)(1.0 + 0.3), down = (float)(1.0 - 0.3);
    int64_t nu = 0, nd = 0;
    for (int64_t i = 0; i < n; i++) {
        int is_up = 1, is_down = 1;
        for (int64_t q = 0; q < img; q++) {
            is_up &= y[i * img + q] == clamp01(up * x[i * img + q]);
            is_down &= y[i * img + q] == clamp01(down * x[i * img + q]);
        }
        cr_assert(is_up + is_down == 1, "image %lld: factor 1.3 %d, factor 0.7 %d", (long long)i,
                  is_up, is_down);
        nu += is_up;
        nd += is_down;
    }
    cr_assert(nu > 20 && nd > 20, "%lld brighter, %lld darker", (long long)nu, (long long)nd);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* contrast = contrast_min = 0.4 (brightness off) on grayscale images with
 * pixels in [0.3, 0.7]: y - m = fc (x - m) with fc = 1.4 or 0.6 exactly, m the
 * image mean, and both occur. */
Test(brightness_contrast, contrast_min_equal_to_contrast_gives_a_fixed_factor_either_side)
{
    rg_plugin_instance *pi =
        pt_load("brightness_contrast:brightness=0,contrast=0.4,contrast_min=0.4", A);
    const int64_t n = 100, img = 6 * 5;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    pt_fill(x, n * img, 56, 0.3f, 0.7f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, 1, 6, 5, 2, 4, 0);
    int64_t nu = 0, nd = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *a = x + i * img, *b = y + i * img;
        double m = 0.0;
        for (int64_t q = 0; q < img; q++)
            m += a[q];
        m /= (double)img;
        int is_up = 1, is_down = 1;
        for (int64_t q = 0; q < img; q++) {
            is_up &= fabs(b[q] - (1.4 * a[q] - 0.4 * m)) < 2e-6;
            is_down &= fabs(b[q] - (0.6 * a[q] + 0.4 * m)) < 2e-6;
        }
        cr_assert(is_up + is_down == 1, "image %lld: factor 1.4 %d, factor 0.6 %d", (long long)i,
                  is_up, is_down);
        nu += is_up;
        nd += is_down;
    }
    cr_assert(nu > 20 && nd > 20, "%lld stronger, %lld weaker", (long long)nu, (long long)nd);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* brightness=0.1,brightness_min=0.5 is the same draw as the reverse; each
 * factor f has |f - 1| in [0.1, 0.5], both signs, spread over the interval. */
Test(brightness_contrast, brightness_and_brightness_min_form_an_unordered_interval)
{
    const char *specs[] = {"brightness_contrast:brightness=0.1,brightness_min=0.5,contrast=0",
                           "brightness_contrast:brightness=0.5,brightness_min=0.1,contrast=0"};
    const int64_t n = 300, c = 1, img = c * 3 * 3;
    float *x = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float *y[2] = {pt_floats(n * img), pt_floats(n * img)};
    pt_fill(x, n * img, 57, 0.1f, 0.6f);
    for (int k = 0; k < 2; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], A);
        memcpy(y[k], x, (size_t)(n * img) * sizeof(float));
        pt_aug_run(pi, y[k], t, n, c, 3, 3, 2, 5, 0);
        rg_plugin_instance_destroy(pi);
    }
    cr_assert(memcmp(y[0], y[1], (size_t)(n * img) * sizeof(float)) == 0,
              "the two orders of the bounds differ");
    double lo = 9.0, hi = 0.0;
    int neg = 0, pos = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)y[0][i * img] / (double)x[i * img] - 1.0;
        cr_assert(fabs(d) >= 0.1 - 1e-6 && fabs(d) <= 0.5 + 1e-6, "image %lld factor %.6f",
                  (long long)i, 1.0 + d);
        for (int64_t q = 0; q < img; q++)
            cr_assert_float_eq(y[0][i * img + q], (1.0 + d) * x[i * img + q], 1e-6);
        lo = fabs(d) < lo ? fabs(d) : lo;
        hi = fabs(d) > hi ? fabs(d) : hi;
        neg += d < 0.0;
        pos += d > 0.0;
    }
    cr_assert(lo < 0.12 && hi > 0.48, "|f - 1| %.3f..%.3f", lo, hi);
    cr_assert(neg > 100 && pos > 100, "%d darker, %d brighter", neg, pos);
    rg_free(x);
    rg_free(y[0]);
    rg_free(y[1]);
    rg_free(t);
}

Test(brightness_contrast, contrast_min_above_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("brightness_contrast:contrast_min=2", A),
                     "brightness_contrast: parameter contrast_min=2 is out of range [0, 1]");
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
