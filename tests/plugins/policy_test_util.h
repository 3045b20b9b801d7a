/* Shared checks for the policy augmenters (randaugment, trivial_augment): what the test
 * expects a policy to have composed, and one image of a batch against the composed
 * augmenter applied to it directly through the host service, with the policy's key. */
#ifndef RG_TEST_POLICY_UTIL_H
#define RG_TEST_POLICY_UTIL_H

#include <stdint.h>

#include "plugin_test_util.h"

/* The spec of torchvision's op `op` at strength bin `bin` of `bins`, as the test derives it
 * from autoaugment.py's _augmentation_space (NULL for the identity). `wide`: TrivialAugmentWide's
 * ranges, else RandAugment's. The buffer is static. */
const char *pol_expected_spec(int op, int bin, int bins, int wide);
#define POL_TEST_OPS 13
/* Asserts that image i of y (n images c x h x w, from x) is spec applied to image i of x
 * with the policy's stream (seed, step) and key. */
void pol_expect_image(const char *spec, const float *x, const float *y, int64_t i, int64_t c,
                      int64_t h, int64_t w, int64_t k, uint64_t seed, uint64_t step,
                      uint64_t key);

#endif
