#include <math.h>

#include "../alloc.h"
#include "../error.h"
#include "optim.h"

void rg_optim_config_defaults(rg_optim_config *cfg)
{
    cfg->kind = RG_OPTIM_SGD;
    cfg->lr = 0.05;
    cfg->momentum = 0.9;
    cfg->nesterov = 0;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
}

rg_status rg_optim_init(rg_optimizer *opt, const rg_optim_config *cfg, rg_param **params,
                        int num_params)
{
    opt->cfg = *cfg;
    opt->steps = 0;
    int slots = cfg->kind == RG_OPTIM_ADAM ? 2 : (cfg->momentum != 0.0 ? 1 : 0);
    for (int i = 0; i < num_params; i++)
        for (int s = 0; s < slots; s++) {
            if (!params[i]->slot[s])
                params[i]->slot[s] = rg_alloc_floats((size_t)params[i]->numel);
            if (!params[i]->slot[s])
                return rg_error_set(RG_ERR_NOMEM, "%s: cannot allocate optimizer state",
                                    params[i]->name);
        }
    return RG_OK;
}

/* torch.optim.SGD: b = mu*b + g; g' = nesterov ? g + mu*b : b; w -= lr*g' */
static void sgd_update(const rg_optim_config *c, rg_param *p, float lr)
{
    float mu = (float)c->momentum;
    float *w = p->value, *g = p->grad, *b = p->slot[0];
    int64_t n = p->numel;
    if (mu == 0.0f) {
#pragma omp parallel for schedule(static) if (n >= 65536)
        for (int64_t i = 0; i < n; i++)
            w[i] -= lr * g[i];
        return;
    }
    int nesterov = c->nesterov;
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; i++) {
        b[i] = mu * b[i] + g[i];
        w[i] -= lr * (nesterov ? g[i] + mu * b[i] : b[i]);
    }
}

/* torch.optim.Adam (amsgrad=False): m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) */
static void adam_update(const rg_optim_config *c, rg_param *p, float lr, int64_t t)
{
    float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
    float bc1 = (float)(1.0 - pow(c->beta1, (double)t));
    float bc2 = (float)(1.0 - pow(c->beta2, (double)t));
    float *w = p->value, *g = p->grad, *m = p->slot[0], *v = p->slot[1];
    int64_t n = p->numel;
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= lr * (m[i] / bc1) / (sqrtf(v[i] / bc2) + eps);
    }
}

void rg_optim_step(rg_optimizer *opt, rg_param **params, int num_params, double lr)
{
    opt->steps++;
    for (int i = 0; i < num_params; i++) {
        if (opt->cfg.kind == RG_OPTIM_ADAM)
            adam_update(&opt->cfg, params[i], (float)lr, opt->steps);
        else
            sgd_update(&opt->cfg, params[i], (float)lr);
    }
}
