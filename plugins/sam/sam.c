/* Sharpness-Aware Minimization (Foret, Kleiner, Mobahi & Neyshabur, "Sharpness-Aware
 * Minimization for Efficiently Improving Generalization", ICLR 2021, Algorithm 1 with
 * p = 2): at every step, with g the gradient of the batch loss at w,
 *
 *   e = rho * g / ||g||_2                (eq. 2; the norm over all tensors it is given)
 *   g_SAM = grad L_batch(w + e)          (a second forward and backward on the same batch)
 *
 * and the optimizer steps w (not w + e) with g_SAM. The 1e-12 added to the norm is the
 * reference implementation's (google-research/sam, and davda54/sam for PyTorch), so a zero
 * gradient perturbs nothing. The second evaluation uses the same batch and the same
 * dropout and weight-transform draws (the host's step_evaluate), and the weights are put
 * back from a copy, bit for bit, not by subtracting e.
 *
 * Which tensors are perturbed is the host's selection: weights by default, tensors=all
 * for every parameter as in the paper. Penalties (l2, ...) are added by the host at w after
 * this hook, as weight decay is applied at w in the paper's experiments. Batch-norm running
 * statistics see both passes. */
#include <math.h>
#include <regula/plugin.h>
#include <string.h>

typedef struct sam {
    const rg_host_api *host;
    double rho;
    float *copy;     /* the weights before the perturbation */
    int64_t cap;     /* floats in copy */
} sam;

static const rg_param_desc sam_params[] = {
    RG_PARAM_FLOAT_DESC("rho", 0.05, 0.0, 10.0, RG_PARAM_MIN_EXCLUSIVE,
                        "radius of the neighbourhood: the weights move by rho along g/||g||"),
};

static rg_status sam_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    sam *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("sam: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->rho = params->values[0].number;
    *inst = s;
    return RG_OK;
}

static void sam_destroy(void *inst)
{
    sam *s = inst;
    s->host->free(s->copy);
    s->host->free(s);
}

static rg_status grow(sam *s, int64_t floats)
{
    if (floats <= s->cap)
        return RG_OK;
    float *c = s->host->alloc((size_t)floats * sizeof(float));
    if (!c) {
        s->host->set_error("sam: cannot allocate a copy of %lld weights", (long long)floats);
        return RG_ERR_NOMEM;
    }
    s->host->free(s->copy);
    s->copy = c;
    s->cap = floats;
    return RG_OK;
}

static rg_status sam_step_wrap(void *inst, const rg_step_info *step, rg_step_handle *h)
{
    sam *s = inst;
    const rg_host_api *host = s->host;
    (void)step;
    int64_t count = host->step_tensors(h), total = 0;
    rg_tensor_view v, g;
    /* one thread, a fixed order: the norm is the same at every thread count */
    double sq = 0.0;
    for (int64_t i = 0; i < count; i++) {
        rg_status st = host->step_tensor(h, i, &v, &g);
        if (st != RG_OK)
            return st;
        for (int64_t k = 0; k < g.numel; k++)
            sq += (double)g.data[k] * (double)g.data[k];
        total += v.numel;
    }
    rg_status st = grow(s, total);
    if (st != RG_OK)
        return st;
    float scale = (float)(s->rho / (sqrt(sq) + 1e-12));
    int64_t at = 0;
    for (int64_t i = 0; i < count; i++) {
        host->step_tensor(h, i, &v, &g);
        memcpy(s->copy + at, v.data, (size_t)v.numel * sizeof(float));
        for (int64_t k = 0; k < v.numel; k++)
            v.data[k] += scale * g.data[k];
        at += v.numel;
    }
    double loss = 0.0;
    rg_status ev = host->step_evaluate(h, &loss);
    at = 0;
    for (int64_t i = 0; i < count; i++) {
        host->step_tensor(h, i, &v, &g);
        memcpy(v.data, s->copy + at, (size_t)v.numel * sizeof(float));
        at += v.numel;
    }
    return ev;
}

static const rg_regularizer_hooks sam_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .step_wrap = sam_step_wrap,
};

static const rg_plugin_desc sam_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof sam_params / sizeof sam_params[0],
    .name = "sam",
    .version = "1.0.0",
    .doc = "sharpness-aware minimization: gradient at w + rho*g/||g|| (Foret et al. 2021)",
    .params = sam_params,
    .create = sam_create,
    .destroy = sam_destroy,
    .regularizer = &sam_hooks,
};

RG_DEFINE_PLUGIN(sam_desc)
