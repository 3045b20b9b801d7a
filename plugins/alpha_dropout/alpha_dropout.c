/* Alpha dropout, the dropout of self-normalizing networks: Klambauer et al.,
 * "Self-Normalizing Neural Networks", NeurIPS 2017, section "New Dropout
 * Technique", as torch.nn.AlphaDropout(p). A dropped activation is set to
 * alpha' = -lambda * alpha = -1.7580993408473766 (SELU's negative saturation value),
 * then every activation goes through the affine map that restores mean 0 and
 * variance 1 for inputs of mean 0 and variance 1:
 *
 *   train: y_i = a * x_i + b       kept, m_i = 1 (probability 1 - p)
 *          y_i = a * alpha' + b    dropped, m_i = 0
 *          a = ((1 - p) (1 + p alpha'^2))^(-1/2),  b = -a alpha' p
 *   eval:  y_i = x_i
 *   backward: dL/dx_i = m_i * a * dL/dy_i
 *
 * (PyTorch's aten _dropout_impl, alpha branch, computes the same: with alpha =
 * 1.7580993408473766, a = 1 / sqrt((alpha^2 p + 1)(1 - p)), y = x * a * m +
 * alpha * a * p - (1 - m) * alpha * a.) a, b and the dropped value a * alpha' + b
 * are computed once in double and rounded to float; a kept element is then
 * x * a + b in float, as PyTorch's input * noise + b.
 *
 * Mask convention, the one dropout uses: element i reads u_i = host->rng_uniform
 * at offset i (its flat index in the activation, batch-major) and is KEPT when
 * u_i >= p, so P(keep) = 1 - p. Sample n's draws lie inside its own positions,
 * so a data-parallel process (whose positions the host offsets by its first row)
 * draws the masks one process draws for those rows. rate=0 keeps everything and
 * is the identity (a = 1, b = 0), done without touching the activations.
 *
 * The mask lives in the host-owned activation state, one byte per element
 * (1 = kept), so backward applies the very mask forward drew. Element-wise, so a
 * [batch, c, h, w] activation works unchanged.
 *
 * Determinism: every element's draw depends only on its index, and work is split
 * into fixed blocks of ADROP_BLOCK elements, so the output does not depend on the
 * thread count. */
#include <math.h>
#include <regula/plugin.h>
#include <string.h>

#define ADROP_ALPHA_PRIME (-1.7580993408473766) /* -lambda * alpha of SELU */

typedef struct alpha_dropout {
    const rg_host_api *host;
    double p;
    float a, b;    /* the affine map */
    float dropped; /* a * alpha' + b */
} alpha_dropout;

typedef struct adrop_job {
    const alpha_dropout *d;
    const rg_rng_stream *rng;
    float *data;
    uint8_t *mask;
    int64_t n;
} adrop_job;

static const rg_param_desc adrop_params[] = {
    RG_PARAM_FLOAT_DESC("rate", 0.5, 0.0, 1.0, RG_PARAM_MAX_EXCLUSIVE,
                        "probability p of setting an element to alpha' before the affine map"),
};

static rg_status adrop_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    alpha_dropout *d = host->alloc(sizeof *d);
    if (!d) {
        host->set_error("alpha_dropout: out of memory");
        return RG_ERR_NOMEM;
    }
    d->host = host;
    d->p = params->values[0].number;
    const double p = d->p, ap = ADROP_ALPHA_PRIME;
    double a = 1.0 / sqrt((1.0 - p) * (1.0 + p * ap * ap));
    double b = -a * ap * p;
    d->a = (float)a;
    d->b = (float)b;
    d->dropped = (float)(a * ap + b);
    *inst = d;
    return RG_OK;
}

static void adrop_destroy(void *inst)
{
    alpha_dropout *d = inst;
    d->host->free(d);
}

static size_t adrop_state_bytes(void *inst, const rg_tensor_view *act)
{
    (void)inst;
    return act->numel > 0 ? (size_t)act->numel : 0; /* one mask byte per element */
}

#define ADROP_BLOCK 4096 /* elements per parallel_for index */
#define ADROP_DRAW 256   /* uniforms drawn at once, on the stack */

