/* translate: shift each image by a random whole number of pixels, filling
 * the exposed border with 0, as the translate part of
 * torchvision.transforms.RandomAffine(degrees=0, translate=(f, f), fill=0):
 * with mx = floor(f * w) and my = floor(f * h), the shift (tx, ty) is drawn
 * uniformly from {-mx..mx} x {-my..my} and
 *
 *   out[c][y][x] = in[c][y - ty][x - tx],   0 outside the image.
 *
 * (torchvision draws tx = round(U(-f*w, f*w)), which gives the two end
 * values half the weight; the integer shifts here are uniform, as specified
 * for this plugin.) Applied to each image with probability p.
 *
 * fraction_min puts a lower bound on the size of each shift: with
 * nx = floor(fraction_min * w), tx is uniform over the integers whose size
 * lies in [nx, mx], {-mx..-nx} and {nx..mx}, and likewise ty; fraction_min =
 * fraction gives RandAugment's fixed magnitude with a random sign per axis
 * (Cubuk et al. 2020; torchvision's _apply_op, `magnitude *= -1` with
 * probability 1/2). The two fractions are an unordered interval, as in scale:
 * whichever is larger is the upper end, so each accepts its whole range
 * whatever the other is. axis = x or y keeps the other shift at 0
 * (RandAugment's TranslateX and TranslateY; the draws stay where they are,
 * so axis=x moves each image by the tx axis=both would give it); the default,
 * both, moves both as before.
 *
 * Randomness: image i reads uniforms at stream offsets 4i (apply if < p),
 * 4i + 1 (ty) and 4i + 2 (tx); an integer uniform on {0..m-1} is
 * floor(u * m), computed in double, and picks the shift of that rank among
 * the allowed ones in increasing order. With a lower bound of 0 that is
 * floor(u * (2m + 1)) - m, the draw of version 1.0, so existing runs
 * reproduce bit for bit. Draws depend only on the image index, so results do
 * not depend on the thread count.
 *
 * In place without scratch: rows are visited in the order that reads every
 * source row before it is overwritten, and memmove handles the overlap
 * within a row. */
#include <regula/plugin.h>
#include <string.h>

enum { TRANSLATE_BOTH = 0, TRANSLATE_X = 1, TRANSLATE_Y = 2 };
static const char *const translate_axes[] = {"both", "x", "y", NULL};

typedef struct translate {
    const rg_host_api *host;
    double lo, hi; /* shift fraction bounds, lo <= hi */
    int axis;      /* TRANSLATE_BOTH, _X or _Y */
    float p;
} translate;

