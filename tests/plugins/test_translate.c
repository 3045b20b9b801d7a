/* translate: the translate part of torchvision RandomAffine: a whole-pixel
 * shift (tx, ty) uniform in {-floor(f w)..floor(f w)} x {-floor(f h)..floor(f h)},
 * zero fill: out[y][x] = in[y - ty][x - tx]; with fraction_min, each shift's
 * size is at least floor(fraction_min * side), sign random. The tests try
 * every shift. */
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


/* 1 if out (c x h x w) is in moved by (ty, tx), 0 where uncovered. */
static int is_translation(const float *in, const float *out, int64_t c, int64_t h, int64_t w,
                          int64_t ty, int64_t tx)
{
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                int64_t sy = y - ty, sx = x - tx;
                float want = sy >= 0 && sy < h && sx >= 0 && sx < w ? in[(ch * h + sy) * w + sx] : 0.0f;
                if (out[(ch * h + y) * w + x] != want)
                    return 0;
            }
    return 1;
}

Test(translate, fraction_0_and_p_0_are_the_identity)
{
    pt_aug_check_identity("translate:fraction=0");
    pt_aug_check_identity("translate:p=0");
}

Test(translate, a_hand_written_shift_passes_the_check_and_its_opposite_fails)
{
    const float in[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    /* moved right by 1 and up by 2: out[y][x] = in[y + 2][x - 1] */
    const float want[16] = {0, 9, 10, 11, 0, 13, 14, 15, 0, 0, 0, 0, 0, 0, 0, 0};
    cr_assert(is_translation(in, want, 1, 4, 4, -2, 1));
    cr_assert(!is_translation(in, want, 1, 4, 4, 2, -1));
}

/* fraction 0.25 of an 8-wide, 4-high image: |tx| <= 2, |ty| <= 1; all 15
 * shifts occur over 600 images, and each image is exactly one of them, the
 * same in every channel. */
Test(translate, shifts_stay_within_fraction_of_each_side_and_cover_every_value)
{
    rg_plugin_instance *pi = pt_load("translate:fraction=0.25", A);
    const int64_t n = 600, c = 3, h = 4, w = 8, img = c * h * w;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 3), *t0 = pt_one_hot(n, 3);
    pt_fill(x, n * img, 31, 0.01f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, 3, 3, 0);
    int seen[3][5] = {{0}};
    for (int64_t i = 0; i < n; i++) {
        int found = 0;
        for (int64_t ty = -4; ty <= 4; ty++)
            for (int64_t tx = -8; tx <= 8; tx++)
                if (is_translation(x + i * img, y + i * img, c, h, w, ty, tx)) {
                    cr_assert(ty >= -1 && ty <= 1 && tx >= -2 && tx <= 2,
                              "image %lld moved by (%lld, %lld)", (long long)i, (long long)ty,
                              (long long)tx);
                    seen[ty + 1][tx + 2]++;
                    found++;
                }
        cr_assert_eq(found, 1, "image %lld matches %d shifts", (long long)i, found);
    }
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 5; b++)
            cr_assert_gt(seen[a][b], 0, "shift (%d, %d) never drawn", a - 1, b - 2);
    cr_assert(memcmp(t, t0, (size_t)(n * 3) * sizeof(float)) == 0, "labels changed");
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(t0);
    rg_plugin_instance_destroy(pi);
}

Test(translate, same_stream_same_shifts_at_1_and_2_threads_other_stream_other_shifts)
{
    pt_aug_check_streams("translate", 1);
    pt_aug_check_streams("translate:fraction=0.3", 3);
}

/* Which single shift (ty, tx) within |ty| <= 4, |tx| <= 8 turns in into out;
 * fails the test unless exactly one does. */
static void shift_of(const float *in, const float *out, int64_t c, int64_t h, int64_t w,
                     int64_t i, int64_t *ty, int64_t *tx)
{
    int found = 0;
    for (int64_t a = -4; a <= 4; a++)
        for (int64_t b = -8; b <= 8; b++)
            if (is_translation(in, out, c, h, w, a, b)) {
                *ty = a;
                *tx = b;
                found++;
            }
    cr_assert_eq(found, 1, "image %lld matches %d shifts", (long long)i, found);
}

