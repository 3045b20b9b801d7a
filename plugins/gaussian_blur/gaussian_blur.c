/* gaussian_blur: blur each image with a Gaussian whose standard deviation sigma is drawn
 * uniformly from [sigma_min, sigma_max], as torchvision.transforms.GaussianBlur(
 * kernel_size, sigma=(sigma_min, sigma_max)) on a tensor image. The 1-D kernel is
 * torchvision's _get_gaussian_kernel1d:
 *
 *   k[j] = exp(-x_j^2 / (2 sigma^2)) / sum_i exp(-x_i^2 / (2 sigma^2)),
 *   x_j = j - (kernel_size - 1) / 2,   j = 0 .. kernel_size - 1,
 *
 * and torchvision convolves with the 2-D kernel k k^T (an outer product), so blurring
 * the rows with k and then the columns with k gives the same image up to rounding. Every
 * channel of an image uses the same sigma. The image is padded as
 * torch.nn.functional.pad(mode="reflect") pads it: index -1 reads 1, index n reads n - 2
 * (the edge pixel is not repeated). torch refuses a reflect padding as wide as the side;
 * here the reflection simply repeats (period 2(n - 1); a side of one pixel reads itself),
 * so any kernel_size works on any image. Both axes use the same kernel_size (torchvision
 * also accepts a pair). The weights are computed in double and rounded to float; the
 * passes accumulate in float, in a fixed order. Output clamped to [0, 1] (a convex
 * combination of pixels in [0, 1] only leaves it by rounding).
 *
 * As torchvision requires, kernel_size must be odd and sigma_min <= sigma_max; create()
 * refuses the rest. sigma_min's declared range ends at sigma_max's default (2) and
 * sigma_max's begins at sigma_min's default (0.1), so each parameter accepts its whole
 * declared range when the other is left at its default (regula plugin check probes each
 * bound that way). torchvision's GaussianBlur always applies; here an image is blurred
 * with probability p, 1 by default.
 *
 * Randomness: image i reads uniforms at stream offsets 2i (blur if < p) and 2i + 1
 * (sigma = sigma_min + (sigma_max - sigma_min) u, in double), so results do not depend
 * on the thread count.
 *
 * Scratch: per parallel slot one plane (the row pass's output) and one reflect-padded
 * row, sized at create() for a 32x32 image and the host's thread count and grown (once)
 * on the first call with a larger image; the steady-state step allocates nothing. */
#include <math.h>
#include <regula/plugin.h>

#define GB_MAX_KERNEL 31

typedef struct gaussian_blur {
    const rg_host_api *host;
    int64_t ksize, radius;
    double sigma_min, sigma_max;
    float p;
    float *scratch;
    int64_t cap; /* floats in scratch */
} gaussian_blur;

