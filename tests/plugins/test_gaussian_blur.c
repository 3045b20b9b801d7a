/* gaussian_blur: torchvision GaussianBlur(kernel_size, sigma=(min, max)): sigma uniform in
 * [min, max] per image, the normalized kernel exp(-x^2 / (2 sigma^2)) of odd size
 * (_get_gaussian_kernel1d), its outer product convolved with the image padded in mode
 * "reflect". The expected values are computed here from that definition: a 2-D
 * convolution of an explicitly padded copy, not the plugin's two 1-D passes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"
#include "threads.h"

#define A RG_PLUGIN_AUGMENTER
#define MAXK 31

/* torchvision's _get_gaussian_kernel1d(size, sigma), in double. */
static void ref_kernel(int size, double sigma, double *k)
{
    double half = 0.5 * (size - 1), sum = 0.0;
    for (int j = 0; j < size; j++) {
        k[j] = exp(-0.5 * pow((j - half) / sigma, 2.0));
        sum += k[j];
    }
    for (int j = 0; j < size; j++)
        k[j] /= sum;
}

/* torch.nn.functional.pad(mode="reflect") of index i on a side of n: the mirror at 0 and
 * at n - 1 without repeating the edge, folded again as long as i lies outside (torch
 * itself refuses a padding >= n; the plugin documents the repeated reflection). */
static int64_t ref_reflect(int64_t i, int64_t n)
{
    if (n == 1)
        return 0;
    while (i < 0 || i >= n)
        i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

/* One h x w plane blurred with the 2-D kernel k k^T over its reflect-padded copy. */
static void ref_blur(const float *in, int64_t h, int64_t w, int size, double sigma, double *out)
{
    double k[MAXK];
    ref_kernel(size, sigma, k);
    int64_t r = size / 2, ph = h + 2 * r, pw = w + 2 * r;
    double *pad = malloc((size_t)(ph * pw) * sizeof(double));
    cr_assert(pad);
    for (int64_t y = 0; y < ph; y++)
        for (int64_t x = 0; x < pw; x++)
            pad[y * pw + x] = in[ref_reflect(y - r, h) * w + ref_reflect(x - r, w)];
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            double s = 0.0;
            for (int a = 0; a < size; a++)
                for (int b = 0; b < size; b++)
                    s += k[a] * k[b] * pad[(y + a) * pw + x + b];
            out[y * w + x] = s;
        }
    free(pad);
}

Test(gaussian_blur, the_reference_kernel_is_torchvisions_for_size_3_sigma_1)
{
    /* _get_gaussian_kernel1d(3, 1.0) = [e^-1/2, 1, e^-1/2] / (1 + 2 e^-1/2) */
    double k[3];
    ref_kernel(3, 1.0, k);
    cr_assert_float_eq(k[0], 0.274068619061197, 1e-12);
    cr_assert_float_eq(k[1], 0.451862761877606, 1e-12);
    cr_assert_float_eq(k[2], 0.274068619061197, 1e-12);
}

Test(gaussian_blur, the_reference_reflects_without_repeating_the_edge)
{
    /* pad([0, 1, 2, 3], (2, 2), mode="reflect") = [2, 1, 0, 1, 2, 3, 2, 1] */
    const int64_t want[8] = {2, 1, 0, 1, 2, 3, 2, 1};
    for (int64_t i = -2; i < 6; i++)
        cr_assert_eq(ref_reflect(i, 4), want[i + 2], "index %lld", (long long)i);
    cr_assert_eq(ref_reflect(-7, 4), 1); /* -7 -> 7 -> -1 -> 1 */
}

Test(gaussian_blur, kernel_size_1_and_p_0_are_the_identity)
{
    pt_aug_check_identity("gaussian_blur:kernel_size=1");
    pt_aug_check_identity("gaussian_blur:p=0");
}

/* A constant image stays constant: with reflect padding every window holds the same value
 * (zero padding would darken the border, here by more than half at the corners). */
