/* rotate: torchvision RandomRotation(degrees, BILINEAR, fill=0): rotate about
 * ((w-1)/2, (h-1)/2) by an angle uniform in [-degrees, degrees], each output
 * pixel a bilinear sample (outside neighbours 0) of the inverse-rotated
 * position; with degrees_min, |angle| is uniform between the two bounds and
 * the sign random (degrees_min = degrees: RandAugment's fixed magnitude).
 * Expected values are computed here from that definition. */
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

#include "../../plugins/common/bilinear.h"

#define A RG_PLUGIN_AUGMENTER






/* ---- a short Fashion-MNIST run with augmenters ------------------------- */


Test(rotate, degrees_0_and_p_0_are_the_identity)
{
    pt_aug_check_identity("rotate:degrees=0");
    pt_aug_check_identity("rotate:p=0");
}

/* The centre of an odd-sized image is the rotation's fixed point: whatever
 * the angle, the centre pixel keeps its value exactly, while the rest moves. */
Test(rotate, the_centre_pixel_of_an_odd_image_is_fixed_for_any_angle)
{
    rg_plugin_instance *pi = pt_load("rotate:degrees=180", A);
    const int64_t n = 64, c = 3, pix = 25;
    float *x = pt_floats(n * c * pix), *y = pt_floats(n * c * pix), *t = pt_one_hot(n, 2);
    pt_fill(x, n * c * pix, 41, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * c * pix) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, 5, 5, 2, 1, 0);
    int64_t moved = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++) {
            int64_t o = (i * c + ch) * pix;
            cr_assert_eq(y[o + 12], x[o + 12], "image %lld channel %lld", (long long)i,
                         (long long)ch);
            moved += memcmp(x + o, y + o, (size_t)pix * sizeof(float)) != 0;
        }
    cr_assert_eq(moved, n * c, "only %lld of %lld planes changed", (long long)moved,
                 (long long)(n * c));
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* A 90-degree counter-clockwise turn of a 3 x 3 image, by hand: the sample
 * positions are integers, so out[y][x] = in[x][2 - y] exactly. The test's
 * reference below reproduces it, which proves the reference's convention. */
static float ref_pixel(const float *in, int64_t h, int64_t w, double deg, int64_t y, int64_t x)
{
    double t = deg * 3.14159265358979323846 / 180.0, ct = cos(t), st = sin(t);
    double cy = 0.5 * (double)(h - 1), cx = 0.5 * (double)(w - 1);
    double xs = cx + (x - cx) * ct - (y - cy) * st, ys = cy + (x - cx) * st + (y - cy) * ct;
    double fy = floor(ys), fx = floor(xs), v = 0.0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int64_t yy = (int64_t)fy + a, xx = (int64_t)fx + b;
            double wgt = (a ? ys - fy : 1.0 - (ys - fy)) * (b ? xs - fx : 1.0 - (xs - fx));
            if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                v += wgt * in[yy * w + xx];
        }
    return (float)v;
}

Test(rotate, the_reference_turns_a_3x3_image_by_90_degrees_counter_clockwise)
{
    const float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    /* counter-clockwise: the right column becomes the top row */
    const float want[9] = {3, 6, 9, 2, 5, 8, 1, 4, 7};
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++)
            cr_assert_float_eq(ref_pixel(in, 3, 3, 90.0, y, x), want[y * 3 + x], 1e-9);
}

/* The plugin against the reference at the angle its documented stream
 * layout gives image i (uniform at offset 2i + 1: t = degrees (2u - 1)),
 * on 1 x 6 x 7 images for degrees = 90: every pixel within 1e-5. */
Test(rotate, each_image_matches_a_bilinear_rotation_by_its_drawn_angle)
{
    rg_plugin_instance *pi = pt_load("rotate:degrees=90", A);
    const int64_t n = 40, h = 6, w = 7, pix = h * w;
    float *x = pt_floats(n * pix), *y = pt_floats(n * pix), *t = pt_one_hot(n, 2);
    pt_fill(x, n * pix, 43, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * pix) * sizeof(float));
    pt_aug_run(pi, y, t, n, 1, h, w, 2, 6, 2);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 6, 0, 2, RG_SITE_AUGMENT);
    double lo = 1e9, hi = -1e9;
    for (int64_t i = 0; i < n; i++) {
        float u;
        rg_rng_uniform(&s, (uint64_t)(2 * i + 1), &u, 1);
        double deg = 90.0 * (2.0 * (double)u - 1.0);
        lo = deg < lo ? deg : lo;
        hi = deg > hi ? deg : hi;
        for (int64_t r = 0; r < h; r++)
            for (int64_t q = 0; q < w; q++)
                cr_assert_float_eq(y[i * pix + r * w + q], ref_pixel(x + i * pix, h, w, deg, r, q),
                                   1e-5, "image %lld (angle %.3f) pixel (%lld, %lld)", (long long)i,
                                   deg, (long long)r, (long long)q);
    }
    cr_assert(lo < -45.0 && hi > 45.0, "angles %.1f..%.1f do not spread over [-90, 90]", lo, hi);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(rotate, same_stream_same_angles_at_1_and_2_threads_other_stream_other_angles)
{
    pt_aug_check_streams("rotate", 1);
    pt_aug_check_streams("rotate", 3);
}

