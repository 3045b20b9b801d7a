/* scale: zoom each image about its centre by a factor s uniform in
 * [min_scale, max_scale], bilinear interpolation, zero fill, as the scale
 * part of torchvision.transforms.RandomAffine(degrees=0,
 * scale=(min_scale, max_scale), interpolation=BILINEAR, fill=0). s > 1
 * enlarges the content, s < 1 shrinks it and exposes a zero border. The
 * centre is ((w-1)/2, (h-1)/2) in pixel-index coordinates; each output pixel
 * samples the input at
 *
 *   xs = cx + (x - cx) / s,   ys = cy + (y - cy) / s,
 *
 * bilinearly from its four neighbours, a neighbour outside the image counting
 * as 0 (torch grid_sample, padding_mode="zeros"; torchvision's fill=0 path
 * also multiplies by a sampled validity mask, which only changes the one-pixel
 * rim of the scaled content). Applied to each image with probability p.
 *
 * The two bounds are taken as an unordered interval (min_scale > max_scale
 * draws from [max_scale, min_scale]), so each parameter accepts its whole
 * declared range whatever the other is.
 *
 * Randomness: image i reads uniforms at stream offsets 2i (apply if < p) and
 * 2i + 1 (s = min_scale + (max_scale - min_scale) u), so results do not depend
 * on the thread count.
 *
 * Scratch: one image per parallel slot, sized at create() for a 3x32x32
 * image and the host's thread count and grown (once) on the first call with
 * a larger image; the steady-state step allocates nothing. */
#include <math.h>
#include <regula/plugin.h>

#include "../common/bilinear.h"
#include "../common/slots.h"
#include <string.h>

typedef struct scale {
    const rg_host_api *host;
    double lo, hi;
    float p;
    slot_scratch scratch;
} scale;

static const rg_param_desc scale_params[] = {
    RG_PARAM_FLOAT_DESC("min_scale", 0.9, 0.0, 10.0, RG_PARAM_MIN_EXCLUSIVE,
                        "smallest zoom factor (< 1 shrinks the content)"),
    RG_PARAM_FLOAT_DESC("max_scale", 1.1, 0.0, 10.0, RG_PARAM_MIN_EXCLUSIVE,
                        "largest zoom factor (> 1 enlarges the content)"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of zooming each image"),
};

#define SCALE_DEFAULT_IMAGE (3 * 34 * 34) /* a 3x32x32 image in its zero border */

static rg_status scale_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    double lo = params->values[0].number, hi = params->values[1].number;
    scale *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("scale: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->lo = lo;
    a->hi = hi;
    a->p = (float)params->values[2].number;
    rg_status st =
        slot_scratch_grow(host, &a->scratch, slot_count(host) * SCALE_DEFAULT_IMAGE, "scale");
    if (st != RG_OK) {
        host->free(a);
        return st;
    }
    *inst = a;
    return RG_OK;
}

static void scale_destroy(void *inst)
{
    scale *a = inst;
    a->host->free(a->scratch.data);
    a->host->free(a);
}

typedef struct scale_job {
    const scale *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
    int wide; /* bilinear_have_avx512(), asked once per batch */
} scale_job;

static void scale_image(const void *job, int64_t i, float *copy)
{
    const scale_job *j = job;
    const rg_batch_view *b = j->b;
    float u[2];
    j->a->host->rng_uniform(j->rng, (uint64_t)i * 2, u, 2);
    if (!(u[0] < j->a->p))
        return;
    double inv = 1.0 / (j->a->lo + (j->a->hi - j->a->lo) * (double)u[1]);
    double cy = 0.5 * (double)(b->h - 1), cx = 0.5 * (double)(b->w - 1);
    int64_t plane = b->h * b->w;
    float *img = b->data + i * b->c * plane;
    bilinear_pad(copy, img, b->c, b->h, b->w);
    int64_t padded = (b->h + 2) * (b->w + 2);
    int wide = j->wide;
    double xs[BILINEAR_ROW], ys[BILINEAR_ROW];
    for (int64_t y = 0; y < b->h; y++)
        for (int64_t x0 = 0; x0 < b->w; x0 += BILINEAR_ROW) {
            int64_t m = b->w - x0 < BILINEAR_ROW ? b->w - x0 : BILINEAR_ROW;
            for (int64_t k = 0; k < m; k++) {
                int64_t x = x0 + k;
                xs[k] = cx + ((double)x - cx) * inv;
                ys[k] = cy + ((double)y - cy) * inv;
            }
            for (int64_t ch = 0; ch < b->c; ch++)
                bilinear_row(copy + ch * padded, b->h, b->w, ys, xs,
                             img + ch * plane + y * b->w + x0, m, wide);
        }
}

static rg_status scale_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    scale *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f)
        return RG_OK;
    scale_job j = {a, batch, rng, bilinear_have_avx512()};
    return slot_run_images(a->host, &a->scratch, batch, scale_image, &j, "scale");
}

static const rg_augmenter_hooks scale_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = scale_apply,
};

static const rg_plugin_desc scale_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof scale_params / sizeof scale_params[0],
    .name = "scale",
    .version = "1.0.0",
    .doc = "zoom about the centre by a uniform factor, bilinear, zero fill (RandomAffine scale)",
    .params = scale_params,
    .create = scale_create,
    .destroy = scale_destroy,
    .augmenter = &scale_hooks,
};

RG_DEFINE_PLUGIN(scale_desc)
