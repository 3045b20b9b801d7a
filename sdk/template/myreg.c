/* myreg: a log-cosh weight penalty, lambda * sum(log(cosh(w))), gradient
 * lambda * tanh(w). It behaves like L2 for small weights and like L1 for
 * large ones. Copy this file to start your own regularizer. */
#include <math.h>
#include <regula/plugin.h>

typedef struct myreg {
    const rg_host_api *host;  /* keep the host table: it is your only link to regula */
    double lambda;
} myreg;

/* The schema: the host parses and range-checks "lambda=..." for you. */
static const rg_param_desc myreg_params[] = {
    RG_PARAM_FLOAT_DESC("lambda", 1e-4, 0.0, 1.0, RG_PARAM_LOG_SCALE,
                        "strength of the log-cosh penalty"),
};

static rg_status myreg_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    myreg *r = host->alloc(sizeof *r);   /* host memory: the checker counts leaks */
    if (!r) {
        host->set_error("myreg: out of memory");
        return RG_ERR_NOMEM;
    }
    r->host = host;
    r->lambda = params->values[0].number; /* values come in schema order */
    *inst = r;
    return RG_OK;
}

static void myreg_destroy(void *inst)
{
    myreg *r = inst;
    r->host->free(r);
}

typedef struct job {
    const float *w;
    float *g;
    float lambda;
} job;

/* Runs on the host's threads. Each element is independent, so the split
 * into chunks does not change the gradient's bits. */
static rg_status grad_range(void *ctx, int64_t begin, int64_t end)
{
    job *j = ctx;
    for (int64_t i = begin; i < end; i++)
        j->g[i] += j->lambda * tanhf(j->w[i]);
    return RG_OK;
}

static rg_status myreg_penalty(void *inst, const rg_tensor_view *param, double *loss,
                               rg_tensor_view *grad)
{
    myreg *r = inst;
    job j = {param->data, grad->data, (float)r->lambda};
    rg_status st = r->host->parallel_for(param->numel, 4096, grad_range, &j);
    if (st != RG_OK)
        return st;
    double sum = 0.0; /* sequential: the same penalty at any thread count */
    for (int64_t i = 0; i < param->numel; i++) {
        double a = fabs((double)param->data[i]);
        sum += a + log1p(exp(-2.0 * a)) - log(2.0); /* log(cosh(a)) without overflow */
    }
    *loss += r->lambda * sum;
    return RG_OK;
}

static const rg_regularizer_hooks myreg_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .penalty = myreg_penalty,   /* hooks you do not need stay NULL */
};

static const rg_plugin_desc myreg_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_PENALTY_NONNEG,
    .num_params = sizeof myreg_params / sizeof myreg_params[0],
    .name = "myreg",
    .version = "0.1.0",
    .doc = "log-cosh weight penalty lambda*sum(log(cosh(w)))",
    .params = myreg_params,
    .create = myreg_create,
    .destroy = myreg_destroy,
    .regularizer = &myreg_hooks,
};

RG_DEFINE_PLUGIN(myreg_desc)
