/* brightness_contrast: random brightness and contrast, as the brightness and
 * contrast parts of torchvision.transforms.ColorJitter(brightness=b,
 * contrast=c):
 *
 *   brightness factor fb ~ U[max(0, 1-b), 1+b]:  x <- clamp(fb * x, 0, 1)
 *     (F.adjust_brightness: blend with a black image)
 *   contrast factor fc ~ U[max(0, 1-c), 1+c]:    x <- clamp(fc * x + (1-fc) * m, 0, 1)
 *     (F.adjust_contrast: blend with the mean m of the grayscale image,
 *      gray = 0.2989 R + 0.587 G + 0.114 B for c = 3 (rgb_to_grayscale),
 *      the image itself for c = 1, the mean over all channels otherwise;
 *      m is taken after the brightness step when that comes first)
 *
 * Like ColorJitter, the two run in a random order per image. Applied to each
 * image with probability p. b = c = 0 is the identity (both factors are 1).
 *
 * brightness_min and contrast_min put a lower bound on how far each factor
 * moves from 1: f = 1 +- m, m uniform between the _min and the other bound,
 * sign random. _min = 0 (the default) is ColorJitter's U[1-b, 1+b]; _min equal
 * to the other bound is RandAugment's fixed magnitude with a random sign,
 * F.adjust_brightness(img, 1 +- m) (Cubuk et al. 2020; torchvision's
 * _apply_op). Each pair is an unordered interval, as in scale: whichever is
 * larger is the upper end, so each accepts its whole range whatever the
 * other is.
 *
 * Randomness: image i reads uniforms at stream offsets 4i (apply if < p),
 * 4i + 1 (fb), 4i + 2 (fc), 4i + 3 (contrast first if < 0.5), so results do
 * not depend on the thread count. A factor with lower bound lo > 0 is
 * 1 + copysign(lo + (hi - lo) |v|, v), v = 2u - 1; with lo = 0 it keeps the
 * expression of version 1.0, L + (1 + hi - L) u with L = max(0, 1 - hi): the
 * same law, and existing runs reproduce bit for bit (the copysign form is
 * another double expression, not guaranteed to round to the same float). In
 * place, no scratch. */
#include <math.h>
#include <regula/plugin.h>

typedef struct bc {
    const rg_host_api *host;
    double b_lo, b_hi, c_lo, c_hi; /* bounds of |f - 1|, lo <= hi */
    float p;
} bc;

static const rg_param_desc bc_params[] = {
    RG_PARAM_FLOAT_DESC("brightness", 0.2, 0.0, 1.0, 0,
                        "brightness factor is uniform in [1 - brightness, 1 + brightness] "
                        "(with brightness_min: 1 +- m, m between the two)"),
    RG_PARAM_FLOAT_DESC("contrast", 0.2, 0.0, 1.0, 0,
                        "contrast factor is uniform in [1 - contrast, 1 + contrast] "
                        "(with contrast_min: 1 +- m, m between the two)"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of jittering each image"),
    /* appended last: parameters are handed in schema order, so older specs keep working */
    RG_PARAM_FLOAT_DESC("brightness_min", 0.0, 0.0, 1.0, 0,
                        "smallest |brightness factor - 1|, sign random "
                        "(brightness_min = brightness: a fixed magnitude)"),
    RG_PARAM_FLOAT_DESC("contrast_min", 0.0, 0.0, 1.0, 0,
                        "smallest |contrast factor - 1|, sign random "
                        "(contrast_min = contrast: a fixed magnitude)"),
};

typedef struct bc_job {
    const bc *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} bc_job;

static rg_status bc_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    bc *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("brightness_contrast: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    double b = params->values[0].number, bmin = params->values[3].number;
    double c = params->values[1].number, cmin = params->values[4].number;
    a->b_lo = b < bmin ? b : bmin;
    a->b_hi = b < bmin ? bmin : b;
    a->c_lo = c < cmin ? c : cmin;
    a->c_hi = c < cmin ? cmin : c;
    a->p = (float)params->values[2].number;
    *inst = a;
    return RG_OK;
}

static void bc_destroy(void *inst)
{
    bc *a = inst;
    a->host->free(a);
}

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

static void brightness(float *img, int64_t n, float f)
{
    for (int64_t k = 0; k < n; k++)
        img[k] = clamp01(f * img[k]);
}

static void contrast(float *img, int64_t c, int64_t plane, float f)
{
    double sum = 0.0;
    if (c == 3) {
        for (int64_t k = 0; k < plane; k++)
            sum += 0.2989 * img[k] + 0.587 * img[plane + k] + 0.114 * img[2 * plane + k];
        sum /= (double)plane;
    } else {
        for (int64_t k = 0; k < c * plane; k++)
            sum += img[k];
        sum /= (double)(c * plane);
    }
    float m = (float)sum, g = 1.0f - f;
    for (int64_t k = 0; k < c * plane; k++)
        img[k] = clamp01(f * img[k] + g * m);
}

/* A factor 1 +- m, m uniform in [lo, hi], sign random, from the uniform u. */
static float factor(double lo, double hi, float u)
{
    if (lo == 0.0) {
        double l = hi < 1.0 ? 1.0 - hi : 0.0;
        return (float)(l + (1.0 + hi - l) * (double)u);
    }
    double v = 2.0 * (double)u - 1.0;
    return (float)(1.0 + copysign(lo + (hi - lo) * fabs(v), v));
}

static rg_status bc_chunk(void *ctx, int64_t begin, int64_t end)
{
    bc_job *j = ctx;
    const rg_batch_view *b = j->b;
    const int64_t plane = b->h * b->w;
    for (int64_t i = begin; i < end; i++) {
        float u[4];
        j->a->host->rng_uniform(j->rng, (uint64_t)i * 4, u, 4);
        if (!(u[0] < j->a->p))
            continue;
        float fb = factor(j->a->b_lo, j->a->b_hi, u[1]);
        float fc = factor(j->a->c_lo, j->a->c_hi, u[2]);
        float *img = b->data + i * b->c * plane;
        if (u[3] < 0.5f) {
            contrast(img, b->c, plane, fc);
            brightness(img, b->c * plane, fb);
        } else {
            brightness(img, b->c * plane, fb);
            contrast(img, b->c, plane, fc);
        }
    }
    return RG_OK;
}

static rg_status bc_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    bc *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f)
        return RG_OK;
    bc_job j = {a, batch, rng};
    return a->host->parallel_for(batch->n, 8, bc_chunk, &j);
}

static const rg_augmenter_hooks bc_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = bc_apply,
};

static const rg_plugin_desc bc_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof bc_params / sizeof bc_params[0],
    .name = "brightness_contrast",
    .version = "1.1.0",
    .doc = "random brightness and contrast factors, clamped to [0, 1] (torchvision ColorJitter)",
    .params = bc_params,
    .create = bc_create,
    .destroy = bc_destroy,
    .augmenter = &bc_hooks,
};

RG_DEFINE_PLUGIN(bc_desc)
