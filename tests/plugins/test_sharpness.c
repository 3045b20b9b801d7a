/* sharpness: torchvision F.adjust_sharpness(img, f): blur = the 3 x 3 kernel
 * [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 on the interior, the border copied from img,
 * out = clamp(f img + (1 - f) blur, 0, 1); f = 1 +- m, m uniform between magnitude_min and
 * magnitude, sign random, from the uniform at stream offset 2i + 1 (apply if the one at 2i
 * is < p). The reference below is written from that definition, in double. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"

#define A RG_PLUGIN_AUGMENTER

/* F.adjust_sharpness on one h x w plane (h, w > 2). */
static void ref_sharpness(const float *in, float *out, int64_t h, int64_t w, double f)
{
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            double blur = in[y * w + x];
            if (y > 0 && y < h - 1 && x > 0 && x < w - 1) {
                blur = 0.0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        blur += (dy == 0 && dx == 0 ? 5.0 : 1.0) * in[(y + dy) * w + x + dx];
                blur /= 13.0;
            }
            double v = f * in[y * w + x] + (1.0 - f) * blur;
            out[y * w + x] = (float)(v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v));
        }
}

static double drawn_factor(const rg_rng_stream *s, int64_t i, double lo, double hi)
{
    float u;
    rg_rng_uniform(s, (uint64_t)(2 * i + 1), &u, 1);
    double v = 2.0 * (double)u - 1.0;
    return 1.0 + copysign(lo + (hi - lo) * fabs(v), v);
}

static int close_to(const float *a, const float *b, int64_t n, double tol)
{
    for (int64_t q = 0; q < n; q++)
        if (fabs((double)a[q] - (double)b[q]) > tol)
            return 0;
    return 1;
}

Test(sharpness, magnitude_0_and_p_0_are_the_identity)
{
    pt_aug_check_identity("sharpness:magnitude=0");
    pt_aug_check_identity("sharpness:p=0");
}

/* By hand, a 3 x 3 image of 0.13 with 0.26 in the middle: the middle's blur is
 * (8 * 0.13 + 5 * 0.26) / 13 = 0.18, so f = 2 gives 2 * 0.26 - 0.18 = 0.34 and f = 0 gives
 * the blur, 0.18; the border keeps 0.13 either way. magnitude = magnitude_min = 1 draws one
 * of the two. */
Test(sharpness, a_hand_computed_3x3_image_at_factors_0_and_2)
{
    rg_plugin_instance *pi = pt_load("sharpness:magnitude=1,magnitude_min=1", A);
    int seen[2] = {0, 0};
    for (uint64_t step = 0; step < 16; step++) {
        float x[9], lab[1] = {1.0f};
        for (int q = 0; q < 9; q++)
            x[q] = q == 4 ? 0.26f : 0.13f;
        pt_aug_run(pi, x, lab, 1, 1, 3, 3, 1, 2, step);
        for (int q = 0; q < 9; q++)
            if (q != 4)
                cr_assert_float_eq(x[q], 0.13f, 1e-6, "step %llu border %d",
                                   (unsigned long long)step, q);
        int sharp = fabsf(x[4] - 0.34f) < 1e-6f, soft = fabsf(x[4] - 0.18f) < 1e-6f;
        cr_assert(sharp + soft == 1, "step %llu: middle %.7f", (unsigned long long)step, x[4]);
        seen[sharp]++;
    }
    cr_assert(seen[0] && seen[1], "%d blurred, %d sharpened", seen[0], seen[1]);
    rg_plugin_instance_destroy(pi);
}

/* Each image against the reference at its drawn factor (RGB 7 x 8 images), and the
 * factors spread over [1 - 0.8, 1 + 0.8]. */
Test(sharpness, each_image_matches_adjust_sharpness_at_its_drawn_factor)
{
    rg_plugin_instance *pi = pt_load("sharpness:magnitude=0.8,p=0.9", A);
    const int64_t n = 60, c = 3, h = 7, w = 8, plane = h * w, img = c * plane;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float want[7 * 8];
    pt_fill(x, n * img, 91, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, 2, 31, 2);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 31, 0, 2, RG_SITE_AUGMENT);
    double lo = 9.0, hi = -9.0;
    for (int64_t i = 0; i < n; i++) {
        float u;
        rg_rng_uniform(&s, (uint64_t)(2 * i), &u, 1);
        if (!(u < 0.9f)) {
            cr_assert(memcmp(x + i * img, y + i * img, (size_t)img * sizeof(float)) == 0,
                      "image %lld changed", (long long)i);
            continue;
        }
        double f = drawn_factor(&s, i, 0.0, 0.8);
        lo = f < lo ? f : lo;
        hi = f > hi ? f : hi;
        for (int64_t ch = 0; ch < c; ch++) {
            ref_sharpness(x + i * img + ch * plane, want, h, w, f);
            for (int64_t q = 0; q < plane; q++)
                cr_assert_float_eq(y[i * img + ch * plane + q], want[q], 2e-6,
                                   "image %lld (f %.4f) channel %lld pixel %lld", (long long)i, f,
                                   (long long)ch, (long long)q);
        }
    }
    cr_assert(lo < 0.4 && hi > 1.6, "factors %.3f..%.3f", lo, hi);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* magnitude = magnitude_min = 0.4: every image is the reference at f = 1.4 or at f = 0.6,
 * and both occur. */
