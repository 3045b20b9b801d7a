/* myaug: additive Gaussian pixel noise, clipped back to [0, 1]. Copy this
 * file to start your own augmenter. */
#include <regula/plugin.h>

typedef struct myaug {
    const rg_host_api *host;
    float sigma;
} myaug;

static const rg_param_desc myaug_params[] = {
    RG_PARAM_FLOAT_DESC("sigma", 0.05, 0.0, 1.0, 0, "standard deviation of the pixel noise"),
};

static rg_status myaug_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    myaug *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("myaug: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->sigma = (float)params->values[0].number;
    *inst = a;
    return RG_OK;
}

static void myaug_destroy(void *inst)
{
    myaug *a = inst;
    a->host->free(a);
}

typedef struct job {
    const myaug *a;
    const rg_batch_view *b;
    const rg_rng_stream *rng;
} job;

/* Image i reads the stream at offset i * pixels, so its noise is the same
 * whichever thread draws it: results do not depend on the thread count. */
static rg_status noise_images(void *ctx, int64_t begin, int64_t end)
{
    job *j = ctx;
    int64_t pixels = j->b->c * j->b->h * j->b->w;
    for (int64_t i = begin; i < end; i++) {
        float *img = j->b->data + i * pixels;
        for (int64_t k = 0; k < pixels; k += 256) {
            float z[256];
            int64_t n = pixels - k < 256 ? pixels - k : 256;
            j->a->host->rng_normal(j->rng, (uint64_t)(i * pixels + k), z, (size_t)n);
            for (int64_t q = 0; q < n; q++) {
                float v = img[k + q] + j->a->sigma * z[q];
                img[k + q] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
            }
        }
    }
    return RG_OK;
}

static rg_status myaug_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    job j = {inst, batch, rng};
    return ((myaug *)inst)->host->parallel_for(batch->n, 1, noise_images, &j);
}

static const rg_augmenter_hooks myaug_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = myaug_apply,
};

static const rg_plugin_desc myaug_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof myaug_params / sizeof myaug_params[0],
    .name = "myaug",
    .version = "0.1.0",
    .doc = "additive Gaussian pixel noise, clipped to [0, 1]",
    .params = myaug_params,
    .create = myaug_create,
    .destroy = myaug_destroy,
    .augmenter = &myaug_hooks,
};

RG_DEFINE_PLUGIN(myaug_desc)
