/* cutmix: Yun et al., "CutMix: Regularization Strategy to Train Strong
 * Classifiers with Localizable Features" (ICCV 2019), as in the reference
 * code (github.com/clovaai/CutMix-PyTorch, train.py): one lambda, one box
 * and a random permutation pi per batch,
 *
 *   lam ~ Beta(alpha, alpha)
 *   cut_w = int(w sqrt(1 - lam)), cut_h = int(h sqrt(1 - lam))
 *   cx ~ U{0..w-1}, cy ~ U{0..h-1}
 *   box = [clip(cy - cut_h/2), clip(cy + cut_h/2)) x [clip(cx - cut_w/2), clip(cx + cut_w/2))
 *   x_i[box] <- x_pi(i)[box]       (every channel)
 *   lam' = 1 - |box| / (h w)       (the area actually pasted, after clipping)
 *   y_i <- lam' y_i + (1 - lam') y_pi(i)
 *
 * (integer division /2 on both sides, as rand_bbox; the reference names the
 * axes of size[2], size[3] W and H, which only matters for non-square
 * images: here x runs over w and y over h.) The reference keeps the two
 * targets and weights the two losses by lam'; with cross-entropy that equals
 * the loss on the mixed label distribution, which is what the host trains
 * on. The label weight of the pasted image is exactly the pasted area
 * fraction. pi may map an image to itself (torch.randperm does too); that
 * image is left untouched. Applied to the batch with probability p (the
 * reference's cutmix_prob; its CIFAR recipes use 0.5, the default here is 1).
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
 * thread dependence): uniform 0 decides whether to cut (< p); uniform 1 + k
 * (k = 1..n-1) is Fisher-Yates step k (swap k with floor(u (k+1)));
 * Gamma draw g (0 for X, 1 for Y), attempt t < 32, uses the normal at
 * 2^40 + 64 g + t and the uniform at 2^40 + 64 g + 32 + t (other Philox
 * blocks: a normal and a uniform at one offset share their random bits), and
 * its boosting uniform at 2^41 + g;
 * the box centre uses uniforms 2^42 (cy) and 2^42 + 1 (cx).
 * Uniforms u in [0, 1) enter logs as u + 2^-25, never 0.
 *
 * Pasting in place along the permutation's cycles: in a cycle i0 -> i1 ->
 * ... -> i0 (i_{k+1} = pi(i_k)) every x_{i_k} is rewritten from x_{i_{k+1}},
 * still original when visited in cycle order, except the last, which needs
 * the original x_{i0}: one image and one label row of scratch. The work is
 * one pass over the box, memory-bound, done on the calling thread.
 * Scratch (permutation, one image, one label row) is sized at create() for
 * 1024 images of 3x32x32 with 1000 classes and grows only if a batch is
 * larger, so the steady-state step allocates nothing. */
#include <math.h>
#include <regula/plugin.h>

#include "../common/beta.h"
#include <string.h>

typedef struct cutmix {
    const rg_host_api *host;
    double alpha;
    float p;
    int64_t *perm;
    float *img, *row;
    int64_t perm_cap, img_cap, row_cap;
} cutmix;

