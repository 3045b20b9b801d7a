/* shear: torchvision F.affine(angle=0, translate=0, scale=1, shear=[t, 0] or [0, t],
 * BILINEAR) on a tensor image, |t| uniform between degrees_min and degrees, sign random.
 * The reference below is written from torchvision's definition, not from the plugin:
 * _get_inverse_affine_matrix (the general rotation-scale-shear formula, angle 0), the
 * affine grid of F_t.affine (origin at the middle of the pixel grid, normalized by w/2 and
 * h/2) and grid_sample(align_corners=False, padding_mode="zeros"). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"

#define A RG_PLUGIN_AUGMENTER

static const double PI = 3.14159265358979323846;

/* torchvision's _get_inverse_affine_matrix(center_f, angle=0, translate=[0, 0], scale=1,
 * shear=[sx, sy]) (degrees), into m[6]. */
static void inverse_affine(double cfx, double cfy, double sx_deg, double sy_deg, double m[6])
{
    double rot = 0.0, sx = sx_deg * PI / 180.0, sy = sy_deg * PI / 180.0;
    double a = cos(rot - sy) / cos(sy);
    double b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
    double c = sin(rot - sy) / cos(sy);
    double d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
    m[0] = d;
    m[1] = -b;
    m[2] = 0.0;
    m[3] = -c;
    m[4] = a;
    m[5] = 0.0;
    m[2] += m[0] * -cfx + m[1] * -cfy;
    m[5] += m[3] * -cfx + m[4] * -cfy;
    m[2] += cfx;
    m[5] += cfy;
}

/* grid_sample(align_corners=False, zeros) of one plane at pixel position (ys, xs). */
static double sample(const float *in, int64_t h, int64_t w, double ys, double xs)
{
    double fy = floor(ys), fx = floor(xs), v = 0.0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int64_t yy = (int64_t)fy + a, xx = (int64_t)fx + b;
            double wgt = (a ? ys - fy : 1.0 - (ys - fy)) * (b ? xs - fx : 1.0 - (xs - fx));
            if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                v += wgt * in[yy * w + xx];
        }
    return v;
}

/* F.affine(img, 0, [0, 0], 1, shear=[sx, sy], BILINEAR, center) on a c x h x w image into
 * out: corner = 0 is center=None, corner = 1 is center=[0, 0]. */
static void torch_shear(const float *in, int64_t c, int64_t h, int64_t w, double sx, double sy,
                        int corner, float *out)
{
    double cf[2] = {0.0, 0.0}, m[6];
    if (corner) {
        cf[0] = 0.0 - (double)w * 0.5;
        cf[1] = 0.0 - (double)h * 0.5;
    }
    inverse_affine(cf[0], cf[1], sx, sy, m);
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            /* _gen_affine_grid: base grid linspace(-w/2 + 1/2, w/2 - 1/2) */
            double bx = -(double)w * 0.5 + 0.5 + (double)x, by = -(double)h * 0.5 + 0.5 + (double)y;
            double gx = (m[0] * bx + m[1] * by + m[2]) / (0.5 * (double)w);
            double gy = (m[3] * bx + m[4] * by + m[5]) / (0.5 * (double)h);
            /* grid_sample's unnormalization with align_corners=False */
            double xs = ((gx + 1.0) * (double)w - 1.0) / 2.0;
            double ys = ((gy + 1.0) * (double)h - 1.0) / 2.0;
            for (int64_t ch = 0; ch < c; ch++)
                out[(ch * h + y) * w + x] = (float)sample(in + ch * h * w, h, w, ys, xs);
        }
}

static int close_to(const float *a, const float *b, int64_t n, double tol)
{
    for (int64_t q = 0; q < n; q++)
        if (fabs((double)a[q] - (double)b[q]) > tol)
            return 0;
    return 1;
}

Test(shear, degrees_0_and_p_0_are_the_identity)
{
    pt_aug_check_identity("shear:degrees=0");
    pt_aug_check_identity("shear:axis=both,degrees=0,pivot=corner");
    pt_aug_check_identity("shear:p=0");
}

/* A 45-degree shear (tan = 1) of a 3 x 3 image about its centre, by hand: along x, row y
 * samples the input at x + (y - 1), so row 0 moves right by one, row 2 left by one (or the
 * other way for -45 degrees); along y the same for columns. The reference reproduces both,
 * which pins down its conventions; the plugin must give one of the two signs (on the
 * image divided by 10, pixels being in [0, 1]). */
