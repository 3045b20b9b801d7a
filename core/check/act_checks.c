/* Checks of the activation hooks (activation_forward/backward): identity in
 * evaluation mode, a backward consistent with the forward, and a forward
 * that depends only on its input and rng stream.
 *
 * Data-parallel: the same batch cut in two, each part called as a process holding it is
 * (its rows' rng positions, batch_row0, batch_rows), must give the whole batch's bits and a
 * penalty that sums to the whole batch's.
 *
 * Consistency: for a fixed random r, the backward applied to r must be the
 * gradient of J(x) = sum(r * forward(x)) + ctx.penalty, where forward is
 * re-run with the same stream (so a dropout mask is the same in every
 * evaluation) and a penalty the forward adds counts as part of the loss. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../rng.h"
#include "../threads.h"
#include "check_internal.h"

#define FD_SAMPLES 20
#define STATE_GUARD 64

typedef struct act_site {
    rg_tensor_view view;      /* shape of the activations */
    int64_t row0, rows;       /* its place in a batch cut across processes (rows 0: whole) */
    rg_rng_stream rng;
    unsigned char *state;     /* state_bytes plus a guard */
    size_t state_bytes;
    char what[96];
} act_site;

static int site_init(rg_check_child *c, const rg_check_ctx *ctx, void *inst, act_site *s,
                     int64_t batch, int64_t features, uint64_t seed, char *detail, size_t cap)
{
    int64_t shape[2] = {batch, features};
    s->state = NULL;
    s->row0 = s->rows = 0;
    s->view = rg_chk_view(NULL, RG_TENSOR_ACTIVATION, 2, shape, "check.relu1");
    rg_chk_describe(&s->view, s->what, sizeof s->what);
    rg_rng_stream_init(&s->rng, seed, 0, 0, RG_SITE_ACTIVATION);
    s->state_bytes = 0;
    if (ctx->plugin->reg.activation_state_bytes) {
        rg_check_stage(c, "activation_state_bytes()", "activation_state_bytes() for the %s",
                       s->what);
        s->state_bytes = ctx->plugin->reg.activation_state_bytes(inst, &s->view);
        if (s->state_bytes > ((size_t)1 << 30)) {
            snprintf(detail, cap, "activation_state_bytes() asks for %zu bytes for the %s",
                     s->state_bytes, s->what);
            return 0;
        }
    }
    s->state = malloc(s->state_bytes + STATE_GUARD);
    if (!s->state) {
        snprintf(detail, cap, "checker out of memory");
        return 0;
    }
    return 1;
}

static void site_free(act_site *s)
{
    free(s->state);
}

/* Runs forward on a copy of x into y (a guarded buffer) with fresh state.
 * *penalty receives what forward added to ctx.penalty. */
static int forward(rg_check_child *c, const rg_check_ctx *ctx, void *inst, act_site *s,
                   uint32_t mode, const float *x, rg_chk_buf *y, rg_activation_ctx *actx,
                   char *detail, size_t cap)
{
    memcpy(y->data, x, (size_t)y->n * sizeof(float));
    memset(s->state, 0, s->state_bytes);
    memset(s->state + s->state_bytes, 0xA5, STATE_GUARD);
    memset(actx, 0, sizeof *actx);
    actx->struct_size = sizeof *actx;
    actx->mode = mode;
    actx->rng = &s->rng;
    actx->state = s->state_bytes ? s->state : NULL;
    actx->state_bytes = s->state_bytes;
    actx->batch_row0 = s->rows ? s->row0 : 0;
    actx->batch_rows = s->rows ? s->rows : s->view.shape[0];
    rg_tensor_view v = s->view;
    v.data = y->data;
    rg_check_stage(c, "activation_forward()", "activation_forward() in %s mode on the %s",
                   mode == RG_MODE_EVAL ? "eval" : "train", s->what);
    rg_error_clear();
    rg_status st = ctx->plugin->reg.activation_forward(inst, actx, &v);
    char why[RG_CHECK_DETAIL_CAP];
    if (st != RG_OK) {
        rg_chk_status_text(st, why, sizeof why);
        snprintf(detail, cap, "activation_forward() on the %s returned %s", s->what, why);
        return 0;
    }
    if (!rg_chk_guards_intact(y)) {
        snprintf(detail, cap, "activation_forward() on the %s wrote outside the activations",
                 s->what);
        return 0;
    }
    for (int i = 0; i < STATE_GUARD; i++)
        if (s->state[s->state_bytes + (size_t)i] != 0xA5) {
            snprintf(detail, cap,
                     "activation_forward() on the %s wrote past the %zu state bytes that "
                     "activation_state_bytes() asked for",
                     s->what, s->state_bytes);
            return 0;
        }
    for (int64_t i = 0; i < y->n; i++)
        if (!isfinite(y->data[i])) {
            snprintf(detail, cap, "activation_forward() on the %s produced %g at element %lld",
                     s->what, y->data[i], (long long)i);
            return 0;
        }
    if (!isfinite(actx->penalty)) {
        snprintf(detail, cap, "activation_forward() on the %s set a non-finite penalty %g",
                 s->what, actx->penalty);
        return 0;
    }
    return 1;
}

