/* Checks of the ABI 1.5 hooks on parameters: weight transforms (weight_forward and its
 * weight_backward, against central differences of the transform), gradient hooks, and step
 * wrappers (driven through the checker's own step services on a known quadratic loss). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../error.h"
#include "../rng.h"
#include "../threads.h"
#include "check_internal.h"

static const int64_t k_shape2[2] = {12, 9}, k_big[2] = {300, 200};

static int create(rg_check_child *c, const rg_check_ctx *ctx, void **inst, char *detail,
                  size_t cap)
{
    if (rg_chk_create(c, ctx, "", inst) == RG_OK)
        return 1;
    snprintf(detail, cap, "%s", rg_error_message());
    return 0;
}

static rg_param_ctx train_ctx(const rg_rng_stream *rng, int64_t step)
{
    rg_param_ctx p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.mode = RG_MODE_TRAIN;
    p.rng = rng;
    p.step = step;
    p.lr = 0.1;
    return p;
}

static int failed(const char *hook, const char *what, rg_status st, char *detail, size_t cap)
{
    char why[RG_CHECK_DETAIL_CAP];
    rg_chk_status_text(st, why, sizeof why);
    snprintf(detail, cap, "%s on the %s returned %s", hook, what, why);
    return 0;
}

static int finite_all(const float *v, int64_t n, int64_t *at)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            *at = i;
            return 0;
        }
    return 1;
}

/* weight_forward() of w into out with stream `rng`, checked: OK, w untouched, out in bounds
 * and finite. */
static int transform(rg_check_child *c, const rg_check_ctx *ctx, void *inst,
                     const rg_param_ctx *pc, rg_chk_buf *w, rg_chk_buf *out,
                     const int64_t *shape, char *detail, size_t cap)
{
    rg_tensor_view v = rg_chk_view(w->data, RG_TENSOR_WEIGHT, 2, shape, "check.wt.weight");
    rg_tensor_view o = rg_chk_view(out->data, RG_TENSOR_WEIGHT, 2, shape, "check.wt.weight");
    char what[96];
    rg_chk_describe(&v, what, sizeof what);
    float first = w->data[0], last = w->data[w->n - 1];
    rg_check_stage(c, "weight_forward()", "weight_forward() on the %s", what);
    rg_error_clear();
    rg_status st = ctx->plugin->reg.weight_forward(inst, pc, &v, &o);
    if (st != RG_OK)
        return failed("weight_forward()", what, st, detail, cap);
    int64_t at = 0;
    if (!rg_chk_guards_intact(w) || !rg_chk_guards_intact(out)) {
        snprintf(detail, cap, "weight_forward() on the %s wrote outside its tensors", what);
        return 0;
    }
    if (w->data[0] != first || w->data[w->n - 1] != last) {
        snprintf(detail, cap, "weight_forward() on the %s changed its const input", what);
        return 0;
    }
    if (!finite_all(out->data, out->n, &at)) {
        snprintf(detail, cap, "weight_forward() on the %s wrote %g at element %lld", what,
                 out->data[at], (long long)at);
        return 0;
    }
    return 1;
}

static int map_back(rg_check_child *c, const rg_check_ctx *ctx, void *inst,
                    const rg_param_ctx *pc, rg_chk_buf *w, rg_chk_buf *g, const int64_t *shape,
                    char *detail, size_t cap)
{
    if (!ctx->plugin->reg.weight_backward)
        return 1; /* the identity */
    rg_tensor_view v = rg_chk_view(w->data, RG_TENSOR_WEIGHT, 2, shape, "check.wt.weight");
    rg_tensor_view gv = rg_chk_view(g->data, RG_TENSOR_GRADIENT, 2, shape, "check.wt.weight");
    char what[96];
    rg_chk_describe(&v, what, sizeof what);
    rg_check_stage(c, "weight_backward()", "weight_backward() on the %s", what);
    rg_error_clear();
    rg_status st = ctx->plugin->reg.weight_backward(inst, pc, &v, &gv);
    if (st != RG_OK)
        return failed("weight_backward()", what, st, detail, cap);
    int64_t at = 0;
    if (!rg_chk_guards_intact(g) || !finite_all(g->data, g->n, &at)) {
        snprintf(detail, cap, "weight_backward() on the %s wrote outside the gradient or a "
                              "non-finite value", what);
        return 0;
    }
    return 1;
}