static const rg_param_desc cutmix_params[] = {
    RG_PARAM_FLOAT_DESC("alpha", 1.0, 0.0, 10.0, RG_PARAM_MIN_EXCLUSIVE,
                        "Beta(alpha, alpha) concentration of lambda (1 - box area fraction)"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of cutting and pasting in a batch"),
};

#define BOX_BASE ((uint64_t)1 << 42) /* box position draws, past the Beta sampler's offsets */

static rg_status grow(cutmix *m, void **buf, int64_t *cap, int64_t need, size_t elem)
{
    if (need <= *cap)
        return RG_OK;
    void *p = m->host->alloc((size_t)need * elem);
    if (!p) {
        m->host->set_error("cutmix: cannot allocate %lld bytes of scratch",
                           (long long)((size_t)need * elem));
        return RG_ERR_NOMEM;
    }
    m->host->free(*buf);
    *buf = p;
    *cap = need;
    return RG_OK;
}

static rg_status reserve(cutmix *m, int64_t n, int64_t img, int64_t classes)
{
    rg_status st = grow(m, (void **)&m->perm, &m->perm_cap, n, sizeof(int64_t));
    if (st == RG_OK)
        st = grow(m, (void **)&m->img, &m->img_cap, img, sizeof(float));
    if (st == RG_OK)
        st = grow(m, (void **)&m->row, &m->row_cap, classes, sizeof(float));
    return st;
}

static void cutmix_destroy(void *inst)
{
    cutmix *m = inst;
    m->host->free(m->perm);
    m->host->free(m->img);
    m->host->free(m->row);
    m->host->free(m);
}

static rg_status cutmix_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    cutmix *m = host->alloc(sizeof *m);
    if (!m) {
        host->set_error("cutmix: out of memory");
        return RG_ERR_NOMEM;
    }
    m->host = host;
    m->alpha = params->values[0].number;
    m->p = (float)params->values[1].number;
    rg_status st = reserve(m, 1024, 3 * 32 * 32, 1000);
    if (st != RG_OK) {
        cutmix_destroy(m);
        return st;
    }
    *inst = m;
    return RG_OK;
}

/* dst = lam * dst + (1 - lam) * src, label rows */
static void mix_row(float *dst, const float *src, int64_t n, double lam)
{
    for (int64_t k = 0; k < n; k++) {
        float v = (float)(lam * (double)dst[k] + (1.0 - lam) * (double)src[k]);
        dst[k] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
}

typedef struct box {
    int64_t y0, y1, x0, x1;
} box;

static void paste(float *dst, const float *src, const rg_batch_view *b, box r)
{
    const int64_t plane = b->h * b->w;
    for (int64_t ch = 0; ch < b->c; ch++)
        for (int64_t y = r.y0; y < r.y1; y++)
            memcpy(dst + ch * plane + y * b->w + r.x0, src + ch * plane + y * b->w + r.x0,
                   (size_t)(r.x1 - r.x0) * sizeof(float));
}

static int64_t clip(int64_t v, int64_t hi)
{
    return v < 0 ? 0 : (v > hi ? hi : v);
}

static rg_status cutmix_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    cutmix *m = inst;
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
    const double lam = beta_draw(m->host, rng, m->alpha);
    const double cut = sqrt(1.0 - lam);
    const int64_t cut_w = (int64_t)((double)batch->w * cut), cut_h = (int64_t)((double)batch->h * cut);
    float uc[2];
    m->host->rng_uniform(rng, BOX_BASE, uc, 2);
    int64_t cy = (int64_t)((double)uc[0] * (double)batch->h), cx = (int64_t)((double)uc[1] * (double)batch->w);
    cy = cy < batch->h ? cy : batch->h - 1;
    cx = cx < batch->w ? cx : batch->w - 1;
    box r = {clip(cy - cut_h / 2, batch->h), clip(cy + cut_h / 2, batch->h),
             clip(cx - cut_w / 2, batch->w), clip(cx + cut_w / 2, batch->w)};
    if (r.y1 <= r.y0 || r.x1 <= r.x0)
        return RG_OK; /* empty box: lam' = 1, nothing changes */
    const double lam_box =
        1.0 - (double)((r.y1 - r.y0) * (r.x1 - r.x0)) / (double)(batch->h * batch->w);
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
            paste(batch->data + t * img, xs, batch, r);
            if (k > 0)
                mix_row(batch->labels + t * k, ys, k, lam_box);
            pi[t] = -1 - s;
            t = s;
        }
    }
    return RG_OK;
}

static const rg_augmenter_hooks cutmix_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = cutmix_apply,
};

static const rg_plugin_desc cutmix_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof cutmix_params / sizeof cutmix_params[0],
    .name = "cutmix",
    .version = "1.0.0",
    .doc = "paste a box from a paired image, labels by pasted area (CutMix, Yun et al. 2019)",
    .params = cutmix_params,
    .create = cutmix_create,
    .destroy = cutmix_destroy,
    .augmenter = &cutmix_hooks,
};

RG_DEFINE_PLUGIN(cutmix_desc)
