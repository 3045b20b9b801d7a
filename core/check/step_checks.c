/* Checks of the ABI 1.1 regularizer hooks: project_step() (a constraint
 * that knows the step's learning rate, e.g. decoupled weight decay) and
 * targets() (rewrites the batch's target distributions, e.g. label
 * smoothing). Neither need be idempotent; both must stay finite, in bounds
 * and reproducible, and targets() must keep every row a distribution. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../rng.h"
#include "check_internal.h"

static int create(rg_check_child *c, const rg_check_ctx *ctx, void **inst, char *detail,
                  size_t cap)
{
    if (rg_chk_create(c, ctx, "", inst) == RG_OK)
        return 1;
    snprintf(detail, cap, "%s", rg_error_message());
    return 0;
}

/* Runs project_step() on a fresh copy of the same random tensor into w. */
static int project_step_once(rg_check_child *c, const rg_check_ctx *ctx, void *inst,
                             rg_chk_buf *w, const int64_t *shape, uint32_t ndim, uint32_t kind,
                             char *detail, size_t cap)
{
    rg_chk_fill_normal(w->data, w->n, 900 + (uint64_t)ndim, 3.0f);
    rg_tensor_view v = rg_chk_view(w->data, kind, ndim, shape, "check.step.weight");
    char what[96];
    rg_chk_describe(&v, what, sizeof what);
    rg_step_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.epoch = 0;
    info.step = 10;
    info.lr = 0.1;
    rg_check_stage(c, "project_step()", "project_step() on the %s", what);
    rg_error_clear();
    rg_status st = ctx->plugin->reg.project_step(inst, &info, &v);
    if (st != RG_OK) {
        char why[RG_CHECK_DETAIL_CAP];
        rg_chk_status_text(st, why, sizeof why);
        snprintf(detail, cap, "project_step() on the %s returned %s", what, why);
        return 0;
    }
    if (!rg_chk_guards_intact(w)) {
        snprintf(detail, cap, "project_step() on the %s wrote outside the tensor", what);
        return 0;
    }
    for (int64_t i = 0; i < w->n; i++)
        if (!isfinite(w->data[i])) {
            snprintf(detail, cap, "project_step() on the %s left a non-finite value %g at "
                                  "element %lld (at epoch 0, step 10, lr 0.1): look for a "
                                  "division by step->epoch or step->step, which start at 0",
                     what, w->data[i], (long long)i);
            return 0;
        }
    return 1;
}

rg_check_verdict rg_check_project_step(rg_check_child *c, const rg_check_ctx *ctx,
                                       const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (!create(c, ctx, &inst, detail, cap))
        return RG_CHECK_FAIL;
    static const int64_t shapes[3][4] = {{12, 9}, {6, 3, 3, 3}, {12}};
    static const uint32_t ndims[3] = {2, 4, 1};
    static const uint32_t kinds[3] = {RG_TENSOR_WEIGHT, RG_TENSOR_WEIGHT, RG_TENSOR_BIAS};
    int ok = 1;
    for (int t = 0; t < 3 && ok; t++) {
        int64_t n = 1;
        for (uint32_t d = 0; d < ndims[t]; d++)
            n *= shapes[t][d];
        rg_chk_buf a, b;
        if (!rg_chk_buf_alloc(&a, n) || !rg_chk_buf_alloc(&b, n)) {
            snprintf(detail, cap, "checker out of memory");
            return RG_CHECK_FAIL;
        }
        ok = project_step_once(c, ctx, inst, &a, shapes[t], ndims[t], kinds[t], detail, cap) &&
             project_step_once(c, ctx, inst, &b, shapes[t], ndims[t], kinds[t], detail, cap);
        int64_t at = 0;
        if (ok && !rg_chk_bits_equal(a.data, b.data, n, &at)) {
            snprintf(detail, cap,
                     "project_step() gives different results for the same tensor and step "
                     "(element %lld: %.9g vs %.9g): it must depend only on its inputs",
                     (long long)at, a.data[at], b.data[at]);
            ok = 0;
        }
        rg_chk_buf_free(&a);
        rg_chk_buf_free(&b);
    }
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "finite, in bounds and reproducible at lr 0.1 on 12x9, 6x3x3x3 "
                          "weights and a [12] bias");
    return RG_CHECK_PASS;
}