/* f(W) = sum_i c_i T(W)_i with fixed c and a fixed stream: weight_backward(c) must be its
 * gradient (the identity when the plugin has no weight_backward). */
rg_check_verdict rg_check_weight_gradient(rg_check_child *c, const rg_check_ctx *ctx,
                                          const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (!create(c, ctx, &inst, detail, cap))
        return RG_CHECK_FAIL;
    int64_t n = k_shape2[0] * k_shape2[1];
    rg_chk_buf w, out, coef, g, g2;
    if (!rg_chk_buf_alloc(&w, n) || !rg_chk_buf_alloc(&out, n) || !rg_chk_buf_alloc(&coef, n) ||
        !rg_chk_buf_alloc(&g, n) || !rg_chk_buf_alloc(&g2, n)) {
        snprintf(detail, cap, "checker out of memory");
        return RG_CHECK_FAIL;
    }
    rg_chk_fill_away_from_zero(w.data, n, 61, 0.2f, 1.0f);
    rg_chk_fill_normal(coef.data, n, 62, 1.0f);
    rg_rng_stream rng;
    rg_rng_stream_init(&rng, 7, 0, 3, RG_SITE_WEIGHT);
    rg_param_ctx pc = train_ctx(&rng, 3);
    memcpy(g.data, coef.data, (size_t)n * sizeof(float));
    int ok = map_back(c, ctx, inst, &pc, &w, &g, k_shape2, detail, cap);
    /* linear in the gradient: backward(2c) = 2 backward(c), which a data-parallel run needs */
    for (int64_t i = 0; i < n && ok; i++)
        g2.data[i] = 2.0f * coef.data[i];
    ok = ok && map_back(c, ctx, inst, &pc, &w, &g2, k_shape2, detail, cap);
    for (int64_t i = 0; i < n && ok; i++)
        if (fabs((double)g2.data[i] - 2.0 * g.data[i]) > 1e-5 * (1.0 + fabs(g.data[i]))) {
            snprintf(detail, cap, "weight_backward() is not linear in the gradient: element "
                                  "%lld maps c to %.9g and 2c to %.9g", (long long)i,
                     g.data[i], g2.data[i]);
            ok = 0;
        }
    int64_t idx[64];
    int ns = rg_chk_sample(n, idx, 64);
    double worst = 0.0;
    for (int q = 0; q < ns && ok; q++) {
        int64_t i = idx[q];
        float x0 = w.data[i], h = RG_CHK_FD_STEP * fmaxf(fabsf(x0), 0.1f);
        double f[2];
        for (int sgn = 0; sgn < 2 && ok; sgn++) {
            w.data[i] = x0 + (sgn ? -h : h);
            ok = transform(c, ctx, inst, &pc, &w, &out, k_shape2, detail, cap);
            f[sgn] = 0.0;
            for (int64_t k = 0; k < n; k++)
                f[sgn] += (double)coef.data[k] * out.data[k];
        }
        w.data[i] = x0;
        if (!ok)
            break;
        double fd = (f[0] - f[1]) / (2.0 * (double)h), an = g.data[i];
        double tol = 1e-2 * fabs(fd) + 1e-3 + rg_chk_fd_noise(f[0], f[1], h);
        double err = fabs(fd - an);
        worst = err > worst ? err : worst;
        if (err > tol) {
            snprintf(detail, cap, "d/dW of sum(c * weight_forward(W)) at element %lld: "
                                  "weight_backward() gives %.6g, central differences %.6g%s",
                     (long long)i, an, fd,
                     ctx->plugin->reg.weight_backward ? ""
                                                      : " (no weight_backward: the host "
                                                        "assumes the identity)");
            ok = 0;
        }
    }
    /* evaluation: the identity (RG_ERR_UNSUPPORTED) or a finite tensor */
    if (ok) {
        rg_param_ctx ev = pc;
        ev.mode = RG_MODE_EVAL;
        ev.rng = NULL;
        rg_tensor_view v = rg_chk_view(w.data, RG_TENSOR_WEIGHT, 2, k_shape2, "check.wt.weight");
        rg_tensor_view o = rg_chk_view(out.data, RG_TENSOR_WEIGHT, 2, k_shape2,
                                       "check.wt.weight");
        rg_check_stage(c, "weight_forward()", "weight_forward() in RG_MODE_EVAL");
        rg_status st = ctx->plugin->reg.weight_forward(inst, &ev, &v, &o);
        int64_t at = 0;
        if (st != RG_OK && st != RG_ERR_UNSUPPORTED)
            ok = failed("weight_forward() in evaluation", "12x9 weight tensor", st, detail, cap);
        else if (st == RG_OK && !finite_all(out.data, n, &at)) {
            snprintf(detail, cap, "weight_forward() in evaluation wrote %g at element %lld",
                     out.data[at], (long long)at);
            ok = 0;
        }
    }
    rg_chk_buf_free(&w);
    rg_chk_buf_free(&out);
    rg_chk_buf_free(&coef);
    rg_chk_buf_free(&g);
    rg_chk_buf_free(&g2);
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "weight_backward() matches central differences of the transform at "
                          "%d elements (largest error %.2g), is linear, and evaluation is finite",
             ns, worst);
    return RG_CHECK_PASS;
}