static int create(rg_check_child *c, const rg_check_ctx *ctx, void **inst, char *detail,
                  size_t cap)
{
    if (rg_chk_create(c, ctx, "", inst) == RG_OK)
        return 1;
    snprintf(detail, cap, "%s", rg_error_message());
    return 0;
}

rg_check_verdict rg_check_act_eval(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                   char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (!create(c, ctx, &inst, detail, cap))
        return RG_CHECK_FAIL;
    act_site s;
    rg_chk_buf y;
    float *x = malloc(8 * 32 * sizeof(float));
    if (!x || !rg_chk_buf_alloc(&y, 8 * 32)) {
        snprintf(detail, cap, "checker out of memory");
        return RG_CHECK_FAIL;
    }
    rg_chk_fill_normal(x, 8 * 32, 700, 1.0f);
    int ok = site_init(c, ctx, inst, &s, 8, 32, 1, detail, cap);
    rg_activation_ctx actx;
    ok = ok && forward(c, ctx, inst, &s, RG_MODE_EVAL, x, &y, &actx, detail, cap);
    int64_t at = 0;
    if (ok && !rg_chk_bits_equal(x, y.data, y.n, &at)) {
        snprintf(detail, cap,
                 "activation_forward() in RG_MODE_EVAL changed element %lld of the %s from "
                 "%.9g to %.9g: in evaluation mode the hook must leave activations untouched "
                 "(check ctx->mode)",
                 (long long)at, s.what, x[at], y.data[at]);
        ok = 0;
    }
    if (ok)
        snprintf(detail, cap, "activation_forward() in RG_MODE_EVAL is the identity (bitwise) "
                              "on the %s", s.what);
    site_free(&s);
    rg_chk_buf_free(&y);
    free(x);
    rg_chk_destroy(c, ctx, inst);
    return ok ? RG_CHECK_PASS : RG_CHECK_FAIL;
}

static double objective(const float *r, const rg_chk_buf *y, double penalty)
{
    double j = penalty;
    for (int64_t i = 0; i < y->n; i++)
        j += (double)r[i] * (double)y->data[i];
    return j;
}

