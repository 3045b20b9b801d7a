/* Checks of the penalty() and project() hooks of a regularizer.
 *
 * The gradient is checked against central finite differences of the
 * penalty itself: (P(w + h e_i) - P(w - h e_i)) / 2h, with h the actual
 * float step and the difference taken in double (the penalty is a double).
 * Values are drawn away from 0, where L1-like penalties have their kink. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../threads.h"
#include "check_internal.h"

#define FD_SAMPLES 20

typedef struct probe_tensor {
    uint32_t kind;
    uint32_t ndim;
    int64_t shape[4];
    const char *name;
} probe_tensor;

/* A vector, a dense weight, a conv weight and a bias: the shapes a
 * regularizer meets in a real model. */
static const probe_tensor k_tensors[] = {
    {RG_TENSOR_WEIGHT, 1, {17}, "check.vector.weight"},
    {RG_TENSOR_WEIGHT, 2, {12, 9}, "check.dense.weight"},
    {RG_TENSOR_WEIGHT, 4, {6, 3, 3, 3}, "check.conv.weight"},
    {RG_TENSOR_BIAS, 1, {12}, "check.dense.bias"},
};
#define NUM_TENSORS (int)(sizeof k_tensors / sizeof k_tensors[0])

static int64_t numel_of(const probe_tensor *t)
{
    int64_t n = 1;
    for (uint32_t d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

/* One penalty() call on (w, grad) with the guards and the const-ness of
 * the parameter checked. Returns 0 with the detail written on failure. */
static int call_penalty(rg_check_child *c, const rg_check_ctx *ctx, void *inst,
                        const probe_tensor *t, rg_chk_buf *w, rg_chk_buf *g, double *loss,
                        char *detail, size_t cap)
{
    rg_tensor_view pv = rg_chk_view(w->data, t->kind, t->ndim, t->shape, t->name);
    rg_tensor_view gv = rg_chk_view(g->data, RG_TENSOR_GRADIENT, t->ndim, t->shape, t->name);
    char what[96];
    rg_chk_describe(&pv, what, sizeof what);
    float *copy = malloc((size_t)w->n * sizeof(float));
    if (!copy) {
        snprintf(detail, cap, "checker out of memory");
        return 0;
    }
    memcpy(copy, w->data, (size_t)w->n * sizeof(float));
    rg_check_stage(c, "penalty()", "penalty() on the %s", what);
    rg_error_clear();
    rg_status st = ctx->plugin->reg.penalty(inst, &pv, loss, &gv);
    int ok = 0;
    char why[RG_CHECK_DETAIL_CAP];
    if (st != RG_OK) {
        rg_chk_status_text(st, why, sizeof why);
        snprintf(detail, cap, "penalty() on the %s returned %s", what, why);
    } else if (!rg_chk_guards_intact(g)) {
        snprintf(detail, cap, "penalty() on the %s wrote outside grad->data (numel %lld)", what,
                 (long long)g->n);
    } else if (!rg_chk_guards_intact(w) || !rg_chk_bits_equal(copy, w->data, w->n, NULL)) {
        snprintf(detail, cap, "penalty() on the %s modified the parameter, which is const: "
                              "write only into grad", what);
    } else if (!isfinite(*loss)) {
        snprintf(detail, cap, "penalty() on the %s made the loss %g: the penalty must be finite",
                 what, *loss);
    } else {
        ok = 1;
        for (int64_t i = 0; i < g->n; i++)
            if (!isfinite(g->data[i])) {
                snprintf(detail, cap, "penalty() on the %s wrote a non-finite gradient %g at "
                                      "element %lld", what, g->data[i], (long long)i);
                ok = 0;
                break;
            }
    }
    free(copy);
    return ok;
}

static const char *gradient_hint(double an, double fd)
{
    if (an == 0.0)
        return "the hook adds nothing to grad here: does it write into grad->data?";
    double ratio = an / fd;
    if (fabs(ratio + 1.0) < 0.05)
        return "check the sign of your gradient";
    for (double f = 2.0; f <= 4.0; f += 1.0)
        if (fabs(ratio - f) < 0.05 * f || fabs(ratio - 1.0 / f) < 0.05 / f)
            return "check the constant factor of your gradient (d/dw of (lambda/2) w^2 is "
                   "lambda w)";
    return "check the derivative of your penalty";
}

/* Finite differences on a sample of one tensor; `an` is the gradient the
 * hook added. */
static int fd_tensor(rg_check_child *c, const rg_check_ctx *ctx, void *inst,
                     const probe_tensor *t, rg_chk_buf *w, const float *an, char *detail,
                     size_t cap)
{
    int64_t idx[FD_SAMPLES];
    double fd[FD_SAMPLES];
    int ns = rg_chk_sample(w->n, idx, FD_SAMPLES);
    rg_chk_buf scratch;
    if (!rg_chk_buf_alloc(&scratch, w->n)) {
        snprintf(detail, cap, "checker out of memory");
        return 0;
    }
    double scale = 0.0, noise[FD_SAMPLES], fwd[FD_SAMPLES], bwd[FD_SAMPLES], l0 = 0.0;
    memset(scratch.data, 0, (size_t)w->n * sizeof(float));
    int ok = call_penalty(c, ctx, inst, t, w, &scratch, &l0, detail, cap);
    for (int k = 0; k < ns && ok; k++) {
        float w0 = w->data[idx[k]];
        float h = RG_CHK_FD_STEP * fmaxf(fabsf(w0), 0.1f);
        float wp = w0 + h, wm = w0 - h;
        double lp = 0.0, lm = 0.0;
        w->data[idx[k]] = wp;
        memset(scratch.data, 0, (size_t)w->n * sizeof(float));
        ok = call_penalty(c, ctx, inst, t, w, &scratch, &lp, detail, cap);
        w->data[idx[k]] = wm;
        memset(scratch.data, 0, (size_t)w->n * sizeof(float));
        ok = ok && call_penalty(c, ctx, inst, t, w, &scratch, &lm, detail, cap);
        w->data[idx[k]] = w0;
        fd[k] = (lp - lm) / ((double)wp - (double)wm);
        fwd[k] = (lp - l0) / ((double)wp - (double)w0);
        bwd[k] = (l0 - lm) / ((double)w0 - (double)wm);
        noise[k] = rg_chk_fd_noise(lp, lm, (double)wp - (double)wm);
        scale = fmax(scale, fmax(fabs(fd[k]), fabs((double)an[idx[k]])));
    }
    rg_chk_buf_free(&scratch);
    if (!ok)
        return 0;
    /* Relative tolerance, plus an absolute one scaled to the tensor's own
     * gradients so that a tiny lambda does not make every error pass. */
    double atol = 1e-4 * scale + 1e-12;
    for (int k = 0; k < ns; k++) {
        double a = an[idx[k]];
        if (fabs(fd[k] - a) <= 1e-2 * fmax(fabs(fd[k]), fabs(a)) + atol + noise[k])
            continue;
        /* A kink inside [w - h, w + h] (|x| at 0, |cos| at orthogonality):
         * the one-sided slopes then differ, and any value between them is a
         * valid subgradient, so accept the analytic one if it lies there. */
        double lo = fmin(fwd[k], bwd[k]), hi = fmax(fwd[k], bwd[k]);
        double tol = 1e-2 * fmax(fabs(lo), fabs(hi)) + atol + 2.0 * noise[k];
        if (hi - lo > tol && a >= lo - tol && a <= hi + tol)
            continue;
        rg_tensor_view pv = rg_chk_view(w->data, t->kind, t->ndim, t->shape, t->name);
        char what[96];
        rg_chk_describe(&pv, what, sizeof what);
        snprintf(detail, cap,
                 "gradient of penalty() on the %s differs from finite differences at element "
                 "%lld: analytic %.6g, numeric %.6g; %s",
                 what, (long long)idx[k], a, fd[k], gradient_hint(a, fd[k]));
        return 0;
    }
    return 1;
}

/* penalty() must add to *loss and to grad, never overwrite them. */
static int check_accumulates(rg_check_child *c, const rg_check_ctx *ctx, void *inst,
                             const probe_tensor *t, rg_chk_buf *w, double p0, const float *an,
                             char *detail, size_t cap)
{
    rg_chk_buf g;
    if (!rg_chk_buf_alloc(&g, w->n)) {
        snprintf(detail, cap, "checker out of memory");
        return 0;
    }
    rg_chk_fill_normal(g.data, g.n, 77, 1.0f);
    float *g0 = malloc((size_t)g.n * sizeof(float));
    if (!g0) {
        rg_chk_buf_free(&g);
        snprintf(detail, cap, "checker out of memory");
        return 0;
    }
    memcpy(g0, g.data, (size_t)g.n * sizeof(float));
    const double base = 1000.0;
    double loss = base;
    int ok = call_penalty(c, ctx, inst, t, w, &g, &loss, detail, cap);
    rg_tensor_view pv = rg_chk_view(w->data, t->kind, t->ndim, t->shape, t->name);
    char what[96];
    rg_chk_describe(&pv, what, sizeof what);
    if (ok && fabs((loss - base) - p0) > 1e-9 * (base + fabs(p0))) {
        snprintf(detail, cap,
                 "penalty() on the %s overwrites *loss instead of adding to it (loss was %g, "
                 "became %g, penalty %g): write *loss += penalty",
                 what, base, loss, p0);
        ok = 0;
    }
    for (int64_t i = 0; ok && i < g.n; i++) {
        double want = (double)g0[i] + (double)an[i];
        if (fabs((double)g.data[i] - want) > 1e-5 * (fabs((double)g0[i]) + fabs((double)an[i])) + 1e-30) {
            snprintf(detail, cap,
                     "penalty() on the %s overwrites grad instead of adding to it (element "
                     "%lld: grad held %g, the penalty's gradient is %g, found %g): grad already "
                     "holds the data-loss gradient, write grad[i] += ...",
                     what, (long long)i, g0[i], an[i], g.data[i]);
            ok = 0;
        }
    }
    free(g0);
    rg_chk_buf_free(&g);
    return ok;
}

rg_check_verdict rg_check_penalty_gradient(rg_check_child *c, const rg_check_ctx *ctx,
                                           const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (rg_chk_create(c, ctx, "", &inst) != RG_OK) {
        snprintf(detail, cap, "%s", rg_error_message());
        return RG_CHECK_FAIL;
    }
    int ok = 1, probes = 0;
    for (int ti = 0; ti < NUM_TENSORS && ok; ti++) {
        const probe_tensor *t = &k_tensors[ti];
        rg_chk_buf w, g;
        int64_t n = numel_of(t);
        if (!rg_chk_buf_alloc(&w, n) || !rg_chk_buf_alloc(&g, n)) {
            snprintf(detail, cap, "checker out of memory");
            return RG_CHECK_FAIL;
        }
        rg_chk_fill_away_from_zero(w.data, n, 100 + (uint64_t)ti, 0.2f, 1.5f);
        double p0 = 0.0;
        ok = call_penalty(c, ctx, inst, t, &w, &g, &p0, detail, cap) &&
             check_accumulates(c, ctx, inst, t, &w, p0, g.data, detail, cap) &&
             fd_tensor(c, ctx, inst, t, &w, g.data, detail, cap);
        probes += n < FD_SAMPLES ? (int)n : FD_SAMPLES;
        rg_chk_buf_free(&w);
        rg_chk_buf_free(&g);
    }
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap,
             "matches central finite differences at %d elements of [17], 12x9, 6x3x3x3 weights "
             "and a [12] bias; adds to *loss and grad",
             probes);
    return RG_CHECK_PASS;
}

/* ABI 1.3: a declared linear decay must be what penalty() does, to the bit for the
 * gradient (the host folds it into its optimizer and promises the same weights) and to
 * 1e-9 for the penalty (the host sums the squares in its own order). */
rg_check_verdict rg_check_linear_decay(rg_check_child *c, const rg_check_ctx *ctx,
                                       const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (rg_chk_create(c, ctx, "", &inst) != RG_OK) {
        snprintf(detail, cap, "%s", rg_error_message());
        return RG_CHECK_FAIL;
    }
    int ok = 1, declared = 0;
    for (int ti = 0; ti < NUM_TENSORS && ok; ti++) {
        const probe_tensor *t = &k_tensors[ti];
        rg_chk_buf w, g;
        int64_t n = numel_of(t);
        if (!rg_chk_buf_alloc(&w, n) || !rg_chk_buf_alloc(&g, n)) {
            snprintf(detail, cap, "checker out of memory");
            return RG_CHECK_FAIL;
        }
        rg_chk_fill_normal(w.data, n, 500 + (uint64_t)ti, 1.0f);
        rg_chk_fill_normal(g.data, n, 600 + (uint64_t)ti, 1.0f);
        rg_tensor_view pv = rg_chk_view(w.data, t->kind, t->ndim, t->shape, t->name);
        char what[96];
        rg_chk_describe(&pv, what, sizeof what);
        float gc = 0.0f;
        double pc = 0.0;
        rg_check_stage(c, "linear_decay()", "linear_decay() on the %s", what);
        rg_error_clear();
        rg_status st = ctx->plugin->reg.linear_decay(inst, &pv, &gc, &pc);
        if (st == RG_ERR_UNSUPPORTED) {
            rg_chk_buf_free(&w);
            rg_chk_buf_free(&g);
            continue;
        }
        if (st != RG_OK) {
            snprintf(detail, cap, "linear_decay() on the %s returned %s: %s", what,
                     rg_status_name(st), rg_error_message());
            ok = 0;
        } else if (!isfinite(gc) || !isfinite(pc)) {
            snprintf(detail, cap, "linear_decay() on the %s declared non-finite coefficients "
                     "(gradient %g, penalty %g)", what, (double)gc, pc);
            ok = 0;
        }
        float *g0 = ok ? malloc((size_t)n * sizeof(float)) : NULL;
        if (ok && !g0) {
            snprintf(detail, cap, "checker out of memory");
            ok = 0;
        }
        double loss = 0.0;
        if (ok) {
            declared++;
            memcpy(g0, g.data, (size_t)n * sizeof(float));
            ok = call_penalty(c, ctx, inst, t, &w, &g, &loss, detail, cap);
        }
        double sumsq = 0.0;
        for (int64_t i = 0; ok && i < n; i++) {
            sumsq += (double)w.data[i] * (double)w.data[i];
            float want = g0[i] + gc * w.data[i];
            if (memcmp(&want, &g.data[i], sizeof want) != 0) {
                snprintf(detail, cap,
                         "linear_decay() on the %s declares grad += %g * w, but penalty() "
                         "made element %lld %.9g where grad + %g * w is %.9g: the host folds "
                         "the declaration into its optimizer, so it must be exact",
                         what, (double)gc, (long long)i, (double)g.data[i], (double)gc,
                         (double)want);
                ok = 0;
            }
        }
        if (ok && fabs(loss - pc * sumsq) > 1e-9 * fabs(pc * sumsq) + 1e-300) {
            snprintf(detail, cap,
                     "linear_decay() on the %s declares a penalty of %g * sum(w^2) = %.12g, "
                     "but penalty() added %.12g",
                     what, pc, pc * sumsq, loss);
            ok = 0;
        }
        free(g0);
        rg_chk_buf_free(&w);
        rg_chk_buf_free(&g);
    }
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap,
             "penalty() is the declared decay on %d of 4 probe tensors (gradient to the bit, "
             "penalty to 1e-9)",
             declared);
    return RG_CHECK_PASS;
}