enum { ROWS = 16, CLASSES = 10 };

/* One-hot rows, then soft rows: what the trainer passes with and without a
 * mixing augmenter before it. */
static void fill_targets(float *t, int soft)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, 950, 0, 0, 0);
    memset(t, 0, (size_t)ROWS * CLASSES * sizeof(float));
    for (int64_t r = 0; r < ROWS; r++) {
        if (!soft) {
            t[r * CLASSES + rg_rng_below(&s, (uint64_t)r, CLASSES)] = 1.0f;
            continue;
        }
        float sum = 0.0f;
        for (int64_t k = 0; k < CLASSES; k++) {
            t[r * CLASSES + k] = 0.05f + (float)rg_rng_below(&s, (uint64_t)(1000 + r * CLASSES + k), 100);
            sum += t[r * CLASSES + k];
        }
        for (int64_t k = 0; k < CLASSES; k++)
            t[r * CLASSES + k] /= sum;
    }
}

static int targets_once(rg_check_child *c, const rg_check_ctx *ctx, void *inst, rg_chk_buf *t,
                        int soft, char *detail, size_t cap)
{
    fill_targets(t->data, soft);
    int64_t shape[2] = {ROWS, CLASSES};
    rg_tensor_view v = rg_chk_view(t->data, RG_TENSOR_ACTIVATION, 2, shape, "targets");
    rg_check_stage(c, "targets()", "targets() on 16x10 %s targets", soft ? "soft" : "one-hot");
    rg_error_clear();
    rg_status st = ctx->plugin->reg.targets(inst, &v);
    if (st != RG_OK) {
        char why[RG_CHECK_DETAIL_CAP];
        rg_chk_status_text(st, why, sizeof why);
        snprintf(detail, cap, "targets() on 16x10 targets returned %s", why);
        return 0;
    }
    if (!rg_chk_guards_intact(t)) {
        snprintf(detail, cap, "targets() wrote outside the 16x10 targets");
        return 0;
    }
    for (int64_t r = 0; r < ROWS; r++) {
        double sum = 0.0;
        for (int64_t k = 0; k < CLASSES; k++) {
            float x = t->data[r * CLASSES + k];
            if (!(x >= 0.0f) || !isfinite(x)) {
                snprintf(detail, cap, "targets() left %g at row %lld, class %lld: target rows "
                                      "must stay distributions (entries >= 0, sum 1)",
                         x, (long long)r, (long long)k);
                return 0;
            }
            sum += x;
        }
        if (fabs(sum - 1.0) > 1e-5) {
            snprintf(detail, cap,
                     "target row %lld sums to %.7g after targets() on %s targets, not 1 (within "
                     "1e-5): smoothing must mix with weights that sum to 1 "
                     "((1 - eps) * y + eps / classes)",
                     (long long)r, sum, soft ? "soft" : "one-hot");
            return 0;
        }
    }
    return 1;
}

rg_check_verdict rg_check_targets(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                  char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (!create(c, ctx, &inst, detail, cap))
        return RG_CHECK_FAIL;
    rg_chk_buf a, b;
    if (!rg_chk_buf_alloc(&a, ROWS * CLASSES) || !rg_chk_buf_alloc(&b, ROWS * CLASSES)) {
        snprintf(detail, cap, "checker out of memory");
        return RG_CHECK_FAIL;
    }
    int ok = 1;
    for (int soft = 0; soft < 2 && ok; soft++) {
        ok = targets_once(c, ctx, inst, &a, soft, detail, cap) &&
             targets_once(c, ctx, inst, &b, soft, detail, cap);
        int64_t at = 0;
        if (ok && !rg_chk_bits_equal(a.data, b.data, ROWS * CLASSES, &at)) {
            snprintf(detail, cap, "targets() gives different results for the same targets "
                                  "(element %lld: %.9g vs %.9g)",
                     (long long)at, a.data[at], b.data[at]);
            ok = 0;
        }
    }
    rg_chk_buf_free(&a);
    rg_chk_buf_free(&b);
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "rows of one-hot and soft 16x10 targets stay distributions; "
                          "reproducible");
    return RG_CHECK_PASS;
}
