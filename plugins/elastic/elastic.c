/* elastic: the elastic distortion of Simard, Steinkraus & Platt, "Best Practices for
 * Convolutional Neural Networks Applied to Visual Document Analysis", ICDAR 2003,
 * section 2. Two random displacement fields, one value per pixel,
 *
 *   dx(x, y) = rand(-1, +1),   dy(x, y) = rand(-1, +1)   (uniform),
 *
 * are each convolved with a Gaussian of standard deviation sigma (pixels) and multiplied
 * by alpha (pixels), and the image is resampled bilinearly at the displaced positions:
 *
 *   out(x, y) = in(x + dx(x, y), y + dy(x, y)).
 *
 * The same fields move every channel of an image. A sample's neighbour outside the image
 * counts as 0 (the paper does not say; torch grid_sample with padding_mode="zeros").
 *
 * The paper leaves the Gaussian's extent and its border open; they are
 * torchvision.transforms.ElasticTransform's here: int(8 sigma + 1) taps, made odd
 * (sigma = 0 leaves the fields unsmoothed), weights exp(-x^2 / (2 sigma^2)) normalized to
 * sum 1 (_get_gaussian_kernel1d), rows then columns, reflect padding as torch's "reflect"
 * (the edge pixel not repeated), the reflection repeated when the kernel is wider than
 * the image (torch refuses that padding). The convolution is computed through its folded
 * weight matrix per axis, W[x][x'] = the sum of the taps that land on x' after
 * reflection, built in double once per image size, so a kernel many times wider than the
 * image costs no more than one as wide.
 *
 * Parameterization: alpha is in pixels, as in Simard's paper, whose MNIST setting
 * alpha = 34, sigma = 4 is the default. torchvision's ElasticTransform(alpha=50.0,
 * sigma=5.0) scales the smoothed field by alpha / size into grid units, where [-1, 1]
 * spans the image (a unit is half the side): on a square image one unit of smoothed field
 * moves a pixel alpha / 2 pixels there, so torchvision's alpha is twice the alpha here
 * (its defaults are alpha = 25, sigma = 5 in these units). torchvision's fill=0 path also
 * multiplies by a bilinearly sampled validity mask, which darkens the one-pixel rim of
 * content pulled in from outside a little more. torchvision applies the distortion
 * always; here each image is distorted with probability p, 1 by default.
 *
 * Randomness: image i reads uniforms at stream positions [iK, (i + 1) K), K = 2hw + 1,
 * computed in uint64: iK decides (distort if < p), iK + 1 + q is the raw dx of pixel
 * q = y w + x (2u - 1) and iK + 1 + hw + q its raw dy. The draws depend only on the image
 * index and size, so results do not depend on the thread count.
 *
 * Scratch: the folded matrices of the last image size, and per parallel slot the raw
 * fields, the row pass, the smoothed fields and a zero-bordered image copy (bilinear_pad),
 * sized at create() for a 3x32x32 image and the host's thread count and grown (once) on
 * the first call with a larger image; the steady-state step allocates nothing. */
#include <math.h>
#include <regula/plugin.h>
#include <string.h>

#include "../common/bilinear.h"

typedef struct buffer {
    unsigned char *p;
    size_t cap; /* bytes */
} buffer;

typedef struct elastic {
    const rg_host_api *host;
    double alpha;
    float p;
    int64_t radius; /* the kernel has 2 radius + 1 taps */
    double *kernel;
    buffer tables, scratch;
    int64_t tab_h, tab_w; /* the size the tables were built for; 0 before the first */
} elastic;

