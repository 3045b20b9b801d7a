/* Elastic net: penalty l1 * sum|w| + l2 * sum(w^2), gradient
 * l1 * sign(w) + 2 * l2 * w (subgradient 0 at w == 0).
 *
 * This is tf.keras.regularizers.L1L2(l1, l2): "loss = l1 * reduce_sum(abs(x))
 * + l2 * reduce_sum(square(x))", so l1 and l2 mean the same numbers as in
 * Keras. Note the Keras convention for the L2 part (no 1/2): its gradient is
 * 2*l2*w, twice PyTorch's weight_decay=l2 (the l2 plugin's torch convention).
 * The name follows Zou & Hastie, "Regularization and variable selection via
 * the elastic net", JRSS-B 2005. */
#include <math.h>
#include <regula/plugin.h>

typedef struct elastic_net {
    const rg_host_api *host;
    float l1, l2;
    double *partial;      /* two sums per chunk, grown once to the largest tensor */
    int64_t partial_cap;  /* in chunks */
} elastic_net;

typedef struct en_job {
    const float *w;
    float *g;
    float l1, two_l2;
    double *partial;      /* [chunk] = {sum|w|, sum w^2} */
    int64_t n;
} en_job;

static const rg_param_desc en_params[] = {
    RG_PARAM_FLOAT_DESC("l1", 1e-5, 0.0, 1.0, RG_PARAM_LOG_SCALE,
                        "L1 factor: adds l1*sum|w| (gradient l1*sign(w))"),
    RG_PARAM_FLOAT_DESC("l2", 1e-4, 0.0, 1.0, RG_PARAM_LOG_SCALE,
                        "L2 factor (Keras convention): adds l2*sum(w^2) (gradient 2*l2*w)"),
};

static rg_status en_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    elastic_net *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("elastic_net: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->l1 = (float)params->values[0].number;
    s->l2 = (float)params->values[1].number;
    *inst = s;
    return RG_OK;
}

static void en_destroy(void *inst)
{
    elastic_net *s = inst;
    s->host->free(s->partial);
    s->host->free(s);
}

/* Chunks of fixed size (not one per thread), summed in chunk order, so the
 * penalty's bits do not depend on the thread count. */
#define EN_CHUNK 16384
#define EN_LANES 8

static rg_status en_chunk(void *ctx, int64_t begin, int64_t end)
{
    en_job *j = ctx;
    for (int64_t c = begin; c < end; c++) {
        int64_t lo = c * EN_CHUNK, hi = lo + EN_CHUNK < j->n ? lo + EN_CHUNK : j->n;
        const float *w = j->w;
        float *g = j->g;
        double abs_l[EN_LANES] = {0}, sq_l[EN_LANES] = {0};
        int64_t i = lo;
        for (; i + EN_LANES <= hi; i += EN_LANES)
            for (int k = 0; k < EN_LANES; k++) {
                double x = (double)w[i + k];
                abs_l[k] += fabs(x);
                sq_l[k] += x * x;
            }
        double sa = 0.0, sq = 0.0;
        for (; i < hi; i++) {
            double x = (double)w[i];
            sa += fabs(x);
            sq += x * x;
        }
        for (int k = 0; k < EN_LANES; k++) {
            sa += abs_l[k];
            sq += sq_l[k];
        }
        j->partial[2 * c] = sa;
        j->partial[2 * c + 1] = sq;
        for (i = lo; i < hi; i++) {
            float sgn = w[i] > 0.0f ? 1.0f : (w[i] < 0.0f ? -1.0f : 0.0f);
            g[i] += j->l1 * sgn + j->two_l2 * w[i];
        }
    }
    return RG_OK;
}

static rg_status en_penalty(void *inst, const rg_tensor_view *param, double *loss,
                            rg_tensor_view *grad)
{
    elastic_net *s = inst;
    const rg_host_api *h = s->host;
    int64_t n = param->numel;
    int64_t chunks = (n + EN_CHUNK - 1) / EN_CHUNK;
    /* grows on the first steps only: the steady-state step allocates nothing */
    if (chunks > s->partial_cap) {
        h->free(s->partial);
        s->partial = h->alloc((size_t)chunks * 2 * sizeof(double));
        s->partial_cap = s->partial ? chunks : 0;
        if (!s->partial) {
            h->set_error("elastic_net: out of memory for %lld partial sums", (long long)chunks);
            return RG_ERR_NOMEM;
        }
    }
    en_job job = {param->data, grad->data, s->l1, 2.0f * s->l2, s->partial, n};
    rg_status st = h->parallel_for(chunks, 1, en_chunk, &job);
    if (st != RG_OK)
        return st;
    double sum_abs = 0.0, sum_sq = 0.0;
    for (int64_t c = 0; c < chunks; c++) {
        sum_abs += s->partial[2 * c];
        sum_sq += s->partial[2 * c + 1];
    }
    *loss += (double)s->l1 * sum_abs + (double)s->l2 * sum_sq;
    return RG_OK;
}

static const rg_regularizer_hooks en_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .penalty = en_penalty,
};

static const rg_plugin_desc en_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_PENALTY_NONNEG,
    .num_params = sizeof en_params / sizeof en_params[0],
    .name = "elastic_net",
    .version = "1.0.0",
    .doc = "elastic net l1*sum|w| + l2*sum(w^2), as tf.keras.regularizers.L1L2",
    .params = en_params,
    .create = en_create,
    .destroy = en_destroy,
    .regularizer = &en_hooks,
};

RG_DEFINE_PLUGIN(en_desc)