/* The rotation of a c x h x w image by t radians, by the double operations of
 * rotate 1.0 in its order (sample positions, then the padded bilinear sampler
 * the plugin shares), so a comparison with it can be bit for bit. */
static void rotate_bits(const float *in, int64_t c, int64_t h, int64_t w, double t, float *out)
{
    float *pad = pt_floats(bilinear_padded_floats(c, h, w));
    bilinear_pad(pad, in, c, h, w);
    double ct = cos(t), st = sin(t);
    double cy = 0.5 * (double)(h - 1), cx = 0.5 * (double)(w - 1);
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                double xo = (double)x - cx, yo = (double)y - cy;
                double xs = cx + xo * ct - yo * st, ys = cy + xo * st + yo * ct;
                out[(ch * h + y) * w + x] =
                    bilinear_padded(pad + ch * (h + 2) * (w + 2), h, w, ys, xs);
            }
    rg_free(pad);
}

static const double PI = 3.14159265358979323846;

/* Version 1.0 drew t = degrees (2u - 1) from the uniform at offset 2i + 1
 * (after the apply-uniform at 2i). With degrees_min = 0, or without the key,
 * every image must still be exactly that rotation: existing runs reproduce. */
Test(rotate, degrees_min_0_reproduces_version_1_0_bit_for_bit)
{
    const char *specs[] = {"rotate:degrees=37,p=0.7", "rotate:degrees=37,p=0.7,degrees_min=0"};
    const int64_t n = 48, c = 3, h = 9, w = 11, img = c * h * w;
    float *x = pt_floats(n * img), *want = pt_floats(img), *t = pt_one_hot(n, 2);
    float *y[2] = {pt_floats(n * img), pt_floats(n * img)};
    pt_fill(x, n * img, 61, 0.0f, 1.0f);
    for (int k = 0; k < 2; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], A);
        memcpy(y[k], x, (size_t)(n * img) * sizeof(float));
        pt_aug_run(pi, y[k], t, n, c, h, w, 2, 8, 3);
        rg_plugin_instance_destroy(pi);
    }
    cr_assert(memcmp(y[0], y[1], (size_t)(n * img) * sizeof(float)) == 0,
              "degrees_min=0 differs from the spec without it");
    rg_rng_stream s;
    rg_rng_stream_init(&s, 8, 0, 3, RG_SITE_AUGMENT);
    int64_t turned = 0;
    for (int64_t i = 0; i < n; i++) {
        float u[2];
        rg_rng_uniform(&s, (uint64_t)(2 * i), u, 2);
        if (u[0] < 0.7f) {
            rotate_bits(x + i * img, c, h, w, 37.0 * (2.0 * (double)u[1] - 1.0) * PI / 180.0, want);
            turned++;
        } else {
            memcpy(want, x + i * img, (size_t)img * sizeof(float));
        }
        cr_assert(memcmp(y[0] + i * img, want, (size_t)img * sizeof(float)) == 0,
                  "image %lld is not the version 1.0 result", (long long)i);
    }
    cr_assert(turned > 20 && turned < n, "%lld of %lld images rotated", (long long)turned,
              (long long)n);
    rg_free(x);
    rg_free(want);
    rg_free(y[0]);
    rg_free(y[1]);
    rg_free(t);
}

/* degrees_min = degrees = 30: every image is, bit for bit, the image rotated
 * by +30 or by -30 degrees, and both signs occur. */
