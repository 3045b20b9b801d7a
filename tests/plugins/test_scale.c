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
    run_aug(pi, out, lab, 1, 1, 4, 4, 1, 1, 0);
    cr_assert_eq(lab[0], 1.0f);
    rg_plugin_instance_destroy(pi);
}

Test(scale, factor_1_and_p_0_are_the_identity)
{
    check_identity("scale:min_scale=1,max_scale=1");
    check_identity("scale:p=0");
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
    float *x = floats(n * pix), *t = one_hot(n, 1);
    for (int64_t q = 0; q < n * pix; q++)
        x[q] = 0.5f;
    run_aug(pi, x, t, n, 1, 9, 9, 1, 7, 0);
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
    check_streams("scale", 1);
    check_streams("scale", 3);
}

Test(scale, min_scale_0_is_refused)
{
    cr_assert_str_eq(pt_load_fails("scale:min_scale=0", A),
                     "scale: parameter min_scale=0 is out of range (0, 10]");
}
