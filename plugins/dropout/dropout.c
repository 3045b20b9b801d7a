/* Inverted dropout, as torch.nn.Dropout(p) (PyTorch docs: "During training,
 * randomly zeroes some of the elements of the input tensor with probability
 * p ... the outputs are scaled by a factor of 1/(1-p) during training. This
 * means that during evaluation the module simply computes an identity
 * function."):
 *
 *   train: y_i = m_i * x_i / (1 - p),  m_i ~ Bernoulli(1 - p)
 *   eval:  y_i = x_i
 *   backward: dL/dx_i = m_i / (1 - p) * dL/dy_i
 *
 * Mask convention: element i reads u_i = host->rng_uniform at offset i (its
 * flat index in the activation, batch-major) and is KEPT when u_i >= p, so
 * P(keep) = 1 - p and rate=0 keeps everything (u is in [0, 1)). The scale is
 * the float s = (float)(1 / (1 - p)) computed once in double, and y = x * s
 * (PyTorch likewise multiplies by a precomputed 1/(1-p)); for p = 0.5 or
 * 0.75 this is exactly x / (1 - p).
 *
 * The mask lives in the host-owned activation state, one byte per element
 * (1 = kept), so backward applies the very mask forward drew. Element-wise,
 * so a [batch, c, h, w] activation works unchanged; a channel-wise
 * torch.nn.Dropout2d would use the same hooks, drawing one u per (n, c) and
 * repeating it over h*w.
 *
 * Determinism: every element's draw depends only on its index, and work is
 * split into fixed blocks of DROPOUT_BLOCK elements, so the output does not
 * depend on the thread count. */
#include <regula/plugin.h>
#include <string.h>

typedef struct dropout {
    const rg_host_api *host;
    double p;
    float scale; /* 1 / (1 - p) */
} dropout;

typedef struct dropout_job {
    const dropout *d;
    const rg_rng_stream *rng;
    float *data;
    uint8_t *mask;
    int64_t n;
} dropout_job;

static const rg_param_desc dropout_params[] = {
    RG_PARAM_FLOAT_DESC("rate", 0.5, 0.0, 1.0, RG_PARAM_MAX_EXCLUSIVE,
                        "probability p of zeroing an element; kept ones scale by 1/(1-p)"),
};

static rg_status dropout_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    dropout *d = host->alloc(sizeof *d);
    if (!d) {
        host->set_error("dropout: out of memory");
        return RG_ERR_NOMEM;
    }
    d->host = host;
    d->p = params->values[0].number;
    d->scale = (float)(1.0 / (1.0 - d->p));
    *inst = d;
    return RG_OK;
}

static void dropout_destroy(void *inst)
{
    dropout *d = inst;
    d->host->free(d);
}

static size_t dropout_state_bytes(void *inst, const rg_tensor_view *act)
{
    (void)inst;
    return act->numel > 0 ? (size_t)act->numel : 0; /* one mask byte per element */
}

#define DROPOUT_BLOCK 4096 /* elements per parallel_for index */
#define DROPOUT_DRAW 256   /* uniforms drawn at once, on the stack */

static rg_status dropout_forward_blocks(void *ctx, int64_t begin, int64_t end)
{
    dropout_job *j = ctx;
    const float p = (float)j->d->p, s = j->d->scale;
    for (int64_t b = begin; b < end; b++) {
        int64_t lo = b * DROPOUT_BLOCK;
        int64_t hi = lo + DROPOUT_BLOCK < j->n ? lo + DROPOUT_BLOCK : j->n;
        for (int64_t i = lo; i < hi; i += DROPOUT_DRAW) {
            float u[DROPOUT_DRAW];
            int64_t cnt = hi - i < DROPOUT_DRAW ? hi - i : DROPOUT_DRAW;
            j->d->host->rng_uniform(j->rng, (uint64_t)i, u, (size_t)cnt);
            /* restrict: a uint8_t store may alias anything, and without it the
             * compiler reloads data after every mask byte and cannot vectorize */
            float *restrict x = j->data + i;
            uint8_t *restrict m = j->mask + i;
            /* two branch-free passes the compiler vectorizes (keep is a coin flip,
             * so a branch per element mispredicts half the time) */
            for (int64_t k = 0; k < cnt; k++) {
                /* kept * s or +0.0f through a bit mask: gcc turns the plain
                 * ternary into a branch here */
                float kept = x[k] * s;
                uint32_t bits, keep = 0u - (uint32_t)(u[k] >= p);
                memcpy(&bits, &kept, sizeof bits);
                bits &= keep;
                memcpy(&x[k], &bits, sizeof bits);
            }
            for (int64_t k = 0; k < cnt; k++)
                m[k] = (uint8_t)(u[k] >= p);
        }
    }
    return RG_OK;
}

