/* L1 regularization: penalty lambda * sum|w|, gradient lambda * sign(w)
 * (subgradient 0 at w == 0). This is tf.keras.regularizers.L1(l1=lambda):
 * "loss = l1 * reduce_sum(abs(x))".
 *
 * proximal=true keeps the penalty in the reported loss but adds no gradient;
 * after the optimizer step project_step() applies the proximal operator of
 * t * lambda * |w| with t the step's learning rate, the soft threshold
 *     w <- sign(w) * max(|w| - lr * lambda, 0)
 * (proximal gradient method / ISTA: Parikh & Boyd, "Proximal Algorithms",
 * Foundations and Trends in Optimization 1(3), 2014, section 6.5.2). Unlike
 * the subgradient, which makes small weights oscillate around 0, the soft
 * threshold sets them to exact zeros, so the model becomes sparse.
 * ISTA's guarantees are for plain gradient steps; with momentum or Adam the
 * threshold lr * lambda is the usual heuristic (what most "proximal SGD"
 * code does), not an exact proximal step of that optimizer. */
#include <math.h>
#include <regula/plugin.h>

typedef struct l1 {
    const rg_host_api *host;
    float lambda;
    int proximal;
    double *partial;      /* per-chunk sums, grown once to the largest tensor */
    int64_t partial_cap;
} l1;

typedef struct l1_job {
    const float *w;
    float *g;             /* NULL: value only (proximal mode) */
    float lambda;
    double *partial;      /* per-chunk sums of |w| */
    int64_t n;
} l1_job;

typedef struct l1_prox_job {
    float *w;
    float threshold;
} l1_prox_job;

static const rg_param_desc l1_params[] = {
    RG_PARAM_FLOAT_DESC("lambda", 1e-5, 0.0, 1.0, RG_PARAM_LOG_SCALE,
                        "strength: penalty lambda*sum|w|, gradient lambda*sign(w)"),
    RG_PARAM_BOOL_DESC("proximal", 0,
                       "soft-threshold |w| by lr*lambda after each step instead of the gradient"),
};

static rg_status l1_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    l1 *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("l1: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->lambda = (float)params->values[0].number;
    s->proximal = params->values[1].number != 0.0;
    *inst = s;
    return RG_OK;
}

static void l1_destroy(void *inst)
{
    l1 *s = inst;
    s->host->free(s->partial);
    s->host->free(s);
}

/* Chunks of fixed size (not one per thread), summed in chunk order, so the
 * penalty's bits do not depend on the thread count. */
#define L1_CHUNK 16384
#define L1_LANES 16

static rg_status l1_chunk(void *ctx, int64_t begin, int64_t end)
{
    l1_job *j = ctx;
    for (int64_t c = begin; c < end; c++) {
        int64_t lo = c * L1_CHUNK, hi = lo + L1_CHUNK < j->n ? lo + L1_CHUNK : j->n;
        const float *w = j->w;
        double lanes[L1_LANES] = {0};
        int64_t i = lo;
        for (; i + L1_LANES <= hi; i += L1_LANES)
            for (int k = 0; k < L1_LANES; k++)
                lanes[k] += fabs((double)w[i + k]);
        double sum = 0.0;
        for (; i < hi; i++)
            sum += fabs((double)w[i]);
        for (int k = 0; k < L1_LANES; k++)
            sum += lanes[k];
        j->partial[c] = sum;
        if (j->g) {
            float *g = j->g, lam = j->lambda;
            for (i = lo; i < hi; i++)
                g[i] += w[i] > 0.0f ? lam : (w[i] < 0.0f ? -lam : 0.0f);
        }
    }
    return RG_OK;
}

static rg_status l1_penalty(void *inst, const rg_tensor_view *param, double *loss,
                            rg_tensor_view *grad)
{
    l1 *s = inst;
    const rg_host_api *h = s->host;
    int64_t n = param->numel;
    int64_t chunks = (n + L1_CHUNK - 1) / L1_CHUNK;
    /* grows on the first steps only: the steady-state step allocates nothing */
    if (chunks > s->partial_cap) {
        h->free(s->partial);
        s->partial = h->alloc((size_t)chunks * sizeof(double));
        s->partial_cap = s->partial ? chunks : 0;
        if (!s->partial) {
            h->set_error("l1: out of memory for %lld partial sums", (long long)chunks);
            return RG_ERR_NOMEM;
        }
    }
    /* proximal: the loss still reports lambda*sum|w|, the update is the
     * soft threshold in project_step */
    l1_job job = {param->data, s->proximal ? NULL : grad->data, s->lambda, s->partial, n};
    rg_status st = h->parallel_for(chunks, 1, l1_chunk, &job);
    if (st != RG_OK)
        return st;
    double total = 0.0;
    for (int64_t c = 0; c < chunks; c++)
        total += s->partial[c];
    *loss += (double)s->lambda * total;
    return RG_OK;
}

/* Element-wise, so any split gives the same bits. */
static rg_status l1_prox_range(void *ctx, int64_t begin, int64_t end)
{
    l1_prox_job *j = ctx;
    float *w = j->w, t = j->threshold;
    for (int64_t i = begin; i < end; i++) {
        float a = fabsf(w[i]) - t;
        w[i] = a > 0.0f ? copysignf(a, w[i]) : 0.0f; /* +0, not -0 */
    }
    return RG_OK;
}

static rg_status l1_project_step(void *inst, const rg_step_info *step, rg_tensor_view *param)
{
    l1 *s = inst;
    if (!s->proximal)
        return RG_OK;
    if (!RG_HAS_FIELD(step, rg_step_info, lr) || !isfinite(step->lr) || step->lr < 0.0) {
        s->host->set_error("l1: proximal step needs a finite learning rate >= 0 (got %g)",
                           step && RG_HAS_FIELD(step, rg_step_info, lr) ? step->lr : NAN);
        return RG_ERR_INVALID;
    }
    l1_prox_job job = {param->data, (float)(step->lr * (double)s->lambda)};
    return s->host->parallel_for(param->numel, L1_CHUNK, l1_prox_range, &job);
}

static const rg_regularizer_hooks l1_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .penalty = l1_penalty,
    .project_step = l1_project_step,
};

static const rg_plugin_desc l1_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_PENALTY_NONNEG,
    .num_params = sizeof l1_params / sizeof l1_params[0],
    .name = "l1",
    .version = "1.0.0",
    .doc = "L1 weight penalty lambda*sum|w| (Keras L1); proximal=true soft-thresholds to exact zeros",
    .params = l1_params,
    .create = l1_create,
    .destroy = l1_destroy,
    .regularizer = &l1_hooks,
};

RG_DEFINE_PLUGIN(l1_desc)
