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
#include "plugin_test_util.h"
#include "rng.h"
#include "threads.h"
#include "train/train.h"

#define A RG_PLUGIN_AUGMENTER

static float *floats(int64_t n)
{
    float *p = rg_alloc_floats((size_t)n);
    cr_assert_not_null(p);
    return p;
}

/* One apply() on an n x c x h x w batch with k classes, stream keyed on
 * (seed, step) at the first augmenter site, as the trainer calls it. */
static void run_aug(rg_plugin_instance *pi, float *x, float *lab, int64_t n, int64_t c, int64_t h,
                    int64_t w, int64_t k, uint64_t seed, uint64_t step)
{
    rg_batch_view b = {sizeof b, 0, n, c, h, w, x, lab, k};
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, step, RG_SITE_AUGMENT);
    rg_error_clear();
    cr_assert_eq(pi->plugin->aug.apply(pi->inst, &b, &s), RG_OK, "%s", rg_error_message());
    cr_assert(b.n == n && b.c == c && b.h == h && b.w == w && b.data == x && b.labels == lab);
}

/* One-hot labels: image i has class i % k. */
static float *one_hot(int64_t n, int64_t k)
{
    float *t = floats(n * k);
    memset(t, 0, (size_t)(n * k) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        t[i * k + i % k] = 1.0f;
    return t;
}

/* Applies `spec` to copies of one random batch: twice on the same stream at 1
 * and 2 threads (must agree bit for bit), once on another step's stream (must
 * differ), for c channels. Pixels stay in [0, 1] and label rows sum to 1. */
static void check_streams(const char *spec, int64_t c)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 32, h = 12, w = 10, k = 5, numel = n * c * h * w;
    float *x0 = floats(numel), *x1 = floats(numel), *x2 = floats(numel), *x3 = floats(numel);
    float *t1 = one_hot(n, k), *t2 = one_hot(n, k), *t3 = one_hot(n, k);
    pt_fill(x0, numel, 77, 0.05f, 1.0f);
    memcpy(x1, x0, (size_t)numel * sizeof(float));
    memcpy(x2, x0, (size_t)numel * sizeof(float));
    memcpy(x3, x0, (size_t)numel * sizeof(float));
    rg_threads_init(1);
    run_aug(pi, x1, t1, n, c, h, w, k, 5, 0);
    rg_threads_init(2);
    run_aug(pi, x2, t2, n, c, h, w, k, 5, 0);
    run_aug(pi, x3, t3, n, c, h, w, k, 5, 1);
    cr_assert(memcmp(x1, x2, (size_t)numel * sizeof(float)) == 0, "1 and 2 threads differ");
    cr_assert(memcmp(t1, t2, (size_t)(n * k) * sizeof(float)) == 0, "labels: 1 and 2 threads differ");
    cr_assert(memcmp(x1, x0, (size_t)numel * sizeof(float)) != 0, "the batch is unchanged");
    cr_assert(memcmp(x1, x3, (size_t)numel * sizeof(float)) != 0, "another stream, same batch");
    for (int64_t q = 0; q < numel; q++)
        cr_assert(x1[q] >= 0.0f && x1[q] <= 1.0f, "pixel %lld = %g", (long long)q, x1[q]);
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < k; j++) {
            cr_assert_geq(t3[i * k + j], 0.0f);
            s += t3[i * k + j];
        }
        cr_assert_lt(fabs(s - 1.0), 1e-5, "label row %lld sums to %.8f", (long long)i, s);
    }
    rg_free(x0);
    rg_free(x1);
    rg_free(x2);
    rg_free(x3);
    rg_free(t1);
    rg_free(t2);
    rg_free(t3);
    rg_plugin_instance_destroy(pi);
}

/* apply() with `spec` leaves a 3-channel batch and its labels bit for bit
 * unchanged. */
static void check_identity(const char *spec)
{
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 16, c = 3, h = 7, w = 6, k = 4, numel = n * c * h * w;
    float *x = floats(numel), *y = floats(numel), *t = one_hot(n, k), *t0 = one_hot(n, k);
    pt_fill(x, numel, 3, 0.0f, 1.0f);
    memcpy(y, x, (size_t)numel * sizeof(float));
    run_aug(pi, y, t, n, c, h, w, k, 9, 0);
    cr_assert(memcmp(x, y, (size_t)numel * sizeof(float)) == 0, "%s changed the batch", spec);
    cr_assert(memcmp(t, t0, (size_t)(n * k) * sizeof(float)) == 0, "%s changed the labels", spec);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(t0);
    rg_plugin_instance_destroy(pi);
}

