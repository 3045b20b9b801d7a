/* vflip: torchvision RandomVerticalFlip(p): each image is mirrored
 * top-bottom, out[c][y][x] = in[c][h-1-y][x], with probability p. Expected
 * images are written out by hand. */
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


Test(vflip, p_1_mirrors_a_4x4_image_exactly)
{
    rg_plugin_instance *pi = pt_load("vflip:p=1", A);
    float x[16], lab[2] = {0.25f, 0.75f};
    for (int q = 0; q < 16; q++)
        x[q] = (float)(q + 1) / 16.0f;
    const float want[16] = {13, 14, 15, 16, 9, 10, 11, 12, 5, 6, 7, 8, 1, 2, 3, 4};
    pt_aug_run(pi, x, lab, 1, 1, 4, 4, 2, 1, 0);
    for (int q = 0; q < 16; q++)
        cr_assert_eq(x[q], want[q] / 16.0f, "pixel %d: %g", q, x[q]);
    cr_assert(lab[0] == 0.25f && lab[1] == 0.75f, "labels changed");
    rg_plugin_instance_destroy(pi);
}

Test(vflip, p_1_mirrors_every_channel_of_an_odd_height_rgb_image)
{
    rg_plugin_instance *pi = pt_load("vflip:p=1", A);
    /* 3 channels of 3 x 2: channel ch, row y holds ch*6 + y*2 + {1, 2} */
    float x[18], lab[1] = {1.0f};
    for (int q = 0; q < 18; q++)
        x[q] = (float)(q + 1) / 32.0f;
    const float want[18] = {5, 6, 3, 4, 1, 2, 11, 12, 9, 10, 7, 8, 17, 18, 15, 16, 13, 14};
    pt_aug_run(pi, x, lab, 1, 3, 3, 2, 1, 1, 0);
    for (int q = 0; q < 18; q++)
        cr_assert_eq(x[q], want[q] / 32.0f, "element %d: %g", q, x[q]);
    rg_plugin_instance_destroy(pi);
}

Test(vflip, p_0_is_the_identity)
{
    pt_aug_check_identity("vflip:p=0");
}

/* With p = 0.5 over 2000 images each is either untouched or mirrored, and
 * the share flipped is within 4 binomial standard errors of 0.5. */
Test(vflip, default_p_flips_about_half_the_images_and_nothing_else)
{
    rg_plugin_instance *pi = pt_load("vflip", A);
    const int64_t n = 2000, h = 4, w = 3, pix = h * w;
    float *x = pt_floats(n * pix), *y = pt_floats(n * pix), *t = pt_one_hot(n, 2);
    pt_fill(x, n * pix, 11, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * pix) * sizeof(float));
    pt_aug_run(pi, y, t, n, 1, h, w, 2, 4, 0);
    int64_t flipped = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *a = x + i * pix, *b = y + i * pix;
        int same = memcmp(a, b, (size_t)pix * sizeof(float)) == 0, mirrored = 1;
        for (int64_t r = 0; r < h; r++)
            for (int64_t q = 0; q < w; q++)
                mirrored &= b[r * w + q] == a[(h - 1 - r) * w + q];
        cr_assert(same || mirrored, "image %lld is neither the input nor its mirror", (long long)i);
        flipped += !same;
    }
    cr_assert_lt(fabs((double)flipped / (double)n - 0.5), 4.0 * sqrt(0.25 / (double)n),
                 "%lld of %lld flipped", (long long)flipped, (long long)n);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(vflip, same_stream_same_flips_at_1_and_2_threads_other_stream_other_flips)
{
    pt_aug_check_streams("vflip", 1);
    pt_aug_check_streams("vflip", 3);
}

Test(vflip, p_outside_0_to_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("vflip:p=-0.1", A), "vflip: parameter p=-0.1 is out of range [0, 1]");
}
