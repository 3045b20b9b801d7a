/* equalize: histogram equalization of each channel on its 8-bit levels, as
 * torchvision.transforms.functional.equalize (tensor path, _scale_channel) and PIL's
 * ImageOps.equalize, which it follows: with q = floor(255 x + 1/2) the level of a pixel
 * (an image loaded as k / 255 gives back k), hist the 256-bin histogram of the channel and
 * last the count of its last nonzero bin,
 *
 *   step = (total - last) // 255;   if step == 0 the channel is left as it is;
 *   lut[0] = 0,  lut[k] = min(255, (hist[0] + ... + hist[k-1] + step // 2) // step),
 *   x <- lut[q] / 255   (float32, as ToTensor writes a level).
 *
 * (torchvision clamps the table at 255 where PIL's does not; a channel with fewer than
 * 255 pixels outside its last bin, e.g. any image of fewer than 256 pixels, has step 0.)
 * A channel left as it is keeps its float values, not their 8-bit levels. torchvision
 * equalizes uint8 images only; 1 or 3 channels there, any count here. RandAugment's
 * Equalize op is this (Cubuk et al. 2020). Applied to each image with probability p, 0.5
 * by default as torchvision.transforms.RandomEqualize(p=0.5): with p = 1 the result does
 * not depend on the random stream at all.
 *
 * Randomness: image i reads one uniform at stream offset i (apply if < p), so results do
 * not depend on the thread count. In place; the histogram lives on the stack. */
#include <math.h>
#include <regula/plugin.h>

typedef struct equalize {
    const rg_host_api *host;
    float p;
} equalize;

static const rg_param_desc equalize_params[] = {
    RG_PARAM_FLOAT_DESC("p", 0.5, 0.0, 1.0, 0, "probability of equalizing each image"),
};

typedef struct equalize_job {
    const equalize *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} equalize_job;

static rg_status equalize_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    equalize *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("equalize: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->p = (float)params->values[0].number;
    *inst = a;
    return RG_OK;
}

static void equalize_destroy(void *inst)
{
    equalize *a = inst;
    a->host->free(a);
}

/* The 8-bit level of a pixel: floor(255 x + 1/2) in double, inside [0, 255]. */
static unsigned level_of(float x)
{
    double q = floor(255.0 * (double)x + 0.5);
    return q <= 0.0 ? 0u : (q >= 255.0 ? 255u : (unsigned)q);
}

static void equalize_plane(float *x, int64_t n)
{
    int64_t hist[256] = {0};
    for (int64_t k = 0; k < n; k++)
        hist[level_of(x[k])]++;
    int last = 255;
    while (hist[last] == 0)
        last--; /* n > 0, so some bin is nonzero */
    int64_t step = (n - hist[last]) / 255;
    if (step == 0)
        return;
    float lut[256];
    int64_t cum = 0;
    for (int k = 0; k < 256; k++) {
        int64_t v = (cum + step / 2) / step;
        lut[k] = (float)(v < 255 ? v : 255) / 255.0f;
        cum += hist[k];
    }
    for (int64_t k = 0; k < n; k++)
        x[k] = lut[level_of(x[k])];
}

static rg_status equalize_chunk(void *ctx, int64_t begin, int64_t end)
{
    equalize_job *j = ctx;
    const rg_batch_view *b = j->b;
    const int64_t plane = b->h * b->w;
    for (int64_t i = begin; i < end; i++) {
        float u;
        j->a->host->rng_uniform(j->rng, (uint64_t)i, &u, 1);
        if (!(u < j->a->p))
            continue;
        for (int64_t ch = 0; ch < b->c; ch++)
            equalize_plane(b->data + (i * b->c + ch) * plane, plane);
    }
    return RG_OK;
}

static rg_status equalize_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    equalize *a = inst;
    if (batch->n <= 0 || batch->h * batch->w <= 0 || a->p <= 0.0f)
        return RG_OK;
    equalize_job j = {a, batch, rng};
    return a->host->parallel_for(batch->n, 8, equalize_chunk, &j);
}

static const rg_augmenter_hooks equalize_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = equalize_apply,
};

static const rg_plugin_desc equalize_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof equalize_params / sizeof equalize_params[0],
    .name = "equalize",
    .version = "1.0.0",
    .doc = "histogram-equalize each channel's 8-bit levels (torchvision F.equalize, PIL "
           "ImageOps.equalize)",
    .params = equalize_params,
    .create = equalize_create,
    .destroy = equalize_destroy,
    .augmenter = &equalize_hooks,
};

RG_DEFINE_PLUGIN(equalize_desc)
