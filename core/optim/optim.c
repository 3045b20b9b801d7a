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

/* torch.optim.SGD: b = mu*b + g; g' = nesterov ? g + mu*b : b; w -= lr*g'.
 * With a linear decay c * w folded into the gradient: gi is one float multiply
 * and one float add, exactly what the plugin's penalty() would have added, so folding
 * changes no bit of the weights. The loop also takes the sum of w^2 (before the update)
 * in double, which the compiler may not vectorize as one running sum (it must not reorder
 * the additions): FOLD_W independent lanes instead, the form it vectorizes. A lane also
 * accumulates gi - gi, 0 for a finite gradient and NaN otherwise: the finite check in a
 * form that vectorizes with the rest. The tensor is cut into at most FOLD_MAX_CHUNKS
 * chunks whose bounds depend on n alone, summed in chunk order, so the penalty's bits do
 * not depend on the thread count. */
#define FOLD_W 16
#define FOLD_MAX_CHUNKS 256

/* momentum 0: plain SGD; 1: heavy ball; 2: Nesterov. A constant at each call. */
static inline __attribute__((always_inline)) uint32_t
fold_chunk_body(float *restrict w, const float *restrict g, float *restrict b, int64_t lo,
                int64_t hi, float c, float lr, float mu, int momentum, int fold, double *sum)
{
    double acc[FOLD_W] = {0};
    float chk[FOLD_W] = {0};
    int64_t i = lo;
    for (; i + FOLD_W <= hi; i += FOLD_W)
        for (int k = 0; k < FOLD_W; k++) {
            float wi = w[i + k];
            float gi = fold ? g[i + k] + c * wi : g[i + k];
            chk[k] += gi - gi;
            if (fold)
                acc[k] += (double)wi * (double)wi;
            if (momentum == 0) {
                w[i + k] = wi - lr * gi;
            } else {
                float bi = mu * b[i + k] + gi;
                b[i + k] = bi;
                w[i + k] = wi - lr * (momentum == 2 ? gi + mu * bi : bi);
            }
        }
    uint32_t bad = 0;
    double s = 0.0;
    for (; i < hi; i++) {
        float gi = fold ? g[i] + c * w[i] : g[i];
        bad |= nonfinite(gi);
        if (fold)
            s += (double)w[i] * (double)w[i];
        if (momentum == 0) {
            w[i] -= lr * gi;
        } else {
            b[i] = mu * b[i] + gi;
            w[i] -= lr * (momentum == 2 ? gi + mu * b[i] : b[i]);
        }
    }
    for (int k = 0; k < FOLD_W; k++) {
        s += acc[k];
        bad |= chk[k] != 0.0f;
    }
    *sum = s;
    return bad;
}

/* One straight-line loop per (momentum, fold) pair. */
static inline __attribute__((always_inline)) uint32_t
fold_chunk_switch(float *w, const float *g, float *b, int64_t lo, int64_t hi, float c, float lr,
                  float mu, int momentum, int fold, double *sum)
{
#define V(M, F) fold_chunk_body(w, g, b, lo, hi, c, lr, mu, M, F, sum)
    switch (momentum * 2 + !!fold) {
    case 0: return V(0, 0);
    case 1: return V(0, 1);
    case 2: return V(1, 0);
    case 3: return V(1, 1);
    case 4: return V(2, 0);
    default: return V(2, 1);
    }
#undef V
}

static uint32_t fold_chunk_base(float *w, const float *g, float *b, int64_t lo, int64_t hi,
                                float c, float lr, float mu, int momentum, int fold, double *sum)
{
    return fold_chunk_switch(w, g, b, lo, hi, c, lr, mu, momentum, fold, sum);
}

/* The same loop built for AVX-512 where the CPU has it (the double lanes convert 8 floats
 * per instruction instead of 2). The file is built with -ffp-contract=off, so the
 * multiply-add of the decay stays two roundings here too, as in the plugin. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx512f"))) static uint32_t
fold_chunk_avx512(float *w, const float *g, float *b, int64_t lo, int64_t hi, float c, float lr,
                  float mu, int momentum, int fold, double *sum)
{
    return fold_chunk_switch(w, g, b, lo, hi, c, lr, mu, momentum, fold, sum);
}

static int fold_avx512(void)
{
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512f") != 0;
    }
    return have;
}
#else
#define fold_chunk_avx512 fold_chunk_base
static int fold_avx512(void) { return 0; }
#endif

static uint32_t fold_chunk(float *w, const float *g, float *b, int64_t lo, int64_t hi, float c,
                           float lr, float mu, int momentum, int fold, double *sum, int wide)
{
    return wide ? fold_chunk_avx512(w, g, b, lo, hi, c, lr, mu, momentum, fold, sum)
                : fold_chunk_base(w, g, b, lo, hi, c, lr, mu, momentum, fold, sum);
}

/* Chunks of 16384 floats (more when a tensor would need over FOLD_MAX_CHUNKS), a multiple
 * of FOLD_W: their bounds depend on n alone, so sums taken per chunk and added in chunk
 * order have the same bits at any thread count. */
