/* Confidence penalty: Pereyra, Tucker, Chorowski, Kaiser & Hinton, "Regularizing
 * Neural Networks by Penalizing Confident Output Distributions", ICLR 2017
 * workshop, eq. 2: the loss gains -beta * H(p(y|x)), the negative entropy of the
 * model's output distribution, so that training prefers less confident outputs:
 *
 *   p_n = softmax(z_n),  H_n = -sum_j p_nj log p_nj
 *   penalty = -beta * (1 / batch) * sum_n H_n
 *   dpenalty/dz_nj = beta / batch * p_nj (log p_nj + H_n)
 *
 * (dH/dz_j = -p_j (log p_j + H) for a softmax.) The mean over the batch matches the
 * host's data loss, a mean cross-entropy. "batch" is the whole batch, ctx->batch_rows
 * (ABI 1.4): in a data-parallel run each process sees a slice, and the host sums the
 * processes' penalties and gradients. Only the plain penalty of eq. 2; the paper's
 * hinged variant (a threshold on the entropy) is not offered.
 *
 * An activation hook whose input must be the logits z [batch, classes], the output of
 * the model's last layer. Attach it with after=<that layer>; without after= the host
 * places it after every hidden ReLU, where the penalty means nothing. The output layer
 * is a site only when after= names it (since ABI 1.5), e.g. after=dense3 on mlp:512,256.
 * Each row is one sample's distribution over its numel / shape[0] values.
 *
 * Forward leaves the activations unchanged and adds the penalty in training only;
 * backward recomputes p from ctx->output (= z) and adds the gradient into the incoming
 * gradient. The softmax subtracts the row's maximum and takes log p_j = z_j - max -
 * log sum exp(z - max), so p_j log p_j is finite even where p_j underflows to 0; all
 * of it in double.
 *
 * Determinism: each row's entropy is computed by one thread and kept in the host-owned
 * activation state; the penalty sums them in row order, so its bits do not depend on
 * the thread count. */
#include <math.h>
#include <regula/plugin.h>

typedef struct conf_pen {
    const rg_host_api *host;
    double beta;
} conf_pen;

typedef struct cp_job {
    const float *z;
    float *g;       /* backward: gradient, [rows, len] */
    double *h;      /* forward: entropy per row */
    double coef;    /* backward: beta / batch */
    int64_t len;    /* values per row */
} cp_job;

static const rg_param_desc cp_params[] = {
    RG_PARAM_FLOAT_DESC("beta", 0.1, 0.0, 10.0, 0,
                        "weight of the negative entropy of softmax(logits) added to the loss"),
};

static rg_status cp_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    conf_pen *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("confidence_penalty: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->beta = params->values[0].number;
    *inst = s;
    return RG_OK;
}

static void cp_destroy(void *inst)
{
    conf_pen *s = inst;
    s->host->free(s);
}

static int64_t rows_of(const rg_tensor_view *v)
{
    return v->ndim >= 1 && v->shape[0] > 0 ? v->shape[0] : 1;
}

static size_t cp_state_bytes(void *inst, const rg_tensor_view *act)
{
    (void)inst;
    return act->numel > 0 ? (size_t)rows_of(act) * sizeof(double) : 0; /* H per row */
}

/* max and log sum exp(z - max) of one row */
static void log_normalizer(const float *z, int64_t len, double *max, double *log_sum)
{
    double m = z[0];
    for (int64_t j = 1; j < len; j++)
        m = z[j] > m ? z[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < len; j++)
        s += exp((double)z[j] - m);
    *max = m;
    *log_sum = log(s);
}

/* H = -sum p log p with log p_j = z_j - max - log_sum */
static double entropy(const float *z, int64_t len, double m, double ls)
{
    double h = 0.0;
    for (int64_t j = 0; j < len; j++) {
        double lp = (double)z[j] - m - ls;
        h -= exp(lp) * lp;
    }
    return h;
}

