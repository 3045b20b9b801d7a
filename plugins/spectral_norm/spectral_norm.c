/* Spectral normalization (Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for
 * Generative Adversarial Networks", ICLR 2018, section 2.1 and Algorithm 1), computed as
 * torch.nn.utils.spectral_norm does: a weight transform that divides each weight tensor by
 * a power-iteration estimate of its largest singular value.
 *
 * W is viewed as the matrix [out, in] (dimension 0 = units: a conv weight [out, in, kh, kw]
 * is [out, in*kh*kw], as PyTorch's dim=0). Per tensor the plugin keeps u [out], v [in]:
 *
 *   train:    n_power_iterations times  v = N(W^T u),  u = N(W v),
 *             N(x) = x / max(||x||, eps);    sigma = u^T W v;    W' = W / sigma
 *   backward: u and v are constants (PyTorch computes them under no_grad):
 *             dL/dW = G / sigma - (<G, W> / sigma^2) u v^T,    G = dL/dW'
 *   eval:     W' = W / sigma with the stored u, v; no iteration
 *
 * Once per step. The host may call weight_forward more than once in a training step (a step
 * wrapper such as sam evaluates twice; the conformance checker perturbs W at one step for
 * finite differences), so the iteration runs in the first hook of each step on a tensor,
 * forward or backward, and records the step; later calls at that step only recompute
 * sigma = u^T W v for the W they are given. Within a step the transform is then exactly
 * W / (u^T W v), whose gradient is the formula above, and weight_backward (linear in G, as a
 * data-parallel run needs) recomputes sigma from its own W instead of caching it.
 *
 * Start. At the first training call on a tensor u = N(n), n read by host->rng_normal at
 * positions [0, out) of that call's stream (keyed on seed, epoch, step and tensor, so the
 * same for every process and thread count); PyTorch draws u from a normal distribution at
 * registration. v needs no start: the first iteration computes it from u. An evaluation
 * before any training on a tensor has no stream: it starts from the fixed u of
 * sn_start_vector (a splitmix64 hash of the index, normalized) and runs
 * SN_EVAL_START_ITERATIONS iterations, the warm-up that
 * torch.nn.utils.parametrizations.spectral_norm runs at registration, on temporary vectors:
 * evaluating never changes what training does.
 *
 * Differences from PyTorch: sums accumulate in double in an order fixed per element
 * (PyTorch uses float32 BLAS), which makes the results independent of the thread count; u
 * and v are stored as float, like PyTorch's buffers. A sigma that is not positive and
 * finite (an all-zero W) stops training with an error instead of dividing by it.
 *
 * State: the table of u, v and the last step per tensor name is saved in checkpoints
 * (sn_state.c), so a resumed run is bit-identical to an uninterrupted one. Weight tensors
 * only: a bias (tensors=biases or all) is refused. */
#include <math.h>
#include <string.h>

#include "sn.h"

#define SN_EVAL_START_ITERATIONS 15

static const rg_param_desc sn_params[] = {
    RG_PARAM_INT_DESC("n_power_iterations", 1, 1, 20,
                      "power iterations per training step (u and v persist across steps)"),
    RG_PARAM_FLOAT_DESC("eps", 1e-12, 0.0, 1e-2, RG_PARAM_MIN_EXCLUSIVE | RG_PARAM_LOG_SCALE,
                        "the floor of a norm in the power iteration: x / max(||x||, eps)"),
};

static rg_status sn_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    sn_plugin *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("spectral_norm: out of memory");
        return RG_ERR_NOMEM;
    }
    memset(s, 0, sizeof *s);
    s->host = host;
    s->iterations = (int)params->values[0].number;
    s->eps = params->values[1].number;
    *inst = s;
    return RG_OK;
}

static void sn_destroy(void *inst)
{
    sn_plugin *s = inst;
    sn_table_clear(s->host, &s->table);
    s->host->free(s->scratch);
    s->host->free(s);
}

/* The matrix [rows, cols] a weight tensor is viewed as; a bias is refused. */
static rg_status matrix_of(const sn_plugin *s, const rg_tensor_view *p, int64_t *rows,
                           int64_t *cols)
{
    const char *name = p->name ? p->name : "(unnamed)";
    if (p->kind == RG_TENSOR_BIAS) {
        s->host->set_error("spectral_norm: %s is a bias; spectral normalization divides weight "
                           "matrices (leave tensors= at its default, weights)", name);
        return RG_ERR_INVALID;
    }
    if (!p->name || p->ndim < 1 || p->shape[0] < 1 || p->numel < 1 ||
        p->numel % p->shape[0] != 0) {
        s->host->set_error("spectral_norm: tensor %s has no name or no [out, ...] shape "
                           "(%u dimensions, %lld elements)", name, (unsigned)p->ndim,
                           (long long)p->numel);
        return RG_ERR_INVALID;
    }
    *rows = p->shape[0];
    *cols = p->numel / p->shape[0];
    return RG_OK;
}

static rg_status same_matrix(const sn_plugin *s, const sn_entry *e, int64_t rows, int64_t cols)
{
    if (e->rows == rows && e->cols == cols)
        return RG_OK;
    s->host->set_error("spectral_norm: %s is a [%lld, %lld] matrix here, its u and v are for "
                       "[%lld, %lld] (a state saved with another model?)", e->name,
                       (long long)rows, (long long)cols, (long long)e->rows,
                       (long long)e->cols);
    return RG_ERR_INVALID;
}

