/* mytransform: a weight transform (plugin ABI 1.5), weight standardization (Qiao et al.,
 * "Micro-Batch Training with Batch-Channel Normalization and Weight Standardization", 2019,
 * eq. 5): each unit's incoming weights (a dense row, a conv filter) are used as
 *
 *     W'_u = (W_u - mean(W_u)) / sqrt(var(W_u) + eps)
 *
 * in training and evaluation alike (a reparameterization), and the gradient is mapped back
 * through the normalization:
 *
 *     dL/dW_u = (g - mean(g) - W'_u * mean(g * W'_u)) / sqrt(var(W_u) + eps),  g = dL/dW'_u
 *
 * Standardized weights have unit variance per unit, so a layer's outputs grow with its fan-in:
 * the technique is meant for layers followed by a normalization (batchnorm), e.g.
 * `--reg mytransform.so:layers=conv*` on a CNN with batchnorm after its convolutions.
 *
 * `regula plugin check` compares weight_backward with central differences of
 * weight_forward. Copy this file to start your own weight transform; a gradient hook or a
 * step wrapper is set the same way (see sdk/README.md). */
#include <math.h>
#include <regula/plugin.h>

typedef struct mytransform {
    const rg_host_api *host;
    double eps;
} mytransform;

static const rg_param_desc mt_params[] = {
    RG_PARAM_FLOAT_DESC("eps", 1e-5, 1e-12, 1.0, RG_PARAM_LOG_SCALE,
                        "added to each unit's weight variance"),
};

static rg_status mt_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    mytransform *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("mytransform: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->eps = params->values[0].number;
    *inst = s;
    return RG_OK;
}

static void mt_destroy(void *inst)
{
    mytransform *s = inst;
    s->host->free(s);
}

/* mean and 1/sqrt(var + eps) of one unit, in double, in a fixed order */
static void unit_stats(const float *w, int64_t len, double eps, double *mean, double *inv)
{
    double m = 0.0, v = 0.0;
    for (int64_t i = 0; i < len; i++)
        m += w[i];
    m /= (double)len;
    for (int64_t i = 0; i < len; i++)
        v += ((double)w[i] - m) * ((double)w[i] - m);
    *mean = m;
    *inv = 1.0 / sqrt(v / (double)len + eps);
}

static rg_status mt_forward(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                            rg_tensor_view *out)
{
    const mytransform *s = inst;
    (void)ctx; /* the same in training and evaluation */
    int64_t units = param->ndim >= 2 ? param->shape[0] : 1, len = param->numel / units;
    for (int64_t u = 0; u < units; u++) {
        const float *w = param->data + u * len;
        double mean, inv;
        unit_stats(w, len, s->eps, &mean, &inv);
        for (int64_t i = 0; i < len; i++)
            out->data[u * len + i] = (float)(((double)w[i] - mean) * inv);
    }
    return RG_OK;
}

static rg_status mt_backward(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                             rg_tensor_view *grad)
{
    const mytransform *s = inst;
    (void)ctx;
    int64_t units = param->ndim >= 2 ? param->shape[0] : 1, len = param->numel / units;
    for (int64_t u = 0; u < units; u++) {
        const float *w = param->data + u * len;
        float *g = grad->data + u * len;
        double mean, inv, gm = 0.0, gw = 0.0;
        unit_stats(w, len, s->eps, &mean, &inv);
        for (int64_t i = 0; i < len; i++) {
            gm += g[i];
            gw += (double)g[i] * ((double)w[i] - mean) * inv;
        }
        gm /= (double)len;
        gw /= (double)len;
        for (int64_t i = 0; i < len; i++)
            g[i] = (float)(((double)g[i] - gm - ((double)w[i] - mean) * inv * gw) * inv);
    }
    return RG_OK;
}

static const rg_regularizer_hooks mt_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .weight_forward = mt_forward,
    .weight_backward = mt_backward,
};

static const rg_plugin_desc mt_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof mt_params / sizeof mt_params[0],
    .name = "mytransform",
    .version = "0.1.0",
    .doc = "weight standardization of each unit's weights (Qiao et al. 2019), a template",
    .params = mt_params,
    .create = mt_create,
    .destroy = mt_destroy,
    .regularizer = &mt_hooks,
};

RG_DEFINE_PLUGIN(mt_desc)
