/* perspective: a random perspective warp, as torchvision.transforms.RandomPerspective(
 * distortion_scale, p, interpolation=BILINEAR, fill=0) on a tensor image. With
 * dw = int(distortion_scale * (w // 2)) and dh = int(distortion_scale * (h // 2)), the
 * corners of the image, startpoints (0, 0), (w-1, 0), (w-1, h-1), (0, h-1), go to the
 * endpoints RandomPerspective.get_params draws (torch.randint(lo, hi) is uniform on the
 * integers lo..hi-1):
 *
 *   top-left     (U{0..dw},          U{0..dh})
 *   top-right    (U{w-1-dw..w-1},    U{0..dh})
 *   bottom-right (U{w-1-dw..w-1},    U{h-1-dh..h-1})
 *   bottom-left  (U{0..dw},          U{h-1-dh..h-1})
 *
 * The corners are drawn as whole pixels, as torchvision draws them (not as continuous
 * offsets). As in torchvision's _get_perspective_coeffs, the homography H maps each
 * endpoint to its startpoint (output to input):
 *
 *   H(x, y) = ((a x + b y + c) / (g x + h y + 1), (d x + e y + f) / (g x + h y + 1)),
 *
 * its eight coefficients the solution of the 8 x 8 linear system of the four point pairs,
 * solved here in double by Gaussian elimination with partial pivoting (torchvision: lstsq
 * in float64, the result rounded to float32). Output pixel (x, y) samples the input at
 *
 *   (xs, ys) = H(x + 1/2, y + 1/2) - (1/2, 1/2),
 *
 * the pixel-centre convention of torchvision's _perspective_grid with grid_sample(
 * align_corners=False) and of PIL's perspective transform, computed in double
 * (torchvision: float32). The sample is bilinear from the four neighbours, a neighbour
 * outside the image counting as 0 (grid_sample, padding_mode="zeros"); torchvision's
 * fill=0 path also multiplies by a bilinearly sampled validity mask, which darkens the
 * one-pixel rim along the warped border a little more; elsewhere they agree. Where the
 * four endpoints equal the startpoints (always when distortion_scale = 0) the image is
 * left exactly as it is. So is an image where three of the endpoints fall on one line
 * (possible when distortion_scale is large enough for the corner ranges to meet): no
 * homography takes the corners there, and the solution torchvision's lstsq returns then
 * collapses the picture (its 3 x 3 matrix is singular); likewise when three startpoints
 * are on a line (a side of one pixel). Applied to each image with probability p.
 *
 * Randomness: image i reads uniforms at stream offsets [12i, 12i + 9): 12i decides
 * (warp if < p), 12i + 1 .. 12i + 8 the endpoints' coordinates in the order top-left x,
 * y, top-right x, y, bottom-right x, y, bottom-left x, y; an integer uniform on
 * {0..m-1} is floor(u * m), computed in double. Results do not depend on the thread
 * count.
 *
 * Scratch: one zero-bordered image copy (bilinear_pad) per parallel slot, sized at
 * create() for a 3x32x32 image and the host's thread count and grown (once) on the first
 * call with a larger image; the steady-state step allocates nothing. */
#include <math.h>
#include <regula/plugin.h>

#include "../common/bilinear.h"
#include "../common/slots.h"

#define PERSPECTIVE_STRIDE 12 /* uniforms reserved per image: 1 + 8, rounded up to 4 */
#define PERSPECTIVE_DEFAULT_IMAGE (3 * 34 * 34) /* a 3x32x32 image in its zero border */

typedef struct perspective {
    const rg_host_api *host;
    double distortion;
    float p;
    slot_scratch scratch;
} perspective;

static const rg_param_desc perspective_params[] = {
    RG_PARAM_FLOAT_DESC("distortion_scale", 0.5, 0.0, 1.0, 0,
                        "how far the corners move, as a fraction of half the width and height"),
    RG_PARAM_FLOAT_DESC("p", 0.5, 0.0, 1.0, 0, "probability of warping each image"),
};

static rg_status perspective_create(const rg_host_api *host, const rg_params *params,
                                    void **inst)
{
    perspective *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("perspective: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->distortion = params->values[0].number;
    a->p = (float)params->values[1].number;
    rg_status st = slot_scratch_grow(host, &a->scratch,
                                     slot_count(host) * PERSPECTIVE_DEFAULT_IMAGE, "perspective");
    if (st != RG_OK) {
        host->free(a);
        return st;
    }
    *inst = a;
    return RG_OK;
}

static void perspective_destroy(void *inst)
{
    perspective *a = inst;
    a->host->free(a->scratch.data);
    a->host->free(a);
}

/* Integer uniform on {0, ..., m - 1} from u in [0, 1). */
static int64_t below(float u, int64_t m)
{
    int64_t k = (int64_t)((double)u * (double)m);
    return k < m ? k : m - 1;
}

/* Solves A x = b (8 x 8, row-major, both overwritten) by Gaussian elimination with
 * partial pivoting; 0 if a pivot is negligible against the largest entry of A. */
static int solve8(double a[8][8], double b[8], double x[8])
{
    double amax = 0.0;
    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 8; c++)
            amax = fabs(a[r][c]) > amax ? fabs(a[r][c]) : amax;
    for (int col = 0; col < 8; col++) {
        int piv = col;
        for (int r = col + 1; r < 8; r++)
            if (fabs(a[r][col]) > fabs(a[piv][col]))
                piv = r;
        if (!(fabs(a[piv][col]) > 1e-12 * amax))
            return 0;
        if (piv != col) {
            for (int c = 0; c < 8; c++) {
                double t = a[col][c];
                a[col][c] = a[piv][c];
                a[piv][c] = t;
            }
            double t = b[col];
            b[col] = b[piv];
            b[piv] = t;
        }
        for (int r = col + 1; r < 8; r++) {
            double f = a[r][col] / a[col][col];
            for (int c = col; c < 8; c++)
                a[r][c] -= f * a[col][c];
            b[r] -= f * b[col];
        }
    }
    for (int r = 7; r >= 0; r--) {
        double s = b[r];
        for (int c = r + 1; c < 8; c++)
            s -= a[r][c] * x[c];
        x[r] = s / a[r][r];
    }
    return 1;
}