static rg_status dropout_backward_blocks(void *ctx, int64_t begin, int64_t end)
{
    dropout_job *j = ctx;
    const float s = j->d->scale;
    int64_t lo = begin * DROPOUT_BLOCK;
    int64_t hi = end * DROPOUT_BLOCK < j->n ? end * DROPOUT_BLOCK : j->n;
    float *restrict x = j->data;
    const uint8_t *restrict m = j->mask;
    for (int64_t i = lo; i < hi; i++) {
        float kept = x[i] * s;
        uint32_t bits, keep = 0u - (uint32_t)(m[i] != 0);
        memcpy(&bits, &kept, sizeof bits);
        bits &= keep;
        memcpy(&x[i], &bits, sizeof bits);
    }
    return RG_OK;
}

static rg_status check_state(const dropout *d, const rg_activation_ctx *ctx, int64_t numel,
                             const char *hook)
{
    if (!ctx->state || ctx->state_bytes < (size_t)numel) {
        d->host->set_error("dropout: %s needs %lld bytes of activation state, got %zu", hook,
                           (long long)numel, ctx->state ? ctx->state_bytes : (size_t)0);
        return RG_ERR_INVALID;
    }
    return RG_OK;
}

static rg_status dropout_forward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *act)
{
    dropout *d = inst;
    if (ctx->mode != RG_MODE_TRAIN || act->numel <= 0)
        return RG_OK;
    rg_status st = check_state(d, ctx, act->numel, "activation_forward");
    if (st != RG_OK)
        return st;
    if (d->p == 0.0) { /* keep all; skip the draws */
        memset(ctx->state, 1, (size_t)act->numel);
        return RG_OK;
    }
    dropout_job j = {d, ctx->rng, act->data, ctx->state, act->numel};
    return d->host->parallel_for((act->numel + DROPOUT_BLOCK - 1) / DROPOUT_BLOCK, 1,
                                 dropout_forward_blocks, &j);
}

static rg_status dropout_backward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *grad)
{
    dropout *d = inst;
    if (grad->numel <= 0 || d->p == 0.0)
        return RG_OK;
    rg_status st = check_state(d, ctx, grad->numel, "activation_backward");
    if (st != RG_OK)
        return st;
    dropout_job j = {d, ctx->rng, grad->data, ctx->state, grad->numel};
    return d->host->parallel_for((grad->numel + DROPOUT_BLOCK - 1) / DROPOUT_BLOCK, 1,
                                 dropout_backward_blocks, &j);
}

static const rg_regularizer_hooks dropout_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .activation_state_bytes = dropout_state_bytes,
    .activation_forward = dropout_forward,
    .activation_backward = dropout_backward,
};

static const rg_plugin_desc dropout_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof dropout_params / sizeof dropout_params[0],
    .name = "dropout",
    .version = "1.0.0",
    .doc = "inverted dropout: zero with prob. rate, scale kept by 1/(1-rate) (torch.nn.Dropout)",
    .params = dropout_params,
    .create = dropout_create,
    .destroy = dropout_destroy,
    .regularizer = &dropout_hooks,
};

RG_DEFINE_PLUGIN(dropout_desc)