rg_check_verdict rg_check_penalty_nonneg(rg_check_child *c, const rg_check_ctx *ctx,
                                         const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (rg_chk_create(c, ctx, "", &inst) != RG_OK) {
        snprintf(detail, cap, "%s", rg_error_message());
        return RG_CHECK_FAIL;
    }
    int ok = 1;
    /* Random, all-negative and all-zero tensors of every probe shape. */
    for (int ti = 0; ti < NUM_TENSORS && ok; ti++) {
        for (int variant = 0; variant < 3 && ok; variant++) {
            const probe_tensor *t = &k_tensors[ti];
            rg_chk_buf w, g;
            int64_t n = numel_of(t);
            if (!rg_chk_buf_alloc(&w, n) || !rg_chk_buf_alloc(&g, n)) {
                snprintf(detail, cap, "checker out of memory");
                return RG_CHECK_FAIL;
            }
            if (variant == 0)
                rg_chk_fill_normal(w.data, n, 200 + (uint64_t)ti, 2.0f);
            else if (variant == 1)
                rg_chk_fill_uniform(w.data, n, 300 + (uint64_t)ti, -3.0f, -0.01f);
            double loss = 0.0;
            ok = call_penalty(c, ctx, inst, t, &w, &g, &loss, detail, cap);
            if (ok && loss < 0.0) {
                rg_tensor_view pv = rg_chk_view(w.data, t->kind, t->ndim, t->shape, t->name);
                char what[96];
                rg_chk_describe(&pv, what, sizeof what);
                snprintf(detail, cap,
                         "penalty() on the %s added %g < 0 to the loss although the plugin "
                         "declares RG_CAP_PENALTY_NONNEG: fix the penalty or drop the flag",
                         what, loss);
                ok = 0;
            }
            rg_chk_buf_free(&w);
            rg_chk_buf_free(&g);
        }
    }
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "penalty >= 0 on random, negative and zero tensors "
                          "(RG_CAP_PENALTY_NONNEG)");
    return RG_CHECK_PASS;
}