Test(rotate, degrees_min_equal_to_degrees_rotates_every_image_by_exactly_that_angle)
{
    rg_plugin_instance *pi = pt_load("rotate:degrees=30,degrees_min=30", A);
    const int64_t n = 40, c = 1, h = 8, w = 7, img = c * h * w;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float *plus = pt_floats(img), *minus = pt_floats(img);
    pt_fill(x, n * img, 62, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, 2, 9, 0);
    int64_t np = 0, nm = 0;
    for (int64_t i = 0; i < n; i++) {
        rotate_bits(x + i * img, c, h, w, 30.0 * PI / 180.0, plus);
        rotate_bits(x + i * img, c, h, w, -30.0 * PI / 180.0, minus);
        int is_plus = memcmp(y + i * img, plus, (size_t)img * sizeof(float)) == 0;
        int is_minus = memcmp(y + i * img, minus, (size_t)img * sizeof(float)) == 0;
        cr_assert(is_plus + is_minus == 1, "image %lld: rotated by +30 %d, by -30 %d",
                  (long long)i, is_plus, is_minus);
        np += is_plus;
        nm += is_minus;
    }
    cr_assert(np > 5 && nm > 5, "%lld turned by +30, %lld by -30", (long long)np, (long long)nm);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(plus);
    rg_free(minus);
    rg_plugin_instance_destroy(pi);
}

/* The bounds are an unordered interval: degrees=10,degrees_min=40 is the same
 * draw as degrees=40,degrees_min=10, and each image is rotated by
 * copysign(10 + 30 |v|, v) degrees, v = 2u - 1, |angle| spread over [10, 40]. */
Test(rotate, degrees_and_degrees_min_form_an_unordered_interval)
{
    const char *specs[] = {"rotate:degrees=10,degrees_min=40", "rotate:degrees=40,degrees_min=10"};
    const int64_t n = 60, h = 6, w = 7, pix = h * w;
    float *x = pt_floats(n * pix), *t = pt_one_hot(n, 2);
    float *y[2] = {pt_floats(n * pix), pt_floats(n * pix)};
    pt_fill(x, n * pix, 63, 0.0f, 1.0f);
    for (int k = 0; k < 2; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], A);
        memcpy(y[k], x, (size_t)(n * pix) * sizeof(float));
        pt_aug_run(pi, y[k], t, n, 1, h, w, 2, 10, 1);
        rg_plugin_instance_destroy(pi);
    }
    cr_assert(memcmp(y[0], y[1], (size_t)(n * pix) * sizeof(float)) == 0,
              "the two orders of the bounds differ");
    rg_rng_stream s;
    rg_rng_stream_init(&s, 10, 0, 1, RG_SITE_AUGMENT);
    double lo = 1e9, hi = -1e9;
    int neg = 0, pos = 0;
    for (int64_t i = 0; i < n; i++) {
        float u;
        rg_rng_uniform(&s, (uint64_t)(2 * i + 1), &u, 1);
        double v = 2.0 * (double)u - 1.0, deg = copysign(10.0 + 30.0 * fabs(v), v);
        lo = fabs(deg) < lo ? fabs(deg) : lo;
        hi = fabs(deg) > hi ? fabs(deg) : hi;
        neg += deg < 0.0;
        pos += deg > 0.0;
        for (int64_t r = 0; r < h; r++)
            for (int64_t q = 0; q < w; q++)
                cr_assert_float_eq(y[0][i * pix + r * w + q],
                                   ref_pixel(x + i * pix, h, w, deg, r, q), 1e-5,
                                   "image %lld (angle %.3f) pixel (%lld, %lld)", (long long)i,
                                   deg, (long long)r, (long long)q);
    }
    cr_assert(lo >= 10.0 && lo < 15.0 && hi <= 40.0 && hi > 35.0, "|angles| %.2f..%.2f", lo, hi);
    cr_assert(neg > 10 && pos > 10, "%d negative, %d positive angles", neg, pos);
    rg_free(x);
    rg_free(y[0]);
    rg_free(y[1]);
    rg_free(t);
}

Test(rotate, degrees_min_at_either_bound_is_accepted_and_above_180_refused)
{
    rg_plugin_instance_destroy(pt_load("rotate:degrees_min=0", A));
    rg_plugin_instance_destroy(pt_load("rotate:degrees_min=180", A));
    cr_assert_str_eq(pt_load_fails("rotate:degrees_min=181", A),
                     "rotate: parameter degrees_min=181 is out of range [0, 180]");
}

Test(rotate, degrees_above_180_is_refused)
{
    cr_assert_str_eq(pt_load_fails("rotate:degrees=181", A),
                     "rotate: parameter degrees=181 is out of range [0, 180]");
}

/* rotate, translate and scale (mild settings) on 2000 Fashion-MNIST images,
 * mlp:128, 10 epochs; chance is 0.10. */
Test(rotate, geometric_family_trains_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"rotate.so:degrees=10", "translate.so:fraction=0.05", "scale.so"};
    double acc = pt_aug_train_with(augs, 3, 10);
    cr_log_info("rotate+translate+scale: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