static const rg_param_desc elastic_params[] = {
    RG_PARAM_FLOAT_DESC("alpha", 34.0, 0.0, 1000.0, 0,
                        "scale of the smoothed displacement, in pixels (Simard: 34 on MNIST)"),
    RG_PARAM_FLOAT_DESC("sigma", 4.0, 0.0, 1000.0, 0,
                        "standard deviation of the Gaussian smoothing the fields, in pixels"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of distorting each image"),
};

static int64_t slots_of(const rg_host_api *host)
{
    int t = host->num_threads ? host->num_threads() : 1;
    return t < 1 ? 1 : t;
}

static size_t round64(size_t bytes)
{
    return (bytes + 63) & ~(size_t)63;
}

/* Folded matrices: Wx (w x w), Wy (h x h), then the first and last column of each row's
 * support, for x then y. */
static size_t table_bytes(int64_t h, int64_t w)
{
    return round64((size_t)(w * w + h * h) * sizeof(double)) +
           (size_t)(2 * (w + h)) * sizeof(int64_t);
}

/* One slot: smoothed dx and dy, the row pass (doubles), the raw uniforms, the padded copy
 * (floats). */
static size_t slot_bytes(int64_t c, int64_t h, int64_t w)
{
    return round64((size_t)(3 * h * w) * sizeof(double) + (size_t)(2 * h * w) * sizeof(float) +
                   (size_t)bilinear_padded_floats(c, h, w) * sizeof(float));
}

static rg_status grow(const rg_host_api *host, buffer *b, size_t bytes)
{
    if (bytes <= b->cap)
        return RG_OK;
    unsigned char *p = host->alloc(bytes);
    if (!p) {
        host->set_error("elastic: cannot allocate %zu bytes of scratch", bytes);
        return RG_ERR_NOMEM;
    }
    host->free(b->p);
    b->p = p;
    b->cap = bytes;
    return RG_OK;
}

static void elastic_destroy(void *inst)
{
    elastic *a = inst;
    a->host->free(a->kernel);
    a->host->free(a->tables.p);
    a->host->free(a->scratch.p);
    a->host->free(a);
}

static rg_status elastic_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    elastic *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("elastic: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->alpha = params->values[0].number;
    double sigma = params->values[1].number;
    a->p = (float)params->values[2].number;
    /* torchvision: kx = int(8 * sigma + 1), made odd; no blur at sigma = 0 */
    int64_t size = sigma > 0.0 ? (int64_t)(8.0 * sigma + 1.0) : 1;
    if (size % 2 == 0)
        size++;
    a->radius = (size - 1) / 2;
    a->kernel = host->alloc((size_t)size * sizeof(double));
    rg_status st = a->kernel ? RG_OK : RG_ERR_NOMEM;
    if (!a->kernel)
        host->set_error("elastic: cannot allocate a kernel of %lld taps", (long long)size);
    if (st == RG_OK)
        st = grow(host, &a->tables, table_bytes(32, 32));
    if (st == RG_OK)
        st = grow(host, &a->scratch, (size_t)slots_of(host) * slot_bytes(3, 32, 32));
    if (st != RG_OK) {
        elastic_destroy(a);
        return st;
    }
    /* _get_gaussian_kernel1d(size, sigma), in double */
    double sum = 0.0;
    for (int64_t j = 0; j < size; j++) {
        double x = sigma > 0.0 ? (double)(j - a->radius) / sigma : 0.0;
        a->kernel[j] = exp(-0.5 * x * x);
        sum += a->kernel[j];
    }
    for (int64_t j = 0; j < size; j++)
        a->kernel[j] /= sum;
    *inst = a;
    return RG_OK;
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

/* The n x n matrix of the reflect-padded convolution on a side of n, and each row's
 * support [lo, hi]: reflection only moves a tap towards the inside, so row x's weights
 * lie within [x - r, x + r] clipped to the side. */
static void fold(const elastic *a, int64_t n, double *wm, int64_t *lo, int64_t *hi)
{
    const int64_t r = a->radius;
    memset(wm, 0, (size_t)(n * n) * sizeof(double));
    for (int64_t x = 0; x < n; x++) {
        for (int64_t j = 0; j <= 2 * r; j++)
            wm[x * n + reflect(x + j - r, n)] += a->kernel[j];
        lo[x] = x - r < 0 ? 0 : x - r;
        hi[x] = x + r > n - 1 ? n - 1 : x + r;
    }
}

typedef struct tables {
    double *wx, *wy;
    int64_t *lox, *hix, *loy, *hiy;
} tables;

static tables tables_of(const elastic *a, int64_t h, int64_t w)
{
    tables t;
    t.wx = (double *)(void *)a->tables.p;
    t.wy = t.wx + w * w;
    t.lox = (int64_t *)(void *)(a->tables.p + round64((size_t)(w * w + h * h) * sizeof(double)));
    t.hix = t.lox + w;
    t.loy = t.hix + w;
    t.hiy = t.loy + h;
    return t;
}

typedef struct elastic_job {
    const elastic *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
    tables t;
    int64_t slots;
    int wide; /* bilinear_have_avx512(), asked once per batch */
} elastic_job;

/* One raw field (uniforms u, the field 2u - 1) smoothed into out: rows into tmp, then
 * columns. */
static void smooth(const tables *t, int64_t h, int64_t w, const float *u, double *tmp,
                   double *out)
{
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            const double *wr = t->wx + x * w;
            double s = 0.0;
            for (int64_t q = t->lox[x]; q <= t->hix[x]; q++)
                s += wr[q] * (2.0 * (double)u[y * w + q] - 1.0);
            tmp[y * w + x] = s;
        }
    for (int64_t y = 0; y < h; y++) {
        double *dst = out + y * w;
        const double *wr = t->wy + y * h;
        for (int64_t x = 0; x < w; x++)
            dst[x] = 0.0;
        for (int64_t q = t->loy[y]; q <= t->hiy[y]; q++) {
            const double *src = tmp + q * w;
            for (int64_t x = 0; x < w; x++)
                dst[x] += wr[q] * src[x];
        }
    }
}

static void distort_image(const elastic_job *j, int64_t i, unsigned char *scratch)
{
    const elastic *a = j->a;
    const rg_batch_view *b = j->b;
    const int64_t h = b->h, w = b->w, plane = h * w;
    const uint64_t base = (uint64_t)i * (2 * (uint64_t)plane + 1);
    float u0;
    a->host->rng_uniform(j->rng, base, &u0, 1);
    if (!(u0 < a->p))
        return;
    double *dx = (double *)(void *)scratch, *dy = dx + plane, *tmp = dy + plane;
    float *raw = (float *)(void *)(tmp + plane), *copy = raw + 2 * plane;
    a->host->rng_uniform(j->rng, base + 1, raw, (size_t)(2 * plane));
    smooth(&j->t, h, w, raw, tmp, dx);
    smooth(&j->t, h, w, raw + plane, tmp, dy);
    float *img = b->data + i * b->c * plane;
    bilinear_pad(copy, img, b->c, h, w);
    const int64_t padded = (h + 2) * (w + 2);
    double xs[BILINEAR_ROW], ys[BILINEAR_ROW];
    for (int64_t y = 0; y < h; y++)
        for (int64_t x0 = 0; x0 < w; x0 += BILINEAR_ROW) {
            int64_t m = w - x0 < BILINEAR_ROW ? w - x0 : BILINEAR_ROW;
            for (int64_t k = 0; k < m; k++) {
                int64_t q = y * w + x0 + k;
                xs[k] = (double)(x0 + k) + a->alpha * dx[q];
                ys[k] = (double)y + a->alpha * dy[q];
            }
            for (int64_t ch = 0; ch < b->c; ch++)
                bilinear_row(copy + ch * padded, h, w, ys, xs, img + ch * plane + y * w + x0, m,
                             j->wide);
        }
}

/* Slot s handles images [n*s/S, n*(s+1)/S) with its own scratch. */
static rg_status elastic_slots(void *ctx, int64_t begin, int64_t end)
{
    elastic_job *j = ctx;
    int64_t n = j->b->n;
    size_t per = slot_bytes(j->b->c, j->b->h, j->b->w);
    for (int64_t s = begin; s < end; s++)
        for (int64_t i = n * s / j->slots; i < n * (s + 1) / j->slots; i++)
            distort_image(j, i, j->a->scratch.p + (size_t)s * per);
    return RG_OK;
}

static rg_status elastic_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    elastic *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f || a->alpha <= 0.0)
        return RG_OK;
    const int64_t h = batch->h, w = batch->w;
    int64_t slots = slots_of(a->host);
    if (slots > batch->n)
        slots = batch->n;
    rg_status st = grow(a->host, &a->scratch, (size_t)slots * slot_bytes(batch->c, h, w));
    if (st == RG_OK && (a->tab_h != h || a->tab_w != w)) {
        st = grow(a->host, &a->tables, table_bytes(h, w));
        if (st == RG_OK) {
            tables t = tables_of(a, h, w);
            fold(a, w, t.wx, t.lox, t.hix);
            fold(a, h, t.wy, t.loy, t.hiy);
            a->tab_h = h;
            a->tab_w = w;
        }
    }
    if (st != RG_OK)
        return st;
    elastic_job j = {a, batch, rng, tables_of(a, h, w), slots, bilinear_have_avx512()};
    return a->host->parallel_for(slots, 1, elastic_slots, &j);
}

static const rg_augmenter_hooks elastic_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = elastic_apply,
};

static const rg_plugin_desc elastic_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof elastic_params / sizeof elastic_params[0],
    .name = "elastic",
    .version = "1.0.0",
    .doc = "elastic distortion: uniform fields smoothed by a Gaussian, times alpha pixels, "
           "bilinear (Simard et al. 2003)",
    .params = elastic_params,
    .create = elastic_create,
    .destroy = elastic_destroy,
    .augmenter = &elastic_hooks,
};

RG_DEFINE_PLUGIN(elastic_desc)
