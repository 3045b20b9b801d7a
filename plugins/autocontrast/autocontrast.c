/* autocontrast: stretch each channel of an image so that its darkest pixel becomes 0 and
 * its brightest 1,
 *
 *   x <- clamp((x - min) * s, 0, 1),   s = 1 / (max - min)   (float32),
 *
 * min and max over the channel's plane, as torchvision.transforms.functional.autocontrast
 * on a float tensor image (amin/amax over the last two dimensions, scale = bound /
 * (maximum - minimum), in the image's float32; where the scale is not finite, a constant
 * channel, it uses minimum 0 and scale 1, which leaves the channel unchanged, as here).
 * torchvision accepts 1 or 3 channels; any count works here, each on its own. (Its PIL
 * path, ImageOps.autocontrast, builds an 8-bit lookup table instead.) RandAugment's
 * AutoContrast op is this (Cubuk et al. 2020). Applied to each image with probability p,
 * 0.5 by default as torchvision.transforms.RandomAutocontrast(p=0.5): with p = 1 the
 * result does not depend on the random stream at all.
 *
 * Randomness: image i reads one uniform at stream offset i (apply if < p), so results do
 * not depend on the thread count. In place, no scratch. */
#include <math.h>
#include <regula/plugin.h>

typedef struct autocontrast {
    const rg_host_api *host;
    float p;
} autocontrast;

static const rg_param_desc autocontrast_params[] = {
    RG_PARAM_FLOAT_DESC("p", 0.5, 0.0, 1.0, 0, "probability of autocontrasting each image"),
};

typedef struct autocontrast_job {
    const autocontrast *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} autocontrast_job;

static rg_status autocontrast_create(const rg_host_api *host, const rg_params *params,
                                     void **inst)
{
    autocontrast *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("autocontrast: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->p = (float)params->values[0].number;
    *inst = a;
    return RG_OK;
}

static void autocontrast_destroy(void *inst)
{
    autocontrast *a = inst;
    a->host->free(a);
}

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

static void stretch(float *x, int64_t n)
{
    float lo = x[0], hi = x[0];
    for (int64_t k = 1; k < n; k++) {
        lo = x[k] < lo ? x[k] : lo;
        hi = x[k] > hi ? x[k] : hi;
    }
    float s = 1.0f / (hi - lo);
    if (!isfinite(s))
        return; /* torchvision's minimum 0, scale 1 on pixels in [0, 1]: unchanged */
    for (int64_t k = 0; k < n; k++)
        x[k] = clamp01((x[k] - lo) * s);
}

static rg_status autocontrast_chunk(void *ctx, int64_t begin, int64_t end)
{
    autocontrast_job *j = ctx;
    const rg_batch_view *b = j->b;
    const int64_t plane = b->h * b->w;
    for (int64_t i = begin; i < end; i++) {
        float u;
        j->a->host->rng_uniform(j->rng, (uint64_t)i, &u, 1);
        if (!(u < j->a->p))
            continue;
        for (int64_t ch = 0; ch < b->c; ch++)
            stretch(b->data + (i * b->c + ch) * plane, plane);
    }
    return RG_OK;
}

static rg_status autocontrast_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    autocontrast *a = inst;
    if (batch->n <= 0 || batch->h * batch->w <= 0 || a->p <= 0.0f)
        return RG_OK;
    autocontrast_job j = {a, batch, rng};
    return a->host->parallel_for(batch->n, 16, autocontrast_chunk, &j);
}

static const rg_augmenter_hooks autocontrast_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = autocontrast_apply,
};

static const rg_plugin_desc autocontrast_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof autocontrast_params / sizeof autocontrast_params[0],
    .name = "autocontrast",
    .version = "1.0.0",
    .doc = "stretch each channel's [min, max] to [0, 1] (torchvision F.autocontrast, "
           "RandomAutocontrast)",
    .params = autocontrast_params,
    .create = autocontrast_create,
    .destroy = autocontrast_destroy,
    .augmenter = &autocontrast_hooks,
};

RG_DEFINE_PLUGIN(autocontrast_desc)