/* Version 1.0 drew ty = floor(u1 (2 my + 1)) - my and tx = floor(u2 (2 mx + 1)) - mx
 * (uniforms at 4i + 1, 4i + 2; apply if the one at 4i is < p). With
 * fraction_min = 0, or without the key, every image must still get that shift. */
Test(translate, fraction_min_0_reproduces_version_1_0_bit_for_bit)
{
    const char *specs[] = {"translate:fraction=0.25,p=0.8",
                           "translate:fraction=0.25,p=0.8,fraction_min=0"};
    const int64_t n = 200, c = 2, h = 4, w = 8, img = c * h * w;
    float *x = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float *y[2] = {pt_floats(n * img), pt_floats(n * img)};
    pt_fill(x, n * img, 32, 0.01f, 1.0f);
    for (int k = 0; k < 2; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], A);
        memcpy(y[k], x, (size_t)(n * img) * sizeof(float));
        pt_aug_run(pi, y[k], t, n, c, h, w, 2, 4, 1);
        rg_plugin_instance_destroy(pi);
    }
    cr_assert(memcmp(y[0], y[1], (size_t)(n * img) * sizeof(float)) == 0,
              "fraction_min=0 differs from the spec without it");
    rg_rng_stream s;
    rg_rng_stream_init(&s, 4, 0, 1, RG_SITE_AUGMENT);
    int64_t moved = 0;
    for (int64_t i = 0; i < n; i++) {
        float u[3];
        rg_rng_uniform(&s, (uint64_t)(4 * i), u, 3);
        int64_t ty = 0, tx = 0;
        if (u[0] < 0.8f) {
            ty = (int64_t)floor((double)u[1] * 3.0) - 1;
            tx = (int64_t)floor((double)u[2] * 5.0) - 2;
        }
        moved += ty != 0 || tx != 0;
        cr_assert(is_translation(x + i * img, y[0] + i * img, c, h, w, ty, tx),
                  "image %lld is not shifted by the version 1.0 draw (%lld, %lld)", (long long)i,
                  (long long)ty, (long long)tx);
    }
    cr_assert_gt(moved, n / 2);
    rg_free(x);
    rg_free(y[0]);
    rg_free(y[1]);
    rg_free(t);
}

/* fraction = fraction_min = 0.25 of an 8-wide, 4-high image: every image is
 * shifted by exactly (+-1, +-2), and all four sign pairs occur. */
Test(translate, fraction_min_equal_to_fraction_shifts_by_exactly_that_size)
{
    rg_plugin_instance *pi = pt_load("translate:fraction=0.25,fraction_min=0.25", A);
    const int64_t n = 200, c = 1, h = 4, w = 8, img = c * h * w;
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    pt_fill(x, n * img, 33, 0.01f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, 2, 5, 0);
    int seen[2][2] = {{0}};
    for (int64_t i = 0; i < n; i++) {
        int64_t ty, tx;
        shift_of(x + i * img, y + i * img, c, h, w, i, &ty, &tx);
        cr_assert((ty == 1 || ty == -1) && (tx == 2 || tx == -2),
                  "image %lld moved by (%lld, %lld)", (long long)i, (long long)ty, (long long)tx);
        seen[ty > 0][tx > 0]++;
    }
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            cr_assert_gt(seen[a][b], 20, "signs (%d, %d) drawn %d times", a, b, seen[a][b]);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* fraction=0.25,fraction_min=0.5 is the same draw as fraction=0.5,fraction_min=0.25:
 * on 4 x 8 images |ty| in {1, 2} and |tx| in {2, 3, 4}, and all 24 shifts occur. */
Test(translate, fraction_and_fraction_min_form_an_unordered_interval)
{
    const char *specs[] = {"translate:fraction=0.25,fraction_min=0.5",
                           "translate:fraction=0.5,fraction_min=0.25"};
    const int64_t n = 600, c = 1, h = 4, w = 8, img = c * h * w;
    float *x = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float *y[2] = {pt_floats(n * img), pt_floats(n * img)};
    pt_fill(x, n * img, 34, 0.01f, 1.0f);
    for (int k = 0; k < 2; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], A);
        memcpy(y[k], x, (size_t)(n * img) * sizeof(float));
        pt_aug_run(pi, y[k], t, n, c, h, w, 2, 6, 0);
        rg_plugin_instance_destroy(pi);
    }
    cr_assert(memcmp(y[0], y[1], (size_t)(n * img) * sizeof(float)) == 0,
              "the two orders of the bounds differ");
    int seen[5][9] = {{0}};
    for (int64_t i = 0; i < n; i++) {
        int64_t ty, tx;
        shift_of(x + i * img, y[0] + i * img, c, h, w, i, &ty, &tx);
        int64_t ay = ty < 0 ? -ty : ty, ax = tx < 0 ? -tx : tx;
        cr_assert(ay >= 1 && ay <= 2 && ax >= 2 && ax <= 4, "image %lld moved by (%lld, %lld)",
                  (long long)i, (long long)ty, (long long)tx);
        seen[ty + 2][tx + 4]++;
    }
    for (int a = -2; a <= 2; a++)
        for (int b = -4; b <= 4; b++)
            if (a != 0 && (b <= -2 || b >= 2))
                cr_assert_gt(seen[a + 2][b + 4], 0, "shift (%d, %d) never drawn", a, b);
    rg_free(x);
    rg_free(y[0]);
    rg_free(y[1]);
    rg_free(t);
}

