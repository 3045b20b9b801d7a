/* equalize: torchvision F.equalize / PIL ImageOps.equalize on the 8-bit levels
 * q = floor(255 x + 1/2) of each channel, written back as lut[q] / 255; image i is
 * equalized when the uniform at stream offset i is < p. The reference below is PIL's
 * ImageOps.equalize loop, written here, with torchvision's clamp of the table at 255. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"
#include "threads.h"

#define A RG_PLUGIN_AUGMENTER

static int level(float x)
{
    return (int)floor(255.0 * (double)x + 0.5);
}

/* PIL: histo = the nonzero bins; one bin or step = (sum(histo) - histo[-1]) // 255 == 0:
 * the identity; else n = step // 2 and lut[i] = n // step, n += h[i], for i = 0..255. */
static void ref_equalize(const float *in, float *out, int64_t n)
{
    long long h[256] = {0}, sum = 0, last = 0;
    int nonzero = 0;
    for (int64_t k = 0; k < n; k++)
        h[level(in[k])]++;
    for (int i = 0; i < 256; i++)
        if (h[i]) {
            sum += h[i];
            last = h[i];
            nonzero++;
        }
    long long step = nonzero <= 1 ? 0 : (sum - last) / 255;
    if (step == 0) {
        memcpy(out, in, (size_t)n * sizeof(float));
        return;
    }
    long long lut[256], acc = step / 2;
    for (int i = 0; i < 256; i++) {
        lut[i] = acc / step;
        acc += h[i];
    }
    for (int64_t k = 0; k < n; k++) {
        long long v = lut[level(in[k])];
        out[k] = (float)(v > 255 ? 255 : v) / 255.0f;
    }
}

static void run1(const char *spec, float *x, int64_t c, int64_t h, int64_t w)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    float lab[1] = {1.0f};
    pt_aug_run(pi, x, lab, 1, c, h, w, 1, 1, 0);
    rg_plugin_instance_destroy(pi);
}

Test(equalize, p_0_is_the_identity)
{
    pt_aug_check_identity("equalize:p=0");
}

/* By hand: 512 pixels at level 10 and 512 at level 20 (32 x 32): step = 512 // 255 = 2,
 * lut[10] = (0 + 1) // 2 = 0, lut[20] = (512 + 1) // 2 = 256, clamped to 255: black and
 * white. 340 pixels each at levels 50, 100, 150 (30 x 34): step = 680 // 255 = 2, levels
 * 0, (340 + 1) // 2 = 170 and 255. */
Test(equalize, hand_computed_histograms_of_two_and_three_levels)
{
    float *x = pt_floats(1024);
    for (int k = 0; k < 1024; k++)
        x[k] = (float)(k % 2 ? 20 : 10) / 255.0f;
    run1("equalize:p=1", x, 1, 32, 32);
    for (int k = 0; k < 1024; k++)
        cr_assert_eq(x[k], k % 2 ? 1.0f : 0.0f, "pixel %d: %g", k, x[k]);
    for (int k = 0; k < 1020; k++)
        x[k] = (float)(50 * (1 + k % 3)) / 255.0f;
    run1("equalize:p=1", x, 1, 30, 34);
    const float want[3] = {0.0f, 170.0f / 255.0f, 1.0f};
    for (int k = 0; k < 1020; k++)
        cr_assert_eq(x[k], want[k % 3], "pixel %d: %g", k, x[k]);
    rg_free(x);
}

/* A 16 x 16 image holding each level once: step = 255 // 255 = 1 and lut[k] = k, so the
 * image is a fixed point, bit for bit. */
Test(equalize, an_image_with_every_level_once_is_a_fixed_point)
{
    float x[256], y[256];
    for (int k = 0; k < 256; k++)
        x[k] = (float)((k * 97) % 256) / 255.0f;
    memcpy(y, x, sizeof x);
    run1("equalize:p=1", y, 1, 16, 16);
    cr_assert(memcmp(x, y, sizeof x) == 0);
}