static rg_status entropy_rows(void *ctx, int64_t begin, int64_t end)
{
    cp_job *j = ctx;
    for (int64_t r = begin; r < end; r++) {
        const float *z = j->z + r * j->len;
        double m, ls;
        log_normalizer(z, j->len, &m, &ls);
        j->h[r] = entropy(z, j->len, m, ls);
    }
    return RG_OK;
}

static rg_status gradient_rows(void *ctx, int64_t begin, int64_t end)
{
    cp_job *j = ctx;
    for (int64_t r = begin; r < end; r++) {
        const float *z = j->z + r * j->len;
        float *g = j->g + r * j->len;
        double m, ls;
        log_normalizer(z, j->len, &m, &ls);
        double h = entropy(z, j->len, m, ls);
        for (int64_t k = 0; k < j->len; k++) {
            double lp = (double)z[k] - m - ls;
            g[k] += (float)(j->coef * exp(lp) * (lp + h));
        }
    }
    return RG_OK;
}

static int64_t batch_of(const rg_activation_ctx *ctx, const rg_tensor_view *v)
{
    if (RG_HAS_FIELD(ctx, rg_activation_ctx, batch_rows) && ctx->batch_rows > 0)
        return ctx->batch_rows;
    return rows_of(v);
}

/* rows of at least this many values go one per parallel_for index */
#define CP_GRAIN_VALUES 4096

static int64_t grain_of(int64_t len)
{
    return len >= CP_GRAIN_VALUES ? 1 : CP_GRAIN_VALUES / len;
}

static rg_status cp_forward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *act)
{
    conf_pen *s = inst;
    if (ctx->mode != RG_MODE_TRAIN || act->numel <= 0)
        return RG_OK;
    int64_t rows = rows_of(act);
    size_t need = (size_t)rows * sizeof(double);
    if (!ctx->state || ctx->state_bytes < need) {
        s->host->set_error("confidence_penalty: activation_forward needs %zu bytes of "
                           "activation state, got %zu",
                           need, ctx->state ? ctx->state_bytes : (size_t)0);
        return RG_ERR_INVALID;
    }
    cp_job j = {act->data, NULL, ctx->state, 0.0, act->numel / rows};
    rg_status st = s->host->parallel_for(rows, grain_of(j.len), entropy_rows, &j);
    if (st != RG_OK)
        return st;
    double sum = 0.0;
    for (int64_t r = 0; r < rows; r++)
        sum += j.h[r];
    ctx->penalty += -s->beta * sum / (double)batch_of(ctx, act);
    return RG_OK;
}

static rg_status cp_backward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *grad)
{
    conf_pen *s = inst;
    if (grad->numel <= 0 || s->beta == 0.0)
        return RG_OK;
    const rg_tensor_view *out = ctx->output;
    if (!out || !out->data || out->numel != grad->numel) {
        s->host->set_error("confidence_penalty: activation_backward needs ctx->output with "
                           "%lld elements", (long long)grad->numel);
        return RG_ERR_INVALID;
    }
    int64_t rows = rows_of(grad);
    cp_job j = {out->data, grad->data, NULL, s->beta / (double)batch_of(ctx, grad),
                grad->numel / rows};
    return s->host->parallel_for(rows, grain_of(j.len), gradient_rows, &j);
}

static const rg_regularizer_hooks cp_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .activation_state_bytes = cp_state_bytes,
    .activation_forward = cp_forward,
    .activation_backward = cp_backward,
};

static const rg_plugin_desc cp_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = sizeof cp_params / sizeof cp_params[0],
    .name = "confidence_penalty",
    .version = "1.0.0",
    .doc = "confidence penalty: -beta * mean entropy of softmax(logits) (Pereyra et al. 2017); "
           "use after=<last dense>",
    .params = cp_params,
    .create = cp_create,
    .destroy = cp_destroy,
    .regularizer = &cp_hooks,
};

RG_DEFINE_PLUGIN(cp_desc)
