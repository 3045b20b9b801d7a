/* mixup: Zhang, Cisse, Dauphin & Lopez-Paz, "mixup: Beyond Empirical Risk
 * Minimization" (ICLR 2018), as in the paper's reference code
 * (github.com/facebookresearch/mixup-cifar10, train.py mixup_data): one
 * lambda per batch and a random permutation pi of the batch,
 *
 *   lam ~ Beta(alpha, alpha)
 *   x_i <- lam * x_i + (1 - lam) * x_pi(i)
 *   y_i <- lam * y_i + (1 - lam) * y_pi(i)
 *
 * The reference code keeps y_a, y_b and lam and mixes the two losses; with
 * cross-entropy that equals the loss on the mixed label distribution, which
 * is what the host trains on. Rows stay distributions (convex combination of
 * two distributions); pixels are clamped to [0, 1] only against rounding. pi
 * may map an image to itself (torch.randperm does too); that image is left
 * untouched. Applied to the batch with probability p.
 *
 * Beta(a, a) = X / (X + Y) with X, Y ~ Gamma(a, 1) from Marsaglia & Tsang,
 * "A simple method for generating gamma variables" (ACM TOMS 2000): for
 * a >= 1, d = a - 1/3, c = 1/sqrt(9d), accept v = (1 + c z)^3 when
 * log u < z^2/2 + d (1 - v + log v) (with the squeeze u < 1 - 0.0331 z^4),
 * X = d v; for a < 1 the boosting step of their section 6, X = G(a + 1) *
 * U^(1/a). Logs are kept, lam = 1 / (1 + exp(log Y - log X)), so tiny alpha
 * cannot underflow to 0/0.
 *
 * Randomness, all at fixed offsets of the batch's stream (deterministic, no
 * thread dependence): uniform 0 decides whether to mix (< p); uniform 1 + k
 * (k = 1..n-1) is Fisher-Yates step k (swap k with floor(u (k+1)));
 * Gamma draw g (0 for X, 1 for Y), attempt t < 32, uses the normal at
 * 2^40 + 64 g + t and the uniform at 2^40 + 64 g + 32 + t (other Philox
 * blocks: a normal and a uniform at one offset share their random bits), and
 * its boosting uniform at 2^41 + g.
 * Uniforms u in [0, 1) enter logs as u + 2^-25, never 0.
 *
 * Mixing in place along the permutation's cycles: in a cycle i0 -> i1 ->
 * ... -> i0 (i_{k+1} = pi(i_k)) every x_{i_k} is rewritten from x_{i_{k+1}},
 * still original when visited in cycle order, except the last, which needs
 * the original x_{i0}: one image and one label row of scratch. The work is
 * one pass over the batch, memory-bound, done on the calling thread.
 * Scratch (permutation, one image, one label row) is sized at create() for
 * 1024 images of 3x32x32 with 1000 classes and grows only if a batch is
 * larger, so the steady-state step allocates nothing. */
#include <math.h>
#include <regula/plugin.h>

#include "../common/beta.h"
#include <string.h>

typedef struct mixup {
    const rg_host_api *host;
    double alpha;
    float p;
    int64_t *perm;
    float *img, *row;
    int64_t perm_cap, img_cap, row_cap;
} mixup;