static const rg_param_desc gaussian_blur_params[] = {
    RG_PARAM_INT_DESC("kernel_size", 3, 1, GB_MAX_KERNEL,
                      "odd side of the Gaussian kernel in pixels (1 leaves images unchanged)"),
    RG_PARAM_FLOAT_DESC("sigma_min", 0.1, 0.0, 2.0, RG_PARAM_MIN_EXCLUSIVE,
                        "smallest standard deviation in pixels (at most sigma_max)"),
    RG_PARAM_FLOAT_DESC("sigma_max", 2.0, 0.1, 100.0, 0,
                        "largest standard deviation in pixels; sigma is uniform in between"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of blurring each image"),
};

static int64_t slots_of(const rg_host_api *host)
{
    int t = host->num_threads ? host->num_threads() : 1;
    return t < 1 ? 1 : t;
}

/* A slot's floats: the row pass's plane, then the padded row. */
static int64_t slot_floats(const gaussian_blur *a, int64_t h, int64_t w)
{
    return h * w + w + 2 * a->radius;
}

static rg_status grow(gaussian_blur *a, int64_t floats)
{
    if (floats <= a->cap)
        return RG_OK;
    float *s = a->host->alloc((size_t)floats * sizeof(float));
    if (!s) {
        a->host->set_error("gaussian_blur: cannot allocate %lld floats of scratch",
                           (long long)floats);
        return RG_ERR_NOMEM;
    }
    a->host->free(a->scratch);
    a->scratch = s;
    a->cap = floats;
    return RG_OK;
}

static rg_status gaussian_blur_create(const rg_host_api *host, const rg_params *params,
                                      void **inst)
{
    int64_t ksize = (int64_t)params->values[0].number;
    double lo = params->values[1].number, hi = params->values[2].number;
    if (ksize % 2 == 0) {
        host->set_error("gaussian_blur: kernel_size=%lld is even; it must be odd (the kernel "
                        "is centred on the pixel, as torchvision's GaussianBlur requires)",
                        (long long)ksize);
        return RG_ERR_INVALID;
    }
    if (lo > hi) {
        host->set_error("gaussian_blur: sigma_min=%g exceeds sigma_max=%g", lo, hi);
        return RG_ERR_INVALID;
    }
    gaussian_blur *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("gaussian_blur: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->ksize = ksize;
    a->radius = (ksize - 1) / 2;
    a->sigma_min = lo;
    a->sigma_max = hi;
    a->p = (float)params->values[3].number;
    rg_status st = grow(a, slots_of(host) * slot_floats(a, 32, 32));
    if (st != RG_OK) {
        host->free(a);
        return st;
    }
    *inst = a;
    return RG_OK;
}

static void gaussian_blur_destroy(void *inst)
{
    gaussian_blur *a = inst;
    a->host->free(a->scratch);
    a->host->free(a);
}

/* torch's "reflect" index of i on a side of n, the reflection repeated beyond one
 * padding width: period 2(n - 1). */
static int64_t reflect(int64_t i, int64_t n)
{
    if (n == 1)
        return 0;
    int64_t period = 2 * (n - 1), m = i % period;
    if (m < 0)
        m += period;
    return m < n ? m : period - m;
}

/* torchvision's _get_gaussian_kernel1d(size, sigma), in double, rounded to float. */
static void kernel1d(double sigma, int64_t size, float *k)
{
    double e[GB_MAX_KERNEL], sum = 0.0, half = 0.5 * (double)(size - 1);
    for (int64_t j = 0; j < size; j++) {
        double x = ((double)j - half) / sigma;
        e[j] = exp(-0.5 * x * x);
        sum += e[j];
    }
    for (int64_t j = 0; j < size; j++)
        k[j] = (float)(e[j] / sum);
}

typedef struct blur_job {
    const gaussian_blur *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
    int64_t slots;
} blur_job;

/* One plane in place: rows into tmp through the padded row, then columns back. */
static void blur_plane(float *plane, int64_t h, int64_t w, const float *k, int64_t r,
                       float *tmp, float *row)
{
    const int64_t size = 2 * r + 1;
    for (int64_t y = 0; y < h; y++) {
        const float *src = plane + y * w;
        for (int64_t t = 0; t < w + 2 * r; t++)
            row[t] = src[reflect(t - r, w)];
        float *dst = tmp + y * w;
        for (int64_t x = 0; x < w; x++) {
            float s = 0.0f;
            for (int64_t j = 0; j < size; j++)
                s += k[j] * row[x + j];
            dst[x] = s;
        }
    }
    for (int64_t y = 0; y < h; y++) {
        float *dst = plane + y * w;
        const float *src = tmp + reflect(y - r, h) * w;
        for (int64_t x = 0; x < w; x++)
            dst[x] = k[0] * src[x];
        for (int64_t j = 1; j < size; j++) {
            src = tmp + reflect(y + j - r, h) * w;
            for (int64_t x = 0; x < w; x++)
                dst[x] += k[j] * src[x];
        }
        for (int64_t x = 0; x < w; x++)
            dst[x] = dst[x] < 0.0f ? 0.0f : dst[x] > 1.0f ? 1.0f : dst[x];
    }
}

static void blur_image(const blur_job *j, int64_t i, float *scratch)
{
    const gaussian_blur *a = j->a;
    const rg_batch_view *b = j->b;
    float u[2];
    a->host->rng_uniform(j->rng, (uint64_t)i * 2, u, 2);
    if (!(u[0] < a->p))
        return;
    float k[GB_MAX_KERNEL];
    kernel1d(a->sigma_min + (a->sigma_max - a->sigma_min) * (double)u[1], a->ksize, k);
    const int64_t plane = b->h * b->w;
    for (int64_t ch = 0; ch < b->c; ch++)
        blur_plane(b->data + (i * b->c + ch) * plane, b->h, b->w, k, a->radius, scratch,
                   scratch + plane);
}

/* Slot s handles images [n*s/S, n*(s+1)/S) with its own scratch. */
static rg_status blur_slots(void *ctx, int64_t begin, int64_t end)
{
    blur_job *j = ctx;
    int64_t n = j->b->n, per = slot_floats(j->a, j->b->h, j->b->w);
    for (int64_t s = begin; s < end; s++)
        for (int64_t i = n * s / j->slots; i < n * (s + 1) / j->slots; i++)
            blur_image(j, i, j->a->scratch + s * per);
    return RG_OK;
}

static rg_status gaussian_blur_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    gaussian_blur *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f || a->ksize == 1)
        return RG_OK;
    int64_t slots = slots_of(a->host);
    if (slots > batch->n)
        slots = batch->n;
    rg_status st = grow(a, slots * slot_floats(a, batch->h, batch->w));
    if (st != RG_OK)
        return st;
    blur_job j = {a, batch, rng, slots};
    return a->host->parallel_for(slots, 1, blur_slots, &j);
}

static const rg_augmenter_hooks gaussian_blur_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = gaussian_blur_apply,
};

static const rg_plugin_desc gaussian_blur_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof gaussian_blur_params / sizeof gaussian_blur_params[0],
    .name = "gaussian_blur",
    .version = "1.0.0",
    .doc = "Gaussian blur, sigma uniform in [sigma_min, sigma_max], reflect padding "
           "(torchvision GaussianBlur)",
    .params = gaussian_blur_params,
    .create = gaussian_blur_create,
    .destroy = gaussian_blur_destroy,
    .augmenter = &gaussian_blur_hooks,
};

RG_DEFINE_PLUGIN(gaussian_blur_desc)
