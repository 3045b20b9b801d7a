/* Beta(a, a) draws from the host's counter-based streams, shared by the
 * label-mixing augmenters (mixup, cutmix). Header-only and static: each
 * plugin stays one self-contained .so built against sdk/include.
 *
 * Gamma(a, 1) by Marsaglia & Tsang ("A simple method for generating gamma
 * variables", ACM TOMS 2000), with the U^(1/a) boost for a < 1, in log space
 * so a tiny a cannot underflow; Beta(a, a) = X / (X + Y) for X, Y ~ Gamma(a).
 * Normals and uniforms are read at disjoint stream offsets (they share bits
 * at equal offsets). */
#ifndef RG_PLUGINS_COMMON_BETA_H
#define RG_PLUGINS_COMMON_BETA_H

#include <math.h>
#include <regula/plugin.h>

#define GAMMA_TRIES 32
#define GAMMA_BASE ((uint64_t)1 << 40)
#define BOOST_BASE ((uint64_t)1 << 41)

/* u in [0, 1) on a 2^-24 grid -> (0, 1) */
static inline double open01(float u)
{
    return (double)u + 1.0 / 33554432.0;
}

/* log of a Gamma(a, 1) draw; g selects the draw's offsets. */
static inline double log_gamma(const rg_host_api *h, const rg_rng_stream *rng, double a, uint64_t g)
{
    double boost = 0.0;
    if (a < 1.0) {
        float ub;
        h->rng_uniform(rng, BOOST_BASE + g, &ub, 1);
        boost = log(open01(ub)) / a;
        a += 1.0;
    }
    const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    float z[GAMMA_TRIES], u[GAMMA_TRIES];
    h->rng_normal(rng, GAMMA_BASE + 64 * g, z, GAMMA_TRIES);
    h->rng_uniform(rng, GAMMA_BASE + 64 * g + 32, u, GAMMA_TRIES);
    for (int t = 0; t < GAMMA_TRIES; t++) {
        double x = z[t], v = 1.0 + c * x;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        double lu = log(open01(u[t])), x2 = x * x;
        if (open01(u[t]) < 1.0 - 0.0331 * x2 * x2 || lu < 0.5 * x2 + d * (1.0 - v + log(v)))
            return log(d * v) + boost;
    }
    /* 32 rejections in a row: probability below 0.05^32; fall back to the mode */
    return log(d) + boost;
}

/* lam ~ Beta(a, a) */
static inline double beta_draw(const rg_host_api *h, const rg_rng_stream *rng, double a)
{
    double lx = log_gamma(h, rng, a, 0), ly = log_gamma(h, rng, a, 1);
    return 1.0 / (1.0 + exp(ly - lx));
}

#endif
