/* Annealed Gaussian gradient noise (Neelakantan, Vilnis, Le, Sutskever, Kaiser, Kurach &
 * Martens, "Adding Gradient Noise Improves Learning for Very Deep Networks", 2015, eq. 1-2):
 * at training step t (0-based global step) every gradient element gets
 *
 *   g_t <- g_t + N(0, sigma_t^2),   sigma_t^2 = eta / (1 + t)^gamma,
 *
 * with eta from {0.01, 0.3, 1.0} and gamma = 0.55 in the paper. It runs after backward and
 * the penalties, before the optimizer, on the tensors selected (weights by default;
 * tensors=all adds the biases, as the paper's "all parameters").
 *
 * Element i reads host->rng_normal at offset i of the tensor's stream (keyed on seed, step
 * and tensor); blocks of GN_BLOCK elements make the result independent of thread count. */
#include <math.h>
#include <regula/plugin.h>
#include <string.h>

#define GN_BLOCK 4096

typedef struct gradient_noise {
    const rg_host_api *host;
    double eta, gamma;
} gradient_noise;

typedef struct gn_job {
    const gradient_noise *s;
    const rg_rng_stream *rng;
    float *g;
    float sigma;
    int64_t n;
} gn_job;

static const rg_param_desc gn_params[] = {
    RG_PARAM_FLOAT_DESC("eta", 0.01, 0.0, 10.0, 0,
                        "noise variance at step 0 (the paper tries 0.01, 0.3 and 1)"),
    RG_PARAM_FLOAT_DESC("gamma", 0.55, 0.0, 2.0, 0,
                        "decay exponent: variance eta / (1 + step)^gamma"),
};

static rg_status gn_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    gradient_noise *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("gradient_noise: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->eta = params->values[0].number;
    s->gamma = params->values[1].number;
    *inst = s;
    return RG_OK;
}

static void gn_destroy(void *inst)
{
    gradient_noise *s = inst;
    s->host->free(s);
}

static rg_status gn_blocks(void *ctx, int64_t begin, int64_t end)
{
    const gn_job *j = ctx;
    float e[GN_BLOCK];
    for (int64_t b = begin; b < end; b++) {
        int64_t lo = b * GN_BLOCK, hi = lo + GN_BLOCK < j->n ? lo + GN_BLOCK : j->n;
        j->s->host->rng_normal(j->rng, (uint64_t)lo, e, (size_t)(hi - lo));
        for (int64_t i = lo; i < hi; i++)
            j->g[i] += j->sigma * e[i - lo];
    }
    return RG_OK;
}

static rg_status gn_gradient(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                             rg_tensor_view *grad)
{
    const gradient_noise *s = inst;
    (void)param;
    if (!ctx->rng) {
        s->host->set_error("gradient_noise: no random stream");
        return RG_ERR_INVALID;
    }
    double var = s->eta / pow(1.0 + (double)ctx->step, s->gamma);
    gn_job j = {s, ctx->rng, grad->data, (float)sqrt(var), grad->numel};
    return s->host->parallel_for((grad->numel + GN_BLOCK - 1) / GN_BLOCK, 1, gn_blocks, &j);
}

static const rg_regularizer_hooks gn_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .gradient = gn_gradient,
};

static const rg_plugin_desc gn_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof gn_params / sizeof gn_params[0],
    .name = "gradient_noise",
    .version = "1.0.0",
    .doc = "annealed Gaussian gradient noise, variance eta/(1+t)^gamma (Neelakantan et al. 2015)",
    .params = gn_params,
    .create = gn_create,
    .destroy = gn_destroy,
    .regularizer = &gn_hooks,
};

RG_DEFINE_PLUGIN(gn_desc)
