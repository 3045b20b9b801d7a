#include <math.h>
#include <stdint.h>
#include <string.h>

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

/* Nonzero when the float's exponent bits are all ones (inf or NaN). The update loops
 * OR this over the gradient they read anyway: the finite check of every gradient costs
 * no pass of its own. */
static inline uint32_t nonfinite(float x)
{
#ifdef RG_NO_BOUNDARY_CHECKS /* bench/checks_overhead.sh's baseline */
    (void)x;
    return 0;
#endif
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x7f800000u) == 0x7f800000u;
}

/* torch.optim.SGD: b = mu*b + g; g' = nesterov ? g + mu*b : b; w -= lr*g' */
static uint32_t sgd_update(const rg_optim_config *c, rg_param *p, float lr)
{
    float mu = (float)c->momentum;
    float *w = p->value, *g = p->grad, *b = p->slot[0];
    int64_t n = p->numel;
    uint32_t bad = 0;
    if (mu == 0.0f) {
#pragma omp parallel for schedule(static) if (n >= 65536) reduction(| : bad)
        for (int64_t i = 0; i < n; i++) {
            bad |= nonfinite(g[i]);
            w[i] -= lr * g[i];
        }
        return bad;
    }
    int nesterov = c->nesterov;
#pragma omp parallel for schedule(static) if (n >= 65536) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
        bad |= nonfinite(g[i]);
        b[i] = mu * b[i] + g[i];
        w[i] -= lr * (nesterov ? g[i] + mu * b[i] : b[i]);
    }
    return bad;
}

/* torch.optim.Adam (amsgrad=False): m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) */
static uint32_t adam_update(const rg_optim_config *c, rg_param *p, float lr, int64_t t)
{
    float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
    float bc1 = (float)(1.0 - pow(c->beta1, (double)t));
    float bc2 = (float)(1.0 - pow(c->beta2, (double)t));
    float *w = p->value, *g = p->grad, *m = p->slot[0], *v = p->slot[1];
    int64_t n = p->numel;
    uint32_t bad = 0;
#pragma omp parallel for schedule(static) if (n >= 65536) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
        bad |= nonfinite(g[i]);
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= lr * (m[i] / bc1) / (sqrtf(v[i] / bc2) + eps);
    }
    return bad;
}

int rg_optim_step(rg_optimizer *opt, rg_param **params, int num_params, double lr)
{
    opt->steps++;
    int first_bad = -1;
    for (int i = 0; i < num_params; i++) {
        uint32_t bad = opt->cfg.kind == RG_OPTIM_ADAM
                           ? adam_update(&opt->cfg, params[i], (float)lr, opt->steps)
                           : sgd_update(&opt->cfg, params[i], (float)lr);
        if (bad && first_bad < 0)
            first_bad = i;
    }
    return first_bad;
}
