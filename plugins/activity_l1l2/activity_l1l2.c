/* Activity regularization, as a Keras layer's activity_regularizer=L1L2(l1, l2)
 * on the selected layer's output a = [batch, ...]:
 *
 *   penalty = (l1 * sum_i |a_i| + l2 * sum_i a_i^2) / batch
 *   dpenalty/da_i = (l1 * sign(a_i) + 2 * l2 * a_i) / batch,  sign(0) = 0
 *
 * The regularizer itself is keras.regularizers.L1L2 (l1 * sum|x| +
 * l2 * sum x^2). The division by the batch size is what tf.keras does with
 * an activity regularizer: tensorflow/python/keras/engine/base_layer.py,
 * _handle_activity_regularization: "mean_activity_loss = activity_loss /
 * batch_size  # Make activity regularization strength batch-agnostic". The
 * Keras 3 docs (keras/src/regularizers/regularizers.py) promise the same;
 * Keras 3's layer.py had dropped it until keras-team/keras#22021 (fixing
 * issue #22018) restored it. So the penalty is per-sample-mean, like the
 * host's data loss (mean cross-entropy over the batch), and l1/l2 mean the
 * same numbers as in Keras. "batch" is the whole batch: in a data-parallel
 * run each process sees a slice of it, and dividing by the rows of the slice
 * would make the processes' summed penalty N times too large; the 1.4 field
 * batch_rows gives the whole batch's rows (a build against an older header
 * falls back to the rows it sees, which the host refuses in such runs).
 *
 * Forward leaves the activations unchanged (identity transform) and adds the
 * penalty to ctx->penalty in training only; backward adds the gradient,
 * computed from ctx->output (= a), into the incoming gradient.
 *
 * Determinism: the sums run over fixed chunks of AL1L2_CHUNK elements (in
 * double, partial sums kept in the host-owned activation state) and are
 * added in chunk order, so the penalty's bits do not depend on the thread
 * count. */
#include <regula/plugin.h>

typedef struct al1l2 {
    const rg_host_api *host;
    double l1, l2;
} al1l2;

typedef struct al1l2_job {
    const float *a;
    float *g;
    double *partial; /* [chunks][2]: sum |a|, sum a^2 */
    float c1, c2;    /* gradient coefficients l1/batch, 2*l2/batch */
    int64_t n;
} al1l2_job;

static const rg_param_desc al1l2_params[] = {
    RG_PARAM_FLOAT_DESC("l1", 0.0, 0.0, 1.0, RG_PARAM_LOG_SCALE,
                        "weight of sum|a| per sample (keras L1L2 l1, divided by batch)"),
    RG_PARAM_FLOAT_DESC("l2", 1e-5, 0.0, 1.0, RG_PARAM_LOG_SCALE,
                        "weight of sum a^2 per sample (keras L1L2 l2, divided by batch)"),
};

static rg_status al1l2_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    al1l2 *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("activity_l1l2: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->l1 = params->values[0].number;
    s->l2 = params->values[1].number;
    *inst = s;
    return RG_OK;
}

static void al1l2_destroy(void *inst)
{
    al1l2 *s = inst;
    s->host->free(s);
}

#define AL1L2_CHUNK 8192
#define AL1L2_LANES 8

static int64_t chunks_of(int64_t numel)
{
    return (numel + AL1L2_CHUNK - 1) / AL1L2_CHUNK;
}

static size_t al1l2_state_bytes(void *inst, const rg_tensor_view *act)
{
    (void)inst;
    return act->numel > 0 ? (size_t)chunks_of(act->numel) * 2 * sizeof(double) : 0;
}

static rg_status sum_chunks(void *ctx, int64_t begin, int64_t end)
{
    al1l2_job *j = ctx;
    for (int64_t c = begin; c < end; c++) {
        int64_t lo = c * AL1L2_CHUNK, hi = lo + AL1L2_CHUNK < j->n ? lo + AL1L2_CHUNK : j->n;
        double abs_lanes[AL1L2_LANES] = {0}, sq_lanes[AL1L2_LANES] = {0};
        int64_t i = lo;
        for (; i + AL1L2_LANES <= hi; i += AL1L2_LANES)
            for (int k = 0; k < AL1L2_LANES; k++) {
                double v = j->a[i + k];
                abs_lanes[k] += v < 0 ? -v : v;
                sq_lanes[k] += v * v;
            }
        double sa = 0.0, sq = 0.0;
        for (; i < hi; i++) {
            double v = j->a[i];
            sa += v < 0 ? -v : v;
            sq += v * v;
        }
        for (int k = 0; k < AL1L2_LANES; k++) {
            sa += abs_lanes[k];
            sq += sq_lanes[k];
        }
        j->partial[2 * c] = sa;
        j->partial[2 * c + 1] = sq;
    }
    return RG_OK;
}