/* Fewer than 256 pixels (15 x 17 = 255): step is 0 and the channel keeps its float values,
 * not even rounded to levels. */
Test(equalize, a_channel_with_step_0_keeps_its_float_values)
{
    float *x = pt_floats(255), *y = pt_floats(255);
    pt_fill(x, 255, 84, 0.0f, 1.0f);
    memcpy(y, x, 255 * sizeof(float));
    run1("equalize:p=1", y, 1, 15, 17);
    cr_assert(memcmp(x, y, 255 * sizeof(float)) == 0);
    rg_free(x);
    rg_free(y);
}

/* Fashion-MNIST-sized images (and RGB ones), half with dark, narrow histograms: each
 * channel of image i is PIL's equalization bit for bit when its uniform at offset i is
 * < p, else untouched. */
static void check_images(int64_t c, float p, const char *spec)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 60, plane = 28 * 28, img = c * plane;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float *want = pt_floats(plane);
    for (int64_t i = 0; i < n; i++)
        pt_fill(x + i * img, img, 85 + (uint64_t)i, 0.0f, i % 2 ? 1.0f : 0.3f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, 28, 28, 2, 24, 2);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 24, 0, 2, RG_SITE_AUGMENT);
    int64_t applied = 0;
    for (int64_t i = 0; i < n; i++) {
        float u;
        rg_rng_uniform(&s, (uint64_t)i, &u, 1);
        int on = u < p;
        applied += on;
        for (int64_t ch = 0; ch < c; ch++) {
            const float *in = x + i * img + ch * plane, *got = y + i * img + ch * plane;
            if (on)
                ref_equalize(in, want, plane);
            else
                memcpy(want, in, (size_t)plane * sizeof(float));
            for (int64_t q = 0; q < plane; q++)
                cr_assert_eq(got[q], want[q], "%s: image %lld channel %lld pixel %lld: %.9g, "
                             "want %.9g", spec, (long long)i, (long long)ch, (long long)q,
                             got[q], want[q]);
        }
    }
    if (p < 1.0f)
        cr_assert(applied > 10 && applied < n - 10, "%lld of %lld images", (long long)applied,
                  (long long)n);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(want);
    rg_plugin_instance_destroy(pi);
}

Test(equalize, each_channel_matches_pil_equalize_with_probability_p)
{
    check_images(1, 1.0f, "equalize:p=1");
    check_images(3, 0.5f, "equalize");
}

/* 1 vs 2 threads give the same bits, another stream other images (28 x 28 images: on the
 * smaller ones of the shared check, step is 0 and nothing would change). */
Test(equalize, same_stream_same_images_at_1_and_2_threads_other_stream_other_images)
{
    rg_plugin_instance *pi = pt_load("equalize", A);
    const int64_t n = 32, numel = n * 28 * 28;
    float *x[3] = {pt_floats(numel), pt_floats(numel), pt_floats(numel)}, *t = pt_one_hot(n, 2);
    pt_fill(x[0], numel, 86, 0.0f, 0.6f);
    memcpy(x[1], x[0], (size_t)numel * sizeof(float));
    memcpy(x[2], x[0], (size_t)numel * sizeof(float));
    rg_threads_init(1);
    pt_aug_run(pi, x[0], t, n, 1, 28, 28, 2, 5, 0);
    rg_threads_init(2);
    pt_aug_run(pi, x[1], t, n, 1, 28, 28, 2, 5, 0);
    pt_aug_run(pi, x[2], t, n, 1, 28, 28, 2, 5, 1);
    cr_assert(memcmp(x[0], x[1], (size_t)numel * sizeof(float)) == 0, "1 and 2 threads differ");
    cr_assert(memcmp(x[0], x[2], (size_t)numel * sizeof(float)) != 0, "another stream, same batch");
    for (int k = 0; k < 3; k++)
        rg_free(x[k]);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}
