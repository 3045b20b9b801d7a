/* shear: shear each image along x or y by an angle t whose size |t| is uniform between
 * degrees_min and degrees and whose sign is random, bilinear interpolation, zero fill, as
 * torchvision.transforms.functional.affine(img, angle=0, translate=[0, 0], scale=1,
 * shear=[t, 0] or [0, t], interpolation=BILINEAR) on a tensor image. degrees_min =
 * degrees gives RandAugment's ShearX / ShearY at a fixed magnitude with a random sign
 * (Cubuk et al. 2020; torchvision's _apply_op passes shear = degrees(atan(m)) for the
 * magnitude m, so degrees = atan(m) in degrees gives its tan(t) = m). The two bounds are an
 * unordered interval, as in scale: whichever is larger is the upper end, so each accepts
 * its whole range whatever the other is.
 *
 * The mapping is torchvision's _get_inverse_affine_matrix with angle 0 and scale 1: its
 * rotation-scale-shear matrix R(0) SHy(sy) SHx(sx) has the inverse
 *
 *   shear=[t, 0]:  [1, tan t; 0, 1]        shear=[0, t]:  [1, 0; tan t, 1],
 *
 * applied about the pivot (px, py), so each output pixel (x, y) samples the input at
 *
 *   axis=x:  xs = x + tan(t) (y - py),  ys = y;     axis=y:  xs = x,  ys = y + tan(t) (x - px),
 *
 * bilinearly from its four neighbours, a neighbour outside the image counting as 0 (torch
 * grid_sample, padding_mode="zeros", which is torchvision's fill=None path; its fill=[0]
 * path also multiplies by a bilinearly sampled validity mask, which darkens the one-pixel
 * rim along the sheared border a little more). The pivot, in pixel-index coordinates:
 *  - pivot=centre: ((w-1)/2, (h-1)/2), F.affine's default center=None (its affine grid
 *    puts the origin at the centre of the pixel grid, align_corners=False);
 *  - pivot=corner: (-1/2, -1/2), the outer corner of the top-left pixel: what
 *    F.affine(center=[0, 0]) gives (center_f = 0 - w/2 from the middle, which lies at
 *    (w-1)/2), and what RandAugment's and TrivialAugment's ShearX/ShearY use, as the
 *    official AutoAugment code's PIL transform (1, level, 0, 0, 1, 0) does.
 * axis=both picks x or y per image with probability 1/2 each (RandAugment's ShearX and
 * ShearY are two ops of its list). torchvision's RandAugment samples with NEAREST by
 * default; this plugin always samples bilinearly. Applied to each image with
 * probability p.
 *
 * Randomness: image i reads uniforms at stream offsets 4i (apply if < p), 4i + 1 (u) and
 * 4i + 2 (axis=both: x if < 1/2), so results do not depend on the thread count. From u,
 * v = 2u - 1 and t = copysign(lo + (hi - lo) |v|, v) degrees, lo <= hi the two bounds:
 * with lo = hi, t is exactly +-lo.
 *
 * Scratch: one zero-bordered image copy (bilinear_pad) per parallel slot, sized at
 * create() for a 3x32x32 image and the host's thread count and grown (once) on the first
 * call with a larger image; the steady-state step allocates nothing. */
#include <math.h>
#include <regula/plugin.h>

#include "../common/bilinear.h"
#include "../common/slots.h"

enum { SHEAR_X = 0, SHEAR_Y = 1, SHEAR_BOTH = 2 };
enum { PIVOT_CENTRE = 0, PIVOT_CORNER = 1 };

typedef struct shear {
    const rg_host_api *host;
    double lo, hi; /* |angle| bounds in degrees, lo <= hi */
    int axis, pivot;
    float p;
    slot_scratch scratch;
} shear;

static const char *const shear_axes[] = {"x", "y", "both", NULL};
static const char *const shear_pivots[] = {"centre", "corner", NULL};

