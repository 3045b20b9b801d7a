/* random_erasing: torchvision RandomErasing(p=0.5, scale=(0.02, 0.33),
 * ratio=(0.3, 3.3), value=0): up to 10 attempts at a rectangle of area
 * fraction ~ U(scale) and aspect ratio log-uniform in ratio, rounded to whole
 * pixels, strictly smaller than the image; if none fits the image is kept.
 * The tests measure the erased rectangle and check it against those bounds. */
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

typedef struct rect {
    int64_t y0, x0, eh, ew;
} rect;

/* The changed pixels of out vs in (1 channel of c): 1 and the bounding box
 * if they form one filled rectangle of `value` in every channel and nothing
 * else changed; 0 otherwise. An image with no change gives eh = ew = 0. */
static int erased_rect(const float *in, const float *out, int64_t c, int64_t h, int64_t w,
                       float value, rect *r)
{
    int64_t y0 = h, y1 = -1, x0 = w, x1 = -1;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            if (out[y * w + x] != in[y * w + x]) {
                y0 = y < y0 ? y : y0;
                y1 = y > y1 ? y : y1;
                x0 = x < x0 ? x : x0;
                x1 = x > x1 ? x : x1;
            }
    *r = (rect){y0, x0, y1 < 0 ? 0 : y1 - y0 + 1, x1 < 0 ? 0 : x1 - x0 + 1};
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                int inside = y >= r->y0 && y < r->y0 + r->eh && x >= r->x0 && x < r->x0 + r->ew;
                float want = inside ? value : in[(ch * h + y) * w + x];
                if (out[(ch * h + y) * w + x] != want)
                    return 0;
            }
    return 1;
}

Test(random_erasing, p_0_is_the_identity)
{
    check_identity("random_erasing:p=0");
}

/* scale (1, 1): the rectangle would cover the whole image, which no attempt
 * may (eh < h and ew < w), so all 10 fail and every image is kept. */
Test(random_erasing, when_no_attempt_fits_the_image_is_kept)
{
    check_identity("random_erasing:p=1,scale_min=1,scale_max=1");
}

/* p = 1 on 2 x 20 x 24 images (values > 0): each erased region is one filled
 * rectangle, smaller than the image on both sides, whose side lengths are
 * roundings of sqrt(A s r), sqrt(A s / r) for some s in [0.02, 0.33] and r in
 * [0.3, 3.3]: (eh -+ 1/2)(ew -+ 1/2) / A must reach [0.02, 0.33] and
 * (eh -+ 1/2) / (ew +- 1/2) must reach [0.3, 3.3]. */
Test(random_erasing, erased_area_fraction_and_aspect_ratio_are_within_bounds)
{
    rg_plugin_instance *pi = pt_load("random_erasing:p=1", A);
    const int64_t n = 500, c = 2, h = 20, w = 24, img = c * h * w;
    const double area = (double)(h * w);
    float *x = floats(n * img), *y = floats(n * img), *t = one_hot(n, 2), *t0 = one_hot(n, 2);
    pt_fill(x, n * img, 71, 0.01f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    run_aug(pi, y, t, n, c, h, w, 2, 1, 0);
    double fmin = 1.0, fmax = 0.0;
    for (int64_t i = 0; i < n; i++) {
        rect r;
        cr_assert(erased_rect(x + i * img, y + i * img, c, h, w, 0.0f, &r),
                  "image %lld: the change is no filled rectangle", (long long)i);
        cr_assert(r.eh > 0 && r.ew > 0 && r.eh < h && r.ew < w, "image %lld: %lldx%lld",
                  (long long)i, (long long)r.eh, (long long)r.ew);
        double eh = (double)r.eh, ew = (double)r.ew;
        double lo = (eh - 0.5) * (ew - 0.5) / area, hi = (eh + 0.5) * (ew + 0.5) / area;
        cr_assert(hi >= 0.02 && lo <= 0.33, "image %lld: %gx%g, area fraction %.4f", (long long)i,
                  eh, ew, eh * ew / area);
        cr_assert((eh + 0.5) / (ew - 0.5) >= 0.3 && (eh - 0.5) / (ew + 0.5) <= 3.3,
                  "image %lld: %gx%g, aspect %.3f", (long long)i, eh, ew, eh / ew);
        fmin = fmin < eh * ew / area ? fmin : eh * ew / area;
        fmax = fmax > eh * ew / area ? fmax : eh * ew / area;
    }
    cr_assert(fmin < 0.05 && fmax > 0.28, "fractions %.3f..%.3f do not spread", fmin, fmax);
    cr_assert(memcmp(t, t0, (size_t)(n * 2) * sizeof(float)) == 0, "labels changed");
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_free(t0);
    rg_plugin_instance_destroy(pi);
}

/* Defaults (p = 0.5): about half the images erased; value=0.7 fills with 0.7. */
Test(random_erasing, default_p_erases_about_half_with_the_given_value)
{
    rg_plugin_instance *pi = pt_load("random_erasing:value=0.7", A);
    const int64_t n = 1000, h = 10, w = 10, img = h * w;
    float *x = floats(n * img), *y = floats(n * img), *t = one_hot(n, 2);
    pt_fill(x, n * img, 72, 0.0f, 0.5f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    run_aug(pi, y, t, n, 1, h, w, 2, 2, 0);
    int64_t erased = 0;
    for (int64_t i = 0; i < n; i++) {
        rect r;
        cr_assert(erased_rect(x + i * img, y + i * img, 1, h, w, 0.7f, &r), "image %lld",
                  (long long)i);
        erased += r.eh > 0;
    }
    cr_assert_lt(fabs((double)erased / (double)n - 0.5), 4.0 * sqrt(0.25 / (double)n),
                 "%lld of %lld erased", (long long)erased, (long long)n);
    rg_free(x);
    rg_free(y);
    rg_free(t);
    rg_plugin_instance_destroy(pi);
}

Test(random_erasing, same_stream_same_rectangles_at_1_and_2_threads_other_stream_other_ones)
{
    check_streams("random_erasing", 1);
    check_streams("random_erasing", 3);
}

Test(random_erasing, scale_min_0_is_refused)
{
    cr_assert_str_eq(pt_load_fails("random_erasing:scale_min=0", A),
                     "random_erasing: parameter scale_min=0 is out of range (0, 1]");
}
