/* The linear algebra of spectral_norm on a weight viewed as the matrix W [rows, cols]: the
 * power iteration, sigma = u^T W v, W / sigma and the gradient map.
 *
 * Every sum is accumulated in double in an order fixed per output element (a row's dot
 * product over its columns in order; a column's sum over the rows in order; the final
 * vector sums serially), so the bits do not depend on how host->parallel_for splits the
 * work. That is why these are the plugin's own loops and not host->sgemm: OpenBLAS does not
 * give the same bits at 1 and 2 threads. */
#include <math.h>
#include <string.h>

#include "sn.h"

/* columns per task of W^T u; rows per task are chosen to cover about SN_GRAIN weights */
#define SN_COL_BLOCK 256
#define SN_GRAIN 16384

typedef struct sn_job {
    const float *w, *u, *v;
    float *out;        /* W / sigma, or the gradient mapped in place */
    int64_t rows, cols;
    double *x, *y, *d; /* W^T u [cols], W v [rows], <g_i, w_i> [rows] */
    double inv;        /* 1 / sigma */
    double coef;       /* <g, W> / sigma^2 */
} sn_job;

static int64_t row_grain(int64_t cols)
{
    return cols >= SN_GRAIN ? 1 : SN_GRAIN / cols;
}

rg_status sn_reserve(sn_plugin *s, int64_t rows, int64_t cols)
{
    int64_t n = cols + 2 * rows;
    if (n <= s->scratch_n)
        return RG_OK;
    double *p = s->host->alloc((size_t)n * sizeof(double));
    if (!p) {
        s->host->set_error("spectral_norm: out of memory for %lld doubles of scratch",
                           (long long)n);
        return RG_ERR_NOMEM;
    }
    s->host->free(s->scratch);
    s->scratch = p;
    s->scratch_n = n;
    return RG_OK;
}

static void job_of(sn_plugin *s, const float *w, int64_t rows, int64_t cols, sn_job *j)
{
    memset(j, 0, sizeof *j);
    j->w = w;
    j->rows = rows;
    j->cols = cols;
    j->x = s->scratch;
    j->y = s->scratch + cols;
    j->d = s->scratch + cols + rows;
}

/* a float vector from its double sums, divided by max(||x||, eps) as torch's normalize */
static void normalize_into(float *dst, const double *x, int64_t n, double eps)
{
    double sq = 0.0;
    for (int64_t i = 0; i < n; i++)
        sq += x[i] * x[i];
    double norm = sqrt(sq), den = norm > eps ? norm : eps;
    for (int64_t i = 0; i < n; i++)
        dst[i] = (float)(x[i] / den);
}

void sn_normalize(float *x, int64_t n, double eps)
{
    double sq = 0.0;
    for (int64_t i = 0; i < n; i++)
        sq += (double)x[i] * x[i];
    double norm = sqrt(sq), den = norm > eps ? norm : eps;
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(x[i] / den);
}

/* splitmix64 (Steele, Lea & Flood, OOPSLA 2014): a fixed start that no structure of W is
 * likely to be orthogonal to, unlike a constant vector */
static uint64_t splitmix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sn_start_vector(float *u, int64_t n, double eps)
{
    /* u_i = 2 * (the top 24 bits of splitmix64(i)) / 2^24 - 1, in [-1, 1) */
    for (int64_t i = 0; i < n; i++)
        u[i] = (float)((double)(splitmix64((uint64_t)i) >> 40) / 8388608.0 - 1.0);
    sn_normalize(u, n, eps);
}

/* x[j] = sum_i W_ij u_i for the column blocks [begin, end) */
static rg_status wtu_blocks(void *ctx, int64_t begin, int64_t end)
{
    const sn_job *j = ctx;
    for (int64_t b = begin; b < end; b++) {
        int64_t lo = b * SN_COL_BLOCK;
        int64_t hi = lo + SN_COL_BLOCK < j->cols ? lo + SN_COL_BLOCK : j->cols;
        double *x = j->x;
        for (int64_t c = lo; c < hi; c++)
            x[c] = 0.0;
        for (int64_t i = 0; i < j->rows; i++) {
            const float *wr = j->w + i * j->cols;
            double ui = j->u[i];
            for (int64_t c = lo; c < hi; c++)
                x[c] += (double)wr[c] * ui;
        }
    }
    return RG_OK;
}

