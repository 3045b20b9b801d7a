/* elastic: Simard, Steinkraus & Platt (ICDAR 2003, section 2): uniform random fields
 * dx, dy in [-1, 1] per pixel, each convolved with a normalized Gaussian of std sigma
 * (int(8 sigma + 1) taps made odd, reflect padding, as torchvision's ElasticTransform),
 * times alpha pixels; out(x, y) = in(x + dx, y + dy) bilinearly, outside neighbours 0.
 * The expected values are computed here from that definition: the fields by a 2-D
 * convolution over reflected indices, not the plugin's folded matrices. */
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

/* torchvision ElasticTransform.get_params: kx = int(8 sigma + 1), made odd. */
static int ref_size(double sigma)
{
    int k = (int)(8.0 * sigma + 1.0);
    return k % 2 ? k : k + 1;
}

/* _get_gaussian_kernel1d(size, sigma), in double; k holds ref_size(sigma) taps. */
static double *ref_kernel(double sigma, int *size)
{
    *size = ref_size(sigma);
    double *k = malloc((size_t)*size * sizeof(double)), half = 0.5 * (*size - 1), sum = 0.0;
    cr_assert(k);
    for (int j = 0; j < *size; j++) {
        k[j] = exp(-0.5 * pow((j - half) / sigma, 2.0));
        sum += k[j];
    }
    for (int j = 0; j < *size; j++)
        k[j] /= sum;
    return k;
}

/* torch's reflect index, folded as often as needed (the plugin documents the repeat). */
static int64_t ref_reflect(int64_t i, int64_t n)
{
    if (n == 1)
        return 0;
    while (i < 0 || i >= n)
        i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

/* The smoothed field of raw uniforms u (h x w): 2u - 1 convolved with k k^T. */
static void ref_field(const float *u, int64_t h, int64_t w, double sigma, double *out)
{
    int size;
    double *k = ref_kernel(sigma, &size);
    int64_t r = size / 2;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            double s = 0.0;
            for (int a = 0; a < size; a++)
                for (int b = 0; b < size; b++) {
                    int64_t yy = ref_reflect(y + a - r, h), xx = ref_reflect(x + b - r, w);
                    s += k[a] * k[b] * (2.0 * (double)u[yy * w + xx] - 1.0);
                }
            out[y * w + x] = s;
        }
    free(k);
}

/* A bilinear sample of one plane at (ys, xs) with a bounds check per neighbour. */
static double ref_sample(const float *in, int64_t h, int64_t w, double ys, double xs)
{
    double fy = floor(ys), fx = floor(xs), v = 0.0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            double yy = fy + a, xx = fx + b;
            double wgt = (a ? ys - fy : 1.0 - (ys - fy)) * (b ? xs - fx : 1.0 - (xs - fx));
            if (yy >= 0 && yy < (double)h && xx >= 0 && xx < (double)w)
                v += wgt * in[(int64_t)yy * w + (int64_t)xx];
        }
    return v;
}

Test(elastic, the_reference_kernel_has_torchvisions_size_int_8_sigma_plus_1_made_odd)
{
    cr_assert_eq(ref_size(4.0), 33);
    cr_assert_eq(ref_size(5.0), 41);
    cr_assert_eq(ref_size(0.5), 5);
    cr_assert_eq(ref_size(0.125), 3); /* int(2) is even */
    int size;
    double *k = ref_kernel(1.0, &size), sum = 0.0;
    cr_assert_eq(size, 9);
    for (int j = 0; j < size; j++)
        sum += k[j];
    cr_assert_float_eq(sum, 1.0, 1e-12);
    cr_assert_float_eq(k[5] / k[4], exp(-0.5), 1e-12);
    free(k);
}

Test(elastic, alpha_0_and_p_0_are_the_identity)
{
    pt_aug_check_identity("elastic:alpha=0");
    pt_aug_check_identity("elastic:p=0");
}

/* The plugin against the reference with the fields its documented stream layout gives
 * image i (K = 2hw + 1; iK: distort if u < p; iK + 1 + q: raw dx of pixel q;
 * iK + 1 + hw + q: raw dy): distorted images within 1e-5 of the reference at every
 * pixel, the others untouched. */
