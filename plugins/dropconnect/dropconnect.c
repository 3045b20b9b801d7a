/* DropConnect (Wan, Zeiler, Zhang, LeCun & Fergus, "Regularization of Neural Networks using
 * DropConnect", ICML 2013, section 3): in training each weight is dropped independently,
 * the layer computing with M * W for a Bernoulli mask M, drawn anew every step:
 *
 *   train:    W'_i = m_i * W_i / (1 - p),   m_i ~ Bernoulli(1 - p)
 *   backward: dL/dW_i = m_i / (1 - p) * dL/dW'_i
 *   eval:     W' = W
 *
 * One deliberate difference from the paper: its inference approximates the distribution of
 * each unit's pre-activation by a Gaussian and samples it (section 3.2); here the kept
 * weights are scaled by 1/(1 - p) in training instead ("inverted" scaling, as dropout does
 * and as common DropConnect implementations do), so evaluation uses W unchanged. The paper
 * draws one mask per example; one mask per batch, as here, is its cheaper variant (also
 * what PyTorch's WeightDrop-style implementations do): a batch shares the mask.
 *
 * Mask convention: weight i reads u_i = host->rng_uniform at offset i of the tensor's
 * stream (keyed on seed, step and tensor) and is KEPT when u_i >= p. The same stream in
 * weight_backward gives the same mask, so nothing is stored between the two; blocks of
 * DC_BLOCK weights make the result independent of the thread count. */
#include <regula/plugin.h>
#include <string.h>

#define DC_BLOCK 4096

typedef struct dropconnect {
    const rg_host_api *host;
    double p;
    float scale; /* 1 / (1 - p) */
} dropconnect;

typedef struct dc_job {
    const dropconnect *d;
    const rg_rng_stream *rng;
    const float *src;
    float *dst;
    int64_t n;
} dc_job;

static const rg_param_desc dc_params[] = {
    RG_PARAM_FLOAT_DESC("rate", 0.5, 0.0, 1.0, RG_PARAM_MAX_EXCLUSIVE,
                        "probability p of dropping a weight; kept ones scale by 1/(1-p)"),
};

static rg_status dc_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    dropconnect *d = host->alloc(sizeof *d);
    if (!d) {
        host->set_error("dropconnect: out of memory");
        return RG_ERR_NOMEM;
    }
    d->host = host;
    d->p = params->values[0].number;
    d->scale = (float)(1.0 / (1.0 - d->p));
    *inst = d;
    return RG_OK;
}

static void dc_destroy(void *inst)
{
    dropconnect *d = inst;
    d->host->free(d);
}

/* dst[i] = src[i] * (u_i >= p ? scale : 0), for whole blocks [begin, end) */
static rg_status dc_blocks(void *ctx, int64_t begin, int64_t end)
{
    const dc_job *j = ctx;
    float u[DC_BLOCK];
    float p = (float)j->d->p;
    for (int64_t b = begin; b < end; b++) {
        int64_t lo = b * DC_BLOCK, hi = lo + DC_BLOCK < j->n ? lo + DC_BLOCK : j->n;
        j->d->host->rng_uniform(j->rng, (uint64_t)lo, u, (size_t)(hi - lo));
        for (int64_t i = lo; i < hi; i++)
            j->dst[i] = u[i - lo] >= p ? j->src[i] * j->d->scale : 0.0f;
    }
    return RG_OK;
}

static rg_status dc_mask(const dropconnect *d, const rg_param_ctx *ctx, const float *src,
                         float *dst, int64_t n)
{
    if (!ctx->rng) {
        d->host->set_error("dropconnect: no random stream in training mode");
        return RG_ERR_INVALID;
    }
    dc_job j = {d, ctx->rng, src, dst, n};
    return d->host->parallel_for((n + DC_BLOCK - 1) / DC_BLOCK, 1, dc_blocks, &j);
}

static rg_status dc_forward(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                            rg_tensor_view *out)
{
    const dropconnect *d = inst;
    if (ctx->mode != RG_MODE_TRAIN)
        return RG_ERR_UNSUPPORTED; /* evaluation uses W itself */
    if (out->numel != param->numel) {
        d->host->set_error("dropconnect: output of %lld elements for %s of %lld",
                           (long long)out->numel, param->name, (long long)param->numel);
        return RG_ERR_INVALID;
    }
    return dc_mask(d, ctx, param->data, out->data, param->numel);
}

static rg_status dc_backward(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                             rg_tensor_view *grad)
{
    (void)param;
    return dc_mask(inst, ctx, grad->data, grad->data, grad->numel);
}

static const rg_regularizer_hooks dc_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .weight_forward = dc_forward,
    .weight_backward = dc_backward,
};

static const rg_plugin_desc dc_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof dc_params / sizeof dc_params[0],
    .name = "dropconnect",
    .version = "1.0.0",
    .doc = "DropConnect: drop each weight with probability rate in training (Wan et al. 2013)",
    .params = dc_params,
    .create = dc_create,
    .destroy = dc_destroy,
    .regularizer = &dc_hooks,
};

RG_DEFINE_PLUGIN(dc_desc)