static double row_dot(const float *a, const float *b, int64_t n)
{
    double s = 0.0;
    for (int64_t k = 0; k < n; k++)
        s += (double)a[k] * b[k];
    return s;
}

/* y[i] = sum_j W_ij v_j for the rows [begin, end) */
static rg_status wv_rows(void *ctx, int64_t begin, int64_t end)
{
    const sn_job *j = ctx;
    for (int64_t i = begin; i < end; i++)
        j->y[i] = row_dot(j->w + i * j->cols, j->v, j->cols);
    return RG_OK;
}

rg_status sn_iterate(sn_plugin *s, const float *w, int64_t rows, int64_t cols, float *u,
                     float *v, int iterations, double *sigma)
{
    const rg_host_api *h = s->host;
    sn_job j;
    job_of(s, w, rows, cols, &j);
    j.u = u;
    j.v = v;
    rg_status st = RG_OK;
    int64_t blocks = (cols + SN_COL_BLOCK - 1) / SN_COL_BLOCK;
    for (int it = 0; it < iterations && st == RG_OK; it++) {
        st = h->parallel_for(blocks, 1, wtu_blocks, &j);
        if (st != RG_OK)
            break;
        normalize_into(v, j.x, cols, s->eps);
        st = h->parallel_for(rows, row_grain(cols), wv_rows, &j);
        if (st == RG_OK)
            normalize_into(u, j.y, rows, s->eps);
    }
    /* after an iteration y already holds W v for the final v: the same bits again */
    if (st == RG_OK && iterations == 0)
        st = h->parallel_for(rows, row_grain(cols), wv_rows, &j);
    if (st != RG_OK)
        return st;
    double sg = 0.0;
    for (int64_t i = 0; i < rows; i++)
        sg += (double)u[i] * j.y[i];
    *sigma = sg;
    return RG_OK;
}

static rg_status scale_rows(void *ctx, int64_t begin, int64_t end)
{
    const sn_job *j = ctx;
    for (int64_t k = begin * j->cols; k < end * j->cols; k++)
        j->out[k] = (float)((double)j->w[k] * j->inv);
    return RG_OK;
}

rg_status sn_scale(sn_plugin *s, const float *w, int64_t rows, int64_t cols, double sigma,
                   float *out)
{
    sn_job j;
    job_of(s, w, rows, cols, &j);
    j.out = out;
    j.inv = 1.0 / sigma;
    return s->host->parallel_for(rows, row_grain(cols), scale_rows, &j);
}

/* y[i] = W_i . v and d[i] = g_i . W_i, one pass over both tensors */
static rg_status dot_rows(void *ctx, int64_t begin, int64_t end)
{
    const sn_job *j = ctx;
    for (int64_t i = begin; i < end; i++) {
        const float *wr = j->w + i * j->cols;
        j->y[i] = row_dot(wr, j->v, j->cols);
        j->d[i] = row_dot(j->out + i * j->cols, wr, j->cols);
    }
    return RG_OK;
}

/* g_ij <- g_ij / sigma - coef u_i v_j */
static rg_status grad_rows(void *ctx, int64_t begin, int64_t end)
{
    const sn_job *j = ctx;
    for (int64_t i = begin; i < end; i++) {
        float *gr = j->out + i * j->cols;
        double cu = j->coef * j->u[i];
        for (int64_t c = 0; c < j->cols; c++)
            gr[c] = (float)((double)gr[c] * j->inv - cu * j->v[c]);
    }
    return RG_OK;
}

rg_status sn_map_gradient(sn_plugin *s, const float *w, int64_t rows, int64_t cols,
                          const float *u, const float *v, float *g, double *sigma)
{
    const rg_host_api *h = s->host;
    sn_job j;
    job_of(s, w, rows, cols, &j);
    j.u = u;
    j.v = v;
    j.out = g;
    rg_status st = h->parallel_for(rows, row_grain(cols), dot_rows, &j);
    if (st != RG_OK)
        return st;
    double sg = 0.0, gw = 0.0;
    for (int64_t i = 0; i < rows; i++) {
        sg += (double)u[i] * j.y[i];
        gw += j.d[i];
    }
    *sigma = sg;
    if (!(sg > 0.0) || !isfinite(sg))
        return RG_OK; /* the caller reports it, naming the tensor */
    j.inv = 1.0 / sg;
    j.coef = gw / (sg * sg);
    return h->parallel_for(rows, row_grain(cols), grad_rows, &j);
}
