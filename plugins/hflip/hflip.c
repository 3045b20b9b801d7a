/* hflip: mirror images left-right with probability p, as
 * torchvision.transforms.RandomHorizontalFlip(p=0.5) ("Horizontally flip the
 * given image randomly with a given probability"): out[c][y][x] =
 * in[c][y][w-1-x] for every channel.
 *
 * Randomness: image i reads one uniform u_i at stream offset i and is flipped
 * when u_i < p, so p = 0 never flips and p = 1 always does (u is in [0, 1)).
 * The draw depends only on the image index, so any thread count flips the
 * same images. In place, no scratch. */
#include <regula/plugin.h>

typedef struct hflip {
    const rg_host_api *host;
    float p;
} hflip;

static const rg_param_desc hflip_params[] = {
    RG_PARAM_FLOAT_DESC("p", 0.5, 0.0, 1.0, 0, "probability of flipping each image"),
};

typedef struct hflip_job {
    const hflip *f;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} hflip_job;

static rg_status hflip_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    hflip *f = host->alloc(sizeof *f);
    if (!f) {
        host->set_error("hflip: out of memory");
        return RG_ERR_NOMEM;
    }
    f->host = host;
    f->p = (float)params->values[0].number;
    *inst = f;
    return RG_OK;
}

static void hflip_destroy(void *inst)
{
    hflip *f = inst;
    f->host->free(f);
}

static rg_status hflip_chunk(void *ctx, int64_t begin, int64_t end)
{
    hflip_job *j = ctx;
    const rg_batch_view *b = j->b;
    for (int64_t i = begin; i < end; i++) {
        float u;
        j->f->host->rng_uniform(j->rng, (uint64_t)i, &u, 1);
        if (!(u < j->f->p))
            continue;
        float *img = b->data + i * b->c * b->h * b->w;
        for (int64_t r = 0; r < b->c * b->h; r++) {
            float *row = img + r * b->w;
            for (int64_t x = 0; x < b->w / 2; x++) {
                float t = row[x];
                row[x] = row[b->w - 1 - x];
                row[b->w - 1 - x] = t;
            }
        }
    }
    return RG_OK;
}

static rg_status hflip_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    hflip *f = inst;
    if (batch->n <= 0 || f->p <= 0.0f)
        return RG_OK;
    hflip_job j = {f, batch, rng};
    return f->host->parallel_for(batch->n, 16, hflip_chunk, &j);
}

static const rg_augmenter_hooks hflip_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = hflip_apply,
};

static const rg_plugin_desc hflip_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof hflip_params / sizeof hflip_params[0],
    .name = "hflip",
    .version = "1.0.0",
    .doc = "horizontal flip with probability p (torchvision RandomHorizontalFlip)",
    .params = hflip_params,
    .create = hflip_create,
    .destroy = hflip_destroy,
    .augmenter = &hflip_hooks,
};

RG_DEFINE_PLUGIN(hflip_desc)
