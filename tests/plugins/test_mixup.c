/* mixup (Zhang et al. 2018, reference code facebookresearch/mixup-cifar10):
 * one lam ~ Beta(alpha, alpha) per batch and a permutation pi;
 * x_i <- lam x_i + (1 - lam) x_pi(i), same for the label rows. With one-hot
 * labels e_i on image i, row i reads lam at class i and 1 - lam at class
 * pi(i), which the tests use to recover lam and pi from the output. */
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

/* Batch of n images of c x h x w, labels e_i (k = n classes); returns lam
 * read from the labels (1 if every image was its own partner). */
static double mixed_lambda(const float *t, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (t[i * n + i] < 1.0f)
            return t[i * n + i];
    return 1.0;
}

Test(mixup, p_0_is_the_identity)
{
    check_identity("mixup:p=0");
}

/* 8 RGB images, labels e_i: one lam for the batch, partners a permutation,
 * every pixel lam x_i + (1 - lam) x_pi(i), rows distributions. */
Test(mixup, pixels_and_labels_are_one_convex_combination_with_a_permuted_partner)
{
    rg_plugin_instance *pi = pt_load("mixup:alpha=1", A);
    const int64_t n = 8, c = 3, img = c * 5 * 4;
    for (uint64_t step = 0; step < 20; step++) {
        float *x = floats(n * img), *y = floats(n * img), *t = floats(n * n);
        pt_fill(x, n * img, 80 + step, 0.0f, 1.0f);
        memcpy(y, x, (size_t)(n * img) * sizeof(float));
        memset(t, 0, (size_t)(n * n) * sizeof(float));
        for (int64_t i = 0; i < n; i++)
            t[i * n + i] = 1.0f;
        run_aug(pi, y, t, n, c, 5, 4, n, 3, step);
        double lam = mixed_lambda(t, n);
        int used[8] = {0};
        for (int64_t i = 0; i < n; i++) {
            int64_t j = i;
            double sum = 0.0;
            for (int64_t q = 0; q < n; q++) {
                sum += t[i * n + q];
                if (q != i && t[i * n + q] > 0.0f) {
                    cr_assert_eq(j, i, "row %lld has two partners", (long long)i);
                    j = q;
                }
            }
            cr_assert_lt(fabs(sum - 1.0), 1e-6, "row %lld sums to %.8f", (long long)i, sum);
            if (j != i) {
                cr_assert_float_eq(t[i * n + i], lam, 1e-6, "row %lld: another lambda", (long long)i);
                cr_assert_float_eq(t[i * n + j], 1.0 - lam, 1e-6);
            } else {
                cr_assert_eq(t[i * n + i], 1.0f);
            }
            cr_assert(!used[j], "partner %lld used twice", (long long)j);
            used[j] = 1;
            for (int64_t q = 0; q < img; q++)
                cr_assert_float_eq(y[i * img + q], lam * x[i * img + q] + (1.0 - lam) * x[j * img + q],
                                   1e-6, "image %lld element %lld", (long long)i, (long long)q);
        }
        rg_free(x);
        rg_free(y);
        rg_free(t);
    }
    rg_plugin_instance_destroy(pi);
}

/* lam over 20000 batches (streams of different steps) against Beta(a, a):
 * mean 1/2 and variance 1 / (4 (2a + 1)) within 4 standard errors, for
 * a = 0.2 (the boosted gamma branch), 1 (uniform) and 2 (a >= 1 branch). */
static void beta_moments(double a)
{
    char spec[64];
    snprintf(spec, sizeof spec, "mixup:alpha=%g", a);
    rg_plugin_instance *pi = pt_load(spec, A);
    const int64_t n = 8, draws = 20000;
    float x[8], t[64];
    double sum = 0.0, sq = 0.0, m4 = 0.0;
    for (int64_t d = 0; d < draws; d++) {
        for (int64_t i = 0; i < n; i++)
            x[i] = 0.5f;
        memset(t, 0, sizeof t);
        for (int64_t i = 0; i < n; i++)
            t[i * n + i] = 1.0f;
        run_aug(pi, x, t, n, 1, 1, 1, n, 11, (uint64_t)d);
        double lam = mixed_lambda(t, n);
        cr_assert(lam >= 0.0 && lam <= 1.0);
        sum += lam;
        sq += (lam - 0.5) * (lam - 0.5);
        m4 += pow(lam - 0.5, 4);
    }
    double mean = sum / (double)draws, var = sq / (double)draws, mu4 = m4 / (double)draws;
    double want_var = 1.0 / (4.0 * (2.0 * a + 1.0));
    cr_assert_lt(fabs(mean - 0.5), 4.0 * sqrt(want_var / (double)draws), "alpha %g: mean %.5f", a,
                 mean);
    cr_assert_lt(fabs(var - want_var), 4.0 * sqrt((mu4 - var * var) / (double)draws),
                 "alpha %g: variance %.5f, Beta's %.5f", a, var, want_var);
    rg_plugin_instance_destroy(pi);
}

Test(mixup, lambda_has_the_beta_mean_and_variance_for_alpha_0_2, .timeout = 120)
{
    beta_moments(0.2);
}

Test(mixup, lambda_has_the_beta_mean_and_variance_for_alpha_1_and_2, .timeout = 120)
{
    beta_moments(1.0);
    beta_moments(2.0);
}

Test(mixup, same_stream_same_mix_at_1_and_2_threads_other_stream_other_mix)
{
    check_streams("mixup", 1);
    check_streams("mixup", 3);
}

Test(mixup, alpha_0_is_refused)
{
    cr_assert_str_eq(pt_load_fails("mixup:alpha=0", A),
                     "mixup: parameter alpha=0 is out of range (0, 10]");
}

/* mixup (alpha 0.2) on 2000 Fashion-MNIST images, mlp:128, 10 epochs;
 * chance is 0.10. */
Test(mixup, mixup_trains_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"mixup.so"};
    double acc = train_with(augs, 1, 10);
    cr_log_info("mixup: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