Test(shear, a_45_degree_shear_of_a_3x3_image_moves_the_outer_rows_by_one_pixel)
{
    const float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float x_plus[9] = {0, 1, 2, 4, 5, 6, 8, 9, 0}, x_minus[9] = {2, 3, 0, 4, 5, 6, 0, 7, 8};
    const float y_plus[9] = {0, 2, 6, 1, 5, 9, 4, 8, 0}, y_minus[9] = {4, 2, 0, 7, 5, 3, 0, 8, 6};
    float ref[9];
    torch_shear(in, 1, 3, 3, 45.0, 0.0, 0, ref);
    cr_assert(close_to(ref, x_plus, 9, 1e-9), "reference, shear=[45, 0]");
    torch_shear(in, 1, 3, 3, -45.0, 0.0, 0, ref);
    cr_assert(close_to(ref, x_minus, 9, 1e-9), "reference, shear=[-45, 0]");
    torch_shear(in, 1, 3, 3, 0.0, 45.0, 0, ref);
    cr_assert(close_to(ref, y_plus, 9, 1e-9), "reference, shear=[0, 45]");
    torch_shear(in, 1, 3, 3, 0.0, -45.0, 0, ref);
    cr_assert(close_to(ref, y_minus, 9, 1e-9), "reference, shear=[0, -45]");
    const char *specs[2] = {"shear:axis=x,degrees=45,degrees_min=45",
                            "shear:axis=y,degrees=45,degrees_min=45"};
    const float *plus[2] = {x_plus, y_plus}, *minus[2] = {x_minus, y_minus};
    for (int k = 0; k < 2; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], A);
        int seen_plus = 0, seen_minus = 0;
        for (uint64_t step = 0; step < 16; step++) {
            float x[9], lab[1] = {1.0f}, p10[9], m10[9];
            for (int q = 0; q < 9; q++) {
                x[q] = in[q] / 10.0f;
                p10[q] = plus[k][q] / 10.0f;
                m10[q] = minus[k][q] / 10.0f;
            }
            pt_aug_run(pi, x, lab, 1, 1, 3, 3, 1, 1, step);
            int is_plus = close_to(x, p10, 9, 1e-6), is_minus = close_to(x, m10, 9, 1e-6);
            cr_assert(is_plus + is_minus == 1, "%s, step %llu", specs[k], (unsigned long long)step);
            seen_plus += is_plus;
            seen_minus += is_minus;
        }
        cr_assert(seen_plus && seen_minus, "%s: %d at +45, %d at -45", specs[k], seen_plus,
                  seen_minus);
        rg_plugin_instance_destroy(pi);
    }
}

/* The angle image i gets from the documented stream layout: uniform at 4i + 1, v = 2u - 1,
 * t = copysign(lo + (hi - lo) |v|, v). */
static double drawn_angle(const rg_rng_stream *s, int64_t i, double lo, double hi)
{
    float u;
    rg_rng_uniform(s, (uint64_t)(4 * i + 1), &u, 1);
    double v = 2.0 * (double)u - 1.0;
    return copysign(lo + (hi - lo) * fabs(v), v);
}

/* Every image against the reference at its drawn angle, for each axis (both: the one the
 * uniform at 4i + 2 picks, x if < 1/2) and pivot, on 2-channel 6 x 7 images. */
static void check_against_reference(const char *spec, int axis, int corner, double lo, double hi)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 40, c = 2, h = 6, w = 7, img = c * h * w;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float *want = pt_floats(img);
    pt_fill(x, n * img, 71, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, 2, 12, 3);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 12, 0, 3, RG_SITE_AUGMENT);
    int along[2] = {0, 0};
    double amin = 1e9, amax = -1e9;
    for (int64_t i = 0; i < n; i++) {
        double deg = drawn_angle(&s, i, lo, hi);
        float pick;
        rg_rng_uniform(&s, (uint64_t)(4 * i + 2), &pick, 1);
        int ax = axis == 2 ? (pick < 0.5f ? 0 : 1) : axis;
        along[ax]++;
        amin = deg < amin ? deg : amin;
        amax = deg > amax ? deg : amax;
        torch_shear(x + i * img, c, h, w, ax == 0 ? deg : 0.0, ax == 1 ? deg : 0.0, corner, want);
        for (int64_t q = 0; q < img; q++)
            cr_assert_float_eq(y[i * img + q], want[q], 1e-5,
                               "%s: image %lld (%s, %.3f degrees) element %lld", spec,
                               (long long)i, ax ? "y" : "x", deg, (long long)q);
    }
    if (axis == 2)
        cr_assert(along[0] > 5 && along[1] > 5, "%s: %d along x, %d along y", spec, along[0],
                  along[1]);
    cr_assert(amin < 0.0 && amax > 0.0, "%s: angles %.2f..%.2f", spec, amin, amax);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(want);
    rg_plugin_instance_destroy(pi);
}

Test(shear, along_x_each_image_matches_torchvision_affine_at_its_drawn_angle)
{
    check_against_reference("shear:axis=x,degrees=30", 0, 0, 0.0, 30.0);
}

Test(shear, along_y_each_image_matches_torchvision_affine_at_its_drawn_angle)
{
    check_against_reference("shear:axis=y,degrees=30", 1, 0, 0.0, 30.0);
}

