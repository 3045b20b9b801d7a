/* solarize: torchvision F.solarize on a float image, x >= threshold ? 1 - x : x, applied
 * to image i when the uniform at stream offset i is < p. Expected values are computed
 * here from that definition. */
#include <criterion/criterion.h>
#include <string.h>

#include "alloc.h"
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"

#define A RG_PLUGIN_AUGMENTER

Test(solarize, p_0_is_the_identity)
{
    pt_aug_check_identity("solarize:p=0");
    pt_aug_check_identity("solarize:p=0,threshold=0");
}

/* By hand, threshold 0.5: 0 and 0.25 stay, 0.5 (at the threshold) becomes 0.5, 0.75
 * becomes 0.25, 1 becomes 0. */
Test(solarize, a_hand_computed_row_at_threshold_one_half)
{
    rg_plugin_instance *pi = pt_load("solarize:threshold=0.5,p=1", A);
    float x[5] = {0.0f, 0.25f, 0.5f, 0.75f, 1.0f}, lab[1] = {1.0f};
    const float want[5] = {0.0f, 0.25f, 0.5f, 0.25f, 0.0f};
    pt_aug_run(pi, x, lab, 1, 1, 1, 5, 1, 1, 0);
    for (int q = 0; q < 5; q++)
        cr_assert_eq(x[q], want[q], "pixel %d: %g, want %g", q, x[q], want[q]);
    rg_plugin_instance_destroy(pi);
}

/* Image i is solarized exactly (bit for bit) when its uniform at offset i is < p, and
 * left untouched otherwise, on RGB images; about p of them are. */
static void check_images(const char *spec, float threshold, float p)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 200, c = 3, img = c * 5 * 4;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    pt_fill(x, n * img, 81, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, 5, 4, 2, 21, 4);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 21, 0, 4, RG_SITE_AUGMENT);
    int64_t applied = 0;
    for (int64_t i = 0; i < n; i++) {
        float u;
        rg_rng_uniform(&s, (uint64_t)i, &u, 1);
        int on = u < p;
        applied += on;
        for (int64_t q = 0; q < img; q++) {
            float v = x[i * img + q], want = on && v >= threshold ? 1.0f - v : v;
            cr_assert_eq(y[i * img + q], want, "%s: image %lld element %lld: %g, want %g", spec,
                         (long long)i, (long long)q, y[i * img + q], want);
        }
    }
    cr_assert(applied > n * p - 30 && applied < n * p + 30, "%s: %lld of %lld images", spec,
              (long long)applied, (long long)n);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(solarize, each_image_is_solarized_with_probability_p)
{
    check_images("solarize", 0.5f, 0.5f);
    check_images("solarize:threshold=0.3,p=0.8", 0.3f, 0.8f);
    check_images("solarize:threshold=0.9,p=1", 0.9f, 1.0f);
}

Test(solarize, threshold_0_inverts_every_pixel)
{
    check_images("solarize:threshold=0,p=1", 0.0f, 1.0f);
}

Test(solarize, same_stream_same_images_at_1_and_2_threads_other_stream_other_images)
{
    pt_aug_check_streams("solarize", 1);
    pt_aug_check_streams("solarize:threshold=0.2", 3);
}

Test(solarize, threshold_above_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("solarize:threshold=1.5", A),
                     "solarize: parameter threshold=1.5 is out of range [0, 1]");
}
