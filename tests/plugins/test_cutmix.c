/* cutmix (Yun et al. 2019, reference code clovaai/CutMix-PyTorch): one box
 * per batch, x_i[box] <- x_pi(i)[box], labels lam' y_i + (1 - lam') y_pi(i)
 * with 1 - lam' the pasted area fraction. Every pixel value of the test
 * batch is unique, so the tests can tell from the output which image each
 * pixel came from, measure the box and compare it with the label weights. */
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

Test(cutmix, p_0_is_the_identity)
{
    check_identity("cutmix:p=0");
}

/* n = 8 RGB 6 x 9 images with unique pixel values, labels e_i: in each image
 * the pixels from another image all come from one partner pi(i), sit at the
 * same positions in every image and channel and form one rectangle, and the
 * label weight of the partner equals the pasted area fraction. */
Test(cutmix, pasted_box_comes_from_one_partner_and_its_area_is_the_label_weight)
{
    rg_plugin_instance *pi = pt_load("cutmix", A);
    const int64_t n = 8, c = 3, h = 6, w = 9, plane = h * w, img = c * plane;
    int64_t boxes = 0;
    for (uint64_t step = 0; step < 40; step++) {
        float *x = floats(n * img), *y = floats(n * img), *t = floats(n * n);
        for (int64_t q = 0; q < n * img; q++)
            x[q] = (float)(q + 1) / (float)(n * img + 1);
        memcpy(y, x, (size_t)(n * img) * sizeof(float));
        memset(t, 0, (size_t)(n * n) * sizeof(float));
        for (int64_t i = 0; i < n; i++)
            t[i * n + i] = 1.0f;
        run_aug(pi, y, t, n, c, h, w, n, 4, step);
        int64_t box_y0 = -1, box_y1 = -1, box_x0 = -1, box_x1 = -1;
        int used[8] = {0};
        for (int64_t i = 0; i < n; i++) {
            int64_t j = i, pasted = 0, y0 = h, y1 = -1, x0 = w, x1 = -1;
            for (int64_t ch = 0; ch < c; ch++)
                for (int64_t q = 0; q < plane; q++) {
                    float v = y[i * img + ch * plane + q];
                    if (v == x[i * img + ch * plane + q])
                        continue;
                    /* which image holds v at this position? */
                    int64_t src = -1;
                    for (int64_t s = 0; s < n; s++)
                        if (x[s * img + ch * plane + q] == v)
                            src = s;
                    cr_assert(src >= 0 && src != i, "image %lld pixel from nowhere", (long long)i);
                    cr_assert(j == i || j == src, "image %lld has two sources", (long long)i);
                    j = src;
                    if (ch == 0) {
                        pasted++;
                        int64_t py = q / w, px = q % w;
                        y0 = py < y0 ? py : y0;
                        y1 = py > y1 ? py : y1;
                        x0 = px < x0 ? px : x0;
                        x1 = px > x1 ? px : x1;
                    }
                }
            cr_assert(!used[j], "partner %lld used twice", (long long)j);
            used[j] = 1;
            double sum = 0.0;
            for (int64_t q = 0; q < n; q++)
                sum += t[i * n + q];
            cr_assert_lt(fabs(sum - 1.0), 1e-6, "row %lld sums to %.8f", (long long)i, sum);
            if (j == i) {
                cr_assert_eq(t[i * n + i], 1.0f, "row %lld mixed without a paste", (long long)i);
                continue;
            }
            cr_assert_eq(pasted, (y1 - y0 + 1) * (x1 - x0 + 1), "image %lld: paste is no rectangle",
                         (long long)i);
            if (box_y0 < 0) {
                box_y0 = y0, box_y1 = y1, box_x0 = x0, box_x1 = x1;
                boxes++;
            }
            cr_assert(y0 == box_y0 && y1 == box_y1 && x0 == box_x0 && x1 == box_x1,
                      "image %lld: another box", (long long)i);
            double frac = (double)pasted / (double)plane;
            cr_assert_float_eq(t[i * n + j], frac, 1e-6, "image %lld: weight %.7f, area %.7f",
                               (long long)i, t[i * n + j], frac);
            cr_assert_float_eq(t[i * n + i], 1.0 - frac, 1e-6);
        }
        rg_free(x);
        rg_free(y);
        rg_free(t);
    }
    cr_assert_gt(boxes, 20, "only %lld of 40 batches pasted a box", (long long)boxes);
    rg_plugin_instance_destroy(pi);
}

/* With lam ~ Beta(1, 1) = U(0, 1) the box sides are int(40 sqrt(1 - lam))
 * on 40 x 40 images, clipped at the border: over 2000 batches of two
 * images (black and white) the partner's label weight always equals the
 * white area pasted into the black image, and it spreads from near 0 to
 * more than half the image. */
Test(cutmix, pasted_fractions_match_the_weights_and_spread_over_0_1)
{
    rg_plugin_instance *pi = pt_load("cutmix:alpha=1", A);
    const int64_t n = 2, side = 40, plane = side * side, draws = 2000;
    float *x = floats(n * plane), t[4];
    double lo = 1.0, hi = 0.0;
    int64_t mixed = 0;
    for (int64_t d = 0; d < draws; d++) {
        for (int64_t q = 0; q < n * plane; q++)
            x[q] = q < plane ? 0.0f : 1.0f;
        t[0] = 1.0f, t[1] = 0.0f, t[2] = 0.0f, t[3] = 1.0f;
        run_aug(pi, x, t, n, 1, side, side, 2, 12, (uint64_t)d);
        double pasted = 0.0;
        for (int64_t q = 0; q < plane; q++)
            pasted += x[q];
        double frac = pasted / (double)plane;
        cr_assert_float_eq(t[1], frac, 1e-6, "batch %lld: weight %.7f, area %.7f", (long long)d,
                           t[1], frac);
        cr_assert_float_eq(t[0], 1.0 - frac, 1e-6);
        if (frac > 0.0) {
            mixed++;
            lo = frac < lo ? frac : lo;
            hi = frac > hi ? frac : hi;
        }
    }
    /* the permutation swaps the two images half the time */
    cr_assert_gt(mixed, draws / 3, "%lld of %lld batches pasted", (long long)mixed, (long long)draws);
    cr_assert(lo < 0.05 && hi > 0.5, "fractions %.3f..%.3f", lo, hi);
    rg_free(x);
    rg_plugin_instance_destroy(pi);
}

Test(cutmix, same_stream_same_boxes_at_1_and_2_threads_other_stream_other_boxes)
{
    check_streams("cutmix", 1);
    check_streams("cutmix", 3);
}

Test(cutmix, alpha_above_10_is_refused)
{
    cr_assert_str_eq(pt_load_fails("cutmix:alpha=11", A),
                     "cutmix: parameter alpha=11 is out of range (0, 10]");
}

/* cutmix (alpha 1) on 2000 Fashion-MNIST images, mlp:128, 10 epochs;
 * chance is 0.10. */
Test(cutmix, cutmix_trains_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"cutmix.so"};
    double acc = train_with(augs, 1, 10);
    cr_log_info("cutmix: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
