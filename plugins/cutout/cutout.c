/* cutout: zero a size x size square at a uniformly random centre, in every
 * channel, as DeVries & Taylor, "Improved Regularization of Convolutional
 * Neural Networks with Cutout" (2017), reference code
 * github.com/uoguelph-mlrg/Cutout (util/cutout.py): the centre (cy, cx) is
 * uniform over the pixels of the image and the square may extend past the
 * border, where it is clipped (so corner squares are smaller). Rows
 * [cy - size/2, cy - size/2 + size) and the same columns are zeroed
 * (integer division); for even sizes this is the reference code's
 * [cy - size/2, cy + size/2), for odd sizes the square keeps side `size`
 * where the reference's would be size - 1. Applied to each image with
 * probability p (the reference always applies).
 *
 * Randomness: image i reads uniforms at stream offsets 4i (apply if < p),
 * 4i + 1 (cy = floor(u h)) and 4i + 2 (cx = floor(u w)), so results do not
 * depend on the thread count. In place, no scratch. */
#include <regula/plugin.h>
#include <string.h>

typedef struct cutout {
    const rg_host_api *host;
    int64_t size;
    float p;
} cutout;

static const rg_param_desc cutout_params[] = {
    RG_PARAM_INT_DESC("size", 8, 0, 1024, "side of the zeroed square, in pixels"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of cutting out a square in each image"),
};

typedef struct cutout_job {
    const cutout *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} cutout_job;

static rg_status cutout_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    cutout *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("cutout: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->size = (int64_t)params->values[0].number;
    a->p = (float)params->values[1].number;
    *inst = a;
    return RG_OK;
}

static void cutout_destroy(void *inst)
{
    cutout *a = inst;
    a->host->free(a);
}

static int64_t below(float u, int64_t m)
{
    int64_t k = (int64_t)((double)u * (double)m);
    return k < m ? k : m - 1;
}

static rg_status cutout_chunk(void *ctx, int64_t begin, int64_t end)
{
    cutout_job *j = ctx;
    const rg_batch_view *b = j->b;
    const int64_t s = j->a->size, plane = b->h * b->w;
    for (int64_t i = begin; i < end; i++) {
        float u[3];
        j->a->host->rng_uniform(j->rng, (uint64_t)i * 4, u, 3);
        if (!(u[0] < j->a->p))
            continue;
        int64_t y0 = below(u[1], b->h) - s / 2, x0 = below(u[2], b->w) - s / 2;
        int64_t y1 = y0 + s, x1 = x0 + s;
        y0 = y0 < 0 ? 0 : y0;
        x0 = x0 < 0 ? 0 : x0;
        y1 = y1 > b->h ? b->h : y1;
        x1 = x1 > b->w ? b->w : x1;
        if (y0 >= y1 || x0 >= x1)
            continue;
        for (int64_t ch = 0; ch < b->c; ch++)
            for (int64_t y = y0; y < y1; y++)
                memset(b->data + (i * b->c + ch) * plane + y * b->w + x0, 0,
                       (size_t)(x1 - x0) * sizeof(float));
    }
    return RG_OK;
}

static rg_status cutout_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    cutout *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f || a->size == 0)
        return RG_OK;
    cutout_job j = {a, batch, rng};
    return a->host->parallel_for(batch->n, 16, cutout_chunk, &j);
}

static const rg_augmenter_hooks cutout_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = cutout_apply,
};

static const rg_plugin_desc cutout_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof cutout_params / sizeof cutout_params[0],
    .name = "cutout",
    .version = "1.0.0",
    .doc = "zero a size x size square at a uniform centre, clipped at the border (Cutout)",
    .params = cutout_params,
    .create = cutout_create,
    .destroy = cutout_destroy,
    .augmenter = &cutout_hooks,
};

RG_DEFINE_PLUGIN(cutout_desc)
