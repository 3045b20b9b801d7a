/* vflip: mirror images top-bottom with probability p, as
 * torchvision.transforms.RandomVerticalFlip(p=0.5) ("Vertically flip the
 * given image randomly with a given probability"): out[c][y][x] =
 * in[c][h-1-y][x] for every channel.
 *
 * Randomness: image i reads one uniform u_i at stream offset i and is flipped
 * when u_i < p, so p = 0 never flips and p = 1 always does (u is in [0, 1)).
 * The draw depends only on the image index, so any thread count flips the
 * same images. In place, no scratch. */
#include <regula/plugin.h>

typedef struct vflip {
    const rg_host_api *host;
    float p;
} vflip;

static const rg_param_desc vflip_params[] = {
    RG_PARAM_FLOAT_DESC("p", 0.5, 0.0, 1.0, 0, "probability of flipping each image"),
};

typedef struct vflip_job {
    const vflip *f;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} vflip_job;

static rg_status vflip_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    vflip *f = host->alloc(sizeof *f);
    if (!f) {
        host->set_error("vflip: out of memory");
        return RG_ERR_NOMEM;
    }
    f->host = host;
    f->p = (float)params->values[0].number;
    *inst = f;
    return RG_OK;
}

static void vflip_destroy(void *inst)
{
    vflip *f = inst;
    f->host->free(f);
}

static rg_status vflip_chunk(void *ctx, int64_t begin, int64_t end)
{
    vflip_job *j = ctx;
    const rg_batch_view *b = j->b;
    for (int64_t i = begin; i < end; i++) {
        float u;
        j->f->host->rng_uniform(j->rng, (uint64_t)i, &u, 1);
        if (!(u < j->f->p))
            continue;
        float *img = b->data + i * b->c * b->h * b->w;
        for (int64_t ch = 0; ch < b->c; ch++) {
            float *plane = img + ch * b->h * b->w;
            for (int64_t y = 0; y < b->h / 2; y++) {
                float *top = plane + y * b->w, *bot = plane + (b->h - 1 - y) * b->w;
                for (int64_t x = 0; x < b->w; x++) {
                    float t = top[x];
                    top[x] = bot[x];
                    bot[x] = t;
                }
            }
        }
    }
    return RG_OK;
}

static rg_status vflip_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    vflip *f = inst;
    if (batch->n <= 0 || f->p <= 0.0f)
        return RG_OK;
    vflip_job j = {f, batch, rng};
    return f->host->parallel_for(batch->n, 16, vflip_chunk, &j);
}

static const rg_augmenter_hooks vflip_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = vflip_apply,
};

static const rg_plugin_desc vflip_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof vflip_params / sizeof vflip_params[0],
    .name = "vflip",
    .version = "1.0.0",
    .doc = "vertical flip with probability p (torchvision RandomVerticalFlip)",
    .params = vflip_params,
    .create = vflip_create,
    .destroy = vflip_destroy,
    .augmenter = &vflip_hooks,
};

RG_DEFINE_PLUGIN(vflip_desc)
