/* solarize: invert every pixel at or above a threshold,
 *
 *   x <- x >= threshold ? 1 - x : x,
 *
 * as torchvision.transforms.functional.solarize(img, threshold) on a float tensor image
 * (torch.where(img >= threshold, invert(img), img), invert = 1 - img; the Python-float
 * threshold is compared in the image's float32, as here). threshold = 0 inverts the whole
 * image (F.invert); RandAugment's Solarize op is this at a fixed threshold per magnitude
 * (Cubuk et al. 2020). Every channel alike. Applied to each image with probability p,
 * 0.5 by default as torchvision.transforms.RandomSolarize(threshold, p=0.5): with p = 1
 * the result does not depend on the random stream at all.
 *
 * Randomness: image i reads one uniform at stream offset i (apply if < p), so results do
 * not depend on the thread count. In place, no scratch. */
#include <regula/plugin.h>

typedef struct solarize {
    const rg_host_api *host;
    float threshold, p;
} solarize;

static const rg_param_desc solarize_params[] = {
    RG_PARAM_FLOAT_DESC("threshold", 0.5, 0.0, 1.0, 0,
                        "pixels >= threshold are inverted (x -> 1 - x); 0 inverts everything"),
    RG_PARAM_FLOAT_DESC("p", 0.5, 0.0, 1.0, 0, "probability of solarizing each image"),
};

typedef struct solarize_job {
    const solarize *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} solarize_job;

static rg_status solarize_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    solarize *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("solarize: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->threshold = (float)params->values[0].number;
    a->p = (float)params->values[1].number;
    *inst = a;
    return RG_OK;
}

static void solarize_destroy(void *inst)
{
    solarize *a = inst;
    a->host->free(a);
}

static rg_status solarize_chunk(void *ctx, int64_t begin, int64_t end)
{
    solarize_job *j = ctx;
    const int64_t pixels = j->b->c * j->b->h * j->b->w;
    const float t = j->a->threshold;
    for (int64_t i = begin; i < end; i++) {
        float u;
        j->a->host->rng_uniform(j->rng, (uint64_t)i, &u, 1);
        if (!(u < j->a->p))
            continue;
        float *img = j->b->data + i * pixels;
        for (int64_t k = 0; k < pixels; k++)
            img[k] = img[k] >= t ? 1.0f - img[k] : img[k];
    }
    return RG_OK;
}

static rg_status solarize_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    solarize *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f)
        return RG_OK;
    solarize_job j = {a, batch, rng};
    return a->host->parallel_for(batch->n, 16, solarize_chunk, &j);
}

static const rg_augmenter_hooks solarize_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = solarize_apply,
};

static const rg_plugin_desc solarize_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof solarize_params / sizeof solarize_params[0],
    .name = "solarize",
    .version = "1.0.0",
    .doc = "invert pixels >= threshold, x -> 1 - x (torchvision F.solarize, RandomSolarize)",
    .params = solarize_params,
    .create = solarize_create,
    .destroy = solarize_destroy,
    .augmenter = &solarize_hooks,
};

RG_DEFINE_PLUGIN(solarize_desc)
