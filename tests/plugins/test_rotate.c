/* rotate: torchvision RandomRotation(degrees, BILINEAR, fill=0): rotate about
 * ((w-1)/2, (h-1)/2) by an angle uniform in [-degrees, degrees], each output
 * pixel a bilinear sample (outside neighbours 0) of the inverse-rotated
 * position. Expected values are computed here from that definition. */
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

Test(rotate, degrees_0_and_p_0_are_the_identity)
{
    check_identity("rotate:degrees=0");
    check_identity("rotate:p=0");
}

/* The centre of an odd-sized image is the rotation's fixed point: whatever
 * the angle, the centre pixel keeps its value exactly, while the rest moves. */
Test(rotate, the_centre_pixel_of_an_odd_image_is_fixed_for_any_angle)
{
    rg_plugin_instance *pi = pt_load("rotate:degrees=180", A);
    const int64_t n = 64, c = 3, pix = 25;
    float *x = floats(n * c * pix), *y = floats(n * c * pix), *t = one_hot(n, 2);
    pt_fill(x, n * c * pix, 41, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * c * pix) * sizeof(float));
    run_aug(pi, y, t, n, c, 5, 5, 2, 1, 0);
    int64_t moved = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++) {
            int64_t o = (i * c + ch) * pix;
            cr_assert_eq(y[o + 12], x[o + 12], "image %lld channel %lld", (long long)i,
                         (long long)ch);
            moved += memcmp(x + o, y + o, (size_t)pix * sizeof(float)) != 0;
        }
    cr_assert_eq(moved, n * c, "only %lld of %lld planes changed", (long long)moved,
                 (long long)(n * c));
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* A 90-degree counter-clockwise turn of a 3 x 3 image, by hand: the sample
 * positions are integers, so out[y][x] = in[x][2 - y] exactly. The test's
 * reference below reproduces it, which proves the reference's convention. */
static float ref_pixel(const float *in, int64_t h, int64_t w, double deg, int64_t y, int64_t x)
{
    double t = deg * 3.14159265358979323846 / 180.0, ct = cos(t), st = sin(t);
    double cy = 0.5 * (double)(h - 1), cx = 0.5 * (double)(w - 1);
    double xs = cx + (x - cx) * ct - (y - cy) * st, ys = cy + (x - cx) * st + (y - cy) * ct;
    double fy = floor(ys), fx = floor(xs), v = 0.0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int64_t yy = (int64_t)fy + a, xx = (int64_t)fx + b;
            double wgt = (a ? ys - fy : 1.0 - (ys - fy)) * (b ? xs - fx : 1.0 - (xs - fx));
            if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                v += wgt * in[yy * w + xx];
        }
    return (float)v;
}

Test(rotate, the_reference_turns_a_3x3_image_by_90_degrees_counter_clockwise)
{
    const float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    /* counter-clockwise: the right column becomes the top row */
    const float want[9] = {3, 6, 9, 2, 5, 8, 1, 4, 7};
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++)
            cr_assert_float_eq(ref_pixel(in, 3, 3, 90.0, y, x), want[y * 3 + x], 1e-9);
}

/* The plugin against the reference at the angle its documented stream
 * layout gives image i (uniform at offset 2i + 1: t = degrees (2u - 1)),
 * on 1 x 6 x 7 images for degrees = 90: every pixel within 1e-5. */
Test(rotate, each_image_matches_a_bilinear_rotation_by_its_drawn_angle)
{
    rg_plugin_instance *pi = pt_load("rotate:degrees=90", A);
    const int64_t n = 40, h = 6, w = 7, pix = h * w;
    float *x = floats(n * pix), *y = floats(n * pix), *t = one_hot(n, 2);
    pt_fill(x, n * pix, 43, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * pix) * sizeof(float));
    run_aug(pi, y, t, n, 1, h, w, 2, 6, 2);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 6, 0, 2, RG_SITE_AUGMENT);
    double lo = 1e9, hi = -1e9;
    for (int64_t i = 0; i < n; i++) {
        float u;
        rg_rng_uniform(&s, (uint64_t)(2 * i + 1), &u, 1);
        double deg = 90.0 * (2.0 * (double)u - 1.0);
        lo = deg < lo ? deg : lo;
        hi = deg > hi ? deg : hi;
        for (int64_t r = 0; r < h; r++)
            for (int64_t q = 0; q < w; q++)
                cr_assert_float_eq(y[i * pix + r * w + q], ref_pixel(x + i * pix, h, w, deg, r, q),
                                   1e-5, "image %lld (angle %.3f) pixel (%lld, %lld)", (long long)i,
                                   deg, (long long)r, (long long)q);
    }
    cr_assert(lo < -45.0 && hi > 45.0, "angles %.1f..%.1f do not spread over [-90, 90]", lo, hi);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(rotate, same_stream_same_angles_at_1_and_2_threads_other_stream_other_angles)
{
    check_streams("rotate", 1);
    check_streams("rotate", 3);
}

Test(rotate, degrees_above_180_is_refused)
{
    cr_assert_str_eq(pt_load_fails("rotate:degrees=181", A),
                     "rotate: parameter degrees=181 is out of range [0, 180]");
}

/* rotate, translate and scale (mild settings) on 2000 Fashion-MNIST images,
 * mlp:128, 10 epochs; chance is 0.10. */
Test(rotate, geometric_family_trains_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"rotate.so:degrees=10", "translate.so:fraction=0.05", "scale.so"};
    double acc = train_with(augs, 3, 10);
    cr_log_info("rotate+translate+scale: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
