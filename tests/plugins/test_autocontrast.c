/* autocontrast: torchvision F.autocontrast on a float image: per channel,
 * clamp((x - min) * (1 / (max - min)), 0, 1) in float32, a constant channel unchanged;
 * image i is processed when the uniform at stream offset i is < p. Expected values are
 * computed here from that definition. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"

#define A RG_PLUGIN_AUGMENTER

Test(autocontrast, p_0_is_the_identity)
{
    pt_aug_check_identity("autocontrast:p=0");
}

/* By hand: a channel {0.2, 0.4, 0.6} becomes {0, 0.5, 1}; a constant channel {0.3, 0.3,
 * 0.3} of the same image stays as it is, bit for bit. */
Test(autocontrast, a_hand_computed_image_with_a_constant_channel)
{
    rg_plugin_instance *pi = pt_load("autocontrast:p=1", A);
    float x[6] = {0.2f, 0.4f, 0.6f, 0.3f, 0.3f, 0.3f}, lab[1] = {1.0f};
    pt_aug_run(pi, x, lab, 1, 2, 1, 3, 1, 1, 0);
    cr_assert_eq(x[0], 0.0f);
    cr_assert_float_eq(x[1], 0.5f, 1e-6);
    cr_assert_float_eq(x[2], 1.0f, 1e-6);
    for (int q = 3; q < 6; q++)
        cr_assert_eq(x[q], 0.3f, "constant channel, pixel %d: %.9g", q - 3, x[q]);
    rg_plugin_instance_destroy(pi);
}

/* torchvision's float32 arithmetic on one plane. */
static void ref_autocontrast(const float *in, float *out, int64_t n)
{
    float lo = in[0], hi = in[0];
    for (int64_t k = 1; k < n; k++) {
        lo = fminf(lo, in[k]);
        hi = fmaxf(hi, in[k]);
    }
    float scale = 1.0f / (hi - lo);
    if (!isfinite(scale)) {
        lo = 0.0f;
        scale = 1.0f;
    }
    for (int64_t k = 0; k < n; k++) {
        float v = (in[k] - lo) * scale;
        out[k] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
}

/* RGB images with pixels in [0.2, 0.7]: image i, when its uniform at offset i is < p, is
 * the reference per channel bit for bit, its channels then spanning about [0, 1];
 * otherwise unchanged. */
Test(autocontrast, each_channel_of_each_image_is_stretched_with_probability_p)
{
    rg_plugin_instance *pi = pt_load("autocontrast:p=0.7", A);
    const int64_t n = 200, c = 3, plane = 6 * 5, img = c * plane;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float want[6 * 5];
    pt_fill(x, n * img, 83, 0.2f, 0.7f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, 6, 5, 2, 23, 0);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 23, 0, 0, RG_SITE_AUGMENT);
    int64_t applied = 0;
    for (int64_t i = 0; i < n; i++) {
        float u;
        rg_rng_uniform(&s, (uint64_t)i, &u, 1);
        int on = u < 0.7f;
        applied += on;
        for (int64_t ch = 0; ch < c; ch++) {
            const float *in = x + i * img + ch * plane, *got = y + i * img + ch * plane;
            if (!on) {
                cr_assert(memcmp(in, got, sizeof want) == 0, "image %lld changed", (long long)i);
                continue;
            }
            ref_autocontrast(in, want, plane);
            float lo = 1.0f, hi = 0.0f;
            for (int64_t q = 0; q < plane; q++) {
                cr_assert_eq(got[q], want[q], "image %lld channel %lld pixel %lld", (long long)i,
                             (long long)ch, (long long)q);
                lo = fminf(lo, got[q]);
                hi = fmaxf(hi, got[q]);
            }
            cr_assert(lo == 0.0f && hi > 0.999999f, "image %lld channel %lld spans %g..%g",
                      (long long)i, (long long)ch, lo, hi);
        }
    }
    cr_assert(applied > 110 && applied < 170, "%lld of %lld images", (long long)applied,
              (long long)n);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* An image already spanning [0, 1] in every channel stays as it is (scale 1, minimum 0). */
Test(autocontrast, a_full_range_image_is_unchanged)
{
    rg_plugin_instance *pi = pt_load("autocontrast:p=1", A);
    float x[8] = {0.0f, 0.25f, 1.0f, 0.5f, 1.0f, 0.0f, 0.75f, 0.125f}, y[8], lab[1] = {1.0f};
    memcpy(y, x, sizeof x);
    pt_aug_run(pi, y, lab, 1, 2, 2, 2, 1, 4, 0);
    cr_assert(memcmp(x, y, sizeof x) == 0);
    rg_plugin_instance_destroy(pi);
}

Test(autocontrast, same_stream_same_images_at_1_and_2_threads_other_stream_other_images)
{
    pt_aug_check_streams("autocontrast", 1);
    pt_aug_check_streams("autocontrast", 3);
}
