/* random_crop: zero-pad each image by `padding` pixels on every side, then
 * crop an h x w window at a uniformly random offset, as
 * torchvision.transforms.RandomCrop(size=(h, w), padding=padding) with its
 * default fill=0, padding_mode="constant": the crop's top-left corner
 * (top, left) is uniform over {0, ..., 2*padding}^2, and
 *
 *   out[c][y][x] = padded[c][y + top][x + left] = in[c][y + dy][x + dx],
 *   dy = top - padding, dx = left - padding in [-padding, padding],
 *
 * with 0 where (y + dy, x + dx) falls outside the image. The same offset
 * applies to every channel. Applied to each image with probability p.
 *
 * Randomness: image i reads uniforms at stream offsets 4i (apply if < p),
 * 4i + 1 (top) and 4i + 2 (left); an integer uniform on {0..m-1} is
 * floor(u * m), computed in double. Draws depend only on the image index, so
 * results do not depend on the thread count.
 *
 * In place without scratch: rows are visited in the order that reads every
 * source row before it is overwritten, and memmove handles the overlap
 * within a row. */
#include <regula/plugin.h>
#include <string.h>

typedef struct random_crop {
    const rg_host_api *host;
    int64_t padding;
    float p;
} random_crop;

static const rg_param_desc random_crop_params[] = {
    RG_PARAM_INT_DESC("padding", 4, 0, 64, "zero padding on each side before the crop, in pixels"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of cropping each image"),
};

typedef struct crop_job {
    const random_crop *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} crop_job;

static rg_status random_crop_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    random_crop *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("random_crop: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->padding = (int64_t)params->values[0].number;
    a->p = (float)params->values[1].number;
    *inst = a;
    return RG_OK;
}

static void random_crop_destroy(void *inst)
{
    random_crop *a = inst;
    a->host->free(a);
}

/* Integer uniform on {0, ..., m - 1} from u in [0, 1). */
static int64_t below(float u, int64_t m)
{
    int64_t k = (int64_t)((double)u * (double)m);
    return k < m ? k : m - 1;
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

static rg_status crop_chunk(void *ctx, int64_t begin, int64_t end)
{
    crop_job *j = ctx;
    const rg_batch_view *b = j->b;
    const int64_t k = j->a->padding, plane = b->h * b->w;
    for (int64_t i = begin; i < end; i++) {
        float u[3];
        j->a->host->rng_uniform(j->rng, (uint64_t)i * 4, u, 3);
        if (!(u[0] < j->a->p))
            continue;
        int64_t dy = below(u[1], 2 * k + 1) - k, dx = below(u[2], 2 * k + 1) - k;
        if (dy == 0 && dx == 0)
            continue;
        for (int64_t ch = 0; ch < b->c; ch++)
            shift_plane(b->data + (i * b->c + ch) * plane, b->h, b->w, dy, dx);
    }
    return RG_OK;
}

static rg_status random_crop_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    random_crop *a = inst;
    if (batch->n <= 0 || a->padding == 0 || a->p <= 0.0f)
        return RG_OK;
    crop_job j = {a, batch, rng};
    return a->host->parallel_for(batch->n, 8, crop_chunk, &j);
}

static const rg_augmenter_hooks random_crop_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = random_crop_apply,
};

static const rg_plugin_desc random_crop_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof random_crop_params / sizeof random_crop_params[0],
    .name = "random_crop",
    .version = "1.0.0",
    .doc = "zero-pad by padding, crop back at a uniform offset (torchvision RandomCrop)",
    .params = random_crop_params,
    .create = random_crop_create,
    .destroy = random_crop_destroy,
    .augmenter = &random_crop_hooks,
};

RG_DEFINE_PLUGIN(random_crop_desc)
