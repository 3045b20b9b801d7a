/* Additive Gaussian noise on activations, as keras.layers.GaussianNoise(stddev)
 * (Keras docs: "Apply additive zero-centered Gaussian noise ... As it is a
 * regularization layer, it is only active at training time"):
 *
 *   train: y_i = x_i + stddev * z_i,  z_i ~ N(0, 1)
 *   eval:  y_i = x_i
 *   backward: dL/dx = dL/dy (the noise does not depend on x)
 *
 * z_i is host->rng_normal at offset i (the element's flat index), so the
 * noise does not depend on the thread count or the block split. No state:
 * backward is the identity. Element-wise, so [batch, c, h, w] works too. */
#include <regula/plugin.h>

typedef struct gnoise {
    const rg_host_api *host;
    float stddev;
} gnoise;

typedef struct gnoise_job {
    const gnoise *g;
    const rg_rng_stream *rng;
    float *data;
    int64_t n;
} gnoise_job;

static const rg_param_desc gnoise_params[] = {
    RG_PARAM_FLOAT_DESC("stddev", 0.1, 0.0, 100.0, 0,
                        "standard deviation of the additive zero-mean noise"),
};

static rg_status gnoise_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    gnoise *g = host->alloc(sizeof *g);
    if (!g) {
        host->set_error("gaussian_noise: out of memory");
        return RG_ERR_NOMEM;
    }
    g->host = host;
    g->stddev = (float)params->values[0].number;
    *inst = g;
    return RG_OK;
}

static void gnoise_destroy(void *inst)
{
    gnoise *g = inst;
    g->host->free(g);
}

#define GNOISE_BLOCK 4096 /* elements per parallel_for index */
#define GNOISE_DRAW 256   /* normals drawn at once, on the stack */

static rg_status gnoise_blocks(void *ctx, int64_t begin, int64_t end)
{
    gnoise_job *j = ctx;
    const float sd = j->g->stddev;
    for (int64_t b = begin; b < end; b++) {
        int64_t lo = b * GNOISE_BLOCK;
        int64_t hi = lo + GNOISE_BLOCK < j->n ? lo + GNOISE_BLOCK : j->n;
        for (int64_t i = lo; i < hi; i += GNOISE_DRAW) {
            float z[GNOISE_DRAW];
            int64_t cnt = hi - i < GNOISE_DRAW ? hi - i : GNOISE_DRAW;
            j->g->host->rng_normal(j->rng, (uint64_t)i, z, (size_t)cnt);
            for (int64_t k = 0; k < cnt; k++)
                j->data[i + k] += sd * z[k];
        }
    }
    return RG_OK;
}

static rg_status gnoise_forward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *act)
{
    gnoise *g = inst;
    if (ctx->mode != RG_MODE_TRAIN || act->numel <= 0 || g->stddev == 0.0f)
        return RG_OK;
    gnoise_job j = {g, ctx->rng, act->data, act->numel};
    return g->host->parallel_for((act->numel + GNOISE_BLOCK - 1) / GNOISE_BLOCK, 1,
                                 gnoise_blocks, &j);
}

static rg_status gnoise_backward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *grad)
{
    (void)inst;
    (void)ctx;
    (void)grad; /* d(x + noise)/dx = 1 */
    return RG_OK;
}

static const rg_regularizer_hooks gnoise_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .activation_forward = gnoise_forward,
    .activation_backward = gnoise_backward,
};

static const rg_plugin_desc gnoise_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof gnoise_params / sizeof gnoise_params[0],
    .name = "gaussian_noise",
    .version = "1.0.0",
    .doc = "adds N(0, stddev^2) noise to activations in training (keras GaussianNoise)",
    .params = gnoise_params,
    .create = gnoise_create,
    .destroy = gnoise_destroy,
    .regularizer = &gnoise_hooks,
};

RG_DEFINE_PLUGIN(gnoise_desc)
