/* scale: zoom about the centre ((w-1)/2, (h-1)/2) by s uniform in
 * [min_scale, max_scale]; out(y, x) = bilinear in(cy + (y-cy)/s, cx + (x-cx)/s),
 * neighbours outside the image count as 0. On a linear ramp the bilinear
 * sample equals the ramp itself, so the expected pixels are written out by
 * hand from that formula. */
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


/* in[y][x] = (4y + x + 1) / 16 on a 4 x 4 image */
static float ramp(double y, double x)
{
    return (float)((4.0 * y + x + 1.0) / 16.0);
}

static void scaled(const char *spec, float *out)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    float lab[1] = {1.0f};
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            out[y * 4 + x] = ramp(y, x);
    pt_aug_run(pi, out, lab, 1, 1, 4, 4, 1, 1, 0);
    cr_assert_eq(lab[0], 1.0f);
    rg_plugin_instance_destroy(pi);
}

Test(scale, factor_1_and_p_0_are_the_identity)
{
    pt_aug_check_identity("scale:min_scale=1,max_scale=1");
    pt_aug_check_identity("scale:p=0");
}

/* s = 2: output x samples at 1.5 + (x - 1.5) / 2 = 0.75, 1.25, 1.75, 2.25,
 * all inside, so out = ramp at those points. */
Test(scale, zoom_2_on_a_4x4_ramp_matches_the_hand_computation)
{
    float out[16];
    scaled("scale:min_scale=2,max_scale=2", out);
    const double at[4] = {0.75, 1.25, 1.75, 2.25};
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            cr_assert_float_eq(out[y * 4 + x], ramp(at[y], at[x]), 1e-6, "pixel (%d, %d): %g", y,
                               x, out[y * 4 + x]);
}

/* s = 0.5: output x samples at 2x - 1.5 = -1.5, 0.5, 2.5, 4.5; -1.5 and 4.5
 * lie a full pixel outside (0), 0.5 and 2.5 inside. */
Test(scale, zoom_half_on_a_4x4_ramp_shrinks_it_into_a_zero_border)
{
    float out[16];
    scaled("scale:min_scale=0.5,max_scale=0.5", out);
    const double at[4] = {-1.5, 0.5, 2.5, 4.5};
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            int inside = y == 1 || y == 2 ? x == 1 || x == 2 : 0;
            float want = inside ? ramp(at[y], at[x]) : 0.0f;
            cr_assert_float_eq(out[y * 4 + x], want, 1e-6, "pixel (%d, %d): %g", y, x,
                               out[y * 4 + x]);
        }
}

/* On a 1 x 1 x 9 x 9 constant image with s in [0.5, 2], the centre pixel
 * is kept and the zero border (s < 1) or full image (s >= 1) appears; the
 * share of shrunk images is near P(s < 1) = 1/3. */
Test(scale, factors_spread_over_the_range)
{
    rg_plugin_instance *pi = pt_load("scale:min_scale=0.5,max_scale=2", A);
    const int64_t n = 900, pix = 81;
    float *x = pt_floats(n * pix), *t = pt_one_hot(n, 1);
    for (int64_t q = 0; q < n * pix; q++)
        x[q] = 0.5f;
    pt_aug_run(pi, x, t, n, 1, 9, 9, 1, 7, 0);
    int64_t shrunk = 0;
    for (int64_t i = 0; i < n; i++) {
        cr_assert_float_eq(x[i * pix + 40], 0.5f, 1e-6);
        shrunk += x[i * pix] < 0.5f - 1e-6f;
    }
    cr_assert_lt(fabs((double)shrunk / (double)n - 1.0 / 3.0), 4.0 * sqrt(2.0 / 9.0 / (double)n),
                 "%lld of %lld shrunk", (long long)shrunk, (long long)n);
    rg_free(x);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(scale, same_stream_same_zoom_at_1_and_2_threads_other_stream_other_zoom)
{
    pt_aug_check_streams("scale", 1);
    pt_aug_check_streams("scale", 3);
}

Test(scale, min_scale_0_is_refused)
{
    cr_assert_str_eq(pt_load_fails("scale:min_scale=0", A),
                     "scale: parameter min_scale=0 is out of range (0, 10]");
}
