#include "aug_test_util.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "error.h"
#include "idx.h"
#include "model/model.h"
#include "rng.h"
#include "threads.h"
#include "train/train.h"


/* One apply() on an n x c x h x w batch with k classes, stream keyed on
 * (seed, step) at the first augmenter site, as the trainer calls it. */
void pt_aug_run(rg_plugin_instance *pi, float *x, float *lab, int64_t n, int64_t c, int64_t h,
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
float *pt_one_hot(int64_t n, int64_t k)
{
    float *t = pt_floats(n * k);
    memset(t, 0, (size_t)(n * k) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        t[i * k + i % k] = 1.0f;
    return t;
}

/* Applies `spec` to copies of one random batch: twice on the same stream at 1
 * and 2 threads (must agree bit for bit), once on another step's stream (must
 * differ), for c channels. Pixels stay in [0, 1] and label rows sum to 1. */
void pt_aug_check_streams(const char *spec, int64_t c)
{
    rg_plugin_instance *pi = pt_load(spec, RG_PLUGIN_AUGMENTER);
    const int64_t n = 32, h = 12, w = 10, k = 5, numel = n * c * h * w;
    float *x0 = pt_floats(numel), *x1 = pt_floats(numel), *x2 = pt_floats(numel), *x3 = pt_floats(numel);
    float *t1 = pt_one_hot(n, k), *t2 = pt_one_hot(n, k), *t3 = pt_one_hot(n, k);
    pt_fill(x0, numel, 77, 0.05f, 1.0f);
    memcpy(x1, x0, (size_t)numel * sizeof(float));
    memcpy(x2, x0, (size_t)numel * sizeof(float));
    memcpy(x3, x0, (size_t)numel * sizeof(float));
    rg_threads_init(1);
    pt_aug_run(pi, x1, t1, n, c, h, w, k, 5, 0);
    rg_threads_init(2);
    pt_aug_run(pi, x2, t2, n, c, h, w, k, 5, 0);
    pt_aug_run(pi, x3, t3, n, c, h, w, k, 5, 1);
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
void pt_aug_check_identity(const char *spec)
{
    rg_plugin_instance *pi = pt_load(spec, RG_PLUGIN_AUGMENTER);
    const int64_t n = 16, c = 3, h = 7, w = 6, k = 4, numel = n * c * h * w;
    float *x = pt_floats(numel), *y = pt_floats(numel), *t = pt_one_hot(n, k), *t0 = pt_one_hot(n, k);
    pt_fill(x, numel, 3, 0.0f, 1.0f);
    memcpy(y, x, (size_t)numel * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, k, 9, 0);
    cr_assert(memcmp(x, y, (size_t)numel * sizeof(float)) == 0, "%s changed the batch", spec);
    cr_assert(memcmp(t, t0, (size_t)(n * k) * sizeof(float)) == 0, "%s changed the labels", spec);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(t0);
    rg_plugin_instance_destroy(pi);
}

/* mlp:128 on the first 2000 training images for `epochs` epochs with the
 * given augmenters (paths relative to the plugin build dir); returns the
 * test accuracy. */
double pt_aug_train_with(const char *const *augs, int num_augs, int epochs)
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
        cr_assert_eq(rg_plugin_instance_create(path, RG_PLUGIN_AUGMENTER, NULL, &cfg.augs[k]), RG_OK, "%s",
                     rg_error_message());
    }
    cfg.num_augs = num_augs;
    rg_model_spec spec;
    rg_model *model = NULL;
    rg_trainer *trainer = NULL;
    cr_assert_eq(rg_model_spec_parse("mlp:128", &spec), RG_OK);
    cr_assert_eq(rg_model_build(&spec, (rg_shape){784, 1, 1, 1}, 10, &model), RG_OK);
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
