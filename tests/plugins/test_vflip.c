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

Test(vflip, p_1_mirrors_a_4x4_image_exactly)
{
    rg_plugin_instance *pi = pt_load("vflip:p=1", A);
    float x[16], lab[2] = {0.25f, 0.75f};
    for (int q = 0; q < 16; q++)
        x[q] = (float)(q + 1) / 16.0f;
    const float want[16] = {13, 14, 15, 16, 9, 10, 11, 12, 5, 6, 7, 8, 1, 2, 3, 4};
    run_aug(pi, x, lab, 1, 1, 4, 4, 2, 1, 0);
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
    run_aug(pi, x, lab, 1, 3, 3, 2, 1, 1, 0);
    for (int q = 0; q < 18; q++)
        cr_assert_eq(x[q], want[q] / 32.0f, "element %d: %g", q, x[q]);
    rg_plugin_instance_destroy(pi);
}

Test(vflip, p_0_is_the_identity)
{
    check_identity("vflip:p=0");
}

/* With p = 0.5 over 2000 images each is either untouched or mirrored, and
 * the share flipped is within 4 binomial standard errors of 0.5. */
Test(vflip, default_p_flips_about_half_the_images_and_nothing_else)
{
    rg_plugin_instance *pi = pt_load("vflip", A);
    const int64_t n = 2000, h = 4, w = 3, pix = h * w;
    float *x = floats(n * pix), *y = floats(n * pix), *t = one_hot(n, 2);
    pt_fill(x, n * pix, 11, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * pix) * sizeof(float));
    run_aug(pi, y, t, n, 1, h, w, 2, 4, 0);
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
    check_streams("vflip", 1);
    check_streams("vflip", 3);
}

Test(vflip, p_outside_0_to_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("vflip:p=-0.1", A), "vflip: parameter p=-0.1 is out of range [0, 1]");
}