/* weight_forward (and weight_backward) or gradient(): the same stream gives the same bits,
 * at 1 and 2 threads, on a tensor large enough for parallel_for to split. A fresh instance
 * for each thread count, so a stateful transform's first step (spectral_norm's power
 * iteration) runs at both. */
rg_check_verdict rg_check_param_threads(rg_check_child *c, const rg_check_ctx *ctx,
                                        const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    int64_t n = k_big[0] * k_big[1];
    rg_chk_buf w, out[2];
    if (!rg_chk_buf_alloc(&w, n) || !rg_chk_buf_alloc(&out[0], n) ||
        !rg_chk_buf_alloc(&out[1], n)) {
        snprintf(detail, cap, "checker out of memory");
        return RG_CHECK_FAIL;
    }
    rg_chk_fill_normal(w.data, n, 71, 0.5f);
    rg_rng_stream rng;
    rg_rng_stream_init(&rng, 9, 1, 17, RG_SITE_GRADIENT);
    rg_param_ctx pc = train_ctx(&rng, 17);
    const rg_regularizer_hooks *h = &ctx->plugin->reg;
    int ok = 1;
    for (int k = 0; k < 2 && ok; k++) {
        rg_threads_init(k + 1);
        rg_chk_destroy(c, ctx, inst);
        inst = NULL;
        if (!create(c, ctx, &inst, detail, cap)) {
            ok = 0;
            break;
        }
        if (h->weight_forward) {
            ok = transform(c, ctx, inst, &pc, &w, &out[k], k_big, detail, cap);
            ok = ok && map_back(c, ctx, inst, &pc, &w, &out[k], k_big, detail, cap);
        } else {
            rg_chk_fill_normal(out[k].data, n, 72, 0.1f);
            rg_tensor_view v = rg_chk_view(w.data, RG_TENSOR_WEIGHT, 2, k_big, "check.big.weight");
            rg_tensor_view g = rg_chk_view(out[k].data, RG_TENSOR_GRADIENT, 2, k_big,
                                           "check.big.weight");
            float first = w.data[0];
            rg_check_stage(c, "gradient()", "gradient() on the 300x200 weight tensor");
            rg_error_clear();
            rg_status st = h->gradient(inst, &pc, &v, &g);
            int64_t at = 0;
            if (st != RG_OK)
                ok = failed("gradient()", "300x200 weight tensor", st, detail, cap);
            else if (!rg_chk_guards_intact(&out[k]) || !rg_chk_guards_intact(&w) ||
                     w.data[0] != first) {
                snprintf(detail, cap, "gradient() wrote outside the gradient, or into the "
                                      "const weights");
                ok = 0;
            } else if (!finite_all(out[k].data, n, &at)) {
                snprintf(detail, cap, "gradient() wrote %g at element %lld", out[k].data[at],
                         (long long)at);
                ok = 0;
            }
        }
    }
    int64_t at = 0;
    if (ok && !rg_chk_bits_equal(out[0].data, out[1].data, n, &at)) {
        snprintf(detail, cap, "%s differs between 1 and 2 threads at element %lld (%.9g vs "
                              "%.9g): draw from the stream at fixed positions per element",
                 h->weight_forward ? "weight_forward()" : "gradient()", (long long)at,
                 out[0].data[at], out[1].data[at]);
        ok = 0;
    }
    rg_chk_buf_free(&w);
    rg_chk_buf_free(&out[0]);
    rg_chk_buf_free(&out[1]);
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "bitwise equal %s at 1 and 2 threads on a 300x200 weight tensor",
             h->weight_forward ? "transform and gradient map" : "gradient");
    return RG_CHECK_PASS;
}

