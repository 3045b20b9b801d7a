/* rotate: rotate each image about its centre by an angle t whose size |t| is
 * uniform between degrees_min and degrees and whose sign is random, bilinear
 * interpolation, zero fill. With degrees_min = 0 (the default) t is uniform in
 * [-degrees, degrees], as torchvision.transforms.RandomRotation(degrees,
 * interpolation=BILINEAR, fill=0); degrees_min = degrees gives RandAugment's
 * fixed magnitude with a random sign (Cubuk et al. 2020; torchvision's
 * _apply_op after `magnitude *= -1` with probability 1/2). The two bounds are
 * an unordered interval, as in scale: whichever is larger is the upper end, so
 * each accepts its whole range whatever the other is. Positive angles turn the
 * picture counter-clockwise (torchvision's convention). The centre is
 * ((w-1)/2, (h-1)/2) in pixel-index coordinates (torchvision's default centre
 * with align_corners=False pixel centres).
 * Each output pixel samples the input at the inverse-rotated position
 *
 *   xs = cx + (x-cx) cos t - (y-cy) sin t,   ys = cy + (x-cx) sin t + (y-cy) cos t,
 *
 * bilinearly from its four neighbours, a neighbour outside the image counting
 * as 0 (torch grid_sample, padding_mode="zeros"). torchvision's fill=0 path
 * also multiplies by a bilinearly sampled validity mask, which darkens the
 * one-pixel rim along the image border a little more; elsewhere they agree.
 * Applied to each image with probability p.
 *
 * Randomness: image i reads uniforms at stream offsets 2i (apply if < p) and
 * 2i + 1 (u), so results do not depend on the thread count. From the one
 * uniform, v = 2u - 1 and t = copysign(lo + (hi - lo) |v|, v) degrees, with
 * lo <= hi the two bounds. With lo = 0 that is hi * v bit for bit (0 + x is x,
 * and rounding a product is symmetric in its sign), the t = degrees (2u - 1) of
 * version 1.0, so existing runs reproduce exactly; with lo = hi it is +-lo
 * exactly.
 *
 * Scratch: one zero-bordered image copy (bilinear_pad) per parallel slot, sized at create() for a 3x32x32
 * image and the host's thread count and grown (once) on the first call with
 * a larger image; the steady-state step allocates nothing. */
#include <math.h>
#include <regula/plugin.h>

#include "../common/bilinear.h"
#include "../common/slots.h"
#include <string.h>

typedef struct rotate {
    const rg_host_api *host;
    double lo, hi; /* |angle| bounds in degrees, lo <= hi */
    float p;
    slot_scratch scratch;
} rotate;

static const rg_param_desc rotate_params[] = {
    RG_PARAM_FLOAT_DESC("degrees", 15.0, 0.0, 180.0, 0,
                        "largest |angle| (with degrees_min: either end); with degrees_min = 0 the "
                        "angle is uniform in [-degrees, degrees]"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of rotating each image"),
    /* appended last: parameters are handed in schema order, so older specs keep working */
    RG_PARAM_FLOAT_DESC("degrees_min", 0.0, 0.0, 180.0, 0,
                        "smallest |angle|: |angle| is uniform between degrees_min and degrees, "
                        "sign random (degrees_min = degrees: a fixed magnitude)"),
};

#define ROTATE_DEFAULT_IMAGE (3 * 34 * 34) /* a 3x32x32 image in its zero border */

static rg_status rotate_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    rotate *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("rotate: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    double d = params->values[0].number, dmin = params->values[2].number;
    a->lo = d < dmin ? d : dmin;
    a->hi = d < dmin ? dmin : d;
    a->p = (float)params->values[1].number;
    rg_status st =
        slot_scratch_grow(host, &a->scratch, slot_count(host) * ROTATE_DEFAULT_IMAGE, "rotate");
    if (st != RG_OK) {
        host->free(a);
        return st;
    }
    *inst = a;
    return RG_OK;
}

static void rotate_destroy(void *inst)
{
    rotate *a = inst;
    a->host->free(a->scratch.data);
    a->host->free(a);
}

typedef struct rotate_job {
    const rotate *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
    int wide; /* bilinear_have_avx512(), asked once per batch */
} rotate_job;

static void rotate_image(const void *job, int64_t i, float *copy)
{
    const rotate_job *j = job;
    const rg_batch_view *b = j->b;
    float u[2];
    j->a->host->rng_uniform(j->rng, (uint64_t)i * 2, u, 2);
    if (!(u[0] < j->a->p))
        return;
    const double pi = 3.14159265358979323846;
    double v = 2.0 * (double)u[1] - 1.0;
    double t = copysign(j->a->lo + (j->a->hi - j->a->lo) * fabs(v), v) * pi / 180.0;
    double ct = cos(t), st = sin(t);
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
                double xo = (double)x - cx, yo = (double)y - cy;
                xs[k] = cx + xo * ct - yo * st;
                ys[k] = cy + xo * st + yo * ct;
            }
            for (int64_t ch = 0; ch < b->c; ch++)
                bilinear_row(copy + ch * padded, b->h, b->w, ys, xs,
                             img + ch * plane + y * b->w + x0, m, wide);
        }
}

static rg_status rotate_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    rotate *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f)
        return RG_OK;
    rotate_job j = {a, batch, rng, bilinear_have_avx512()};
    return slot_run_images(a->host, &a->scratch, batch, rotate_image, &j, "rotate");
}

static const rg_augmenter_hooks rotate_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = rotate_apply,
};

static const rg_plugin_desc rotate_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof rotate_params / sizeof rotate_params[0],
    .name = "rotate",
    .version = "1.1.0",
    .doc = "rotate by +-|angle|, |angle| uniform in [degrees_min, degrees], bilinear, zero fill "
           "(RandomRotation)",
    .params = rotate_params,
    .create = rotate_create,
    .destroy = rotate_destroy,
    .augmenter = &rotate_hooks,
};

RG_DEFINE_PLUGIN(rotate_desc)