rg_check_verdict rg_check_act_gradient(rg_check_child *c, const rg_check_ctx *ctx,
                                       const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (!create(c, ctx, &inst, detail, cap))
        return RG_CHECK_FAIL;
    const int64_t n = 8 * 32;
    act_site s;
    rg_chk_buf y, g;
    float *x = malloc((size_t)n * sizeof(float)), *r = malloc((size_t)n * sizeof(float));
    if (!x || !r || !rg_chk_buf_alloc(&y, n) || !rg_chk_buf_alloc(&g, n)) {
        snprintf(detail, cap, "checker out of memory");
        return RG_CHECK_FAIL;
    }
    /* Away from 0, where ReLU-like hooks have their kink. */
    rg_chk_fill_away_from_zero(x, n, 710, 0.2f, 1.5f);
    rg_chk_fill_normal(r, n, 711, 1.0f);
    int ok = site_init(c, ctx, inst, &s, 8, 32, 2, detail, cap);
    int64_t idx[FD_SAMPLES];
    double fd[FD_SAMPLES], noise[FD_SAMPLES];
    int ns = rg_chk_sample(n, idx, FD_SAMPLES);
    rg_activation_ctx actx;
    for (int k = 0; k < ns && ok; k++) {
        float x0 = x[idx[k]];
        float h = RG_CHK_FD_STEP * fmaxf(fabsf(x0), 0.1f);
        float xp = x0 + h, xm = x0 - h;
        x[idx[k]] = xp;
        ok = forward(c, ctx, inst, &s, RG_MODE_TRAIN, x, &y, &actx, detail, cap);
        double jp = objective(r, &y, actx.penalty);
        x[idx[k]] = xm;
        ok = ok && forward(c, ctx, inst, &s, RG_MODE_TRAIN, x, &y, &actx, detail, cap);
        double jm = objective(r, &y, actx.penalty);
        x[idx[k]] = x0;
        fd[k] = (jp - jm) / ((double)xp - (double)xm);
        noise[k] = rg_chk_fd_noise(jp, jm, (double)xp - (double)xm);
    }
    /* The forward whose state and output the backward consumes. */
    ok = ok && forward(c, ctx, inst, &s, RG_MODE_TRAIN, x, &y, &actx, detail, cap);
    if (ok) {
        rg_tensor_view out = s.view, gv = s.view;
        out.data = y.data;
        gv.kind = RG_TENSOR_GRADIENT;
        gv.data = g.data;
        memcpy(g.data, r, (size_t)n * sizeof(float));
        actx.output = &out;
        rg_check_stage(c, "activation_backward()", "activation_backward() on the %s", s.what);
        rg_error_clear();
        rg_status st = ctx->plugin->reg.activation_backward(inst, &actx, &gv);
        char why[RG_CHECK_DETAIL_CAP];
        if (st != RG_OK) {
            rg_chk_status_text(st, why, sizeof why);
            snprintf(detail, cap, "activation_backward() on the %s returned %s", s.what, why);
            ok = 0;
        } else if (!rg_chk_guards_intact(&g)) {
            snprintf(detail, cap, "activation_backward() on the %s wrote outside the gradient",
                     s.what);
            ok = 0;
        }
    }
    if (ok) {
        double scale = 0.0;
        for (int k = 0; k < ns; k++)
            scale = fmax(scale, fmax(fabs(fd[k]), fabs((double)g.data[idx[k]])));
        double atol = 1e-4 * scale + 1e-12;
        for (int k = 0; k < ns && ok; k++) {
            double a = g.data[idx[k]];
            if (isfinite(a) &&
                fabs(fd[k] - a) <= 1e-2 * fmax(fabs(fd[k]), fabs(a)) + atol + noise[k])
                continue;
            snprintf(detail, cap,
                     "activation_backward() on the %s disagrees with finite differences of "
                     "activation_forward() at element %lld: analytic %.6g, numeric %.6g; "
                     "backward must apply the derivative of what forward did with the same "
                     "stream and state (and include the gradient of any ctx->penalty)",
                     s.what, (long long)idx[k], a, fd[k]);
            ok = 0;
        }
    }
    if (ok)
        snprintf(detail, cap,
                 "activation_backward() matches finite differences of activation_forward() "
                 "(RG_MODE_TRAIN, fixed stream) at %d elements of the %s",
                 ns, s.what);
    site_free(&s);
    rg_chk_buf_free(&y);
    rg_chk_buf_free(&g);
    free(x);
    free(r);
    rg_chk_destroy(c, ctx, inst);
    return ok ? RG_CHECK_PASS : RG_CHECK_FAIL;
}

rg_check_verdict rg_check_act_determinism(rg_check_child *c, const rg_check_ctx *ctx,
                                          const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (!create(c, ctx, &inst, detail, cap))
        return RG_CHECK_FAIL;
    /* Large enough that a hook splitting work with parallel_for uses 2 threads. */
    const int64_t rows = 64, cols = 512, n = rows * cols;
    act_site s;
    rg_chk_buf y[3];
    float *x = malloc((size_t)n * sizeof(float));
    if (!x || !rg_chk_buf_alloc(&y[0], n) || !rg_chk_buf_alloc(&y[1], n) ||
        !rg_chk_buf_alloc(&y[2], n)) {
        snprintf(detail, cap, "checker out of memory");
        return RG_CHECK_FAIL;
    }
    rg_chk_fill_normal(x, n, 720, 1.0f);
    int ok = site_init(c, ctx, inst, &s, rows, cols, 3, detail, cap);
    rg_activation_ctx actx;
    double pen[3] = {0, 0, 0};
    /* Runs 0 and 1 at 1 thread, run 2 at 2 threads. */
    for (int k = 0; k < 3 && ok; k++) {
        rg_threads_init(k < 2 ? 1 : 2);
        ok = forward(c, ctx, inst, &s, RG_MODE_TRAIN, x, &y[k], &actx, detail, cap);
        pen[k] = actx.penalty;
    }
    int64_t at = 0;
    if (ok && (!rg_chk_bits_equal(y[0].data, y[1].data, n, &at) || pen[0] != pen[1])) {
        snprintf(detail, cap,
                 "activation_forward() in RG_MODE_TRAIN gives different outputs for the same "
                 "input and rng stream on the %s (element %lld: %.9g vs %.9g): draw randomness "
                 "only from ctx->rng, at offsets that depend on the element, not on a counter",
                 s.what, (long long)at, y[0].data[at], y[1].data[at]);
        ok = 0;
    }
    if (ok && (!rg_chk_bits_equal(y[0].data, y[2].data, n, &at) || pen[0] != pen[2])) {
        snprintf(detail, cap,
                 "activation_forward() on the %s differs between 1 and 2 threads (element "
                 "%lld: %.9g vs %.9g): take random numbers at stream offsets fixed per element, "
                 "not per thread",
                 s.what, (long long)at, y[0].data[at], y[2].data[at]);
        ok = 0;
    }
    if (ok)
        snprintf(detail, cap, "activation_forward() is bitwise reproducible for a fixed stream, "
                              "at 1 and 2 threads, on the %s", s.what);
    site_free(&s);
    for (int k = 0; k < 3; k++)
        rg_chk_buf_free(&y[k]);
    free(x);
    rg_chk_destroy(c, ctx, inst);
    return ok ? RG_CHECK_PASS : RG_CHECK_FAIL;
}

