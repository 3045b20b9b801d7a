/* posterize: torchvision F.posterize on the 8-bit levels of a float image: q = the level
 * x stands for (floor(255 x + 1/2)), q & -(2^(8 - bits)), written back as float32 q / 255;
 * image i is posterized when the uniform at stream offset i is < p. Expected values are
 * computed here from that definition. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"

#define A RG_PLUGIN_AUGMENTER

/* torchvision's mask, -int(2 ** (8 - bits)), on a uint8 */
static unsigned torch_mask(int bits)
{
    return (unsigned)(-(int)pow(2.0, 8 - bits)) & 0xffu;
}

Test(posterize, p_0_is_the_identity)
{
    pt_aug_check_identity("posterize:p=0");
}

/* By hand, bits = 2 keeps the levels 0, 64, 128, 192: 63 -> 0, 100 -> 64, 200 -> 192,
 * 255 -> 192, 128 -> 128. */
Test(posterize, a_hand_computed_row_at_2_bits)
{
    rg_plugin_instance *pi = pt_load("posterize:bits=2,p=1", A);
    const int in[5] = {63, 100, 200, 255, 128}, want[5] = {0, 64, 192, 192, 128};
    float x[5], lab[1] = {1.0f};
    for (int q = 0; q < 5; q++)
        x[q] = (float)in[q] / 255.0f;
    pt_aug_run(pi, x, lab, 1, 1, 1, 5, 1, 1, 0);
    for (int q = 0; q < 5; q++)
        cr_assert_eq(x[q], (float)want[q] / 255.0f, "level %d -> %g, want %d/255", in[q], x[q],
                     want[q]);
    rg_plugin_instance_destroy(pi);
}

/* Every 8-bit level k / 255 (as ToTensor writes it), at every bits: the result is
 * (k & mask) / 255 bit for bit, so bits = 8 leaves 8-bit images unchanged. */
Test(posterize, every_level_at_every_bits_is_masked_as_torchvision_masks_uint8)
{
    for (int bits = 1; bits <= 8; bits++) {
        char spec[64];
        snprintf(spec, sizeof spec, "posterize:bits=%d,p=1", bits);
        rg_plugin_instance *pi = pt_load(spec, A);
        float x[256], lab[1] = {1.0f};
        for (int k = 0; k < 256; k++)
            x[k] = (float)k / 255.0f;
        pt_aug_run(pi, x, lab, 1, 1, 16, 16, 1, 2, 0);
        for (int k = 0; k < 256; k++) {
            float want = (float)(k & (int)torch_mask(bits)) / 255.0f;
            cr_assert_eq(x[k], want, "bits %d, level %d: %.9g, want %.9g", bits, k, x[k], want);
        }
        rg_plugin_instance_destroy(pi);
    }
}

/* Values between levels go to the nearest level first: (k + 0.4) / 255 reads as k,
 * (k + 0.6) / 255 as k + 1 (bits = 8: nothing else changes). */
Test(posterize, values_between_levels_round_to_the_nearest_level)
{
    rg_plugin_instance *pi = pt_load("posterize:bits=8,p=1", A);
    float x[2 * 255], lab[1] = {1.0f};
    for (int k = 0; k < 255; k++) {
        x[2 * k] = (float)((k + 0.4) / 255.0);
        x[2 * k + 1] = (float)((k + 0.6) / 255.0);
    }
    pt_aug_run(pi, x, lab, 1, 1, 2, 255, 1, 3, 0);
    for (int k = 0; k < 255; k++) {
        cr_assert_eq(x[2 * k], (float)k / 255.0f, "level %d + 0.4", k);
        cr_assert_eq(x[2 * k + 1], (float)(k + 1) / 255.0f, "level %d + 0.6", k);
    }
    rg_plugin_instance_destroy(pi);
}

/* Image i is posterized (bit for bit as defined) when its uniform at offset i is < p, and
 * left untouched otherwise. */
Test(posterize, each_image_is_posterized_with_probability_p)
{
    rg_plugin_instance *pi = pt_load("posterize:bits=3,p=0.6", A);
    const int64_t n = 200, c = 3, img = c * 4 * 4;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    pt_fill(x, n * img, 82, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, 4, 4, 2, 22, 1);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 22, 0, 1, RG_SITE_AUGMENT);
    int64_t applied = 0;
    for (int64_t i = 0; i < n; i++) {
        float u;
        rg_rng_uniform(&s, (uint64_t)i, &u, 1);
        int on = u < 0.6f;
        applied += on;
        for (int64_t q = 0; q < img; q++) {
            float v = x[i * img + q];
            int level = (int)floor(255.0 * (double)v + 0.5);
            float want = on ? (float)(level & (int)torch_mask(3)) / 255.0f : v;
            cr_assert_eq(y[i * img + q], want, "image %lld element %lld", (long long)i,
                         (long long)q);
        }
    }
    cr_assert(applied > 90 && applied < 150, "%lld of %lld images", (long long)applied,
              (long long)n);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(posterize, same_stream_same_images_at_1_and_2_threads_other_stream_other_images)
{
    pt_aug_check_streams("posterize", 1);
    pt_aug_check_streams("posterize:bits=1", 3);
}

Test(posterize, bits_outside_1_to_8_are_refused)
{
    cr_assert_str_eq(pt_load_fails("posterize:bits=0", A),
                     "posterize: parameter bits=0 is out of range [1, 8]");
    cr_assert_str_eq(pt_load_fails("posterize:bits=9", A),
                     "posterize: parameter bits=9 is out of range [1, 8]");
}
