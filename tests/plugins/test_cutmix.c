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
#include "aug_test_util.h"
#include "plugin_test_util.h"
#include "rng.h"
#include "threads.h"
#include "train/train.h"

#define A RG_PLUGIN_AUGMENTER






/* ---- a short Fashion-MNIST run with augmenters ------------------------- */


Test(cutmix, p_0_is_the_identity)
{
    pt_aug_check_identity("cutmix:p=0");
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
        float *x = pt_floats(n * img), *y = pt_floats(n * img), *t = pt_floats(n * n);
        for (int64_t q = 0; q < n * img; q++)
            x[q] = (float)(q + 1) / (float)(n * img + 1);
        memcpy(y, x, (size_t)(n * img) * sizeof(float));
        memset(t, 0, (size_t)(n * n) * sizeof(float));
        for (int64_t i = 0; i < n; i++)
            t[i * n + i] = 1.0f;
        pt_aug_run(pi, y, t, n, c, h, w, n, 4, step);
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
    float *x = pt_floats(n * plane), t[4];
    double lo = 1.0, hi = 0.0;
    int64_t mixed = 0;
    for (int64_t d = 0; d < draws; d++) {
        for (int64_t q = 0; q < n * plane; q++)
            x[q] = q < plane ? 0.0f : 1.0f;
        t[0] = 1.0f, t[1] = 0.0f, t[2] = 0.0f, t[3] = 1.0f;
        pt_aug_run(pi, x, t, n, 1, side, side, 2, 12, (uint64_t)d);
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
    pt_aug_check_streams("cutmix", 1);
    pt_aug_check_streams("cutmix", 3);
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
    double acc = pt_aug_train_with(augs, 1, 10);
    cr_log_info("cutmix: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