/* Forward on rows [row0, row0 + rows) of x (a [batch, cols] batch) into y at the same rows. */
static int forward_part(rg_check_child *c, const rg_check_ctx *ctx, void *inst, int64_t row0,
                        int64_t rows, int64_t batch, int64_t cols, const float *x, float *y,
                        double *penalty, char *detail, size_t cap)
{
    act_site s;
    rg_chk_buf part;
    if (!rg_chk_buf_alloc(&part, rows * cols)) {
        snprintf(detail, cap, "checker out of memory");
        return 0;
    }
    int ok = site_init(c, ctx, inst, &s, rows, cols, 4, detail, cap);
    rg_activation_ctx actx;
    if (ok && rows < batch) {
        s.row0 = row0;
        s.rows = batch;
        s.rng.base = (uint64_t)(row0 * cols); /* what the trainer does for a process's rows */
        snprintf(s.what + strlen(s.what), sizeof s.what - strlen(s.what),
                 " as rows %lld-%lld of %lld", (long long)row0, (long long)(row0 + rows - 1),
                 (long long)batch);
    }
    ok = ok && forward(c, ctx, inst, &s, RG_MODE_TRAIN, x + row0 * cols, &part, &actx, detail,
                       cap);
    if (ok) {
        memcpy(y + row0 * cols, part.data, (size_t)(rows * cols) * sizeof(float));
        *penalty += actx.penalty;
    }
    site_free(&s);
    rg_chk_buf_free(&part);
    return ok;
}

rg_check_verdict rg_check_act_split(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                    char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (!create(c, ctx, &inst, detail, cap))
        return RG_CHECK_FAIL;
    /* an uneven cut, as mpirun -np 3 makes of a batch of 64 */
    const int64_t rows = 64, cols = 48, cut = 21, n = rows * cols;
    float *x = malloc((size_t)n * sizeof(float)), *whole = malloc((size_t)n * sizeof(float)),
          *parts = malloc((size_t)n * sizeof(float));
    if (!x || !whole || !parts) {
        free(x);
        free(whole);
        free(parts);
        snprintf(detail, cap, "checker out of memory");
        return RG_CHECK_FAIL;
    }
    rg_chk_fill_normal(x, n, 730, 1.0f);
    double pen_whole = 0.0, pen_parts = 0.0;
    int ok = forward_part(c, ctx, inst, 0, rows, rows, cols, x, whole, &pen_whole, detail, cap) &&
             forward_part(c, ctx, inst, 0, cut, rows, cols, x, parts, &pen_parts, detail, cap) &&
             forward_part(c, ctx, inst, cut, rows - cut, rows, cols, x, parts, &pen_parts,
                          detail, cap);
    int64_t at = 0;
    if (ok && !rg_chk_bits_equal(whole, parts, n, &at)) {
        snprintf(detail, cap,
                 "activation_forward() on a batch of %lld rows cut at row %lld, as two "
                 "data-parallel processes hold it, differs from one process at element %lld "
                 "(row %lld: %.9g vs %.9g): draw what belongs to sample n inside its own "
                 "positions [n*F, (n+1)*F) of ctx->rng, and compute batch-wide statistics "
                 "over ctx->batch_rows (ABI 1.4)",
                 (long long)rows, (long long)cut, (long long)at, (long long)(at / cols),
                 whole[at], parts[at]);
        ok = 0;
    }
    if (ok && fabs(pen_whole - pen_parts) > 1e-9 * fmax(fabs(pen_whole), 1e-300)) {
        snprintf(detail, cap,
                 "activation_forward() adds a penalty of %.9g on the whole batch but %.9g in "
                 "all on the batch cut at row %lld: a penalty that is a mean over samples "
                 "divides by ctx->batch_rows (ABI 1.4), not by the rows it sees",
                 pen_whole, pen_parts, (long long)cut);
        ok = 0;
    }
    if (ok)
        snprintf(detail, cap,
                 "activation_forward() on a batch of %lld rows cut at row %lld (two "
                 "data-parallel processes) gives one process's bits and penalty",
                 (long long)rows, (long long)cut);
    free(x);
    free(whole);
    free(parts);
    rg_chk_destroy(c, ctx, inst);
    return ok ? RG_CHECK_PASS : RG_CHECK_FAIL;
}