/* axis=x keeps ty at 0 and gives each image the tx axis=both gives it on the same stream
 * (the draws do not move); axis=y likewise for ty. At a fixed 0.25 of 8 x 4 images: tx is
 * +-2 along x, ty +-1 along y. */
Test(translate, axis_x_or_y_shifts_along_that_axis_only_with_the_same_draws)
{
    const char *specs[] = {"translate:fraction=0.25,fraction_min=0.25",
                           "translate:fraction=0.25,fraction_min=0.25,axis=x",
                           "translate:fraction=0.25,fraction_min=0.25,axis=y"};
    const int64_t n = 100, c = 2, h = 4, w = 8, img = c * h * w;
    float *x = pt_floats(n * img), *t = pt_one_hot(n, 2);
    float *y[3] = {pt_floats(n * img), pt_floats(n * img), pt_floats(n * img)};
    pt_fill(x, n * img, 35, 0.01f, 1.0f);
    for (int k = 0; k < 3; k++) {
        rg_plugin_instance *pi = pt_load(specs[k], A);
        memcpy(y[k], x, (size_t)(n * img) * sizeof(float));
        pt_aug_run(pi, y[k], t, n, c, h, w, 2, 7, 0);
        rg_plugin_instance_destroy(pi);
    }
    int pos_x = 0, pos_y = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t ty, tx, ty_x, tx_x, ty_y, tx_y;
        shift_of(x + i * img, y[0] + i * img, c, h, w, i, &ty, &tx);
        shift_of(x + i * img, y[1] + i * img, c, h, w, i, &ty_x, &tx_x);
        shift_of(x + i * img, y[2] + i * img, c, h, w, i, &ty_y, &tx_y);
        cr_assert(ty_x == 0 && tx_x == tx, "image %lld: axis=x moved by (%lld, %lld), both by "
                  "(%lld, %lld)", (long long)i, (long long)ty_x, (long long)tx_x, (long long)ty,
                  (long long)tx);
        cr_assert(tx_y == 0 && ty_y == ty, "image %lld: axis=y moved by (%lld, %lld), both by "
                  "(%lld, %lld)", (long long)i, (long long)ty_y, (long long)tx_y, (long long)ty,
                  (long long)tx);
        cr_assert((tx_x == 2 || tx_x == -2) && (ty_y == 1 || ty_y == -1));
        pos_x += tx_x > 0;
        pos_y += ty_y > 0;
    }
    cr_assert(pos_x > 20 && pos_x < 80 && pos_y > 20 && pos_y < 80, "%d right, %d down", pos_x,
              pos_y);
    rg_free(x);
    for (int k = 0; k < 3; k++)
        rg_free(y[k]);
    rg_free(t);
}

Test(translate, fraction_min_above_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("translate:fraction_min=1.5", A),
                     "translate: parameter fraction_min=1.5 is out of range [0, 1]");
}

Test(translate, fraction_above_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("translate:fraction=1.5", A),
                     "translate: parameter fraction=1.5 is out of range [0, 1]");
}
