/* Additive Gaussian weight noise: in training the layer computes with
 *
 *   W' = W + e,   e_i ~ N(0, stddev^2), drawn anew every step,
 *
 * and the gradient reaches W unchanged (dW'/dW = I), so the hook has no weight_backward;
 * evaluation uses W. This is the "weight noise" of Graves, "Practical Variational Inference
 * for Neural Networks", NIPS 2011 (fixed-variance Gaussian noise on the weights, resampled
 * per step) and of An, "The effects of adding noise during backpropagation training on a
 * generalization performance", Neural Computation 1996.
 *
 * Weight i reads host->rng_normal at offset i of the tensor's stream; blocks of WN_BLOCK
 * weights make the result independent of the thread count. */
#include <regula/plugin.h>
#include <string.h>

#define WN_BLOCK 4096

typedef struct weight_noise {
    const rg_host_api *host;
    float stddev;
} weight_noise;

typedef struct wn_job {
    const weight_noise *s;
    const rg_rng_stream *rng;
    const float *src;
    float *dst;
    int64_t n;
} wn_job;

static const rg_param_desc wn_params[] = {
    RG_PARAM_FLOAT_DESC("stddev", 0.01, 0.0, 10.0, 0,
                        "standard deviation of the Gaussian noise added to each weight"),
};

static rg_status wn_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    weight_noise *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("weight_noise: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->stddev = (float)params->values[0].number;
    *inst = s;
    return RG_OK;
}

static void wn_destroy(void *inst)
{
    weight_noise *s = inst;
    s->host->free(s);
}

static rg_status wn_blocks(void *ctx, int64_t begin, int64_t end)
{
    const wn_job *j = ctx;
    float e[WN_BLOCK];
    for (int64_t b = begin; b < end; b++) {
        int64_t lo = b * WN_BLOCK, hi = lo + WN_BLOCK < j->n ? lo + WN_BLOCK : j->n;
        j->s->host->rng_normal(j->rng, (uint64_t)lo, e, (size_t)(hi - lo));
        for (int64_t i = lo; i < hi; i++)
            j->dst[i] = j->src[i] + j->s->stddev * e[i - lo];
    }
    return RG_OK;
}

static rg_status wn_forward(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                            rg_tensor_view *out)
{
    const weight_noise *s = inst;
    if (ctx->mode != RG_MODE_TRAIN)
        return RG_ERR_UNSUPPORTED;
    if (!ctx->rng || out->numel != param->numel) {
        s->host->set_error("weight_noise: no random stream, or an output of %lld elements for "
                           "%s of %lld", (long long)out->numel, param->name,
                           (long long)param->numel);
        return RG_ERR_INVALID;
    }
    wn_job j = {s, ctx->rng, param->data, out->data, param->numel};
    return s->host->parallel_for((param->numel + WN_BLOCK - 1) / WN_BLOCK, 1, wn_blocks, &j);
}

static const rg_regularizer_hooks wn_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .weight_forward = wn_forward,
};

static const rg_plugin_desc wn_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof wn_params / sizeof wn_params[0],
    .name = "weight_noise",
    .version = "1.0.0",
    .doc = "additive Gaussian noise N(0, stddev^2) on the weights in training (Graves 2011)",
    .params = wn_params,
    .create = wn_create,
    .destroy = wn_destroy,
    .regularizer = &wn_hooks,
};

RG_DEFINE_PLUGIN(wn_desc)
