/* random_crop: torchvision RandomCrop(size=(h, w), padding=k): zero-pad by k,
 * crop back at a uniform offset, so every output is the input shifted by
 * some (dy, dx) in [-k, k]^2 with zeros in the exposed border. The tests
 * check that property by trying every shift, never by asking the plugin. */
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


/* 1 if out (c x h x w) is in shifted by (dy, dx): out[y][x] = in[y+dy][x+dx],
 * 0 outside. */
static int is_shift(const float *in, const float *out, int64_t c, int64_t h, int64_t w, int64_t dy,
                    int64_t dx)
{
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                int64_t sy = y + dy, sx = x + dx;
                float want = sy >= 0 && sy < h && sx >= 0 && sx < w ? in[(ch * h + sy) * w + sx] : 0.0f;
                if (out[(ch * h + y) * w + x] != want)
                    return 0;
            }
    return 1;
}

Test(random_crop, padding_0_and_p_0_are_the_identity)
{
    pt_aug_check_identity("random_crop:padding=0");
    pt_aug_check_identity("random_crop:p=0");
}

/* 600 images of 3 x 5 x 6 (values > 0, so a 0 marks padding), padding 2:
 * each output is exactly one shift in [-2, 2]^2, the same in every channel,
 * and all 25 shifts occur. */
Test(random_crop, padding_2_gives_a_shifted_copy_with_zero_border_and_all_25_offsets)
{
    rg_plugin_instance *pi = pt_load("random_crop:padding=2", A);
    const int64_t n = 600, c = 3, h = 5, w = 6, img = c * h * w;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 3), *t0 = pt_one_hot(n, 3);
    pt_fill(x, n * img, 21, 0.01f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, 3, 2, 0);
    int seen[5][5] = {{0}};
    for (int64_t i = 0; i < n; i++) {
        int found = 0;
        for (int64_t dy = -2; dy <= 2; dy++)
            for (int64_t dx = -2; dx <= 2; dx++)
                if (is_shift(x + i * img, y + i * img, c, h, w, dy, dx)) {
                    found++;
                    seen[dy + 2][dx + 2]++;
                }
        cr_assert_eq(found, 1, "image %lld matches %d shifts in [-2, 2]^2", (long long)i, found);
    }
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            cr_assert_gt(seen[a][b], 0, "shift (%d, %d) never drawn", a - 2, b - 2);
    cr_assert(memcmp(t, t0, (size_t)(n * 3) * sizeof(float)) == 0, "labels changed");
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(t0);
    rg_plugin_instance_destroy(pi);
}

/* padding 64 on a 1 x 4 x 4 image: shifts of 4 or more leave only zeros,
 * which a shift check covers; a shift of exactly (1, -1) written by hand. */
Test(random_crop, a_known_shift_on_a_4x4_image_matches_the_hand_result)
{
    const float in[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    /* out[y][x] = in[y+1][x-1] */
    const float want[16] = {0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 0, 0, 0};
    float out[16];
    memcpy(out, want, sizeof out);
    cr_assert(is_shift(in, out, 1, 4, 4, 1, -1));
    cr_assert(!is_shift(in, out, 1, 4, 4, -1, 1), "the shift check cannot fail");
    rg_plugin_instance *pi = pt_load("random_crop:padding=64", A);
    const int64_t n = 200;
    float *x = pt_floats(n * 16), *y = pt_floats(n * 16), *t = pt_one_hot(n, 2);
    for (int64_t i = 0; i < n; i++)
        for (int q = 0; q < 16; q++)
            x[i * 16 + q] = in[q] / 16.0f;
    memcpy(y, x, (size_t)(n * 16) * sizeof(float));
    pt_aug_run(pi, y, t, n, 1, 4, 4, 2, 8, 0);
    int64_t blank = 0;
    for (int64_t i = 0; i < n; i++) {
        int found = 0;
        for (int64_t dy = -64; dy <= 64 && !found; dy++)
            for (int64_t dx = -64; dx <= 64 && !found; dx++)
                found = is_shift(x + i * 16, y + i * 16, 1, 4, 4, dy, dx);
        cr_assert(found, "image %lld is no shift of the input", (long long)i);
        int zero = 1;
        for (int q = 0; q < 16; q++)
            zero &= y[i * 16 + q] == 0.0f;
        blank += zero;
    }
    /* P(|dy| >= 4 or |dx| >= 4) = 1 - (7/129)^2 ~ 0.997 */
    cr_assert_gt(blank, n * 9 / 10, "%lld of %lld all-zero", (long long)blank, (long long)n);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(random_crop, same_stream_same_crops_at_1_and_2_threads_other_stream_other_crops)
{
    pt_aug_check_streams("random_crop", 1);
    pt_aug_check_streams("random_crop", 3);
}

Test(random_crop, padding_outside_0_to_64_is_refused)
{
    cr_assert_str_eq(pt_load_fails("random_crop:padding=65", A),
                     "random_crop: parameter padding=65 is out of range [0, 64]");
}

/* random_crop (padding 2) then hflip on 2000 Fashion-MNIST images, mlp:128,
 * 10 epochs: chance is 0.10. An MLP is not shift-invariant, so shifts cost
 * it accuracy on this small subset; 0.6 shows learning is intact. */
Test(random_crop, crop_and_flip_train_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"random_crop.so:padding=2", "hflip.so"};
    double acc = pt_aug_train_with(augs, 2, 10);
    cr_log_info("random_crop+hflip: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
