/* Decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
 * Regularization", ICLR 2019): after each optimizer step,
 *     w <- w - lr * lambda * w = (1 - lr * lambda) * w,
 * with lr the learning rate the step just used. It is not a loss term, so
 * the plugin has no penalty() and reports no penalty.
 *
 * Why not L2: an L2 penalty adds lambda*w to the gradient, and an adaptive
 * optimizer then rescales it with everything else: Adam's step for weight i
 * is lr * m_i / (sqrt(v_i) + eps), so the decay a weight receives is divided
 * by its own gradient scale (weights with large gradients are barely
 * decayed). Decoupled decay shrinks every weight by the same factor
 * (1 - lr*lambda) whatever the optimizer; with plain SGD (no momentum) the
 * two coincide up to the lr^2 term noted below.
 *
 * Versus PyTorch AdamW (torch.optim.AdamW docs): AdamW decays the weights
 * before the update, w' = (1 - lr*lambda) * w - lr*u, while this hook runs
 * after it, w' = (1 - lr*lambda) * (w - lr*u) = (1 - lr*lambda) * w - lr*u
 * + lr^2*lambda*u. The two differ by lr^2 * lambda * u, second order in lr;
 * with --optim adam plus this plugin, lambda means what AdamW's
 * weight_decay means. */
#include <math.h>
#include <regula/plugin.h>

typedef struct weight_decay {
    const rg_host_api *host;
    double lambda;
} weight_decay;

typedef struct wd_job {
    float *w;
    float factor;
} wd_job;

static const rg_param_desc wd_params[] = {
    RG_PARAM_FLOAT_DESC("lambda", 1e-2, 0.0, 1.0, RG_PARAM_LOG_SCALE,
                        "decay rate: w *= 1 - lr*lambda after each step (AdamW's weight_decay)"),
};

static rg_status wd_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    weight_decay *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("weight_decay: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->lambda = params->values[0].number;
    *inst = s;
    return RG_OK;
}

static void wd_destroy(void *inst)
{
    weight_decay *s = inst;
    s->host->free(s);
}

/* Element-wise, so any split gives the same bits. */
static rg_status wd_range(void *ctx, int64_t begin, int64_t end)
{
    wd_job *j = ctx;
    float *w = j->w, f = j->factor;
    for (int64_t i = begin; i < end; i++)
        w[i] *= f;
    return RG_OK;
}

static rg_status wd_project_step(void *inst, const rg_step_info *step, rg_tensor_view *param)
{
    weight_decay *s = inst;
    if (!RG_HAS_FIELD(step, rg_step_info, lr) || !isfinite(step->lr) || step->lr < 0.0) {
        s->host->set_error("weight_decay: needs a finite learning rate >= 0 (got %g)",
                           RG_HAS_FIELD(step, rg_step_info, lr) ? step->lr : NAN);
        return RG_ERR_INVALID;
    }
    double factor = 1.0 - step->lr * s->lambda;
    /* A negative factor would flip every weight's sign each step: that is a
     * divergence, not a decay, so say which product is too large. */
    if (factor < 0.0) {
        s->host->set_error("weight_decay: lr*lambda = %g*%g = %g exceeds 1 on %s: "
                           "lower lambda or the learning rate", step->lr, s->lambda,
                           step->lr * s->lambda, param->name ? param->name : "a tensor");
        return RG_ERR_INVALID;
    }
    if (factor == 1.0)
        return RG_OK;
    wd_job job = {param->data, (float)factor};
    return s->host->parallel_for(param->numel, 16384, wd_range, &job);
}

static const rg_regularizer_hooks wd_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .project_step = wd_project_step,
};

static const rg_plugin_desc wd_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof wd_params / sizeof wd_params[0],
    .name = "weight_decay",
    .version = "1.0.0",
    .doc = "decoupled weight decay w *= 1 - lr*lambda after each step (AdamW, Loshchilov & Hutter)",
    .params = wd_params,
    .create = wd_create,
    .destroy = wd_destroy,
    .regularizer = &wd_hooks,
};

RG_DEFINE_PLUGIN(wd_desc)
