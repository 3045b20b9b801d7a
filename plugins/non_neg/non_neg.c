/* Non-negativity constraint: after every step each weight below zero is set to
 * zero,
 *     w <- w * (w >= 0),
 * which is tf.keras.constraints.NonNeg (keras/constraints.py:
 * "w * ops.cast(ops.greater_equal(w, 0.0), dtype=w.dtype)"). Element-wise, so
 * the unit layout (dimension 0) does not matter and a bias is handled alike.
 *
 * One deliberate difference in the bits, not the value: Keras's product turns a
 * negative weight into -0.0 (negative times 0); here it becomes +0.0, so that a
 * constrained weight reads as a plain zero (sign bit clear) wherever sign bits
 * are inspected. A weight >= 0 (including -0.0, which compares equal to 0) is
 * left bit-identical, as the product by 1 leaves it; a NaN stays NaN, as in
 * Keras (NaN >= 0 is false and NaN * 0 is NaN). */
#include <regula/plugin.h>
#include <stdint.h>

typedef struct non_neg {
    const rg_host_api *host;
} non_neg;

typedef struct nn_job {
    float *w;
    int64_t n;
} nn_job;

static rg_status nn_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    (void)params;
    non_neg *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("non_neg: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    *inst = s;
    return RG_OK;
}

static void nn_destroy(void *inst)
{
    non_neg *s = inst;
    s->host->free(s);
}

#define NN_BLOCK 16384 /* elements per parallel_for index */

/* Each element depends on itself only: any split across threads gives the same bits. */
static rg_status nn_blocks(void *ctx, int64_t begin, int64_t end)
{
    nn_job *j = ctx;
    int64_t lo = begin * NN_BLOCK, hi = end * NN_BLOCK < j->n ? end * NN_BLOCK : j->n;
    float *restrict w = j->w;
    for (int64_t i = lo; i < hi; i++)
        w[i] = w[i] < 0.0f ? 0.0f : w[i];
    return RG_OK;
}

static rg_status nn_project(void *inst, rg_tensor_view *param)
{
    non_neg *s = inst;
    if (param->numel <= 0)
        return RG_OK;
    if (!param->data) {
        s->host->set_error("non_neg: %s has no data", param->name ? param->name : "tensor");
        return RG_ERR_INVALID;
    }
    nn_job job = {param->data, param->numel};
    return s->host->parallel_for((param->numel + NN_BLOCK - 1) / NN_BLOCK, 1, nn_blocks, &job);
}

static const rg_regularizer_hooks nn_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .project = nn_project,
};

static const rg_plugin_desc nn_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = 0,
    .name = "non_neg",
    .version = "1.0.0",
    .doc = "non-negativity constraint: w <- w * (w >= 0) after every step (Keras NonNeg)",
    .params = NULL,
    .create = nn_create,
    .destroy = nn_destroy,
    .regularizer = &nn_hooks,
};

RG_DEFINE_PLUGIN(nn_desc)