/* ---- a short Fashion-MNIST run with augmenters ------------------------- */

/* mlp:128 on the first 2000 training images for `epochs` epochs with the
 * given augmenters (paths relative to the plugin build dir); returns the
 * test accuracy. */
__attribute__((unused)) static double train_with(const char *const *augs, int num_augs, int epochs)
{
    const char *dir = getenv("REGULA_DATA");
    if (!dir || !*dir)
        dir = "/usr/share/datasets/fashion-mnist";
    rg_dataset *train_set = NULL, *test_set = NULL;
    cr_assert_eq(rg_dataset_open_idx(dir, "train", &train_set), RG_OK,
                 "%s (install dataset-fashion-mnist)", rg_error_message());
    cr_assert_eq(rg_dataset_open_idx(dir, "t10k", &test_set), RG_OK, "%s", rg_error_message());
    rg_threads_init(2);
    rg_train_config cfg;
    rg_train_config_defaults(&cfg);
    cfg.seed = 1;
    cfg.train_limit = 2000;
    for (int k = 0; k < num_augs; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", REGULA_TEST_PLUGINS, augs[k]);
        cr_assert_eq(rg_plugin_instance_create(path, A, NULL, &cfg.augs[k]), RG_OK, "%s",
                     rg_error_message());
    }
    cfg.num_augs = num_augs;
    rg_model_spec spec;
    rg_model *model = NULL;
    rg_trainer *trainer = NULL;
    cr_assert_eq(rg_model_spec_parse("mlp:128", &spec), RG_OK);
    cr_assert_eq(rg_model_create(&spec, (rg_shape){784, 1, 1, 1}, 10, &model), RG_OK);
    rg_model_init_params(model, 1);
    cr_assert_eq(rg_trainer_create(model, train_set, &cfg, &trainer), RG_OK, "%s",
                 rg_error_message());
    rg_epoch_stats last;
    for (int e = 0; e < epochs; e++)
        cr_assert_eq(rg_trainer_run_epoch(trainer, &last), RG_OK, "%s", rg_error_message());
    rg_eval te;
    cr_assert_eq(rg_trainer_evaluate(trainer, test_set, &te), RG_OK);
    rg_trainer_destroy(trainer);
    rg_model_destroy(model);
    for (int k = 0; k < num_augs; k++)
        rg_plugin_instance_destroy(cfg.augs[k]);
    rg_dataset_destroy(train_set);
    rg_dataset_destroy(test_set);
    return te.accuracy;
}

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
    check_identity("random_crop:padding=0");
    check_identity("random_crop:p=0");
}

/* 600 images of 3 x 5 x 6 (values > 0, so a 0 marks padding), padding 2:
 * each output is exactly one shift in [-2, 2]^2, the same in every channel,
 * and all 25 shifts occur. */
Test(random_crop, padding_2_gives_a_shifted_copy_with_zero_border_and_all_25_offsets)
{
    rg_plugin_instance *pi = pt_load("random_crop:padding=2", A);
    const int64_t n = 600, c = 3, h = 5, w = 6, img = c * h * w;
    float *x = floats(n * img), *y = floats(n * img), *t = one_hot(n, 3), *t0 = one_hot(n, 3);
    pt_fill(x, n * img, 21, 0.01f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    run_aug(pi, y, t, n, c, h, w, 3, 2, 0);
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
    float *x = floats(n * 16), *y = floats(n * 16), *t = one_hot(n, 2);
    for (int64_t i = 0; i < n; i++)
        for (int q = 0; q < 16; q++)
            x[i * 16 + q] = in[q] / 16.0f;
    memcpy(y, x, (size_t)(n * 16) * sizeof(float));
    run_aug(pi, y, t, n, 1, 4, 4, 2, 8, 0);
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
    check_streams("random_crop", 1);
    check_streams("random_crop", 3);
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
    double acc = train_with(augs, 2, 10);
    cr_log_info("random_crop+hflip: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
