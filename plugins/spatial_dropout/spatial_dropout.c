/* Spatial (channel-wise) dropout, as torch.nn.Dropout2d(p): in training each
 * channel of each sample is zeroed as a whole with probability p and the
 * kept channels are scaled by 1/(1 - p); identity in evaluation (PyTorch
 * docs: "randomly zero out entire channels ... each channel will be zeroed
 * out independently on every forward call with probability p"). Tompson et
 * al. 2015 motivate it: neighbouring pixels of a feature map are strongly
 * correlated, so element-wise dropout barely regularizes conv layers.
 *
 * Channel (n, c) reads u = rng_uniform at offset n*E + c, E = C*H*W the
 * elements of one sample, and is kept when u >= p: each sample draws inside
 * its own rows' positions, so a data-parallel run (where the host offsets a
 * process's positions by those of its first row) gives every sample the
 * masks one process gives it. A flat [batch, features] activation has one "channel" per feature,
 * so there it is ordinary dropout. The per-element multiplier (0 or
 * 1/(1-p)) is kept in the host-owned state for backward. */
#include <regula/plugin.h>

typedef struct sdrop {
    const rg_host_api *host;
    double p;
} sdrop;

static const rg_param_desc sdrop_params[] = {
    RG_PARAM_FLOAT_DESC("rate", 0.1, 0.0, 1.0, RG_PARAM_MAX_EXCLUSIVE,
                        "probability of zeroing a whole channel; kept ones scale by 1/(1-p)"),
};

static rg_status sdrop_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    sdrop *d = host->alloc(sizeof *d);
    if (!d) {
        host->set_error("spatial_dropout: out of memory");
        return RG_ERR_NOMEM;
    }
    d->host = host;
    d->p = params->values[0].number;
    *inst = d;
    return RG_OK;
}

static void sdrop_destroy(void *inst)
{
    sdrop *d = inst;
    d->host->free(d);
}

static size_t sdrop_state_bytes(void *inst, const rg_tensor_view *act)
{
    (void)inst;
    return (size_t)act->numel * sizeof(float);
}

static void geometry(const rg_tensor_view *a, int64_t *n, int64_t *c, int64_t *plane)
{
    *n = a->shape[0];
    *c = a->ndim >= 2 ? a->shape[1] : 1;
    *plane = *n * *c > 0 ? a->numel / (*n * *c) : 0;
}

static rg_status sdrop_forward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *act)
{
    sdrop *d = inst;
    if (ctx->mode != RG_MODE_TRAIN)
        return RG_OK;
    if (!ctx->state || ctx->state_bytes < (size_t)act->numel * sizeof(float)) {
        d->host->set_error("spatial_dropout: activation state missing or too small");
        return RG_ERR_INVALID;
    }
    int64_t n, c, plane;
    geometry(act, &n, &c, &plane);
    float *mult = ctx->state, scale = (float)(1.0 / (1.0 - d->p));
    float u[256];
    for (int64_t r = 0; r < n; r++)
        for (int64_t c0 = 0; c0 < c; c0 += 256) {
            int64_t cnt = c - c0 < 256 ? c - c0 : 256;
            d->host->rng_uniform(ctx->rng, (uint64_t)(r * c * plane + c0), u, (size_t)cnt);
            for (int64_t k = 0; k < cnt; k++) {
                float m = u[k] >= (float)d->p ? scale : 0.0f;
                int64_t at = (r * c + c0 + k) * plane;
                float *x = act->data + at, *mm = mult + at;
                for (int64_t j = 0; j < plane; j++) {
                    mm[j] = m;
                    x[j] *= m;
                }
            }
        }
    return RG_OK;
}

static rg_status sdrop_backward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *grad)
{
    sdrop *d = inst;
    if (!ctx->state || ctx->state_bytes < (size_t)grad->numel * sizeof(float)) {
        d->host->set_error("spatial_dropout: activation state missing or too small");
        return RG_ERR_INVALID;
    }
    const float *mult = ctx->state;
    for (int64_t i = 0; i < grad->numel; i++)
        grad->data[i] *= mult[i];
    return RG_OK;
}

static const rg_regularizer_hooks sdrop_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .activation_state_bytes = sdrop_state_bytes,
    .activation_forward = sdrop_forward,
    .activation_backward = sdrop_backward,
};

static const rg_plugin_desc sdrop_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = 1,
    .name = "spatial_dropout",
    .version = "1.1.0",
    .doc = "drops whole channels of conv feature maps, scale 1/(1-rate) (torch.nn.Dropout2d)",
    .params = sdrop_params,
    .create = sdrop_create,
    .destroy = sdrop_destroy,
    .regularizer = &sdrop_hooks,
};

RG_DEFINE_PLUGIN(sdrop_desc)
