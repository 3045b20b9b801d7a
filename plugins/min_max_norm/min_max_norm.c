/* Min-max-norm constraint: after every step, each unit's incoming weight vector
 * (dimension-0 slice: a row of a dense [out, in] weight, one filter of a conv
 * [out, in, kh, kw] weight; a 1-D tensor, a bias, is one unit) is rescaled
 * towards an L2 norm inside [min_value, max_value]:
 *     desired = rate * clip(||w_u||, min_value, max_value) + (1 - rate) * ||w_u||
 *     w_u <- w_u * desired / (eps + ||w_u||),   eps = 1e-7.
 * This is tf.keras.constraints.MinMaxNorm(min_value, max_value, rate, axis=0) on a
 * Keras Dense kernel (input_dim, units) (axis=[0, 1, 2] on a Keras conv kernel
 * (kh, kw, in, out)), with epsilon = backend.epsilon() = 1e-7 (keras/constraints.py),
 * and its defaults min_value=0, max_value=1, rate=1. rate=1 enforces the bounds
 * strictly; rate < 1 moves the norm part of the way each step, as Keras documents.
 *
 * One deliberate difference, the one max_norm makes: a unit whose norm is already
 * inside [min_value, max_value] has desired = ||w_u|| whatever the rate, and is left
 * exactly as it is. Keras multiplies it by ||w_u|| / (eps + ||w_u||), a relative
 * shrink of about 1e-7 / ||w_u|| every step that compounds over a run and is large
 * for small units (with the default min_value=0 every unit under the norm is such a
 * unit). A unit rescaled to max_value lands just under it (by eps / ||w_u||
 * relatively), hence inside the interval at the next step, so it too stays put; a
 * unit raised to min_value lands just under min_value and is raised again each step
 * (no compounding: each step targets min_value afresh). A zero unit has no direction
 * and stays zero, as in Keras.
 *
 * min_value > max_value is refused in create(), with a message (Keras does not check it).
 * For that, min_value is declared in [0, 1] (1 being max_value's default), not up to 1e6:
 * `regula plugin check` creates the plugin at each parameter's declared bounds with the
 * others at their defaults, so min_value=1e6 beside the default max_value=1 would have to
 * be accepted. A lower bound above 1 (Keras allows any) is therefore not offered. */
#include <math.h>
#include <regula/plugin.h>
#include <stdint.h>

#define MMN_EPS 1e-7 /* Keras backend epsilon */

typedef struct min_max_norm {
    const rg_host_api *host;
    double lo, hi, rate;
} min_max_norm;

typedef struct mmn_job {
    const min_max_norm *s;
    float *w;
    int64_t len; /* elements per unit */
} mmn_job;

static const rg_param_desc mmn_params[] = {
    RG_PARAM_FLOAT_DESC("min_value", 0.0, 0.0, 1.0, 0,
                        "smallest L2 norm allowed for each unit's incoming weights (<= max_value)"),
    RG_PARAM_FLOAT_DESC("max_value", 1.0, 0.0, 1e6, RG_PARAM_MIN_EXCLUSIVE,
                        "largest L2 norm allowed for each unit's incoming weights"),
    RG_PARAM_FLOAT_DESC("rate", 1.0, 0.0, 1.0, 0,
                        "1: enforce the bounds every step; below 1: move the norm part of the way"),
};

static rg_status mmn_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    double lo = params->values[0].number, hi = params->values[1].number;
    if (lo > hi) {
        host->set_error("min_max_norm: min_value=%g is greater than max_value=%g", lo, hi);
        return RG_ERR_INVALID;
    }
    min_max_norm *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("min_max_norm: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->lo = lo;
    s->hi = hi;
    s->rate = params->values[2].number;
    *inst = s;
    return RG_OK;
}

static void mmn_destroy(void *inst)
{
    min_max_norm *s = inst;
    s->host->free(s);
}

/* One unit per iteration, its norm summed in a fixed order by one thread:
 * the result does not depend on how units are split across threads. */
static rg_status mmn_units(void *ctx, int64_t begin, int64_t end)
{
    mmn_job *j = ctx;
    const double lo = j->s->lo, hi = j->s->hi, rate = j->s->rate;
    for (int64_t u = begin; u < end; u++) {
        float *w = j->w + u * j->len;
        double sq = 0.0;
        for (int64_t i = 0; i < j->len; i++)
            sq += (double)w[i] * (double)w[i];
        double norm = sqrt(sq);
        if (norm >= lo && norm <= hi) /* desired == norm: nothing to do */
            continue;
        double clipped = norm < lo ? lo : hi;
        double scale = (rate * clipped + (1.0 - rate) * norm) / (MMN_EPS + norm);
        for (int64_t i = 0; i < j->len; i++)
            w[i] = (float)((double)w[i] * scale);
    }
    return RG_OK;
}

static rg_status mmn_project(void *inst, rg_tensor_view *param)
{
    min_max_norm *s = inst;
    if (param->numel == 0)
        return RG_OK;
    int64_t units = param->ndim >= 2 ? param->shape[0] : 1;
    if (units <= 0 || param->numel % units != 0) {
        s->host->set_error("min_max_norm: %s has %lld elements, not a multiple of %lld units",
                           param->name ? param->name : "tensor", (long long)param->numel,
                           (long long)units);
        return RG_ERR_INVALID;
    }
    mmn_job job = {s, param->data, param->numel / units};
    int64_t grain = job.len >= 16384 ? 1 : 16384 / job.len;
    return s->host->parallel_for(units, grain, mmn_units, &job);
}

static const rg_regularizer_hooks mmn_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .project = mmn_project,
};

static const rg_plugin_desc mmn_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof mmn_params / sizeof mmn_params[0],
    .name = "min_max_norm",
    .version = "1.0.0",
    .doc = "min-max-norm constraint: rescale each unit's weights to an L2 norm in "
           "[min_value, max_value] (Keras MinMaxNorm)",
    .params = mmn_params,
    .create = mmn_create,
    .destroy = mmn_destroy,
    .regularizer = &mmn_hooks,
};

RG_DEFINE_PLUGIN(mmn_desc)
