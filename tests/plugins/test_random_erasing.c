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
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"
#include "threads.h"
#include "train/train.h"

#define A RG_PLUGIN_AUGMENTER






/* ---- a short Fashion-MNIST run with augmenters ------------------------- */


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
    pt_aug_check_identity("random_erasing:p=0");
}

/* scale (1, 1): the rectangle would cover the whole image, which no attempt
 * may (eh < h and ew < w), so all 10 fail and every image is kept. */
Test(random_erasing, when_no_attempt_fits_the_image_is_kept)
{
    pt_aug_check_identity("random_erasing:p=1,scale_min=1,scale_max=1");
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
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2), *t0 = pt_one_hot(n, 2);
    pt_fill(x, n * img, 71, 0.01f, 1.0f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, 2, 1, 0);
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
    float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_one_hot(n, 2);
    pt_fill(x, n * img, 72, 0.0f, 0.5f);
    memcpy(y, x, (size_t)(n * img) * sizeof(float));
    pt_aug_run(pi, y, t, n, 1, h, w, 2, 2, 0);
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
    pt_aug_check_streams("random_erasing", 1);
    pt_aug_check_streams("random_erasing", 3);
}

Test(random_erasing, scale_min_0_is_refused)
{
    cr_assert_str_eq(pt_load_fails("random_erasing:scale_min=0", A),
                     "random_erasing: parameter scale_min=0 is out of range (0, 1]");
}
