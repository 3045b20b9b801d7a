/* cutout (DeVries & Taylor 2017): zero rows [cy - s/2, cy - s/2 + s) and the
 * same columns around a centre uniform over the image, clipped at the border,
 * in every channel. The tests find the square by trying every centre. */
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


/* 1 if out is in with exactly the clipped s x s square at centre (cy, cx)
 * zeroed in every channel, and nothing else changed. */
static int is_cutout(const float *in, const float *out, int64_t c, int64_t h, int64_t w, int64_t s,
                     int64_t cy, int64_t cx)
{
    int64_t y0 = cy - s / 2, x0 = cx - s / 2;
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                int inside = y >= y0 && y < y0 + s && x >= x0 && x < x0 + s;
                float want = inside ? 0.0f : in[(ch * h + y) * w + x];
                if (out[(ch * h + y) * w + x] != want)
                    return 0;
            }
    return 1;
}

Test(cutout, size_0_and_p_0_are_the_identity)
{
    pt_aug_check_identity("cutout:size=0");
    pt_aug_check_identity("cutout:p=0");
}

Test(cutout, a_hand_written_corner_cut_passes_the_check_and_a_shifted_one_fails)
{
    const float in[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    /* size 3 at centre (0, 3): rows [-1, 2), columns [2, 5) clipped to 2x2 */
    const float want[16] = {1, 2, 0, 0, 5, 6, 0, 0, 9, 10, 11, 12, 13, 14, 15, 16};
    cr_assert(is_cutout(in, want, 1, 4, 4, 3, 0, 3));
    cr_assert(!is_cutout(in, want, 1, 4, 4, 3, 1, 3));
}

/* s x s squares (s = 4 and the odd 3) on 3 x 10 x 9 images with values > 0:
 * each output is exactly one clipped square at some centre, and over 400
 * images both whole and clipped squares occur. */
static void squares(const char *spec, int64_t s)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 400, c = 3, h = 10, w = 9, img = c * h * w;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 3), *t0 = pt_one_hot(n, 3);
    pt_fill(x, n * img, 61, 0.01f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, 3, 5, 0);
    int64_t whole = 0, clipped = 0;
    for (int64_t i = 0; i < n; i++) {
        int found = 0;
        for (int64_t cy = 0; cy < h && !found; cy++)
            for (int64_t cx = 0; cx < w && !found; cx++)
                found = is_cutout(x + i * img, y + i * img, c, h, w, s, cy, cx);
        cr_assert(found, "image %lld: no clipped %lldx%lld square explains it", (long long)i,
                  (long long)s, (long long)s);
        int64_t zeros = 0;
        for (int64_t q = 0; q < h * w; q++)
            zeros += y[i * img + q] == 0.0f;
        whole += zeros == s * s;
        clipped += zeros < s * s;
    }
    cr_assert(whole > 0 && clipped > 0, "%lld whole, %lld clipped", (long long)whole,
              (long long)clipped);
    cr_assert(memcmp(t, t0, (size_t)(n * 3) * sizeof(float)) == 0, "labels changed");
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(t0);
    rg_plugin_instance_destroy(pi);
}

Test(cutout, zeroes_exactly_one_clipped_4x4_square_per_image)
{
    squares("cutout:size=4", 4);
}

Test(cutout, an_odd_size_keeps_its_full_side)
{
    squares("cutout:size=3", 3);
}

Test(cutout, same_stream_same_squares_at_1_and_2_threads_other_stream_other_squares)
{
    pt_aug_check_streams("cutout", 1);
    pt_aug_check_streams("cutout:size=5", 3);
}

Test(cutout, negative_size_is_refused)
{
    cr_assert_str_eq(pt_load_fails("cutout:size=-1", A),
                     "cutout: parameter size=-1 is out of range [0, 1024]");
}

/* cutout and random_erasing on 2000 Fashion-MNIST images, mlp:128,
 * 10 epochs; chance is 0.10. */
Test(cutout, erasing_family_trains_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"cutout.so", "random_erasing.so"};
    double acc = pt_aug_train_with(augs, 2, 10);
    cr_log_info("cutout+random_erasing: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