static const rg_param_desc shear_params[] = {
    RG_PARAM_ENUM_DESC("axis", SHEAR_X, shear_axes,
                       "x: rows slide sideways (ShearX); y: columns slide (ShearY); both: one "
                       "of the two per image"),
    RG_PARAM_FLOAT_DESC("degrees", 15.0, 0.0, 90.0, RG_PARAM_MAX_EXCLUSIVE,
                        "largest |shear angle| (with degrees_min: either end)"),
    RG_PARAM_FLOAT_DESC("degrees_min", 0.0, 0.0, 90.0, RG_PARAM_MAX_EXCLUSIVE,
                        "smallest |shear angle|: |angle| is uniform between degrees_min and "
                        "degrees, sign random (degrees_min = degrees: a fixed magnitude)"),
    RG_PARAM_ENUM_DESC("pivot", PIVOT_CENTRE, shear_pivots,
                       "fixed line of the shear: centre (F.affine's default) or corner (the "
                       "top-left corner, as RandAugment's ShearX/ShearY)"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of shearing each image"),
};

#define SHEAR_DEFAULT_IMAGE (3 * 34 * 34) /* a 3x32x32 image in its zero border */

static rg_status shear_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    shear *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("shear: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->axis = (int)params->values[0].number;
    double d = params->values[1].number, dmin = params->values[2].number;
    a->lo = d < dmin ? d : dmin;
    a->hi = d < dmin ? dmin : d;
    a->pivot = (int)params->values[3].number;
    a->p = (float)params->values[4].number;
    rg_status st =
        slot_scratch_grow(host, &a->scratch, slot_count(host) * SHEAR_DEFAULT_IMAGE, "shear");
    if (st != RG_OK) {
        host->free(a);
        return st;
    }
    *inst = a;
    return RG_OK;
}

static void shear_destroy(void *inst)
{
    shear *a = inst;
    a->host->free(a->scratch.data);
    a->host->free(a);
}

typedef struct shear_job {
    const shear *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
    int wide; /* bilinear_have_avx512(), asked once per batch */
} shear_job;

static void shear_image(const void *job, int64_t i, float *copy)
{
    const shear_job *j = job;
    const rg_batch_view *b = j->b;
    const shear *a = j->a;
    float u[3];
    a->host->rng_uniform(j->rng, (uint64_t)i * 4, u, 3);
    if (!(u[0] < a->p))
        return;
    const double pi = 3.14159265358979323846;
    double v = 2.0 * (double)u[1] - 1.0;
    double k = tan(copysign(a->lo + (a->hi - a->lo) * fabs(v), v) * pi / 180.0);
    int along_x = a->axis == SHEAR_X || (a->axis == SHEAR_BOTH && u[2] < 0.5f);
    double py = a->pivot == PIVOT_CORNER ? -0.5 : 0.5 * (double)(b->h - 1);
    double px = a->pivot == PIVOT_CORNER ? -0.5 : 0.5 * (double)(b->w - 1);
    int64_t plane = b->h * b->w;
    float *img = b->data + i * b->c * plane;
    bilinear_pad(copy, img, b->c, b->h, b->w);
    int64_t padded = (b->h + 2) * (b->w + 2);
    double xs[BILINEAR_ROW], ys[BILINEAR_ROW];
    for (int64_t y = 0; y < b->h; y++)
        for (int64_t x0 = 0; x0 < b->w; x0 += BILINEAR_ROW) {
            int64_t m = b->w - x0 < BILINEAR_ROW ? b->w - x0 : BILINEAR_ROW;
            for (int64_t q = 0; q < m; q++) {
                double x = (double)(x0 + q), yd = (double)y;
                xs[q] = along_x ? x + k * (yd - py) : x;
                ys[q] = along_x ? yd : yd + k * (x - px);
            }
            for (int64_t ch = 0; ch < b->c; ch++)
                bilinear_row(copy + ch * padded, b->h, b->w, ys, xs,
                             img + ch * plane + y * b->w + x0, m, j->wide);
        }
}

static rg_status shear_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    shear *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f)
        return RG_OK;
    shear_job j = {a, batch, rng, bilinear_have_avx512()};
    return slot_run_images(a->host, &a->scratch, batch, shear_image, &j, "shear");
}

static const rg_augmenter_hooks shear_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = shear_apply,
};

static const rg_plugin_desc shear_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof shear_params / sizeof shear_params[0],
    .name = "shear",
    .version = "1.0.0",
    .doc = "shear along x or y by +-|angle|, |angle| uniform in [degrees_min, degrees], "
           "bilinear, zero fill (torchvision F.affine shear; RandAugment ShearX/ShearY)",
    .params = shear_params,
    .create = shear_create,
    .destroy = shear_destroy,
    .augmenter = &shear_hooks,
};

RG_DEFINE_PLUGIN(shear_desc)
