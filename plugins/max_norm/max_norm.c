/* Max-norm constraint: after every step, each unit's incoming weight vector
 * (dimension-0 slice: a row of a dense [out, in] weight, one filter of a
 * conv [out, in, kh, kw] weight) is rescaled to an L2 norm of at most c:
 *     w_u <- w_u * c / (eps + ||w_u||)   when ||w_u|| > c,   eps = 1e-7.
 * This is tf.keras.constraints.MaxNorm(max_value=c, axis=0) on a Keras Dense
 * kernel (input_dim, units) (axis=[0, 1, 2] on a Keras conv kernel
 * (kh, kw, in, out)), whose rule is w * clip(norm, 0, c) / (epsilon + norm)
 * with epsilon = backend.epsilon() = 1e-7 (keras/constraints.py); see also
 * Srivastava et al., "Dropout", JMLR 2014, section 5.1.
 *
 * One deliberate difference: Keras multiplies a unit already within the norm
 * by norm / (eps + norm), a relative shrink of about 1e-7 / norm every step
 * (it compounds over a run, and is large for small units). Here such a unit
 * is left exactly as it is, which is what the constraint means.
 * A 1-D tensor (a bias) is one unit. */
#include <math.h>
#include <regula/plugin.h>
#include <stdint.h>
#include <string.h>

#define MN_EPS 1e-7 /* Keras backend epsilon */

typedef struct max_norm {
    const rg_host_api *host;
    double c;
} max_norm;

typedef struct mn_job {
    float *w;
    int64_t len;          /* elements per unit */
    double c;
} mn_job;

static const rg_param_desc mn_params[] = {
    RG_PARAM_FLOAT_DESC("max_value", 2.0, 0.0, 1e6, RG_PARAM_MIN_EXCLUSIVE,
                        "largest L2 norm allowed for each unit's incoming weights"),
};

static rg_status mn_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    max_norm *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("max_norm: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->c = params->values[0].number;
    *inst = s;
    return RG_OK;
}

static void mn_destroy(void *inst)
{
    max_norm *s = inst;
    s->host->free(s);
}

/* One unit per iteration, its norm summed in a fixed order by one thread:
 * the result does not depend on how units are split across threads. */
static rg_status mn_units(void *ctx, int64_t begin, int64_t end)
{
    mn_job *j = ctx;
    for (int64_t u = begin; u < end; u++) {
        float *w = j->w + u * j->len;
        double sq = 0.0;
        for (int64_t i = 0; i < j->len; i++)
            sq += (double)w[i] * (double)w[i];
        double norm = sqrt(sq);
        if (norm <= j->c)
            continue;
        float scale = (float)(j->c / (MN_EPS + norm));
        for (int64_t i = 0; i < j->len; i++)
            w[i] *= scale;
    }
    return RG_OK;
}

static rg_status mn_project(void *inst, rg_tensor_view *param)
{
    max_norm *s = inst;
    if (param->numel == 0)
        return RG_OK;
    int64_t units = param->ndim >= 2 ? param->shape[0] : 1;
    if (units <= 0 || param->numel % units != 0) {
        s->host->set_error("max_norm: %s has %lld elements, not a multiple of %lld units",
                           param->name ? param->name : "tensor", (long long)param->numel,
                           (long long)units);
        return RG_ERR_INVALID;
    }
    mn_job job = {param->data, param->numel / units, s->c};
    int64_t grain = job.len >= 16384 ? 1 : 16384 / job.len;
    return s->host->parallel_for(units, grain, mn_units, &job);
}

static const rg_regularizer_hooks mn_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .project = mn_project,
};

static const rg_plugin_desc mn_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof mn_params / sizeof mn_params[0],
    .name = "max_norm",
    .version = "1.0.0",
    .doc = "max-norm constraint: rescale each unit's weights to L2 norm <= max_value (Keras MaxNorm)",
    .params = mn_params,
    .create = mn_create,
    .destroy = mn_destroy,
    .regularizer = &mn_hooks,
};

RG_DEFINE_PLUGIN(mn_desc)