static void check_against_reference(const char *spec, double alpha, double sigma, double p,
                                    int64_t c, int64_t h, int64_t w)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 16, pix = h * w, numel = n * c * pix;
    float *x = pt_floats(numel), *y = pt_floats(numel), *t = pt_one_hot(n, 3);
    float *raw = malloc((size_t)(2 * pix) * sizeof(float));
    double *dx = malloc((size_t)pix * sizeof(double)), *dy = malloc((size_t)pix * sizeof(double));
    cr_assert(raw && dx && dy);
    pt_fill(x, numel, 49, 0.0f, 1.0f);
    memcpy(y, x, (size_t)numel * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, 3, 13, 6);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 13, 0, 6, RG_SITE_AUGMENT);
    const uint64_t K = 2 * (uint64_t)pix + 1;
    int64_t distorted = 0;
    double most = 0.0; /* the largest displacement, in pixels */
    for (int64_t i = 0; i < n; i++) {
        float u;
        rg_rng_uniform(&s, (uint64_t)i * K, &u, 1);
        const float *in = x + i * c * pix, *out = y + i * c * pix;
        if (!(u < p)) {
            cr_assert(memcmp(in, out, (size_t)(c * pix) * sizeof(float)) == 0,
                      "image %lld (u = %g >= p) changed", (long long)i, u);
            continue;
        }
        distorted++;
        rg_rng_uniform(&s, (uint64_t)i * K + 1, raw, (size_t)(2 * pix));
        ref_field(raw, h, w, sigma, dx);
        ref_field(raw + pix, h, w, sigma, dy);
        for (int64_t q = 0; q < pix; q++) {
            double d = alpha * hypot(dx[q], dy[q]);
            most = d > most ? d : most;
        }
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t r = 0; r < h; r++)
                for (int64_t q = 0; q < w; q++) {
                    int64_t o = r * w + q;
                    double want = ref_sample(in + ch * pix, h, w, (double)r + alpha * dy[o],
                                             (double)q + alpha * dx[o]);
                    cr_assert_float_eq(out[ch * pix + o], want, 1e-5,
                                       "image %lld channel %lld pixel (%lld, %lld): %.7g, want "
                                       "%.7g (displacement %.3f, %.3f)",
                                       (long long)i, (long long)ch, (long long)r, (long long)q,
                                       out[ch * pix + o], want, alpha * dx[o], alpha * dy[o]);
                }
    }
    cr_assert(distorted > 0 && (p >= 1.0 || distorted < n), "%lld of %lld images distorted",
              (long long)distorted, (long long)n);
    cr_assert_gt(most, 1.0, "the largest displacement is %.3f pixels", most);
    free(raw);
    free(dx);
    free(dy);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(elastic, each_image_matches_simards_deformation_of_its_drawn_fields)
{
    /* sigma 1: 9 taps, a padding of 4 on 8 x 9 planes, one reflection */
    check_against_reference("elastic:alpha=3,sigma=1,p=0.6", 3.0, 1.0, 0.6, 2, 8, 9);
}

Test(elastic, a_gaussian_wider_than_the_image_reflects_repeatedly)
{
    /* sigma 3: 25 taps on 8 x 9 planes; the fields average out, so alpha is larger */
    check_against_reference("elastic:alpha=20,sigma=3", 20.0, 3.0, 1.0, 1, 8, 9);
}

/* With sigma far beyond the image the Gaussian is flat over many reflection periods, so
 * every pixel's displacement is the same average of the raw field: each reflection period
 * 2(n - 1) holds the interior indices twice and the two edges once. The image is then a
 * translation by (alpha mean dx, alpha mean dy), several pixels here. */
Test(elastic, with_sigma_huge_the_displacement_is_one_translation_of_the_image)
{
    rg_plugin_instance *pi = pt_load("elastic:alpha=100,sigma=1000", A);
    const int64_t n = 8, h = 12, w = 11, pix = h * w;
    float *x = pt_floats(n * pix), *y = pt_floats(n * pix), *t = pt_one_hot(n, 2);
    float raw[2 * 12 * 11];
    pt_fill(x, n * pix, 51, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * pix) * sizeof(float));
    pt_aug_run(pi, y, t, n, 1, h, w, 2, 3, 1);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 3, 0, 1, RG_SITE_AUGMENT);
    double worst = 0.0, shift = 0.0;
    for (int64_t i = 0; i < n; i++) {
        rg_rng_uniform(&s, (uint64_t)i * (2 * pix + 1) + 1, raw, (size_t)(2 * pix));
        double mx = 0.0, my = 0.0;
        for (int64_t r = 0; r < h; r++)
            for (int64_t q = 0; q < w; q++) {
                double wgt = (r == 0 || r == h - 1 ? 1.0 : 2.0) / (2.0 * (h - 1)) *
                             (q == 0 || q == w - 1 ? 1.0 : 2.0) / (2.0 * (w - 1));
                mx += wgt * (2.0 * raw[r * w + q] - 1.0);
                my += wgt * (2.0 * raw[pix + r * w + q] - 1.0);
            }
        double tx = 100.0 * mx, ty = 100.0 * my;
        shift += hypot(tx, ty) / (double)n;
        for (int64_t r = 0; r < h; r++)
            for (int64_t q = 0; q < w; q++) {
                double want = ref_sample(x + i * pix, h, w, (double)r + ty, (double)q + tx);
                double err = fabs(y[i * pix + r * w + q] - want);
                worst = err > worst ? err : worst;
            }
    }
    cr_log_info("mean translation %.3f pixels, largest deviation %.2e", shift, worst);
    cr_assert_gt(shift, 1.0, "the translations average only %.3f pixels", shift);
    cr_assert_lt(worst, 1e-4, "a pixel is %.2e from the translated image", worst);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* Three identical channels stay identical: one displacement per image, not per channel. */