static rg_status add_gradient(void *ctx, int64_t begin, int64_t end)
{
    al1l2_job *j = ctx;
    int64_t lo = begin * AL1L2_CHUNK;
    int64_t hi = end * AL1L2_CHUNK < j->n ? end * AL1L2_CHUNK : j->n;
    for (int64_t i = lo; i < hi; i++) {
        float v = j->a[i];
        float sgn = (float)(v > 0.0f) - (float)(v < 0.0f);
        j->g[i] += j->c1 * sgn + j->c2 * v;
    }
    return RG_OK;
}

static int64_t batch_of(const rg_activation_ctx *ctx, const rg_tensor_view *v)
{
#if REGULA_ABI_MINOR >= 4
    if (RG_HAS_FIELD(ctx, rg_activation_ctx, batch_rows) && ctx->batch_rows > 0)
        return ctx->batch_rows;
#else
    (void)ctx;
#endif
    return v->ndim >= 1 && v->shape[0] > 0 ? v->shape[0] : 1;
}

static rg_status al1l2_forward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *act)
{
    al1l2 *s = inst;
    if (ctx->mode != RG_MODE_TRAIN || act->numel <= 0)
        return RG_OK;
    int64_t chunks = chunks_of(act->numel);
    size_t need = (size_t)chunks * 2 * sizeof(double);
    if (!ctx->state || ctx->state_bytes < need) {
        s->host->set_error("activity_l1l2: activation_forward needs %zu bytes of activation "
                           "state, got %zu", need, ctx->state ? ctx->state_bytes : (size_t)0);
        return RG_ERR_INVALID;
    }
    al1l2_job j = {act->data, NULL, ctx->state, 0.0f, 0.0f, act->numel};
    rg_status st = s->host->parallel_for(chunks, 1, sum_chunks, &j);
    if (st != RG_OK)
        return st;
    double sum_abs = 0.0, sum_sq = 0.0;
    for (int64_t c = 0; c < chunks; c++) {
        sum_abs += j.partial[2 * c];
        sum_sq += j.partial[2 * c + 1];
    }
    ctx->penalty += (s->l1 * sum_abs + s->l2 * sum_sq) / (double)batch_of(ctx, act);
    return RG_OK;
}

static rg_status al1l2_backward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *grad)
{
    al1l2 *s = inst;
    if (grad->numel <= 0)
        return RG_OK;
    const rg_tensor_view *out = ctx->output;
    if (!out || !out->data || out->numel != grad->numel) {
        s->host->set_error("activity_l1l2: activation_backward needs ctx->output with %lld "
                           "elements", (long long)grad->numel);
        return RG_ERR_INVALID;
    }
    double b = (double)batch_of(ctx, grad);
    al1l2_job j = {out->data, grad->data, NULL, (float)(s->l1 / b), (float)(2.0 * s->l2 / b),
                   grad->numel};
    return s->host->parallel_for(chunks_of(grad->numel), 1, add_gradient, &j);
}

static const rg_regularizer_hooks al1l2_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .activation_state_bytes = al1l2_state_bytes,
    .activation_forward = al1l2_forward,
    .activation_backward = al1l2_backward,
};

static const rg_plugin_desc al1l2_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof al1l2_params / sizeof al1l2_params[0],
    .name = "activity_l1l2",
    .version = "1.1.0",
    .doc = "activity penalty (l1*sum|a| + l2*sum a^2)/batch on a layer's output (keras L1L2)",
    .params = al1l2_params,
    .create = al1l2_create,
    .destroy = al1l2_destroy,
    .regularizer = &al1l2_hooks,
};

RG_DEFINE_PLUGIN(al1l2_desc)