static int64_t chunking(int64_t n, int64_t *chunks)
{
    int64_t chunk = 16384;
    if (n > chunk * FOLD_MAX_CHUNKS)
        chunk = (n + FOLD_MAX_CHUNKS - 1) / FOLD_MAX_CHUNKS;
    chunk = (chunk + FOLD_W - 1) / FOLD_W * FOLD_W;
    *chunks = (n + chunk - 1) / chunk;
    return chunk;
}

/* SGD over chunks (at most FOLD_MAX_CHUNKS per tensor); fold: with the decay c * w, and
 * *sumsq the sum of w^2 before the update. */
static uint32_t sgd_update(const rg_optim_config *cfg, rg_param *p, float lr, int fold, float c,
                           double *sumsq)
{
    float mu = (float)cfg->momentum;
    float *w = p->value, *g = p->grad, *b = p->slot[0];
    int64_t n = p->numel;
    int64_t chunks, chunk = chunking(n, &chunks);
    double part[FOLD_MAX_CHUNKS];
    uint32_t bad = 0;
    int momentum = mu == 0.0f ? 0 : cfg->nesterov ? 2 : 1;
    int wide = fold_avx512();
#pragma omp parallel for schedule(static) if (n >= 65536) reduction(| : bad)
    for (int64_t k = 0; k < chunks; k++) {
        int64_t hi = (k + 1) * chunk < n ? (k + 1) * chunk : n;
        bad |= fold_chunk(w, g, b, k * chunk, hi, c, lr, mu, momentum, fold, &part[k], wide);
    }
    if (fold) {
        double ss = 0.0;
        for (int64_t k = 0; k < chunks; k++)
            ss += part[k];
        *sumsq = ss;
    }
    return bad;
}

/* sum of w^2 in double: FOLD_W lanes per chunk of chunking(), chunks added in order */
static double sumsq_lanes(const float *w, int64_t n)
{
    int64_t chunks, chunk = chunking(n, &chunks);
    double part[FOLD_MAX_CHUNKS];
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t k = 0; k < chunks; k++) {
        int64_t lo = k * chunk, hi = lo + chunk < n ? lo + chunk : n, i = lo;
        double acc[FOLD_W] = {0};
        for (; i + FOLD_W <= hi; i += FOLD_W)
            for (int l = 0; l < FOLD_W; l++)
                acc[l] += (double)w[i + l] * (double)w[i + l];
        double s = 0.0;
        for (; i < hi; i++)
            s += (double)w[i] * (double)w[i];
        for (int l = 0; l < FOLD_W; l++)
            s += acc[l];
        part[k] = s;
    }
    double ss = 0.0;
    for (int64_t k = 0; k < chunks; k++)
        ss += part[k];
    return ss;
}

/* torch.optim.Adam (amsgrad=False): m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). fold: as in SGD. */
static uint32_t adam_update(const rg_optim_config *cfg, rg_param *p, float lr, int64_t t,
                            const float *fold, double *sumsq)
{
    float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2, eps = (float)cfg->eps;
    float bc1 = (float)(1.0 - pow(cfg->beta1, (double)t));
    float bc2 = (float)(1.0 - pow(cfg->beta2, (double)t));
    float *w = p->value, *g = p->grad, *m = p->slot[0], *v = p->slot[1];
    int64_t n = p->numel;
    uint32_t bad = 0;
    if (!fold) {
#pragma omp parallel for schedule(static) if (n >= 65536) reduction(| : bad)
        for (int64_t i = 0; i < n; i++) {
            bad |= nonfinite(g[i]);
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
            w[i] -= lr * (m[i] / bc1) / (sqrtf(v[i] / bc2) + eps);
        }
        return bad;
    }
    /* the sum of w^2 before the update, in its own pass over lanes (Adam with a folded L2
     * is rare; the update loop then needs no floating-point reduction) */
    *sumsq = sumsq_lanes(w, n);
    float c = *fold;
#pragma omp parallel for schedule(static) if (n >= 65536) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + c * w[i];
        bad |= nonfinite(gi);
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        w[i] -= lr * (m[i] / bc1) / (sqrtf(v[i] / bc2) + eps);
    }
    return bad;
}

int rg_optim_step(rg_optimizer *opt, rg_param **params, int num_params, double lr)
{
    return rg_optim_step_decay(opt, params, num_params, lr, NULL, NULL, NULL);
}

int rg_optim_step_decay(rg_optimizer *opt, rg_param **params, int num_params, double lr,
                        const uint8_t *folded, const float *coef, double *sumsq)
{
    opt->steps++;
    int first_bad = -1;
    for (int i = 0; i < num_params; i++) {
        const float *fold = folded && folded[i] ? &coef[i] : NULL;
        double *ss = fold ? &sumsq[i] : NULL;
        uint32_t bad = opt->cfg.kind == RG_OPTIM_ADAM
                           ? adam_update(&opt->cfg, params[i], (float)lr, opt->steps, fold, ss)
                           : sgd_update(&opt->cfg, params[i], (float)lr, fold != NULL,
                                        fold ? *fold : 0.0f, ss);
        if (bad && first_bad < 0)
            first_bad = i;
    }
    return first_bad;
}
