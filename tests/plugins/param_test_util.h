/* Shared by the tests of the ABI 1.5 parameter-hook plugins: the hooks called as the trainer
 * calls them, and comparisons of trained models. */
#ifndef RG_TEST_PARAM_UTIL_H
#define RG_TEST_PARAM_UTIL_H

#include "plugin_test_util.h"

/* A training-mode context on a stream keyed (seed, 0, step, site). */
rg_param_ctx pt_param_ctx(rg_rng_stream *rng, uint64_t seed, int64_t step, uint64_t site);
/* 1 if every parameter of a and b holds the same bits. */
int pt_models_equal(const rg_model *a, const rg_model *b);
/* The largest |a - b| over every parameter. */
double pt_models_max_diff(const rg_model *a, const rg_model *b);
/* `spec` (a setting documented as the identity) trained for `epochs` beside no plugin, same
 * seed and data: fails unless the weights come out bit-identical. */
void pt_identity_setting_matches_plain(const char *spec, int epochs);

#endif
