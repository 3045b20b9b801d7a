/* Shared checks for the augmenter plugin tests: one apply() as the trainer
 * calls it, determinism and bounds across streams and thread counts, the
 * identity settings, and a short Fashion-MNIST run. */
#ifndef RG_TEST_AUG_UTIL_H
#define RG_TEST_AUG_UTIL_H

#include <stdint.h>

#include "plugin_test_util.h"

void pt_aug_run(rg_plugin_instance *pi, float *x, float *lab, int64_t n, int64_t c, int64_t h,
                int64_t w, int64_t k, uint64_t seed, uint64_t step);
float *pt_one_hot(int64_t n, int64_t k);
void pt_aug_check_streams(const char *spec, int64_t c);
void pt_aug_check_identity(const char *spec);
double pt_aug_train_with(const char *const *augs, int num_augs, int epochs);

#endif