/* ---- step wrappers, on the checker's own step: L(w) = sum_i a_i (w_i - m_i)^2 / 2 over two
 * tensors, whose gradient a_i (w_i - m_i) step_evaluate writes at the weights it finds. */
enum { ST_TENSORS = 2, ST_N0 = 12 * 9, ST_N1 = 12 };

typedef struct chk_step {
    float *w[ST_TENSORS], *g[ST_TENSORS], *a[ST_TENSORS], *m[ST_TENSORS];
    int64_t n[ST_TENSORS];
    int evaluations;
    double max_shift;   /* the largest |w - w0| seen at an evaluation */
    const float *w0[ST_TENSORS];
} chk_step;

static void st_gradient(chk_step *s, double *loss)
{
    double l = 0.0, shift = 0.0;
    for (int t = 0; t < ST_TENSORS; t++)
        for (int64_t i = 0; i < s->n[t]; i++) {
            double d = (double)s->w[t][i] - s->m[t][i];
            l += 0.5 * s->a[t][i] * d * d;
            s->g[t][i] = (float)(s->a[t][i] * d);
            double sh = fabs((double)s->w[t][i] - s->w0[t][i]);
            shift = sh > shift ? sh : shift;
        }
    s->max_shift = shift > s->max_shift ? shift : s->max_shift;
    if (loss)
        *loss = l;
}

static int64_t st_tensors(const rg_step_handle *h)
{
    (void)h;
    return ST_TENSORS;
}

static rg_status st_tensor(rg_step_handle *h, int64_t i, rg_tensor_view *value,
                           rg_tensor_view *grad)
{
    chk_step *s = (chk_step *)(void *)h;
    if (i < 0 || i >= ST_TENSORS || !value || !grad) {
        rg_error_set(RG_ERR_INVALID, "step_tensor(): tensor %lld of %d", (long long)i,
                     ST_TENSORS);
        return RG_ERR_INVALID;
    }
    int64_t shape2[2] = {12, 9}, shape1[1] = {12};
    *value = rg_chk_view(s->w[i], i ? RG_TENSOR_BIAS : RG_TENSOR_WEIGHT, i ? 1 : 2,
                         i ? shape1 : shape2, i ? "check.step.bias" : "check.step.weight");
    *grad = rg_chk_view(s->g[i], RG_TENSOR_GRADIENT, i ? 1 : 2, i ? shape1 : shape2,
                        i ? "check.step.bias" : "check.step.weight");
    return RG_OK;
}

static rg_status st_evaluate(rg_step_handle *h, double *loss)
{
    chk_step *s = (chk_step *)(void *)h;
    if (!loss) {
        rg_error_set(RG_ERR_INVALID, "step_evaluate(): NULL loss");
        return RG_ERR_INVALID;
    }
    s->evaluations++;
    st_gradient(s, loss);
    return RG_OK;
}