static const rg_param_desc mixup_params[] = {
    RG_PARAM_FLOAT_DESC("alpha", 0.2, 0.0, 10.0, RG_PARAM_MIN_EXCLUSIVE,
                        "Beta(alpha, alpha) concentration of the mixing weight lambda"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of mixing a batch"),
};

static rg_status grow(mixup *m, void **buf, int64_t *cap, int64_t need, size_t elem)
{
    if (need <= *cap)
        return RG_OK;
    void *p = m->host->alloc((size_t)need * elem);
    if (!p) {
        m->host->set_error("mixup: cannot allocate %lld bytes of scratch",
                           (long long)((size_t)need * elem));
        return RG_ERR_NOMEM;
    }
    m->host->free(*buf);
    *buf = p;
    *cap = need;
    return RG_OK;
}

static rg_status reserve(mixup *m, int64_t n, int64_t img, int64_t classes)
{
    rg_status st = grow(m, (void **)&m->perm, &m->perm_cap, n, sizeof(int64_t));
    if (st == RG_OK)
        st = grow(m, (void **)&m->img, &m->img_cap, img, sizeof(float));
    if (st == RG_OK)
        st = grow(m, (void **)&m->row, &m->row_cap, classes, sizeof(float));
    return st;
}

static void mixup_destroy(void *inst)
{
    mixup *m = inst;
    m->host->free(m->perm);
    m->host->free(m->img);
    m->host->free(m->row);
    m->host->free(m);
}

static rg_status mixup_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    mixup *m = host->alloc(sizeof *m);
    if (!m) {
        host->set_error("mixup: out of memory");
        return RG_ERR_NOMEM;
    }
    m->host = host;
    m->alpha = params->values[0].number;
    m->p = (float)params->values[1].number;
    rg_status st = reserve(m, 1024, 3 * 32 * 32, 1000);
    if (st != RG_OK) {
        mixup_destroy(m);
        return st;
    }
    *inst = m;
    return RG_OK;
}

/* dst = lam * dst + (1 - lam) * src, clamped to [lo, hi] against rounding */
static void mix(float *dst, const float *src, int64_t n, float lam, float hi)
{
    const float mu = 1.0f - lam;
    for (int64_t k = 0; k < n; k++) {
        float v = lam * dst[k] + mu * src[k];
        dst[k] = v < 0.0f ? 0.0f : (v > hi ? hi : v);
    }
}

static rg_status mixup_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    mixup *m = inst;
    const int64_t n = batch->n, img = batch->c * batch->h * batch->w, k = batch->num_classes;
    if (n <= 1 || m->p <= 0.0f)
        return RG_OK;
    float u0;
    m->host->rng_uniform(rng, 0, &u0, 1);
    if (!(u0 < m->p))
        return RG_OK;
    rg_status st = reserve(m, n, img, k);
    if (st != RG_OK)
        return st;
    const float lam = (float)beta_draw(m->host, rng, m->alpha);
    int64_t *pi = m->perm;
    for (int64_t i = 0; i < n; i++)
        pi[i] = i;
    for (int64_t i = 1; i < n; i++) {
        float u;
        m->host->rng_uniform(rng, 1 + (uint64_t)i, &u, 1);
        int64_t j = (int64_t)((double)u * (double)(i + 1));
        j = j > i ? i : j;
        int64_t t = pi[i];
        pi[i] = pi[j];
        pi[j] = t;
    }
    /* Walk each cycle once; a visited entry is marked by storing -1 - pi. */
    for (int64_t i0 = 0; i0 < n; i0++) {
        if (pi[i0] < 0 || pi[i0] == i0)
            continue;
        memcpy(m->img, batch->data + i0 * img, (size_t)img * sizeof(float));
        if (k > 0)
            memcpy(m->row, batch->labels + i0 * k, (size_t)k * sizeof(float));
        for (int64_t t = i0; pi[t] >= 0;) {
            int64_t s = pi[t];
            const float *xs = s == i0 ? m->img : batch->data + s * img;
            const float *ys = s == i0 ? m->row : batch->labels + s * k;
            mix(batch->data + t * img, xs, img, lam, 1.0f);
            if (k > 0)
                mix(batch->labels + t * k, ys, k, lam, 1.0f);
            pi[t] = -1 - s;
            t = s;
        }
    }
    return RG_OK;
}

static const rg_augmenter_hooks mixup_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = mixup_apply,
};

static const rg_plugin_desc mixup_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof mixup_params / sizeof mixup_params[0],
    .name = "mixup",
    .version = "1.0.0",
    .doc = "mix image pairs and their labels with lambda ~ Beta(alpha, alpha) (Zhang et al. 2018)",
    .params = mixup_params,
    .create = mixup_create,
    .destroy = mixup_destroy,
    .augmenter = &mixup_hooks,
};

RG_DEFINE_PLUGIN(mixup_desc)