Test(sharpness, magnitude_min_equal_to_magnitude_gives_a_fixed_factor_either_side)
{
    rg_plugin_instance *pi = pt_load("sharpness:magnitude=0.4,magnitude_min=0.4", A);
    const int64_t n = 40, h = 6, w = 6, img = h * w;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float up[36], down[36];
    pt_fill(x, n * img, 92, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, 1, h, w, 2, 32, 0);
    int nu = 0, nd = 0;
    for (int64_t i = 0; i < n; i++) {
        ref_sharpness(x + i * img, up, h, w, 1.4);
        ref_sharpness(x + i * img, down, h, w, 0.6);
        int is_up = close_to(y + i * img, up, img, 2e-6);
        int is_down = close_to(y + i * img, down, img, 2e-6);
        cr_assert(is_up + is_down == 1, "image %lld: f 1.4 %d, f 0.6 %d", (long long)i, is_up,
                  is_down);
        nu += is_up;
        nd += is_down;
    }
    cr_assert(nu > 5 && nd > 5, "%d sharpened, %d blurred", nu, nd);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(sharpness, magnitude_and_magnitude_min_form_an_unordered_interval)
{
    const char *specs[] = {"sharpness:magnitude=0.1,magnitude_min=0.7",
                           "sharpness:magnitude=0.7,magnitude_min=0.1"};
    const int64_t n = 24, c = 3, h = 5, w = 5, img = c * h * w;
    float *x = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float *y[2] = {pt_floats(n * img), pt_floats(n * img)};
    pt_fill(x, n * img, 93, 0.0f, 1.0f);
    for (int k = 0; k < 2; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], A);
        memcpy(y[k], x, (size_t)(n * img) * sizeof(float));
        pt_aug_run(pi, y[k], t, n, c, h, w, 2, 33, 0);
        rg_plugin_instance_destroy(pi);
    }
    cr_assert(memcmp(y[0], y[1], (size_t)(n * img) * sizeof(float)) == 0,
              "the two orders of the bounds differ");
    rg_rng_stream s;
    rg_rng_stream_init(&s, 33, 0, 0, RG_SITE_AUGMENT);
    float want[25];
    for (int64_t i = 0; i < n; i++) {
        double f = drawn_factor(&s, i, 0.1, 0.7);
        cr_assert(fabs(f - 1.0) >= 0.1 - 1e-12 && fabs(f - 1.0) <= 0.7 + 1e-12);
        for (int64_t ch = 0; ch < c; ch++) {
            ref_sharpness(x + i * img + ch * h * w, want, h, w, f);
            cr_assert(close_to(y[0] + i * img + ch * h * w, want, h * w, 2e-6), "image %lld",
                      (long long)i);
        }
    }
    rg_free(x);
    rg_free(y[0]);
    rg_free(y[1]);
    rg_free(t);
}

/* As torchvision, an image 2 pixels wide or high has no interior and is left as it is. */
Test(sharpness, images_of_a_side_of_2_are_unchanged)
{
    rg_plugin_instance *pi = pt_load("sharpness:magnitude=1,magnitude_min=1", A);
    float x[2 * 9], y[2 * 9], lab[2] = {1.0f, 1.0f};
    pt_fill(x, 18, 94, 0.0f, 1.0f);
    memcpy(y, x, sizeof x);
    pt_aug_run(pi, y, lab, 1, 2, 9, 2, 1, 1, 0);
    cr_assert(memcmp(x, y, sizeof x) == 0);
    pt_aug_run(pi, y, lab, 1, 2, 2, 9, 1, 1, 0);
    cr_assert(memcmp(x, y, sizeof x) == 0);
    rg_plugin_instance_destroy(pi);
}

Test(sharpness, same_stream_same_factors_at_1_and_2_threads_other_stream_other_factors)
{
    pt_aug_check_streams("sharpness", 1);
    pt_aug_check_streams("sharpness:magnitude=1", 3);
}

Test(sharpness, magnitude_above_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("sharpness:magnitude=1.5", A),
                     "sharpness: parameter magnitude=1.5 is out of range [0, 1]");
}
