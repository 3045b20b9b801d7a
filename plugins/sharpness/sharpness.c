/* sharpness: blend each image with a smoothed copy of itself by a factor f = 1 +- m, m
 * uniform between magnitude_min and magnitude, sign random, as
 * torchvision.transforms.functional.adjust_sharpness(img, f) on a float tensor image:
 *
 *   blur = img convolved with [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 on the interior,
 *          the one-pixel border copied from img (_blurred_degenerate_image),
 *   x <- clamp(f x + (1 - f) blur, 0, 1)   (_blend),
 *
 * per channel, in float32 as torchvision (kernel weights 1/13 and 5/13 rounded to float;
 * the nine products are summed in a fixed order here, conv2d's order is its own, so the
 * two may differ in the last bits). f > 1 sharpens, f < 1 blurs, f = 1 leaves the image
 * unchanged bit for bit; an image of width or height <= 2 is left as it is, as in
 * torchvision. magnitude_min = magnitude gives RandAugment's Sharpness op at a fixed
 * magnitude with a random sign, F.adjust_sharpness(img, 1 +- m) (Cubuk et al. 2020;
 * torchvision's _apply_op); magnitude <= 1 keeps f >= 0, which torchvision requires. The
 * two bounds are an unordered interval, as in scale: whichever is larger is the upper end,
 * so each accepts its whole range whatever the other is. torchvision accepts 1 or 3
 * channels; any count works here. Applied to each image with probability p.
 *
 * Randomness: image i reads uniforms at stream offsets 2i (apply if < p) and 2i + 1 (u):
 * v = 2u - 1, f = 1 + copysign(lo + (hi - lo) |v|, v), lo <= hi the two bounds, so
 * results do not depend on the thread count.
 *
 * Scratch: a copy of one plane per parallel slot (the blur reads the original
 * neighbours), sized at create() for a 32x32 plane and the host's thread count and grown
 * (once) on the first call with a larger image; the steady-state step allocates nothing. */
#include <math.h>
#include <regula/plugin.h>
#include <string.h>

typedef struct sharpness {
    const rg_host_api *host;
    double lo, hi; /* |f - 1| bounds, lo <= hi */
    float p;
    float *scratch;
    int64_t cap; /* floats in scratch */
} sharpness;

static const rg_param_desc sharpness_params[] = {
    RG_PARAM_FLOAT_DESC("magnitude", 0.5, 0.0, 1.0, 0,
                        "largest |f - 1| of the sharpness factor f (with magnitude_min: either "
                        "end)"),
    RG_PARAM_FLOAT_DESC("magnitude_min", 0.0, 0.0, 1.0, 0,
                        "smallest |f - 1|: f = 1 +- m, m uniform between the two, sign random "
                        "(magnitude_min = magnitude: a fixed magnitude)"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of adjusting each image"),
};

#define SHARPNESS_DEFAULT_PLANE (32 * 32)

static int64_t slots_of(const rg_host_api *host)
{
    int t = host->num_threads ? host->num_threads() : 1;
    return t < 1 ? 1 : t;
}

static rg_status grow(sharpness *a, int64_t floats)
{
    if (floats <= a->cap)
        return RG_OK;
    float *s = a->host->alloc((size_t)floats * sizeof(float));
    if (!s) {
        a->host->set_error("sharpness: cannot allocate %lld floats of scratch", (long long)floats);
        return RG_ERR_NOMEM;
    }
    a->host->free(a->scratch);
    a->scratch = s;
    a->cap = floats;
    return RG_OK;
}

static rg_status sharpness_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    sharpness *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("sharpness: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    double m = params->values[0].number, mmin = params->values[1].number;
    a->lo = m < mmin ? m : mmin;
    a->hi = m < mmin ? mmin : m;
    a->p = (float)params->values[2].number;
    rg_status st = grow(a, slots_of(host) * SHARPNESS_DEFAULT_PLANE);
    if (st != RG_OK) {
        host->free(a);
        return st;
    }
    *inst = a;
    return RG_OK;
}

static void sharpness_destroy(void *inst)
{
    sharpness *a = inst;
    a->host->free(a->scratch);
    a->host->free(a);
}

typedef struct sharpness_job {
    const sharpness *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
    int64_t slots;
} sharpness_job;

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

/* One plane in place, orig a copy of it. */
static void blend_plane(float *x, const float *orig, int64_t h, int64_t w, float f)
{
    const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f, g = 1.0f - f;
    for (int64_t y = 0; y < h; y++)
        for (int64_t q = 0; q < w; q++) {
            const float *c = orig + y * w + q;
            float blur = *c;
            if (y > 0 && y < h - 1 && q > 0 && q < w - 1) {
                const float *up = c - w, *dn = c + w;
                blur = k1 * up[-1] + k1 * up[0] + k1 * up[1] + k1 * c[-1] + k5 * c[0] +
                       k1 * c[1] + k1 * dn[-1] + k1 * dn[0] + k1 * dn[1];
            }
            x[y * w + q] = clamp01(f * *c + g * blur);
        }
}

static void sharpness_image(const sharpness_job *j, int64_t i, float *copy)
{
    const rg_batch_view *b = j->b;
    const sharpness *a = j->a;
    float u[2];
    a->host->rng_uniform(j->rng, (uint64_t)i * 2, u, 2);
    if (!(u[0] < a->p))
        return;
    double v = 2.0 * (double)u[1] - 1.0;
    float f = (float)(1.0 + copysign(a->lo + (a->hi - a->lo) * fabs(v), v));
    const int64_t plane = b->h * b->w;
    for (int64_t ch = 0; ch < b->c; ch++) {
        float *x = b->data + (i * b->c + ch) * plane;
        memcpy(copy, x, (size_t)plane * sizeof(float));
        blend_plane(x, copy, b->h, b->w, f);
    }
}

/* Slot s handles images [n*s/S, n*(s+1)/S) with its own plane of scratch. */
static rg_status sharpness_slots(void *ctx, int64_t begin, int64_t end)
{
    sharpness_job *j = ctx;
    int64_t n = j->b->n, plane = j->b->h * j->b->w;
    for (int64_t s = begin; s < end; s++)
        for (int64_t i = n * s / j->slots; i < n * (s + 1) / j->slots; i++)
            sharpness_image(j, i, j->a->scratch + s * plane);
    return RG_OK;
}

static rg_status sharpness_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    sharpness *a = inst;
    /* torchvision returns images of a side <= 2 unchanged: no interior to blur */
    if (batch->n <= 0 || batch->h <= 2 || batch->w <= 2 || a->p <= 0.0f)
        return RG_OK;
    int64_t slots = slots_of(a->host);
    if (slots > batch->n)
        slots = batch->n;
    rg_status st = grow(a, slots * batch->h * batch->w);
    if (st != RG_OK)
        return st;
    sharpness_job j = {a, batch, rng, slots};
    return a->host->parallel_for(slots, 1, sharpness_slots, &j);
}

static const rg_augmenter_hooks sharpness_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = sharpness_apply,
};

static const rg_plugin_desc sharpness_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof sharpness_params / sizeof sharpness_params[0],
    .name = "sharpness",
    .version = "1.0.0",
    .doc = "blend with a 3x3-smoothed copy by f = 1 +- m, m uniform in [magnitude_min, "
           "magnitude] (torchvision F.adjust_sharpness)",
    .params = sharpness_params,
    .create = sharpness_create,
    .destroy = sharpness_destroy,
    .augmenter = &sharpness_hooks,
};

RG_DEFINE_PLUGIN(sharpness_desc)