static rg_status adrop_forward_blocks(void *ctx, int64_t begin, int64_t end)
{
    adrop_job *j = ctx;
    const float p = (float)j->d->p, a = j->d->a, b = j->d->b, dropped = j->d->dropped;
    for (int64_t blk = begin; blk < end; blk++) {
        int64_t lo = blk * ADROP_BLOCK;
        int64_t hi = lo + ADROP_BLOCK < j->n ? lo + ADROP_BLOCK : j->n;
        for (int64_t i = lo; i < hi; i += ADROP_DRAW) {
            float u[ADROP_DRAW];
            int64_t cnt = hi - i < ADROP_DRAW ? hi - i : ADROP_DRAW;
            j->d->host->rng_uniform(j->rng, (uint64_t)i, u, (size_t)cnt);
            /* restrict: a uint8_t store may alias anything */
            float *restrict x = j->data + i;
            uint8_t *restrict m = j->mask + i;
            for (int64_t k = 0; k < cnt; k++) {
                int keep = u[k] >= p;
                x[k] = keep ? x[k] * a + b : dropped;
                m[k] = (uint8_t)keep;
            }
        }
    }
    return RG_OK;
}

static rg_status adrop_backward_blocks(void *ctx, int64_t begin, int64_t end)
{
    adrop_job *j = ctx;
    const float a = j->d->a;
    int64_t lo = begin * ADROP_BLOCK;
    int64_t hi = end * ADROP_BLOCK < j->n ? end * ADROP_BLOCK : j->n;
    float *restrict g = j->data;
    const uint8_t *restrict m = j->mask;
    for (int64_t i = lo; i < hi; i++)
        g[i] = m[i] ? g[i] * a : 0.0f;
    return RG_OK;
}

static rg_status check_state(const alpha_dropout *d, const rg_activation_ctx *ctx, int64_t numel,
                             const char *hook)
{
    if (!ctx->state || ctx->state_bytes < (size_t)numel) {
        d->host->set_error("alpha_dropout: %s needs %lld bytes of activation state, got %zu",
                           hook, (long long)numel, ctx->state ? ctx->state_bytes : (size_t)0);
        return RG_ERR_INVALID;
    }
    return RG_OK;
}

static rg_status adrop_forward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *act)
{
    alpha_dropout *d = inst;
    if (ctx->mode != RG_MODE_TRAIN || act->numel <= 0)
        return RG_OK;
    rg_status st = check_state(d, ctx, act->numel, "activation_forward");
    if (st != RG_OK)
        return st;
    if (d->p == 0.0) { /* keep all, a = 1, b = 0: skip the draws and the map */
        memset(ctx->state, 1, (size_t)act->numel);
        return RG_OK;
    }
    adrop_job j = {d, ctx->rng, act->data, ctx->state, act->numel};
    return d->host->parallel_for((act->numel + ADROP_BLOCK - 1) / ADROP_BLOCK, 1,
                                 adrop_forward_blocks, &j);
}

static rg_status adrop_backward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *grad)
{
    alpha_dropout *d = inst;
    if (grad->numel <= 0 || d->p == 0.0)
        return RG_OK;
    rg_status st = check_state(d, ctx, grad->numel, "activation_backward");
    if (st != RG_OK)
        return st;
    adrop_job j = {d, ctx->rng, grad->data, ctx->state, grad->numel};
    return d->host->parallel_for((grad->numel + ADROP_BLOCK - 1) / ADROP_BLOCK, 1,
                                 adrop_backward_blocks, &j);
}

static const rg_regularizer_hooks adrop_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .activation_state_bytes = adrop_state_bytes,
    .activation_forward = adrop_forward,
    .activation_backward = adrop_backward,
};

static const rg_plugin_desc adrop_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof adrop_params / sizeof adrop_params[0],
    .name = "alpha_dropout",
    .version = "1.0.0",
    .doc = "alpha dropout: set to alpha' with prob. rate, then a*x + b keeps mean 0, variance 1 "
           "(torch.nn.AlphaDropout)",
    .params = adrop_params,
    .create = adrop_create,
    .destroy = adrop_destroy,
    .regularizer = &adrop_hooks,
};

RG_DEFINE_PLUGIN(adrop_desc)
