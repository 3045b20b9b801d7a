/* The host's checks at the plugin boundary (boundary.c), shared by the step's hooks. */
#ifndef RG_CORE_TRAIN_BOUNDARY_H
#define RG_CORE_TRAIN_BOUNDARY_H

#include <stdint.h>

#include "../model/model.h"
#include "../plugin/instance.h"

/* -DREGULA_BOUNDARY_CHECKS=OFF compiles the checks at the plugin boundary out, only so that
 * bench/checks_overhead.sh can measure what they cost. */
#ifdef RG_NO_BOUNDARY_CHECKS
#define RG_CHECKS 0
#else
#define RG_CHECKS 1
#endif

/* A sample of a const tensor (one element per 4 KiB and both ends), to see after the hook
 * whether the plugin wrote it: cheap enough for every step, and it catches every in-place
 * update of the whole tensor. `regula plugin check` compares all of it. */
#define RG_CONST_STRIDE 1021
#define RG_CONST_SAMPLES 64

/* A view of parameter p over data (its value, its gradient or a copy). */
void rg_bd_param_view(rg_tensor_view *v, rg_param *p, float *data);
/* RG_ERR_PLUGIN naming the plugin and hook, keeping the plugin's own message. */
rg_status rg_bd_failed(const rg_plugin_instance *pi, const char *hook, rg_status st);
/* The guard words after buf (len floats from rg_alloc_floats): an error naming the plugin,
 * the hook, what the buffer was (`what`, for `tensor`, of `shown` elements) if the hook
 * wrote past its end. */
rg_status rg_bd_guarded(const rg_plugin_instance *pi, const char *hook, float *buf,
                        int64_t len, const char *what, const char *tensor, int64_t shown);
/* Up to RG_CONST_SAMPLES positions of an n-element tensor (none without checks). */
int rg_bd_samples(int64_t n, int64_t *pos);
int rg_bd_sampled_finite(const float *v, int64_t n);
/* v at the ns positions pos, against what it held before the hook (`before`): an error naming
 * the plugin, the hook and the element if the hook wrote into `what` (const) of `tensor`;
 * `hint` follows "which are const" (the fix, or ""). */
rg_status rg_bd_unchanged(const rg_plugin_instance *pi, const char *hook, const char *what,
                          const char *tensor, const float *v, const int64_t *pos,
                          const float *before, int ns, const char *hint, int64_t epoch,
                          int64_t step);
int rg_bd_all_finite(const float *v, int64_t n);

#endif