static rg_status check_sigma(const sn_plugin *s, const char *name, double sigma)
{
    if (sigma > 0.0 && isfinite(sigma))
        return RG_OK;
    s->host->set_error("spectral_norm: sigma = u^T W v of %s is %g, not a positive finite "
                       "number (an all-zero or non-finite weight?)", name, sigma);
    return RG_ERR_NUMERIC;
}

/* The tensor's entry, with this training step's power iteration done (by the first call of
 * the step). When sigma is not NULL it receives u^T W v. */
static rg_status prepare(sn_plugin *s, const rg_param_ctx *ctx, const rg_tensor_view *p,
                         int64_t rows, int64_t cols, sn_entry **entry, double *sigma)
{
    sn_entry *e = sn_table_find(&s->table, p->name);
    int fresh = e == NULL;
    if (fresh && !ctx->rng) {
        s->host->set_error("spectral_norm: no random stream for the start of %s in training",
                           p->name);
        return RG_ERR_INVALID;
    }
    rg_status st = e ? same_matrix(s, e, rows, cols) : RG_OK;
    if (st == RG_OK)
        st = sn_reserve(s, rows, cols);
    if (st != RG_OK)
        return st;
    if (fresh) {
        if (!(e = sn_table_add(s->host, &s->table, p->name, rows, cols)))
            return RG_ERR_NOMEM;
        s->host->rng_normal(ctx->rng, 0, e->u, (size_t)rows);
        sn_normalize(e->u, rows, s->eps);
    }
    int iterations = e->step != ctx->step ? s->iterations : 0;
    double sg = 0.0;
    if (iterations || sigma)
        st = sn_iterate(s, p->data, rows, cols, e->u, e->v, iterations, &sg);
    if (st != RG_OK) {
        if (fresh)
            sn_table_drop_last(s->host, &s->table);
        return st;
    }
    if (iterations)
        e->step = ctx->step;
    if (sigma)
        *sigma = sg;
    *entry = e;
    return RG_OK;
}

/* sigma for an evaluation: the stored u, v, or a temporary start if training has not seen
 * the tensor */
static rg_status eval_sigma(sn_plugin *s, const rg_tensor_view *p, int64_t rows, int64_t cols,
                            double *sigma)
{
    const sn_entry *e = sn_table_find(&s->table, p->name);
    rg_status st = e ? same_matrix(s, e, rows, cols) : RG_OK;
    if (st == RG_OK)
        st = sn_reserve(s, rows, cols);
    if (st != RG_OK)
        return st;
    if (e)
        return sn_iterate(s, p->data, rows, cols, e->u, e->v, 0, sigma);
    float *uv = s->host->alloc((size_t)(rows + cols) * sizeof(float));
    if (!uv) {
        s->host->set_error("spectral_norm: out of memory for u and v of %s", p->name);
        return RG_ERR_NOMEM;
    }
    sn_start_vector(uv, rows, s->eps);
    st = sn_iterate(s, p->data, rows, cols, uv, uv + rows, SN_EVAL_START_ITERATIONS, sigma);
    s->host->free(uv);
    return st;
}

static rg_status sn_forward(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                            rg_tensor_view *out)
{
    sn_plugin *s = inst;
    int64_t rows = 0, cols = 0;
    rg_status st = matrix_of(s, param, &rows, &cols);
    if (st != RG_OK)
        return st;
    if (out->numel != param->numel) {
        s->host->set_error("spectral_norm: output of %lld elements for %s of %lld",
                           (long long)out->numel, param->name, (long long)param->numel);
        return RG_ERR_INVALID;
    }
    double sigma = 0.0;
    sn_entry *e = NULL;
    st = ctx->mode == RG_MODE_TRAIN ? prepare(s, ctx, param, rows, cols, &e, &sigma)
                                    : eval_sigma(s, param, rows, cols, &sigma);
    if (st == RG_OK)
        st = check_sigma(s, param->name, sigma);
    if (st == RG_OK)
        st = sn_scale(s, param->data, rows, cols, sigma, out->data);
    return st;
}

static rg_status sn_backward(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                             rg_tensor_view *grad)
{
    sn_plugin *s = inst;
    int64_t rows = 0, cols = 0;
    rg_status st = matrix_of(s, param, &rows, &cols);
    if (st != RG_OK)
        return st;
    if (grad->numel != param->numel) {
        s->host->set_error("spectral_norm: gradient of %lld elements for %s of %lld",
                           (long long)grad->numel, param->name, (long long)param->numel);
        return RG_ERR_INVALID;
    }
    if (ctx->mode != RG_MODE_TRAIN) {
        s->host->set_error("spectral_norm: weight_backward() on %s outside training",
                           param->name);
        return RG_ERR_INVALID;
    }
    sn_entry *e = NULL;
    double sigma = 0.0;
    st = prepare(s, ctx, param, rows, cols, &e, NULL);
    if (st == RG_OK)
        st = sn_map_gradient(s, param->data, rows, cols, e->u, e->v, grad->data, &sigma);
    if (st == RG_OK)
        st = check_sigma(s, param->name, sigma);
    return st;
}

static const rg_regularizer_hooks sn_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .weight_forward = sn_forward,
    .weight_backward = sn_backward,
};

static const rg_plugin_desc sn_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_STATEFUL,
    .num_params = sizeof sn_params / sizeof sn_params[0],
    .name = "spectral_norm",
    .version = "1.0.0",
    .doc = "spectral normalization: W/sigma(W), sigma by power iteration (Miyato et al. 2018)",
    .params = sn_params,
    .create = sn_create,
    .destroy = sn_destroy,
    .regularizer = &sn_hooks,
    .state_size = sn_state_size,
    .state_save = sn_state_save,
    .state_load = sn_state_load,
};

RG_DEFINE_PLUGIN(sn_desc)