/* 1 if no three of the four points are on a line; exact, the coordinates being whole
 * numbers far below 2^26. */
static int general_position(const double q[4][2])
{
    for (int k = 0; k < 4; k++) {
        const double *o = q[(k + 1) % 4], *a = q[(k + 2) % 4], *b = q[(k + 3) % 4];
        if ((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]) == 0.0)
            return 0;
    }
    return 1;
}

/* The coefficients (a..h) of the map from the endpoints e to the startpoints s, the
 * system of torchvision's _get_perspective_coeffs: per pair, with (X, Y) = e and
 * (u, v) = s,  a X + b Y + c - g X u - h Y u = u  and  d X + e Y + f - g X v - h Y v = v. */
static int homography(const double e[4][2], const double s[4][2], double coef[8])
{
    double m[8][8] = {{0}}, rhs[8];
    for (int k = 0; k < 4; k++) {
        double X = e[k][0], Y = e[k][1], u = s[k][0], v = s[k][1];
        double *r0 = m[2 * k], *r1 = m[2 * k + 1];
        r0[0] = X;
        r0[1] = Y;
        r0[2] = 1.0;
        r0[6] = -u * X;
        r0[7] = -u * Y;
        r1[3] = X;
        r1[4] = Y;
        r1[5] = 1.0;
        r1[6] = -v * X;
        r1[7] = -v * Y;
        rhs[2 * k] = u;
        rhs[2 * k + 1] = v;
    }
    return solve8(m, rhs, coef);
}

typedef struct warp_job {
    const perspective *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
    int wide; /* bilinear_have_avx512(), asked once per batch */
} warp_job;

static void warp_image(const void *job, int64_t i, float *copy)
{
    const warp_job *j = job;
    const rg_batch_view *b = j->b;
    float u[9];
    j->a->host->rng_uniform(j->rng, (uint64_t)i * PERSPECTIVE_STRIDE, u, 9);
    if (!(u[0] < j->a->p))
        return;
    const int64_t w = b->w, h = b->h;
    const int64_t dw = (int64_t)(j->a->distortion * (double)(w / 2));
    const int64_t dh = (int64_t)(j->a->distortion * (double)(h / 2));
    const double s[4][2] = {{0, 0}, {(double)(w - 1), 0}, {(double)(w - 1), (double)(h - 1)},
                            {0, (double)(h - 1)}};
    /* each coordinate: its lowest value plus U{0..d} */
    const int64_t base[8] = {0, 0, w - 1 - dw, 0, w - 1 - dw, h - 1 - dh, 0, h - 1 - dh};
    double e[4][2];
    int moved = 0;
    for (int k = 0; k < 8; k++) {
        int64_t v = base[k] + below(u[1 + k], (k % 2 ? dh : dw) + 1);
        e[k / 2][k % 2] = (double)v;
        moved |= e[k / 2][k % 2] != s[k / 2][k % 2];
    }
    double c[8];
    if (!moved || !general_position(e) || !general_position(s) || !homography(e, s, c))
        return;
    int64_t plane = h * w;
    float *img = b->data + i * b->c * plane;
    bilinear_pad(copy, img, b->c, h, w);
    int64_t padded = (h + 2) * (w + 2);
    double xs[BILINEAR_ROW], ys[BILINEAR_ROW];
    for (int64_t y = 0; y < h; y++)
        for (int64_t x0 = 0; x0 < w; x0 += BILINEAR_ROW) {
            int64_t m = w - x0 < BILINEAR_ROW ? w - x0 : BILINEAR_ROW;
            for (int64_t k = 0; k < m; k++) {
                double X = (double)(x0 + k) + 0.5, Y = (double)y + 0.5;
                double den = c[6] * X + c[7] * Y + 1.0;
                xs[k] = (c[0] * X + c[1] * Y + c[2]) / den - 0.5;
                ys[k] = (c[3] * X + c[4] * Y + c[5]) / den - 0.5;
            }
            for (int64_t ch = 0; ch < b->c; ch++)
                bilinear_row(copy + ch * padded, h, w, ys, xs, img + ch * plane + y * w + x0, m,
                             j->wide);
        }
}

static rg_status perspective_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    perspective *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f)
        return RG_OK;
    warp_job j = {a, batch, rng, bilinear_have_avx512()};
    return slot_run_images(a->host, &a->scratch, batch, warp_image, &j, "perspective");
}

static const rg_augmenter_hooks perspective_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = perspective_apply,
};

static const rg_plugin_desc perspective_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof perspective_params / sizeof perspective_params[0],
    .name = "perspective",
    .version = "1.0.0",
    .doc = "warp the corners by up to distortion_scale of half the size, bilinear, zero fill "
           "(RandomPerspective)",
    .params = perspective_params,
    .create = perspective_create,
    .destroy = perspective_destroy,
    .augmenter = &perspective_hooks,
};

RG_DEFINE_PLUGIN(perspective_desc)