Test(elastic, every_channel_of_an_image_moves_by_the_same_field)
{
    rg_plugin_instance *pi = pt_load("elastic:alpha=8,sigma=2", A);
    const int64_t n = 8, c = 3, h = 10, w = 10, pix = h * w, numel = n * c * pix;
    float *x = pt_floats(numel), *x0 = pt_floats(numel), *t = pt_one_hot(n, 2);
    for (int64_t i = 0; i < n; i++) {
        pt_fill(x + i * c * pix, pix, 60 + (uint64_t)i, 0.0f, 1.0f);
        for (int64_t ch = 1; ch < c; ch++)
            memcpy(x + (i * c + ch) * pix, x + i * c * pix, (size_t)pix * sizeof(float));
    }
    memcpy(x0, x, (size_t)numel * sizeof(float));
    pt_aug_run(pi, x, t, n, c, h, w, 2, 2, 0);
    for (int64_t i = 0; i < n; i++) {
        const float *img = x + i * c * pix;
        cr_assert(memcmp(img, x0 + i * c * pix, (size_t)pix * sizeof(float)) != 0,
                  "image %lld is unchanged", (long long)i);
        for (int64_t ch = 1; ch < c; ch++)
            cr_assert(memcmp(img, img + ch * pix, (size_t)pix * sizeof(float)) == 0,
                      "image %lld: channel %lld moved differently from channel 0", (long long)i,
                      (long long)ch);
    }
    rg_free(x);
    rg_free(x0);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* The folded matrices are kept for the last image size: one instance fed 8 x 9, then
 * 12 x 11, then 8 x 9 images again gives what a fresh instance gives on each. */
Test(elastic, an_instance_rebuilds_its_smoothing_for_each_new_image_size)
{
    const int64_t sizes[3][2] = {{8, 9}, {12, 11}, {8, 9}};
    rg_plugin_instance *kept = pt_load("elastic:alpha=6,sigma=1.5", A);
    for (int k = 0; k < 3; k++) {
        const int64_t n = 4, h = sizes[k][0], w = sizes[k][1], numel = n * h * w;
        rg_plugin_instance *fresh = pt_load("elastic:alpha=6,sigma=1.5", A);
        float *x = pt_floats(numel), *y = pt_floats(numel), *t = pt_one_hot(n, 2);
        pt_fill(x, numel, 70 + (uint64_t)k, 0.0f, 1.0f);
        memcpy(y, x, (size_t)numel * sizeof(float));
        pt_aug_run(kept, x, t, n, 1, h, w, 2, 5, (uint64_t)k);
        pt_aug_run(fresh, y, t, n, 1, h, w, 2, 5, (uint64_t)k);
        cr_assert(memcmp(x, y, (size_t)numel * sizeof(float)) == 0, "call %d (%lld x %lld)", k,
                  (long long)h, (long long)w);
        rg_free(x);
        rg_free(y);
        rg_free(t);
        rg_plugin_instance_destroy(fresh);
    }
    rg_plugin_instance_destroy(kept);
}

Test(elastic, same_stream_same_fields_at_1_and_2_threads_other_stream_other_fields)
{
    pt_aug_check_streams("elastic", 1);
    pt_aug_check_streams("elastic:alpha=300,sigma=2", 3);
}

Test(elastic, sigma_above_1000_is_refused)
{
    cr_assert_str_eq(pt_load_fails("elastic:sigma=1001", A),
                     "elastic: parameter sigma=1001 is out of range [0, 1000]");
}

/* elastic with Simard's MNIST setting (alpha 34, sigma 4) on 2000 Fashion-MNIST images,
 * mlp:128, 10 epochs; chance is 0.10. */
Test(elastic, elastic_trains_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"elastic.so"};
    double acc = pt_aug_train_with(augs, 1, 10);
    cr_log_info("elastic: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
