/* Multiplicative Gaussian noise, as keras.layers.GaussianDropout(rate) (Keras
 * docs: "Apply multiplicative 1-centered Gaussian noise ... rate: drop
 * probability (as with Dropout). The multiplicative noise will have standard
 * deviation sqrt(rate / (1 - rate)). ... only active at training time"):
 *
 *   train: y_i = x_i * e_i,  e_i = 1 + sqrt(rate / (1 - rate)) * z_i,  z_i ~ N(0, 1)
 *   eval:  y_i = x_i
 *   backward: dL/dx_i = e_i * dL/dy_i
 *
 * so E[e] = 1 and Var[e] = rate / (1 - rate), the variance of the inverted
 * Bernoulli dropout multiplier of the same rate (Srivastava et al., JMLR
 * 2014, section 10: sigma^2 = (1 - p) / p with p the keep probability). z_i is host->rng_normal at offset i (the element's flat index):
 * independent of the thread count. The multipliers e_i are kept in the
 * host-owned activation state (one float per element) for backward.
 * rate = 0 gives e = 1 exactly (Keras skips the noise then too). */
#include <math.h>

#include <regula/plugin.h>

typedef struct gdrop {
    const rg_host_api *host;
    float sigma; /* sqrt(rate / (1 - rate)) */
} gdrop;

typedef struct gdrop_job {
    const gdrop *g;
    const rg_rng_stream *rng;
    float *data;
    float *mult;
    int64_t n;
} gdrop_job;

static const rg_param_desc gdrop_params[] = {
    RG_PARAM_FLOAT_DESC("rate", 0.5, 0.0, 1.0, RG_PARAM_MAX_EXCLUSIVE,
                        "as Dropout's rate: multiplier ~ N(1, rate/(1-rate))"),
};

static rg_status gdrop_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    gdrop *g = host->alloc(sizeof *g);
    if (!g) {
        host->set_error("gaussian_dropout: out of memory");
        return RG_ERR_NOMEM;
    }
    double rate = params->values[0].number;
    g->host = host;
    g->sigma = (float)sqrt(rate / (1.0 - rate));
    *inst = g;
    return RG_OK;
}

static void gdrop_destroy(void *inst)
{
    gdrop *g = inst;
    g->host->free(g);
}

static size_t gdrop_state_bytes(void *inst, const rg_tensor_view *act)
{
    (void)inst;
    return act->numel > 0 ? (size_t)act->numel * sizeof(float) : 0;
}

#define GDROP_BLOCK 4096 /* elements per parallel_for index */

static rg_status gdrop_forward_blocks(void *ctx, int64_t begin, int64_t end)
{
    gdrop_job *j = ctx;
    const float sigma = j->g->sigma;
    int64_t lo = begin * GDROP_BLOCK;
    int64_t hi = end * GDROP_BLOCK < j->n ? end * GDROP_BLOCK : j->n;
    /* draw straight into the state, then turn z into e = 1 + sigma z */
    j->g->host->rng_normal(j->rng, (uint64_t)lo, j->mult + lo, (size_t)(hi - lo));
    for (int64_t i = lo; i < hi; i++) {
        j->mult[i] = 1.0f + sigma * j->mult[i];
        j->data[i] *= j->mult[i];
    }
    return RG_OK;
}

static rg_status gdrop_backward_blocks(void *ctx, int64_t begin, int64_t end)
{
    gdrop_job *j = ctx;
    int64_t lo = begin * GDROP_BLOCK;
    int64_t hi = end * GDROP_BLOCK < j->n ? end * GDROP_BLOCK : j->n;
    for (int64_t i = lo; i < hi; i++)
        j->data[i] *= j->mult[i];
    return RG_OK;
}

static rg_status check_state(const gdrop *g, const rg_activation_ctx *ctx, int64_t numel,
                             const char *hook)
{
    size_t need = (size_t)numel * sizeof(float);
    if (!ctx->state || ctx->state_bytes < need) {
        g->host->set_error("gaussian_dropout: %s needs %zu bytes of activation state, got %zu",
                           hook, need, ctx->state ? ctx->state_bytes : (size_t)0);
        return RG_ERR_INVALID;
    }
    return RG_OK;
}

static rg_status gdrop_forward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *act)
{
    gdrop *g = inst;
    if (ctx->mode != RG_MODE_TRAIN || act->numel <= 0 || g->sigma == 0.0f)
        return RG_OK;
    rg_status st = check_state(g, ctx, act->numel, "activation_forward");
    if (st != RG_OK)
        return st;
    gdrop_job j = {g, ctx->rng, act->data, ctx->state, act->numel};
    return g->host->parallel_for((act->numel + GDROP_BLOCK - 1) / GDROP_BLOCK, 1,
                                 gdrop_forward_blocks, &j);
}

static rg_status gdrop_backward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *grad)
{
    gdrop *g = inst;
    if (grad->numel <= 0 || g->sigma == 0.0f)
        return RG_OK;
    rg_status st = check_state(g, ctx, grad->numel, "activation_backward");
    if (st != RG_OK)
        return st;
    gdrop_job j = {g, ctx->rng, grad->data, ctx->state, grad->numel};
    return g->host->parallel_for((grad->numel + GDROP_BLOCK - 1) / GDROP_BLOCK, 1,
                                 gdrop_backward_blocks, &j);
}

static const rg_regularizer_hooks gdrop_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .activation_state_bytes = gdrop_state_bytes,
    .activation_forward = gdrop_forward,
    .activation_backward = gdrop_backward,
};

static const rg_plugin_desc gdrop_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof gdrop_params / sizeof gdrop_params[0],
    .name = "gaussian_dropout",
    .version = "1.0.0",
    .doc = "multiplies activations by N(1, rate/(1-rate)) noise in training (keras GaussianDropout)",
    .params = gdrop_params,
    .create = gdrop_create,
    .destroy = gdrop_destroy,
    .regularizer = &gdrop_hooks,
};

RG_DEFINE_PLUGIN(gdrop_desc)