/* pivot=corner is F.affine(center=[0, 0]), as RandAugment's ShearX and ShearY call it. */
Test(shear, pivot_corner_matches_torchvision_affine_with_center_0_0)
{
    check_against_reference("shear:axis=x,degrees=25,pivot=corner", 0, 1, 0.0, 25.0);
    check_against_reference("shear:axis=y,degrees=25,pivot=corner", 1, 1, 0.0, 25.0);
}

Test(shear, axis_both_shears_each_image_along_the_axis_its_uniform_picks)
{
    check_against_reference("shear:axis=both,degrees=20", 2, 0, 0.0, 20.0);
}

/* degrees_min = degrees = 20: every image is the reference sheared by +20 or by -20
 * degrees, and both signs occur. */
Test(shear, degrees_min_equal_to_degrees_shears_every_image_by_exactly_that_angle)
{
    rg_plugin_instance *pi = pt_load("shear:degrees=20,degrees_min=20", A);
    const int64_t n = 40, h = 8, w = 9, img = h * w;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float *plus = pt_floats(img), *minus = pt_floats(img);
    pt_fill(x, n * img, 72, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, 1, h, w, 2, 13, 0);
    int np = 0, nm = 0;
    for (int64_t i = 0; i < n; i++) {
        torch_shear(x + i * img, 1, h, w, 20.0, 0.0, 0, plus);
        torch_shear(x + i * img, 1, h, w, -20.0, 0.0, 0, minus);
        int is_plus = close_to(y + i * img, plus, img, 1e-5);
        int is_minus = close_to(y + i * img, minus, img, 1e-5);
        cr_assert(is_plus + is_minus == 1, "image %lld: +20 %d, -20 %d", (long long)i, is_plus,
                  is_minus);
        np += is_plus;
        nm += is_minus;
    }
    cr_assert(np > 5 && nm > 5, "%d at +20, %d at -20", np, nm);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(plus);
    rg_free(minus);
    rg_plugin_instance_destroy(pi);
}

/* degrees=5,degrees_min=25 is the same draw as degrees=25,degrees_min=5, and each image
 * matches the reference at copysign(5 + 20 |v|, v). */
Test(shear, degrees_and_degrees_min_form_an_unordered_interval)
{
    const char *specs[] = {"shear:degrees=5,degrees_min=25", "shear:degrees=25,degrees_min=5"};
    const int64_t n = 32, c = 3, h = 5, w = 6, img = c * h * w;
    float *x = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float *y[2] = {pt_floats(n * img), pt_floats(n * img)};
    pt_fill(x, n * img, 73, 0.0f, 1.0f);
    for (int k = 0; k < 2; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], A);
        memcpy(y[k], x, (size_t)(n * img) * sizeof(float));
        pt_aug_run(pi, y[k], t, n, c, h, w, 2, 14, 0);
        rg_plugin_instance_destroy(pi);
    }
    cr_assert(memcmp(y[0], y[1], (size_t)(n * img) * sizeof(float)) == 0,
              "the two orders of the bounds differ");
    check_against_reference("shear:degrees=5,degrees_min=25", 0, 0, 5.0, 25.0);
    rg_free(x);
    rg_free(y[0]);
    rg_free(y[1]);
    rg_free(t);
}

/* About the centre of an odd-height image, the middle row is the fixed line of a shear
 * along x: it keeps its values exactly at any angle, while other rows move. */
Test(shear, the_middle_row_of_an_odd_image_is_fixed_by_a_centred_x_shear)
{
    rg_plugin_instance *pi = pt_load("shear:degrees=60,degrees_min=10", A);
    const int64_t n = 16, h = 7, w = 8, img = h * w;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    pt_fill(x, n * img, 74, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, 1, h, w, 2, 15, 0);
    for (int64_t i = 0; i < n; i++) {
        cr_assert(memcmp(y + i * img + 3 * w, x + i * img + 3 * w, (size_t)w * sizeof(float)) == 0,
                  "image %lld: the middle row moved", (long long)i);
        cr_assert(memcmp(y + i * img, x + i * img, (size_t)img * sizeof(float)) != 0,
                  "image %lld unchanged", (long long)i);
    }
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(shear, same_stream_same_shears_at_1_and_2_threads_other_stream_other_shears)
{
    pt_aug_check_streams("shear", 1);
    pt_aug_check_streams("shear:axis=both,pivot=corner", 3);
}

Test(shear, degrees_of_90_and_an_unknown_axis_are_refused)
{
    cr_assert_str_eq(pt_load_fails("shear:degrees=90", A),
                     "shear: parameter degrees=90 is out of range [0, 90)");
    cr_assert(strstr(pt_load_fails("shear:axis=z", A), "expected one of"));
}

/* shear (axis both, fixed 15 degrees either way) on 2000 Fashion-MNIST images, mlp:128,
 * 10 epochs; chance is 0.10. */
Test(shear, trains_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"shear.so:axis=both,degrees=15,degrees_min=15,p=0.5"};
    double acc = pt_aug_train_with(augs, 1, 10);
    cr_log_info("shear: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
