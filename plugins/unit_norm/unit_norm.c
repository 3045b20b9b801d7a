/* Unit-norm constraint: after every step, each unit's incoming weight vector
 * (dimension-0 slice: a row of a dense [out, in] weight, one filter of a
 * conv [out, in, kh, kw] weight) is divided by its L2 norm:
 *     w_u <- w_u / (eps + ||w_u||),   eps = 1e-7.
 * This is tf.keras.constraints.UnitNorm(axis=0) on a Keras Dense kernel
 * (input_dim, units) (axis=[0, 1, 2] on a Keras conv kernel (kh, kw, in, out)),
 * whose rule is w / (epsilon + sqrt(sum(square(w), axis))) with
 * epsilon = backend.epsilon() = 1e-7 (keras/constraints.py). A 1-D tensor (a
 * bias) is one unit.
 *
 * As in Keras, every unit is rescaled, also one already of norm 1 (it ends at
 * 1 / (1 + 1e-7)): the eps makes a unit land just below norm 1, by eps / ||w_u||
 * relatively, and each step renormalizes from scratch, so nothing compounds. A
 * zero unit has no direction and stays zero (0 / eps), as in Keras. The norm is
 * summed in double and each weight divided in double, then rounded once to float
 * (Keras works in float32: the results agree to about one float rounding). */
#include <math.h>
#include <regula/plugin.h>
#include <stdint.h>

#define UN_EPS 1e-7 /* Keras backend epsilon */

typedef struct unit_norm {
    const rg_host_api *host;
} unit_norm;

typedef struct un_job {
    float *w;
    int64_t len; /* elements per unit */
} un_job;

static rg_status un_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    (void)params;
    unit_norm *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("unit_norm: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    *inst = s;
    return RG_OK;
}

static void un_destroy(void *inst)
{
    unit_norm *s = inst;
    s->host->free(s);
}

/* One unit per iteration, its norm summed in a fixed order by one thread:
 * the result does not depend on how units are split across threads. */
static rg_status un_units(void *ctx, int64_t begin, int64_t end)
{
    un_job *j = ctx;
    for (int64_t u = begin; u < end; u++) {
        float *w = j->w + u * j->len;
        double sq = 0.0;
        for (int64_t i = 0; i < j->len; i++)
            sq += (double)w[i] * (double)w[i];
        double d = UN_EPS + sqrt(sq);
        for (int64_t i = 0; i < j->len; i++)
            w[i] = (float)((double)w[i] / d);
    }
    return RG_OK;
}

static rg_status un_project(void *inst, rg_tensor_view *param)
{
    unit_norm *s = inst;
    if (param->numel == 0)
        return RG_OK;
    int64_t units = param->ndim >= 2 ? param->shape[0] : 1;
    if (units <= 0 || param->numel % units != 0) {
        s->host->set_error("unit_norm: %s has %lld elements, not a multiple of %lld units",
                           param->name ? param->name : "tensor", (long long)param->numel,
                           (long long)units);
        return RG_ERR_INVALID;
    }
    un_job job = {param->data, param->numel / units};
    int64_t grain = job.len >= 16384 ? 1 : 16384 / job.len;
    return s->host->parallel_for(units, grain, un_units, &job);
}

static const rg_regularizer_hooks un_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .project = un_project,
};

static const rg_plugin_desc un_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = 0,
    .name = "unit_norm",
    .version = "1.0.0",
    .doc = "unit-norm constraint: each unit's weights divided by 1e-7 + their L2 norm "
           "(Keras UnitNorm)",
    .params = NULL,
    .create = un_create,
    .destroy = un_destroy,
    .regularizer = &un_hooks,
};

RG_DEFINE_PLUGIN(un_desc)
