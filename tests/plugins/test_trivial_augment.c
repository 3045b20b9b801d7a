/* trivial_augment: torchvision.transforms.TrivialAugmentWide(num_magnitude_bins) composed
 * from the stock augmenters. Each image's op and strength bin come from the policy's stream
 * (positions 2i and 2i + 1: op = floor(u * 13), bin = floor(u' * bins)); every image must
 * equal that op at that bin (its spec derived here from autoaugment.py's wide space)
 * applied to it directly, through the host service, with key i. */
#include <criterion/criterion.h>
#include <string.h>

#include "alloc.h"
#include "aug_test_util.h"
#include "plugin/compose.h"
#include "policy_test_util.h"
#include "rng.h"
#include "threads.h"

#define A RG_PLUGIN_AUGMENTER

Test(trivial_augment, composes_every_op_at_every_bin_of_the_wide_space)
{
    const int bins = 31;
    rg_plugin_instance *pi = pt_load("trivial_augment", A);
    static char owned[1 << 16];
    int64_t n = rg_compose_owned(pi->inst, owned, sizeof owned);
    /* distinct specs: 8 signed or linear ops x 31 bins + posterize's 7 bit counts (8..2) +
     * solarize's 31 thresholds + autocontrast + equalize; the identity composes nothing */
    cr_assert_eq(n, 8 * bins + 7 + bins + 2, "%lld composed", (long long)n);
    for (int op = 1; op < POL_TEST_OPS; op++)
        for (int b = 0; b < bins; b++) {
            const char *want = pol_expected_spec(op, b, bins, 1);
            cr_assert(strstr(owned, want) != NULL, "no %s", want);
        }
    cr_assert_str_eq(pol_expected_spec(5, 30, 31, 1), "rotate:degrees=135,degrees_min=135,p=1");
    cr_assert_str_eq(pol_expected_spec(9, 30, 31, 1), "posterize:bits=2,p=1");
    rg_plugin_instance_destroy(pi);
}

Test(trivial_augment, each_image_gets_its_drawn_op_and_bin_as_the_op_alone_would)
{
    rg_threads_init(1);
    const int64_t n = 60, c = 1, h = 12, w = 12, pix = c * h * w, k = 3;
    const int bins = 11;
    rg_plugin_instance *pi = pt_load("trivial_augment:num_magnitude_bins=11", A);
    float *x = pt_floats(n * pix), *y = pt_floats(n * pix), *t = pt_one_hot(n, k);
    pt_fill(x, n * pix, 23, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * pix) * sizeof(float));
    pt_aug_run(pi, y, t, n, c, h, w, k, 8, 1);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 8, 0, 1, RG_SITE_AUGMENT);
    int used[POL_TEST_OPS] = {0}, identity = 0;
    for (int64_t i = 0; i < n; i++) {
        float u[2];
        rg_rng_uniform(&s, 2 * (uint64_t)i, u, 2);
        int op = (int)(u[0] * (float)POL_TEST_OPS), b = (int)(u[1] * (float)bins);
        used[op]++;
        identity += op == 0;
        pol_expect_image(pol_expected_spec(op, b, bins, 1), x, y, i, c, h, w, k, 8, 1,
                         (uint64_t)i);
    }
    int distinct = 0;
    for (int op = 0; op < POL_TEST_OPS; op++)
        distinct += used[op] > 0;
    cr_assert_geq(distinct, 11, "only %d of 13 ops drawn for 60 images", distinct);
    rg_plugin_instance_destroy(pi);
    rg_free(x);
    rg_free(y);
    rg_free(t);
}

Test(trivial_augment, streams_behave_at_one_and_three_channels)
{
    pt_aug_check_streams("trivial_augment", 1);
    pt_aug_check_streams("trivial_augment", 3);
}

Test(trivial_augment, trains_fashion_mnist_to_a_sane_accuracy, .timeout = 300)
{
    const char *augs[] = {"trivial_augment.so"};
    double acc = pt_aug_train_with(augs, 1, 10);
    cr_log_info("trivial_augment: test accuracy %.4f", acc);
    cr_assert_gt(acc, 0.6, "test accuracy %.4f", acc);
}
