/* posterize: keep the top `bits` bits of each 8-bit pixel value,
 *
 *   q = floor(255 x + 1/2),   x <- (q & ~(2^(8 - bits) - 1)) / 255,
 *
 * as torchvision.transforms.functional.posterize(img, bits) on a uint8 image
 * (img & -int(2 ** (8 - bits))), here on float pixels read as the 8-bit levels they
 * stand for (q, rounded to nearest: an image loaded as k / 255 gives back k exactly)
 * and written back as ToTensor writes them (float32 q' / 255). torchvision refuses float
 * images; its convert_image_dtype would map them with floor(255.999 x), which agrees with
 * the rounding here on every k / 255. bits = 8 leaves 8-bit images unchanged (other
 * values move to the nearest level). RandAugment's Posterize op is this at a fixed bits per
 * magnitude (Cubuk et al. 2020). Every channel alike. Applied to each image with
 * probability p, 0.5 by default as torchvision.transforms.RandomPosterize(bits, p=0.5):
 * with p = 1 the result does not depend on the random stream at all.
 *
 * Randomness: image i reads one uniform at stream offset i (apply if < p), so results do
 * not depend on the thread count. In place, no scratch. */
#include <math.h>
#include <regula/plugin.h>

typedef struct posterize {
    const rg_host_api *host;
    unsigned mask; /* kept bits of an 8-bit value */
    float p;
} posterize;

static const rg_param_desc posterize_params[] = {
    RG_PARAM_INT_DESC("bits", 4, 1, 8, "bits kept of each 8-bit pixel value (8: unchanged)"),
    RG_PARAM_FLOAT_DESC("p", 0.5, 0.0, 1.0, 0, "probability of posterizing each image"),
};

typedef struct posterize_job {
    const posterize *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} posterize_job;

static rg_status posterize_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    posterize *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("posterize: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    int bits = (int)params->values[0].number;
    a->mask = 0xffu & ~((1u << (8 - bits)) - 1u);
    a->p = (float)params->values[1].number;
    *inst = a;
    return RG_OK;
}

static void posterize_destroy(void *inst)
{
    posterize *a = inst;
    a->host->free(a);
}

/* The 8-bit level of a pixel: floor(255 x + 1/2) in double, inside [0, 255]. */
static unsigned level_of(float x)
{
    double q = floor(255.0 * (double)x + 0.5);
    return q <= 0.0 ? 0u : (q >= 255.0 ? 255u : (unsigned)q);
}

static rg_status posterize_chunk(void *ctx, int64_t begin, int64_t end)
{
    posterize_job *j = ctx;
    const int64_t pixels = j->b->c * j->b->h * j->b->w;
    float out[256]; /* the float each kept level is written as */
    for (unsigned q = 0; q < 256; q++)
        out[q] = (float)(q & j->a->mask) / 255.0f;
    for (int64_t i = begin; i < end; i++) {
        float u;
        j->a->host->rng_uniform(j->rng, (uint64_t)i, &u, 1);
        if (!(u < j->a->p))
            continue;
        float *img = j->b->data + i * pixels;
        for (int64_t k = 0; k < pixels; k++)
            img[k] = out[level_of(img[k])];
    }
    return RG_OK;
}

static rg_status posterize_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    posterize *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f)
        return RG_OK;
    posterize_job j = {a, batch, rng};
    return a->host->parallel_for(batch->n, 16, posterize_chunk, &j);
}

static const rg_augmenter_hooks posterize_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = posterize_apply,
};

static const rg_plugin_desc posterize_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof posterize_params / sizeof posterize_params[0],
    .name = "posterize",
    .version = "1.0.0",
    .doc = "keep the top bits of each 8-bit pixel value (torchvision F.posterize, "
           "RandomPosterize)",
    .params = posterize_params,
    .create = posterize_create,
    .destroy = posterize_destroy,
    .augmenter = &posterize_hooks,
};

RG_DEFINE_PLUGIN(posterize_desc)
