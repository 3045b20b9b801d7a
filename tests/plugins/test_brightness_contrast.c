/* brightness_contrast: torchvision ColorJitter(brightness=b, contrast=c):
 * brightness multiplies by fb ~ U[1-b, 1+b], contrast blends with the
 * grayscale mean m by fc ~ U[1-c, 1+c] (x -> fc x + (1 - fc) m), each
 * clamped to [0, 1]. The tests check those relations on each image with m
 * computed here. */
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

Test(brightness_contrast, b_0_c_0_and_p_0_are_the_identity)
{
    check_identity("brightness_contrast:brightness=0,contrast=0");
    check_identity("brightness_contrast:p=0");
}

/* Brightness only, pixels in [0.1, 0.6] so 1.5 x never clips: each image is
 * its input times one factor in [0.5, 1.5], and factors spread over it. */
Test(brightness_contrast, brightness_scales_each_image_by_one_factor_in_range)
{
    rg_plugin_instance *pi = pt_load("brightness_contrast:brightness=0.5,contrast=0", A);
    const int64_t n = 300, c = 3, img = c * 4 * 4;
    float *x = floats(n * img), *y = floats(n * img), *t = one_hot(n, 2);
    pt_fill(x, n * img, 51, 0.1f, 0.6f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    run_aug(pi, y, t, n, c, 4, 4, 2, 1, 0);
    double lo = 9.0, hi = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double f = (double)y[i * img] / (double)x[i * img];
        cr_assert(f >= 0.5 - 1e-6 && f <= 1.5 + 1e-6, "image %lld factor %.6f", (long long)i, f);
        for (int64_t q = 0; q < img; q++)
            cr_assert_float_eq(y[i * img + q], f * x[i * img + q], 1e-6, "image %lld element %lld",
                               (long long)i, (long long)q);
        lo = f < lo ? f : lo;
        hi = f > hi ? f : hi;
    }
    cr_assert(lo < 0.6 && hi > 1.4, "factors %.3f..%.3f", lo, hi);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* Contrast only on RGB images with pixels in [0.3, 0.7] (no clipping for
 * factors up to 1.5): y - m = fc (x - m) with m the mean of
 * 0.2989 R + 0.587 G + 0.114 B, one fc in [0.5, 1.5] per image. */
Test(brightness_contrast, contrast_blends_rgb_images_with_their_grayscale_mean)
{
    rg_plugin_instance *pi = pt_load("brightness_contrast:brightness=0,contrast=0.5", A);
    const int64_t n = 200, c = 3, plane = 5 * 6, img = c * plane;
    float *x = floats(n * img), *y = floats(n * img), *t = one_hot(n, 2);
    pt_fill(x, n * img, 52, 0.3f, 0.7f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    run_aug(pi, y, t, n, c, 5, 6, 2, 2, 0);
    double lo = 9.0, hi = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *a = x + i * img, *b = y + i * img;
        double m = 0.0;
        for (int64_t q = 0; q < plane; q++)
            m += 0.2989 * a[q] + 0.587 * a[plane + q] + 0.114 * a[2 * plane + q];
        m /= (double)plane;
        /* the factor from the pixel farthest from the mean */
        int64_t far = 0;
        for (int64_t q = 1; q < img; q++)
            far = fabs(a[q] - m) > fabs(a[far] - m) ? q : far;
        double f = (b[far] - m) / (a[far] - m);
        cr_assert(f >= 0.5 - 1e-4 && f <= 1.5 + 1e-4, "image %lld factor %.6f", (long long)i, f);
        for (int64_t q = 0; q < img; q++)
            cr_assert_float_eq(b[q], f * a[q] + (1.0 - f) * m, 2e-6, "image %lld element %lld",
                               (long long)i, (long long)q);
        lo = f < lo ? f : lo;
        hi = f > hi ? f : hi;
    }
    cr_assert(lo < 0.6 && hi > 1.4, "factors %.3f..%.3f", lo, hi);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

/* A single-channel contrast by hand: 1 x 1 x 4 image {0.2, 0.4, 0.6, 0.8},
 * mean 0.5: with fc the drawn factor, y = 0.5 + fc (x - 0.5), so y is
 * symmetric about 0.5 and y[3] - y[0] = 0.6 fc. */
Test(brightness_contrast, grayscale_contrast_keeps_the_mean_of_a_4_pixel_image)
{
    rg_plugin_instance *pi = pt_load("brightness_contrast:brightness=0,contrast=0.5", A);
    float x[4] = {0.2f, 0.4f, 0.6f, 0.8f}, lab[1] = {1.0f};
    run_aug(pi, x, lab, 1, 1, 1, 4, 1, 3, 0);
    double fc = (x[3] - x[0]) / 0.6;
    cr_assert(fc >= 0.5 - 1e-6 && fc <= 1.5 + 1e-6, "factor %.6f", fc);
    cr_assert_float_eq(x[0] + x[3], 1.0f, 1e-6);
    cr_assert_float_eq(x[1] + x[2], 1.0f, 1e-6);
    cr_assert_float_eq(x[1], 0.5 - 0.1 * fc, 1e-6);
    rg_plugin_instance_destroy(pi);
}

/* Strongest settings on full-range pixels: values stay in [0, 1], and some
 * pixels are clamped at each end. */
Test(brightness_contrast, results_stay_in_0_1_under_the_strongest_jitter)
{
    rg_plugin_instance *pi = pt_load("brightness_contrast:brightness=1,contrast=1", A);
    const int64_t n = 64, img = 3 * 8 * 8;
    float *x = floats(n * img), *t = one_hot(n, 2);
    pt_fill(x, n * img, 53, 0.0f, 1.0f);
    run_aug(pi, x, t, n, 3, 8, 8, 2, 4, 0);
    int64_t zeros = 0, ones = 0;
    for (int64_t q = 0; q < n * img; q++) {
        cr_assert(x[q] >= 0.0f && x[q] <= 1.0f, "element %lld = %g", (long long)q, x[q]);
        zeros += x[q] == 0.0f;
        ones += x[q] == 1.0f;
    }
    cr_assert(zeros > 0 && ones > 0, "%lld zeros, %lld ones", (long long)zeros, (long long)ones);
    rg_free(x);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(brightness_contrast, same_stream_same_jitter_at_1_and_2_threads_other_stream_other_jitter)
{
    check_streams("brightness_contrast", 1);
    check_streams("brightness_contrast", 3);
}

Test(brightness_contrast, brightness_above_1_is_refused)
{
    cr_assert_str_eq(pt_load_fails("brightness_contrast:brightness=2", A),
                     "brightness_contrast: parameter brightness=2 is out of range [0, 1]");
}

/* brightness_contrast and pixel_noise on 2000 Fashion-MNIST images,
 * mlp:128, 10 epochs; chance is 0.10. */
Test(brightness_contrast, photometric_family_trains_fashion_mnist_to_a_sane_accuracy,
     .timeout = 300)
{
    const char *augs[] = {"brightness_contrast.so", "pixel_noise.so"};
    double acc = train_with(augs, 2, 10);
    cr_log_info("brightness_contrast+pixel_noise: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
