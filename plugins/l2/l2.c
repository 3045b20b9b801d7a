/* L2 regularization: penalty (lambda/2) * sum w^2, gradient lambda * w.
 *
 * With the default convention="torch" the gradient equals what PyTorch's
 * SGD weight_decay=lambda adds (torch.optim.SGD docs: g += weight_decay * w),
 * so lambda means the same number in both. convention="keras" follows
 * tf.keras.regularizers.L2: penalty lambda * sum w^2, gradient 2 lambda w. */
#include <regula/plugin.h>

typedef struct l2 {
    const rg_host_api *host;
    float lambda;
    int keras;
    double *partial;      /* per-chunk sums, grown once to the largest tensor */
    int64_t partial_cap;
} l2;

typedef struct l2_job {
    const float *w;
    float *g;
    float coef;       /* gradient factor */
    double *partial;  /* per-chunk sums of w^2 */
    int64_t n;
} l2_job;

static const char *const conventions[] = {"torch", "keras", NULL};

static const rg_param_desc l2_params[] = {
    RG_PARAM_FLOAT_DESC("lambda", 5e-4, 0.0, 1.0, RG_PARAM_LOG_SCALE,
                        "strength; gradient lambda*w (torch) or 2*lambda*w (keras)"),
    RG_PARAM_ENUM_DESC("convention", 0, conventions,
                       "torch: (lambda/2)*sum(w^2), keras: lambda*sum(w^2)"),
};

static rg_status l2_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    l2 *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("l2: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->lambda = (float)params->values[0].number;
    s->keras = params->values[1].number == 1.0;
    *inst = s;
    return RG_OK;
}

static void l2_destroy(void *inst)
{
    l2 *s = inst;
    s->host->free(s->partial);
    s->host->free(s);
}

/* Chunks of fixed size (not one per thread), summed in chunk order, so the
 * penalty's bits do not depend on the thread count. */
#define L2_CHUNK 16384
#define L2_LANES 16

/* One pass per chunk: the sum of squares in double (L2_LANES lanes, which
 * the compiler vectorizes) and the gradient update. */
static rg_status l2_chunk(void *ctx, int64_t begin, int64_t end)
{
    l2_job *j = ctx;
    for (int64_t c = begin; c < end; c++) {
        int64_t lo = c * L2_CHUNK, hi = lo + L2_CHUNK < j->n ? lo + L2_CHUNK : j->n;
        const float *w = j->w;
        float *g = j->g;
        double lanes[L2_LANES] = {0};
        int64_t i = lo;
        for (; i + L2_LANES <= hi; i += L2_LANES)
            for (int k = 0; k < L2_LANES; k++) {
                lanes[k] += (double)w[i + k] * (double)w[i + k];
                g[i + k] += j->coef * w[i + k];
            }
        double sum = 0.0;
        for (; i < hi; i++) {
            sum += (double)w[i] * (double)w[i];
            g[i] += j->coef * w[i];
        }
        for (int k = 0; k < L2_LANES; k++)
            sum += lanes[k];
        j->partial[c] = sum;
    }
    return RG_OK;
}

static rg_status l2_penalty(void *inst, const rg_tensor_view *param, double *loss,
                            rg_tensor_view *grad)
{
    l2 *s = inst;
    const rg_host_api *h = s->host;
    int64_t n = param->numel;
    int64_t chunks = (n + L2_CHUNK - 1) / L2_CHUNK;
    /* grows on the first steps only: the steady-state step allocates nothing */
    if (chunks > s->partial_cap) {
        h->free(s->partial);
        s->partial = h->alloc((size_t)chunks * sizeof(double));
        s->partial_cap = s->partial ? chunks : 0;
        if (!s->partial) {
            h->set_error("l2: out of memory for %lld partial sums", (long long)chunks);
            return RG_ERR_NOMEM;
        }
    }
    l2_job job = {param->data, grad->data, s->keras ? 2.0f * s->lambda : s->lambda, s->partial,
                  n};
    rg_status st = h->parallel_for(chunks, 1, l2_chunk, &job);
    if (st != RG_OK)
        return st;
    double total = 0.0;
    for (int64_t c = 0; c < chunks; c++)
        total += s->partial[c];
    *loss += (s->keras ? 1.0 : 0.5) * (double)s->lambda * total;
    return RG_OK;
}

/* penalty() above is exactly this linear decay: the host may fold it into its optimizer
 * pass (one pass over the weights instead of two per step). */
static rg_status l2_linear_decay(void *inst, const rg_tensor_view *param, float *grad_coef,
                                 double *penalty_coef)
{
    const l2 *s = inst;
    (void)param;
    *grad_coef = s->keras ? 2.0f * s->lambda : s->lambda;
    *penalty_coef = (s->keras ? 1.0 : 0.5) * (double)s->lambda;
    return RG_OK;
}

static const rg_regularizer_hooks l2_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .penalty = l2_penalty,
    .linear_decay = l2_linear_decay,
};

static const rg_plugin_desc l2_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_PENALTY_NONNEG,
    .num_params = sizeof l2_params / sizeof l2_params[0],
    .name = "l2",
    .version = "1.1.0",
    .doc = "L2 weight penalty (lambda/2)*sum(w^2); gradient lambda*w (PyTorch weight_decay)",
    .params = l2_params,
    .create = l2_create,
    .destroy = l2_destroy,
    .regularizer = &l2_hooks,
};

RG_DEFINE_PLUGIN(l2_desc)
