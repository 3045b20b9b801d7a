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
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"
#include "threads.h"
#include "train/train.h"

#define A RG_PLUGIN_AUGMENTER






/* ---- a short Fashion-MNIST run with augmenters ------------------------- */


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
    pt_aug_check_identity("mixup:p=0");
}

/* 8 RGB images, labels e_i: one lam for the batch, partners a permutation,
 * every pixel lam x_i + (1 - lam) x_pi(i), rows distributions. */
Test(mixup, pixels_and_labels_are_one_convex_combination_with_a_permuted_partner)
{
    rg_plugin_instance *pi = pt_load("mixup:alpha=1", A);
    const int64_t n = 8, c = 3, img = c * 5 * 4;
    for (uint64_t step = 0; step < 20; step++) {
        float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_floats(n * n);
        pt_fill(x, n * img, 80 + step, 0.0f, 1.0f);
        memcpy(y, x, (size_t)(n * img) * sizeof(float));
        memset(t, 0, (size_t)(n * n) * sizeof(float));
        for (int64_t i = 0; i < n; i++)
            t[i * n + i] = 1.0f;
        pt_aug_run(pi, y, t, n, c, 5, 4, n, 3, step);
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
        pt_aug_run(pi, x, t, n, 1, 1, 1, n, 11, (uint64_t)d);
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
    pt_aug_check_streams("mixup", 1);
    pt_aug_check_streams("mixup", 3);
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
    double acc = pt_aug_train_with(augs, 1, 10);
    cr_log_info("mixup: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
