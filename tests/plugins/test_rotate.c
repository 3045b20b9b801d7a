/* rotate: torchvision RandomRotation(degrees, BILINEAR, fill=0): rotate about
 * ((w-1)/2, (h-1)/2) by an angle uniform in [-degrees, degrees], each output
 * pixel a bilinear sample (outside neighbours 0) of the inverse-rotated
 * position. Expected values are computed here from that definition. */
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
