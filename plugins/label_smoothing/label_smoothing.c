/* Label smoothing, as torch.nn.CrossEntropyLoss(label_smoothing=eps) (PyTorch
 * docs: "The targets become a mixture of the original ground truth and a
 * uniform distribution as described in Rethinking the Inception Architecture
 * for Computer Vision", Szegedy et al. 2016, section 7):
 *
 *   t'_k = (1 - eps) * t_k + eps / K     (K = number of classes)
 *
 * so the host's soft-target cross-entropy -sum_k t'_k log p_k equals
 * PyTorch's (1 - eps) * CE(t) + eps * mean_k(-log p_k). Soft rows (mixup,
 * cutmix) go through the same formula, as in PyTorch with probability
 * targets, and every row still sums to 1 when it did before.
 *
 * Implemented with the ABI 1.1 targets() hook: the host calls it in training
 * only, so evaluation losses use the true one-hot targets, as PyTorch's
 * validation code usually does with a plain criterion. */
#include <regula/plugin.h>

typedef struct lsmooth {
    const rg_host_api *host;
    double eps;
} lsmooth;

static const rg_param_desc lsmooth_params[] = {
    RG_PARAM_FLOAT_DESC("epsilon", 0.1, 0.0, 1.0, 0,
                        "mix weight of the uniform distribution: t' = (1-eps)*t + eps/K"),
};

static rg_status lsmooth_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    lsmooth *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("label_smoothing: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->eps = params->values[0].number;
    *inst = s;
    return RG_OK;
}

static void lsmooth_destroy(void *inst)
{
    lsmooth *s = inst;
    s->host->free(s);
}

static rg_status lsmooth_targets(void *inst, rg_tensor_view *labels)
{
    lsmooth *s = inst;
    if (labels->ndim != 2 || labels->shape[1] < 1 ||
        labels->numel != labels->shape[0] * labels->shape[1]) {
        s->host->set_error("label_smoothing: targets must be [batch, classes], got %u dims",
                           (unsigned)labels->ndim);
        return RG_ERR_INVALID;
    }
    /* [batch, classes] is small (128 x 10): one thread, no parallel_for */
    const float keep = (float)(1.0 - s->eps);
    const float uniform = (float)(s->eps / (double)labels->shape[1]);
    for (int64_t i = 0; i < labels->numel; i++)
        labels->data[i] = keep * labels->data[i] + uniform;
    return RG_OK;
}

static const rg_regularizer_hooks lsmooth_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .targets = lsmooth_targets,
};

static const rg_plugin_desc lsmooth_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof lsmooth_params / sizeof lsmooth_params[0],
    .name = "label_smoothing",
    .version = "1.0.0",
    .doc = "training targets (1-eps)*t + eps/K (torch CrossEntropyLoss label_smoothing)",
    .params = lsmooth_params,
    .create = lsmooth_create,
    .destroy = lsmooth_destroy,
    .regularizer = &lsmooth_hooks,
};

RG_DEFINE_PLUGIN(lsmooth_desc)