/* The thread-count check also uses a tensor large enough that a plugin
 * splitting its work with parallel_for really runs on 2 threads. */
static const probe_tensor k_big = {RG_TENSOR_WEIGHT, 2, {300, 200}, "check.big.weight"};

rg_check_verdict rg_check_penalty_threads(rg_check_child *c, const rg_check_ctx *ctx,
                                          const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (rg_chk_create(c, ctx, "", &inst) != RG_OK) {
        snprintf(detail, cap, "%s", rg_error_message());
        return RG_CHECK_FAIL;
    }
    int ok = 1;
    for (int ti = 0; ti <= NUM_TENSORS && ok; ti++) {
        const probe_tensor *t = ti < NUM_TENSORS ? &k_tensors[ti] : &k_big;
        int64_t n = numel_of(t);
        rg_chk_buf w, g[2];
        if (!rg_chk_buf_alloc(&w, n) || !rg_chk_buf_alloc(&g[0], n) ||
            !rg_chk_buf_alloc(&g[1], n)) {
            snprintf(detail, cap, "checker out of memory");
            return RG_CHECK_FAIL;
        }
        rg_chk_fill_normal(w.data, n, 400 + (uint64_t)ti, 1.0f);
        double loss[2] = {0.0, 0.0};
        for (int k = 0; k < 2 && ok; k++) {
            rg_threads_init(k + 1);
            rg_chk_fill_normal(g[k].data, n, 500, 0.1f);
            ok = call_penalty(c, ctx, inst, t, &w, &g[k], &loss[k], detail, cap);
        }
        int64_t at = 0;
        if (ok && (memcmp(&loss[0], &loss[1], sizeof loss[0]) != 0 ||
                   !rg_chk_bits_equal(g[0].data, g[1].data, n, &at))) {
            rg_tensor_view pv = rg_chk_view(w.data, t->kind, t->ndim, t->shape, t->name);
            char what[96], diff[160];
            rg_chk_describe(&pv, what, sizeof what);
            if (memcmp(&loss[0], &loss[1], sizeof loss[0]) != 0)
                snprintf(diff, sizeof diff, "penalty %.17g vs %.17g", loss[0], loss[1]);
            else
                snprintf(diff, sizeof diff, "gradient element %lld %.9g vs %.9g", (long long)at,
                         g[0].data[at], g[1].data[at]);
            snprintf(detail, cap,
                     "penalty() on the %s differs between 1 and 2 threads (%s): reduce in an "
                     "order that does not depend on the thread count (fixed-size chunks summed "
                     "in order, as plugins/l2 does)",
                     what, diff);
            ok = 0;
        }
        rg_chk_buf_free(&w);
        rg_chk_buf_free(&g[0]);
        rg_chk_buf_free(&g[1]);
    }
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "bitwise equal penalty and gradient at 1 and 2 threads (up to a "
                          "300x200 weight tensor)");
    return RG_CHECK_PASS;
}