Test(gaussian_blur, a_constant_image_stays_constant_into_its_corners)
{
    rg_plugin_instance *pi = pt_load("gaussian_blur:kernel_size=7,sigma_min=1,sigma_max=3", A);
    const int64_t n = 8, c = 3, h = 9, w = 8, numel = n * c * h * w;
    float *x = pt_floats(numel), *t = pt_one_hot(n, 2);
    for (int64_t q = 0; q < numel; q++)
        x[q] = 0.7f;
    pt_aug_run(pi, x, t, n, c, h, w, 2, 3, 0);
    for (int64_t q = 0; q < numel; q++)
        cr_assert_float_eq(x[q], 0.7f, 1e-6, "pixel %lld = %.9g", (long long)q, x[q]);
    rg_free(x);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* A single bright pixel away from the border spreads into k k^T, the outer product of the
 * normalized kernel at the fixed sigma 1.5 (sigma_min = sigma_max), and 0 elsewhere. */
Test(gaussian_blur, an_impulse_becomes_the_outer_product_of_the_normalized_kernel)
{
    rg_plugin_instance *pi = pt_load("gaussian_blur:kernel_size=7,sigma_min=1.5,sigma_max=1.5", A);
    const int64_t h = 11, w = 11;
    float *x = pt_floats(h * w), *t = pt_one_hot(1, 2);
    memset(x, 0, (size_t)(h * w) * sizeof(float));
    x[5 * w + 5] = 1.0f;
    pt_aug_run(pi, x, t, 1, 1, h, w, 2, 1, 0);
    double k[7];
    ref_kernel(7, 1.5, k);
    for (int64_t y = 0; y < h; y++)
        for (int64_t q = 0; q < w; q++) {
            int64_t dy = y - 5, dx = q - 5;
            double want = llabs(dy) <= 3 && llabs(dx) <= 3 ? k[dy + 3] * k[dx + 3] : 0.0;
            cr_assert_float_eq(x[y * w + q], want, 1e-7, "pixel (%lld, %lld) = %.9g, want %.9g",
                               (long long)y, (long long)q, x[y * w + q], want);
        }
    rg_free(x);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* The plugin against the 2-D reference at the sigma its documented stream layout gives
 * image i (offset 2i: blur if u < p; offset 2i + 1: sigma = min + (max - min) u), on
 * 40 c x h x w images: blurred images within 1e-5 of the reference, the others
 * untouched. */
static void check_against_reference(const char *spec, int size, double lo, double hi, double p,
                                    int64_t c, int64_t h, int64_t w)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 40, pix = h * w, numel = n * c * pix;
    float *x = pt_floats(numel), *y = pt_floats(numel), *t = pt_one_hot(n, 3);
    double *want = malloc((size_t)pix * sizeof(double));
    cr_assert(want);
    pt_fill(x, numel, 45, 0.0f, 1.0f);
    memcpy(y, x, (size_t)numel * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, 3, 8, 4);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 8, 0, 4, RG_SITE_AUGMENT);
    int64_t blurred = 0;
    for (int64_t i = 0; i < n; i++) {
        float u[2];
        rg_rng_uniform(&s, (uint64_t)(2 * i), u, 2);
        const float *in = x + i * c * pix, *out = y + i * c * pix;
        if (!(u[0] < p)) {
            cr_assert(memcmp(in, out, (size_t)(c * pix) * sizeof(float)) == 0,
                      "image %lld (u = %g >= p) changed", (long long)i, u[0]);
            continue;
        }
        blurred++;
        double sigma = lo + (hi - lo) * (double)u[1];
        for (int64_t ch = 0; ch < c; ch++) {
            ref_blur(in + ch * pix, h, w, size, sigma, want);
            for (int64_t q = 0; q < pix; q++)
                cr_assert_float_eq(out[ch * pix + q], want[q], 1e-5,
                                   "image %lld (sigma %.4f) channel %lld pixel %lld: %.7g, "
                                   "want %.7g",
                                   (long long)i, sigma, (long long)ch, (long long)q,
                                   out[ch * pix + q], want[q]);
        }
    }
    cr_assert(blurred > 0 && (p >= 1.0 || blurred < n), "%lld of %lld images blurred",
              (long long)blurred, (long long)n);
    free(want);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* 2 x 6 x 7 images, 9 taps: a padding of 4, which torch itself accepts on both sides. */
Test(gaussian_blur, each_image_matches_a_2d_convolution_of_its_reflect_padded_copy)
{
    check_against_reference("gaussian_blur:kernel_size=9,sigma_min=0.5,sigma_max=2,p=0.5", 9,
                            0.5, 2.0, 0.5, 2, 6, 7);
}

/* A kernel wider than the image: 31 taps on 4 x 3 planes, the reflection repeated. */
Test(gaussian_blur, a_kernel_wider_than_the_image_reflects_repeatedly)
{
    check_against_reference("gaussian_blur:kernel_size=31,sigma_min=2,sigma_max=20", 31, 2.0,
                            20.0, 1.0, 1, 4, 3);
}

/* Larger sigma blurs more: on an impulse the centre keeps k[r]^2, which falls with sigma. */
Test(gaussian_blur, sigmas_spread_over_the_range)
{
    rg_plugin_instance *pi = pt_load("gaussian_blur:kernel_size=5,sigma_min=0.3,sigma_max=2", A);
    const int64_t n = 64, h = 5, w = 5, pix = h * w;
    float *x = pt_floats(n * pix), *t = pt_one_hot(n, 2);
    memset(x, 0, (size_t)(n * pix) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        x[i * pix + 12] = 1.0f;
    pt_aug_run(pi, x, t, n, 1, h, w, 2, 2, 0);
    double k[5], lo = 1.0, hi = 0.0;
    for (int64_t i = 0; i < n; i++) {
        lo = x[i * pix + 12] < lo ? x[i * pix + 12] : lo;
        hi = x[i * pix + 12] > hi ? x[i * pix + 12] : hi;
    }
    /* sigma 0.3 keeps 98.5% of the impulse at the centre, sigma 2 about 6% */
    ref_kernel(5, 0.5, k);
    cr_assert_gt(hi, k[2] * k[2], "the sharpest image keeps %.4f at its centre", hi);
    ref_kernel(5, 1.5, k);
    cr_assert_lt(lo, k[2] * k[2], "the blurriest image keeps %.4f at its centre", lo);
    rg_free(x);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(gaussian_blur, same_stream_same_blur_at_1_and_2_threads_other_stream_other_blur)
{
    pt_aug_check_streams("gaussian_blur", 1);
    pt_aug_check_streams("gaussian_blur:kernel_size=5", 3);
}

/* The schema cannot say "odd" or "min <= max": create() refuses those, and the host
 * reports RG_ERR_PLUGIN with the plugin's message after its own prefix. */
static const char *create_refuses(const char *params)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/gaussian_blur.so:%s", REGULA_TEST_PLUGINS, params);
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(path, A, NULL, &pi), RG_ERR_PLUGIN,
                 "gaussian_blur:%s was accepted", params);
    return rg_error_message();
}

Test(gaussian_blur, an_even_kernel_size_is_refused)
{
    cr_assert_str_eq(create_refuses("kernel_size=4"),
                     "plugin gaussian_blur: create() failed: gaussian_blur: kernel_size=4 is "
                     "even; it must be odd (the kernel is centred on the pixel, as "
                     "torchvision's GaussianBlur requires)");
}

Test(gaussian_blur, sigma_min_above_sigma_max_is_refused)
{
    cr_assert_str_eq(create_refuses("sigma_min=1.5,sigma_max=1"),
                     "plugin gaussian_blur: create() failed: gaussian_blur: sigma_min=1.5 "
                     "exceeds sigma_max=1");
}

Test(gaussian_blur, kernel_size_above_31_is_refused_by_the_schema)
{
    cr_assert_str_eq(pt_load_fails("gaussian_blur:kernel_size=33", A),
                     "gaussian_blur: parameter kernel_size=33 is out of range [1, 31]");
}

/* gaussian_blur (defaults: 3 taps, sigma in [0.1, 2]) on 2000 Fashion-MNIST images,
 * mlp:128, 10 epochs; chance is 0.10. */
Test(gaussian_blur, blur_trains_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"gaussian_blur.so:p=0.5"};
    double acc = pt_aug_train_with(augs, 1, 10);
    cr_log_info("gaussian_blur: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
