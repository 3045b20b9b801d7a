/* randaugment: torchvision.transforms.RandAugment(num_ops, magnitude, num_magnitude_bins)
 * composed from the stock augmenters. The strengths are derived here from autoaugment.py's
 * _augmentation_space; each image's ops from the policy's stream (position i*num_ops + s,
 * op = floor(u * 13)); and every image must equal the chosen ops applied to it directly,
 * through the host service, with key i*num_ops + s. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "aug_test_util.h"
#include "error.h"
#include "plugin/compose.h"
#include "policy_test_util.h"
#include "rng.h"
#include "threads.h"

#define A RG_PLUGIN_AUGMENTER

Test(randaugment, composes_each_op_at_the_one_magnitude_of_the_definition)
{
    const int mags[3] = {0, 9, 30};
    for (int q = 0; q < 3; q++) {
        char spec[64], owned[8192];
        snprintf(spec, sizeof spec, "randaugment:magnitude=%d", mags[q]);
        rg_plugin_instance *pi = pt_load(spec, A);
        cr_assert_eq(rg_compose_owned(pi->inst, owned, sizeof owned), POL_TEST_OPS - 1, "%s",
                     owned);
        for (int op = 1; op < POL_TEST_OPS; op++) {
            const char *want = pol_expected_spec(op, mags[q], 31, 0);
            cr_assert(strstr(owned, want) != NULL, "magnitude %d: no %s in %s", mags[q], want,
                      owned);
        }
        rg_plugin_instance_destroy(pi);
    }
    /* magnitude 9 of 31 bins, spelled out: 9 degrees, shear factor 0.09, 7 bits, 0.7 */
    cr_assert_str_eq(pol_expected_spec(5, 9, 31, 0), "rotate:degrees=9,degrees_min=9,p=1");
    cr_assert_str_eq(pol_expected_spec(9, 9, 31, 0), "posterize:bits=7,p=1");
    cr_assert_str_eq(pol_expected_spec(10, 9, 31, 0), "solarize:threshold=0.7,p=1");
}

static void check_batch(int num_ops)
{
    rg_threads_init(1);
    const int64_t n = 40, c = 1, h = 12, w = 12, pix = c * h * w, k = 3;
    char spec[64];
    snprintf(spec, sizeof spec, "randaugment:num_ops=%d,magnitude=12", num_ops);
    rg_plugin_instance *pi = pt_load(spec, A);
    float *x = pt_floats(n * pix), *y = pt_floats(n * pix), *t = pt_one_hot(n, k);
    pt_fill(x, n * pix, 17, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * pix) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, k, 3, 2);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 3, 0, 2, RG_SITE_AUGMENT);
    int used[POL_TEST_OPS] = {0};
    for (int64_t i = 0; i < n; i++) {
        /* image i through its ops one after another, each applied directly */
        float *cur = pt_floats(pix), *next = pt_floats(pix);
        memcpy(cur, x + i * pix, (size_t)pix * sizeof(float));
        for (int sl = 0; sl < num_ops; sl++) {
            uint64_t slot = (uint64_t)i * (uint64_t)num_ops + (uint64_t)sl;
            float u;
            rg_rng_uniform(&s, slot, &u, 1);
            int op = (int)(u * (float)POL_TEST_OPS);
            used[op]++;
            const char *opspec = pol_expected_spec(op, 12, 31, 0);
            /* pol_expect_image compares image 0 of a one-image "batch" */
            memcpy(next, cur, (size_t)pix * sizeof(float));
            if (sl == num_ops - 1) {
                pol_expect_image(opspec, cur, y + i * pix, 0, c, h, w, k, 3, 2, slot);
            } else if (opspec) {
                /* the intermediate image: apply it and go on */
                rg_compose_mark mark;
                rg_compose_begin(&mark, "test", RG_PLUGIN_AUGMENTER, NULL);
                rg_augmenter_ref *ref = NULL;
                cr_assert_eq(rg_host_augmenter_create(opspec, &ref), RG_OK, "%s",
                             rg_error_message());
                float *lab = pt_one_hot(1, k);
                rg_batch_view b = {sizeof b, 0, 1, c, h, w, next, lab, k};
                cr_assert_eq(rg_host_augmenter_apply(ref, &b, &s, slot), RG_OK);
                rg_compose_end(&mark, NULL);
                rg_free(lab);
            }
            memcpy(cur, next, (size_t)pix * sizeof(float));
        }
        rg_free(cur);
        rg_free(next);
    }
    int distinct = 0;
    for (int op = 0; op < POL_TEST_OPS; op++)
        distinct += used[op] > 0;
    cr_assert_geq(distinct, 10, "only %d of 13 ops drawn for %d images", distinct,
                  (int)(n * num_ops));
    rg_plugin_instance_destroy(pi);
    rg_free(x);
    rg_free(y);
    rg_free(t);
}

Test(randaugment, each_image_gets_its_drawn_op_applied_as_the_op_alone_would)
{
    check_batch(1);
}

Test(randaugment, two_ops_apply_one_after_the_other)
{
    check_batch(2);
}

Test(randaugment, num_ops_0_is_the_identity_and_streams_behave)
{
    pt_aug_check_identity("randaugment:num_ops=0");
    pt_aug_check_streams("randaugment", 1);
    pt_aug_check_streams("randaugment:num_ops=3,magnitude=20", 3);
}

Test(randaugment, trains_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"randaugment.so:num_ops=1,magnitude=5"};
    double acc = pt_aug_train_with(augs, 1, 10);
    cr_log_info("randaugment: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