rg_check_verdict rg_check_project(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                  char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (rg_chk_create(c, ctx, "", &inst) != RG_OK) {
        snprintf(detail, cap, "%s", rg_error_message());
        return RG_CHECK_FAIL;
    }
    int ok = 1;
    for (int ti = 0; ti < NUM_TENSORS && ok; ti++) {
        const probe_tensor *t = &k_tensors[ti];
        int64_t n = numel_of(t);
        rg_chk_buf w;
        float *once = malloc((size_t)n * sizeof(float));
        if (!once || !rg_chk_buf_alloc(&w, n)) {
            free(once);
            snprintf(detail, cap, "checker out of memory");
            return RG_CHECK_FAIL;
        }
        /* Large values, so that a norm or range constraint has work to do. */
        rg_chk_fill_normal(w.data, n, 600 + (uint64_t)ti, 3.0f);
        rg_tensor_view pv = rg_chk_view(w.data, t->kind, t->ndim, t->shape, t->name);
        char what[96], why[RG_CHECK_DETAIL_CAP];
        rg_chk_describe(&pv, what, sizeof what);
        for (int round = 0; round < 2 && ok; round++) {
            rg_check_stage(c, "project()", "project() on the %s", what);
            rg_error_clear();
            rg_status st = ctx->plugin->reg.project(inst, &pv);
            if (st != RG_OK) {
                rg_chk_status_text(st, why, sizeof why);
                snprintf(detail, cap, "project() on the %s returned %s", what, why);
                ok = 0;
            } else if (!rg_chk_guards_intact(&w)) {
                snprintf(detail, cap, "project() on the %s wrote outside the tensor", what);
                ok = 0;
            }
            for (int64_t i = 0; ok && i < n; i++)
                if (!isfinite(w.data[i])) {
                    snprintf(detail, cap, "project() on the %s left a non-finite value %g at "
                                          "element %lld", what, w.data[i], (long long)i);
                    ok = 0;
                }
            if (ok && round == 0)
                memcpy(once, w.data, (size_t)n * sizeof(float));
        }
        for (int64_t i = 0; ok && i < n; i++) {
            double a = once[i], b = w.data[i];
            if (fabs(a - b) > 1e-6 * fmax(fabs(a), fabs(b))) {
                snprintf(detail, cap,
                         "project() is not idempotent on the %s: element %lld is %.9g after one "
                         "projection and %.9g after two; a tensor that already satisfies the "
                         "constraint must be left as it is",
                         what, (long long)i, a, b);
                ok = 0;
            }
        }
        free(once);
        rg_chk_buf_free(&w);
    }
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "finite and idempotent (within 1e-6) on [17], 12x9, 6x3x3x3 weights "
                          "and a [12] bias");
    return RG_CHECK_PASS;
}
