/* Shared between the checker's files; not part of any public surface. */
#ifndef RG_CORE_CHECK_INTERNAL_H
#define RG_CORE_CHECK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "../plugin/loader.h"

/* What every check may read. Children inherit it (and the plugin mapped
 * into the parent) through fork. */
typedef struct rg_check_ctx {
    const char *path;
    rg_plugin *plugin;       /* NULL until the load check passed */
    rg_host_api host;        /* the current host: offers minor host_minor */
    uint32_t host_minor;
} rg_check_ctx;

/* ------------------------------------------------------------ isolation */
typedef struct rg_check_child rg_check_child;

/* One check's body, run in a forked child: returns its verdict and writes
 * the detail line. `arg` is the check's own argument (a parameter index...). */
typedef rg_check_verdict (*rg_check_body)(rg_check_child *c, const rg_check_ctx *ctx,
                                          const void *arg, char *detail, size_t cap);

/* Tell the parent what the child is about to call ("penalty()", "on the
 * 12x9 weight tensor"), so a crash, exit or timeout is reported by name. */
void rg_check_stage(rg_check_child *c, const char *hook, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum rg_child_outcome {
    RG_CHILD_DONE = 0,       /* the body returned a verdict */
    RG_CHILD_CRASHED,        /* killed by a signal: code = signal number */
    RG_CHILD_EXITED,         /* exited before a verdict: code = exit status */
    RG_CHILD_TIMED_OUT       /* killed after the timeout */
} rg_child_outcome;

#define RG_CHECK_HOOK_CAP 32
#define RG_CHECK_STAGE_CAP 256

typedef struct rg_isolated_result {
    rg_child_outcome outcome;
    rg_check_verdict verdict;            /* for RG_CHILD_DONE */
    int code;
    char hook[RG_CHECK_HOOK_CAP];        /* the last stage's hook, "" before any */
    char stage[RG_CHECK_STAGE_CAP];      /* "penalty() on the 12x9 weight tensor" */
    char detail[RG_CHECK_DETAIL_CAP];
} rg_isolated_result;

rg_status rg_check_isolated(rg_check_body body, const rg_check_ctx *ctx, const void *arg,
                            double timeout_s, rg_isolated_result *out);

/* ------------------------------------------------------------ exports */
/* Names of the defined dynamic symbols of the ELF file at `path` other
 * than the entry point, ", "-joined and quoted into `offenders` ("" when
 * clean); *count is how many. */
rg_status rg_check_elf_exports(const char *path, char *offenders, size_t cap, int *count);

/* ------------------------------------------------------------ helpers */
/* A float buffer with 16 guard floats on each side, 64-byte aligned, so a
 * hook that writes out of bounds is caught. */
typedef struct rg_chk_buf {
    float *base;
    float *data;
    int64_t n;
} rg_chk_buf;

#define RG_CHK_GUARD 16

int rg_chk_buf_alloc(rg_chk_buf *b, int64_t n);
void rg_chk_buf_free(rg_chk_buf *b);
int rg_chk_guards_intact(const rg_chk_buf *b);

/* Host-RNG fillers with fixed seeds, so every run checks the same numbers. */
void rg_chk_fill_normal(float *x, int64_t n, uint64_t seed, float scale);
void rg_chk_fill_uniform(float *x, int64_t n, uint64_t seed, float lo, float hi);
/* Values of magnitude in [lo, hi] with random signs: away from 0, where
 * L1-like penalties and ReLU-like activations have their kink. */
void rg_chk_fill_away_from_zero(float *x, int64_t n, uint64_t seed, float lo, float hi);

rg_tensor_view rg_chk_view(float *data, uint32_t kind, uint32_t ndim, const int64_t *shape,
                           const char *name);
/* "12x9 weight tensor", "[17] bias tensor". */
void rg_chk_describe(const rg_tensor_view *v, char *buf, size_t cap);
/* "'invalid argument': <the plugin's set_error message>" */
void rg_chk_status_text(rg_status st, char *buf, size_t cap);

/* Parse `text` ("name=value,...") with the host's schema check, then call
 * create(). RG_ERR_INVALID: the schema refused (message kept); anything
 * else: create() failed. */
rg_status rg_chk_parse(const rg_check_ctx *ctx, const char *text, rg_param_value *values,
                       char *storage, size_t cap);
rg_status rg_chk_create(rg_check_child *c, const rg_check_ctx *ctx, const char *text,
                        void **inst);
void rg_chk_destroy(rg_check_child *c, const rg_check_ctx *ctx, void *inst);

/* Indices to probe in a tensor of n elements: all when n <= max, else an
 * even spread. Returns how many were written. */
int rg_chk_sample(int64_t n, int64_t *idx, int max);

/* Finite differences: the step is RG_CHK_FD_STEP times the value (at least 0.1),
 * large enough that a penalty summed in float (rounding ~1e-7 of the loss)
 * still yields a usable difference, small enough that the O(h^2) truncation
 * of a central difference stays far below the 1e-2 tolerance. */
#define RG_CHK_FD_STEP 1e-2f
/* What rounding the objective in float could contribute to a central
 * difference of the values (a, b) over a step h: a few float ulps of the
 * objective, divided by h. Added to the tolerance so that a correct
 * gradient of a float-summed loss is not reported. */
double rg_chk_fd_noise(double a, double b, double h);

int rg_chk_bits_equal(const float *a, const float *b, int64_t n, int64_t *first_diff);

/* ------------------------------------------------------------ the checks */
rg_check_verdict rg_check_state(rg_check_child *, const rg_check_ctx *, const void *, char *,
                                size_t);
rg_check_verdict rg_check_load(rg_check_child *, const rg_check_ctx *, const void *, char *,
                               size_t);
rg_check_verdict rg_check_older_host(rg_check_child *, const rg_check_ctx *, const void *,
                                     char *, size_t);
rg_check_verdict rg_check_exports(rg_check_child *, const rg_check_ctx *, const void *, char *,
                                  size_t);
rg_check_verdict rg_check_lifecycle(rg_check_child *, const rg_check_ctx *, const void *,
                                    char *, size_t);
/* arg: const uint32_t * parameter index */
rg_check_verdict rg_check_param(rg_check_child *, const rg_check_ctx *, const void *, char *,
                                size_t);

rg_check_verdict rg_check_penalty_gradient(rg_check_child *, const rg_check_ctx *,
                                           const void *, char *, size_t);
rg_check_verdict rg_check_penalty_nonneg(rg_check_child *, const rg_check_ctx *, const void *,
                                         char *, size_t);
rg_check_verdict rg_check_penalty_threads(rg_check_child *, const rg_check_ctx *,
                                          const void *, char *, size_t);
rg_check_verdict rg_check_linear_decay(rg_check_child *, const rg_check_ctx *,
                                       const void *, char *, size_t);
rg_check_verdict rg_check_project(rg_check_child *, const rg_check_ctx *, const void *, char *,
                                  size_t);
/* ABI 1.5 hooks (param_checks.c) */
rg_check_verdict rg_check_weight_gradient(rg_check_child *, const rg_check_ctx *, const void *,
                                          char *, size_t);
rg_check_verdict rg_check_param_threads(rg_check_child *, const rg_check_ctx *, const void *,
                                        char *, size_t);
rg_check_verdict rg_check_step_wrap(rg_check_child *, const rg_check_ctx *, const void *, char *,
                                    size_t);
/* ABI 1.1 hooks */
rg_check_verdict rg_check_project_step(rg_check_child *, const rg_check_ctx *, const void *,
                                       char *, size_t);
rg_check_verdict rg_check_targets(rg_check_child *, const rg_check_ctx *, const void *, char *,
                                  size_t);

rg_check_verdict rg_check_act_eval(rg_check_child *, const rg_check_ctx *, const void *, char *,
                                   size_t);
rg_check_verdict rg_check_act_gradient(rg_check_child *, const rg_check_ctx *, const void *,
                                       char *, size_t);
rg_check_verdict rg_check_act_determinism(rg_check_child *, const rg_check_ctx *,
                                          const void *, char *, size_t);
rg_check_verdict rg_check_act_split(rg_check_child *, const rg_check_ctx *, const void *,
                                    char *, size_t);

rg_check_verdict rg_check_aug_bounds(rg_check_child *, const rg_check_ctx *, const void *,
                                     char *, size_t);
rg_check_verdict rg_check_aug_determinism(rg_check_child *, const rg_check_ctx *,
                                          const void *, char *, size_t);
rg_check_verdict rg_check_aug_seed(rg_check_child *, const rg_check_ctx *, const void *,
                                   char *, size_t);
rg_check_verdict rg_check_aug_compose(rg_check_child *, const rg_check_ctx *, const void *,
                                      char *, size_t);

#endif