static int wrap_once(rg_check_child *c, const rg_check_ctx *ctx, rg_chk_buf *buf, float *grad_out,
                     chk_step *s, char *detail, size_t cap)
{
    rg_check_ctx local = *ctx;
    local.host.step_tensors = st_tensors;
    local.host.step_tensor = st_tensor;
    local.host.step_evaluate = st_evaluate;
    void *inst = NULL;
    if (!create(c, &local, &inst, detail, cap))
        return 0;
    memset(s, 0, sizeof *s);
    int64_t ns[ST_TENSORS] = {ST_N0, ST_N1}, at = 0;
    float *p = buf->data;
    for (int t = 0; t < ST_TENSORS; t++) {
        s->n[t] = ns[t];
        s->w[t] = p, p += ns[t];
        s->g[t] = p, p += ns[t];
        s->a[t] = p, p += ns[t];
        s->m[t] = p, p += ns[t];
        rg_chk_fill_normal(s->w[t], ns[t], 80 + (uint64_t)t, 1.0f);
        rg_chk_fill_uniform(s->a[t], ns[t], 82 + (uint64_t)t, 0.5f, 2.0f);
        rg_chk_fill_normal(s->m[t], ns[t], 84 + (uint64_t)t, 1.0f);
        s->w0[t] = p;
        memcpy(p, s->w[t], (size_t)ns[t] * sizeof(float));
        p += ns[t];
    }
    st_gradient(s, NULL);
    s->max_shift = 0.0;
    rg_step_info info = {sizeof info, 0, 0, 5, 0.1};
    rg_check_stage(c, "step_wrap()", "step_wrap() on a quadratic loss over a 12x9 weight and "
                                     "a [12] bias");
    rg_error_clear();
    rg_status st = ctx->plugin->reg.step_wrap(inst, &info, (rg_step_handle *)(void *)s);
    int ok = 1;
    if (st != RG_OK)
        ok = failed("step_wrap()", "quadratic test step", st, detail, cap);
    for (int t = 0; t < ST_TENSORS && ok; t++)
        if (!rg_chk_bits_equal(s->w[t], s->w0[t], ns[t], &at)) {
            snprintf(detail, cap, "step_wrap() left %s changed at element %lld (%.9g, was "
                                  "%.9g): put back what you move, bit for bit",
                     t ? "the bias" : "the weights", (long long)at, s->w[t][at], s->w0[t][at]);
            ok = 0;
        } else if (!finite_all(s->g[t], ns[t], &at)) {
            snprintf(detail, cap, "step_wrap() left a non-finite gradient");
            ok = 0;
        }
    if (ok && !rg_chk_guards_intact(buf)) {
        snprintf(detail, cap, "step_wrap() wrote outside the tensors it was given");
        ok = 0;
    }
    float *q = grad_out;
    for (int t = 0; t < ST_TENSORS && ok; t++, q += ns[t - 1])
        memcpy(q, s->g[t], (size_t)ns[t] * sizeof(float));
    rg_chk_destroy(c, &local, inst);
    return ok;
}

rg_check_verdict rg_check_step_wrap(rg_check_child *c, const rg_check_ctx *ctx,
                                    const void *arg, char *detail, size_t cap)
{
    (void)arg;
    rg_chk_buf buf;
    float g[2][ST_N0 + ST_N1];
    if (!rg_chk_buf_alloc(&buf, 5 * (ST_N0 + ST_N1))) {
        snprintf(detail, cap, "checker out of memory");
        return RG_CHECK_FAIL;
    }
    chk_step s[2];
    int ok = wrap_once(c, ctx, &buf, g[0], &s[0], detail, cap) &&
             wrap_once(c, ctx, &buf, g[1], &s[1], detail, cap);
    int64_t at = 0;
    if (ok && (s[0].evaluations != s[1].evaluations ||
               !rg_chk_bits_equal(g[0], g[1], ST_N0 + ST_N1, &at))) {
        snprintf(detail, cap, "step_wrap() gives different gradients for the same step "
                              "(element %lld: %.9g vs %.9g) or calls step_evaluate a different "
                              "number of times (%d, %d): a data-parallel run would hang or "
                              "diverge", (long long)at, g[0][at], g[1][at], s[0].evaluations,
                 s[1].evaluations);
        ok = 0;
    }
    rg_chk_buf_free(&buf);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "weights restored bit for bit, %d second evaluation%s (weights moved "
                          "by up to %.3g there), reproducible", s[0].evaluations,
             s[0].evaluations == 1 ? "" : "s", s[0].max_shift);
    return RG_CHECK_PASS;
}