static const rg_param_desc translate_params[] = {
    RG_PARAM_FLOAT_DESC("fraction", 0.1, 0.0, 1.0, 0,
                        "largest shift as a fraction of width (x) and height (y) (with "
                        "fraction_min: either end)"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of shifting each image"),
    /* appended last: parameters are handed in schema order, so older specs keep working */
    RG_PARAM_FLOAT_DESC("fraction_min", 0.0, 0.0, 1.0, 0,
                        "smallest shift as a fraction of each side, sign random "
                        "(fraction_min = fraction: a fixed magnitude)"),
    RG_PARAM_ENUM_DESC("axis", TRANSLATE_BOTH, translate_axes,
                       "both: shift along x and y; x or y: along that axis only "
                       "(TranslateX, TranslateY)"),
};

typedef struct shift_job {
    const translate *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} shift_job;

static rg_status translate_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    translate *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("translate: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    double f = params->values[0].number, fmin = params->values[2].number;
    a->lo = f < fmin ? f : fmin;
    a->hi = f < fmin ? fmin : f;
    a->p = (float)params->values[1].number;
    a->axis = (int)params->values[3].number;
    *inst = a;
    return RG_OK;
}

static void translate_destroy(void *inst)
{
    translate *a = inst;
    a->host->free(a);
}

/* Integer uniform on {0, ..., m - 1} from u in [0, 1). */
static int64_t below(float u, int64_t m)
{
    int64_t k = (int64_t)((double)u * (double)m);
    return k < m ? k : m - 1;
}

/* The shift of rank floor(u * count) in increasing order among the count
 * integers whose size lies in [lo, hi] (lo <= hi). With lo = 0 the shift 0 is
 * counted once: 2 hi + 1 shifts, the draw of version 1.0. */
static int64_t signed_shift(float u, int64_t lo, int64_t hi)
{
    if (lo == 0)
        return below(u, 2 * hi + 1) - hi;
    int64_t side = hi - lo + 1, k = below(u, 2 * side);
    return k < side ? k - hi : lo + (k - side);
}

/* Pixels in the shift fraction f of a side of n pixels; the 1e-9 guards f * n
 * landing a hair below an integer (0.1 * 30). */
static int64_t pixels_of(double f, int64_t n)
{
    return (int64_t)(f * (double)n + 1e-9);
}

/* plane[y][x] = plane[y + dy][x + dx], 0 outside. Rows go ascending when the
 * source lies below (dy > 0), descending otherwise, so no source row is
 * overwritten before it is read. */
static void shift_plane(float *plane, int64_t h, int64_t w, int64_t dy, int64_t dx)
{
    int64_t adx = dx < 0 ? -dx : dx;
    for (int64_t k = 0; k < h; k++) {
        int64_t y = dy > 0 ? k : h - 1 - k, sy = y + dy;
        float *dst = plane + y * w;
        if (sy < 0 || sy >= h || adx >= w) {
            memset(dst, 0, (size_t)w * sizeof(float));
            continue;
        }
        const float *src = plane + sy * w;
        if (dx >= 0) {
            memmove(dst, src + dx, (size_t)(w - dx) * sizeof(float));
            memset(dst + w - dx, 0, (size_t)dx * sizeof(float));
        } else {
            memmove(dst + adx, src, (size_t)(w - adx) * sizeof(float));
            memset(dst, 0, (size_t)adx * sizeof(float));
        }
    }
}

static rg_status shift_chunk(void *ctx, int64_t begin, int64_t end)
{
    shift_job *j = ctx;
    const rg_batch_view *b = j->b;
    const int64_t plane = b->h * b->w;
    const int64_t mx = pixels_of(j->a->hi, b->w), my = pixels_of(j->a->hi, b->h);
    const int64_t nx = pixels_of(j->a->lo, b->w), ny = pixels_of(j->a->lo, b->h);
    for (int64_t i = begin; i < end; i++) {
        float u[3];
        j->a->host->rng_uniform(j->rng, (uint64_t)i * 4, u, 3);
        if (!(u[0] < j->a->p))
            continue;
        int64_t ty = signed_shift(u[1], ny, my), tx = signed_shift(u[2], nx, mx);
        ty = j->a->axis == TRANSLATE_X ? 0 : ty;
        tx = j->a->axis == TRANSLATE_Y ? 0 : tx;
        int64_t dy = -ty, dx = -tx;
        if (dy == 0 && dx == 0)
            continue;
        for (int64_t ch = 0; ch < b->c; ch++)
            shift_plane(b->data + (i * b->c + ch) * plane, b->h, b->w, dy, dx);
    }
    return RG_OK;
}

static rg_status translate_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    translate *a = inst;
    if (batch->n <= 0 || a->hi <= 0.0 || a->p <= 0.0f)
        return RG_OK;
    shift_job j = {a, batch, rng};
    return a->host->parallel_for(batch->n, 8, shift_chunk, &j);
}

static const rg_augmenter_hooks translate_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = translate_apply,
};

static const rg_plugin_desc translate_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof translate_params / sizeof translate_params[0],
    .name = "translate",
    .version = "1.1.0",
    .doc = "shift by +-[fraction_min, fraction] of the size, zero fill (torchvision RandomAffine "
           "translate)",
    .params = translate_params,
    .create = translate_create,
    .destroy = translate_destroy,
    .augmenter = &translate_hooks,
};

RG_DEFINE_PLUGIN(translate_desc)
