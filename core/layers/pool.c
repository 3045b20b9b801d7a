/* Pooling over k x k windows with a stride and no padding (torch.nn.MaxPool2d
 * and AvgPool2d with padding 0, ceil_mode False), and global average
 * pooling to one value per channel. */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "layer.h"

typedef struct pool {
    int64_t c, h, w, k, s, oh, ow;
    int32_t *argmax;     /* max pooling: input index of each output, max batch */
} pool;

/* The common 2x2, stride 2 window, unrolled. As below: the first maximum
 * wins, and a NaN, once met, is kept (best == best fails for NaN). */
static void max_forward_2x2(const pool *p, const float *x, float *y, int64_t n)
{
    int64_t in_sz = p->c * p->h * p->w, out_sz = p->c * p->oh * p->ow;
#pragma omp parallel for schedule(static) if (n * out_sz >= 16384)
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < p->c; ch++) {
            const float *xc = x + i * in_sz + ch * p->h * p->w;
            float *yc = y + i * out_sz + ch * p->oh * p->ow;
            int32_t *ac = p->argmax + i * out_sz + ch * p->oh * p->ow;
            for (int64_t oy = 0; oy < p->oh; oy++) {
                const float *r0 = xc + 2 * oy * p->w, *r1 = r0 + p->w;
                int32_t base = (int32_t)(2 * oy * p->w);
                for (int64_t ox = 0; ox < p->ow; ox++) {
                    int32_t at = base + (int32_t)(2 * ox);
                    float best = r0[2 * ox];
                    if (!(r0[2 * ox + 1] <= best) && best == best) {
                        best = r0[2 * ox + 1];
                        at = base + (int32_t)(2 * ox + 1);
                    }
                    if (!(r1[2 * ox] <= best) && best == best) {
                        best = r1[2 * ox];
                        at = base + (int32_t)(p->w + 2 * ox);
                    }
                    if (!(r1[2 * ox + 1] <= best) && best == best) {
                        best = r1[2 * ox + 1];
                        at = base + (int32_t)(p->w + 2 * ox + 1);
                    }
                    yc[oy * p->ow + ox] = best;
                    ac[oy * p->ow + ox] = at;
                }
            }
        }
}

static void max_forward(rg_layer *l, const float *x, float *y, int64_t n)
{
    pool *p = l->impl;
    if (p->k == 2 && p->s == 2) {
        max_forward_2x2(p, x, y, n);
        return;
    }
    int64_t in_sz = p->c * p->h * p->w, out_sz = p->c * p->oh * p->ow;
#pragma omp parallel for schedule(static) if (n * out_sz >= 16384)
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < p->c; ch++) {
            const float *xc = x + i * in_sz + ch * p->h * p->w;
            for (int64_t oy = 0; oy < p->oh; oy++)
                for (int64_t ox = 0; ox < p->ow; ox++) {
                    float best = -FLT_MAX;
                    int32_t at = 0;
                    for (int64_t ky = 0; ky < p->k; ky++)
                        for (int64_t kx = 0; kx < p->k; kx++) {
                            int64_t idx = (oy * p->s + ky) * p->w + ox * p->s + kx;
                            /* first maximum wins, as in PyTorch; NaN propagates */
                            if (xc[idx] > best || xc[idx] != xc[idx]) {
                                best = xc[idx];
                                at = (int32_t)idx;
                            }
                        }
                    int64_t o = i * out_sz + (ch * p->oh + oy) * p->ow + ox;
                    y[o] = best;
                    p->argmax[o] = at;
                }
        }
}

static void max_backward(rg_layer *l, const float *x, const float *y, const float *dy, float *dx,
                         int64_t n)
{
    (void)x;
    (void)y;
    pool *p = l->impl;
    if (!dx)
        return;
    int64_t in_sz = p->c * p->h * p->w, out_sz = p->c * p->oh * p->ow, ohw = p->oh * p->ow;
#pragma omp parallel for schedule(static) if (n * in_sz >= 16384)
    for (int64_t i = 0; i < n; i++) {
        memset(dx + i * in_sz, 0, (size_t)in_sz * sizeof(float));
        for (int64_t ch = 0; ch < p->c; ch++) {
            float *dxc = dx + i * in_sz + ch * p->h * p->w;
            for (int64_t j = 0; j < ohw; j++) {
                int64_t o = i * out_sz + ch * ohw + j;
                dxc[p->argmax[o]] += dy[o];
            }
        }
    }
}

static void avg_forward(rg_layer *l, const float *x, float *y, int64_t n)
{
    pool *p = l->impl;
    int64_t in_sz = p->c * p->h * p->w, out_sz = p->c * p->oh * p->ow;
    float inv = 1.0f / (float)(p->k * p->k);
#pragma omp parallel for schedule(static) if (n * out_sz >= 16384)
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < p->c; ch++) {
            const float *xc = x + i * in_sz + ch * p->h * p->w;
            for (int64_t oy = 0; oy < p->oh; oy++)
                for (int64_t ox = 0; ox < p->ow; ox++) {
                    float s = 0.0f;
                    for (int64_t ky = 0; ky < p->k; ky++)
                        for (int64_t kx = 0; kx < p->k; kx++)
                            s += xc[(oy * p->s + ky) * p->w + ox * p->s + kx];
                    y[i * out_sz + (ch * p->oh + oy) * p->ow + ox] = s * inv;
                }
        }
}

static void avg_backward(rg_layer *l, const float *x, const float *y, const float *dy, float *dx,
                         int64_t n)
{
    (void)x;
    (void)y;
    pool *p = l->impl;
    if (!dx)
        return;
    int64_t in_sz = p->c * p->h * p->w, out_sz = p->c * p->oh * p->ow;
    float inv = 1.0f / (float)(p->k * p->k);
#pragma omp parallel for schedule(static) if (n * in_sz >= 16384)
    for (int64_t i = 0; i < n; i++) {
        memset(dx + i * in_sz, 0, (size_t)in_sz * sizeof(float));
        for (int64_t ch = 0; ch < p->c; ch++) {
            float *dxc = dx + i * in_sz + ch * p->h * p->w;
            for (int64_t oy = 0; oy < p->oh; oy++)
                for (int64_t ox = 0; ox < p->ow; ox++) {
                    float g = dy[i * out_sz + (ch * p->oh + oy) * p->ow + ox] * inv;
                    for (int64_t ky = 0; ky < p->k; ky++)
                        for (int64_t kx = 0; kx < p->k; kx++)
                            dxc[(oy * p->s + ky) * p->w + ox * p->s + kx] += g;
                }
        }
    }
}

static void gap_forward(rg_layer *l, const float *x, float *y, int64_t n)
{
    pool *p = l->impl;
    int64_t hw = p->h * p->w;
    for (int64_t i = 0; i < n * p->c; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < hw; j++)
            s += x[i * hw + j];
        y[i] = (float)(s / (double)hw);
    }
}

static void gap_backward(rg_layer *l, const float *x, const float *y, const float *dy, float *dx,
                         int64_t n)
{
    (void)x;
    (void)y;
    pool *p = l->impl;
    if (!dx)
        return;
    int64_t hw = p->h * p->w;
    for (int64_t i = 0; i < n * p->c; i++)
        for (int64_t j = 0; j < hw; j++)
            dx[i * hw + j] = dy[i] / (float)hw;
}

static rg_status max_set_batch(rg_layer *l, int64_t max_batch)
{
    pool *p = l->impl;
    rg_free(p->argmax);
    p->argmax = rg_alloc((size_t)(max_batch * p->c * p->oh * p->ow) * sizeof(int32_t));
    if (!p->argmax)
        return rg_error_set(RG_ERR_NOMEM, "%s: cannot allocate pooling indices", l->name);
    return RG_OK;
}

static void pool_release(rg_layer *l)
{
    pool *p = l->impl;
    if (!p)
        return;
    rg_free(p->argmax);
    rg_free(p);
    l->impl = NULL;
}

static const rg_layer_ops max_ops = {"maxpool", max_forward, max_backward, max_set_batch,
                                     pool_release};
static const rg_layer_ops avg_ops = {"avgpool", avg_forward, avg_backward, NULL, pool_release};
static const rg_layer_ops gap_ops = {"gap", gap_forward, gap_backward, NULL, pool_release};

static rg_status pool_init(rg_layer *l, const rg_layer_ops *ops, const char *name, rg_shape in,
                           int64_t k, int64_t stride)
{
    l->ops = ops;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->in = in;
    if (in.flat)
        return rg_error_set(RG_ERR_INVALID, "%s: pooling needs an image input, not a flat vector",
                            name);
    if (k < 1 || stride < 1 || k > in.h || k > in.w)
        return rg_error_set(RG_ERR_INVALID, "%s: window %lld, stride %lld do not fit a %lldx%lld "
                            "input", name, (long long)k, (long long)stride, (long long)in.h,
                            (long long)in.w);
    pool *p = rg_alloc(sizeof *p);
    if (!p)
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory", name);
    *p = (pool){in.c, in.h, in.w, k, stride, (in.h - k) / stride + 1, (in.w - k) / stride + 1,
                NULL};
    l->impl = p;
    l->out = (rg_shape){in.c, p->oh, p->ow, 0};
    return RG_OK;
}

int32_t *rg_maxpool_2x2_indices(const rg_layer *l)
{
    const pool *p = l->impl;
    if (l->ops != &max_ops || p->k != 2 || p->s != 2)
        return NULL;
    return p->argmax;
}

rg_status rg_maxpool_init(rg_layer *l, const char *name, rg_shape in, int64_t k, int64_t stride)
{
    rg_status st = pool_init(l, &max_ops, name, in, k, stride);
    return st == RG_OK ? max_set_batch(l, 1) : st;
}

rg_status rg_avgpool_init(rg_layer *l, const char *name, rg_shape in, int64_t k, int64_t stride)
{
    return pool_init(l, &avg_ops, name, in, k, stride);
}

rg_status rg_global_avgpool_init(rg_layer *l, const char *name, rg_shape in)
{
    rg_status st = pool_init(l, &gap_ops, name, in, in.h < in.w ? in.h : in.w, 1);
    if (st == RG_OK)
        l->out = (rg_shape){in.c, 1, 1, 1};
    return st;
}

static void flat_forward(rg_layer *l, const float *x, float *y, int64_t n)
{
    memcpy(y, x, (size_t)(n * rg_shape_size(l->in)) * sizeof(float));
}

static void flat_backward(rg_layer *l, const float *x, const float *y, const float *dy, float *dx,
                          int64_t n)
{
    (void)x;
    (void)y;
    if (dx)
        memcpy(dx, dy, (size_t)(n * rg_shape_size(l->in)) * sizeof(float));
}

static const rg_layer_ops flat_ops = {"flatten", flat_forward, flat_backward, NULL, NULL};

void rg_flatten_init(rg_layer *l, const char *name, rg_shape in)
{
    l->ops = &flat_ops;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->in = in;
    l->out = (rg_shape){rg_shape_size(in), 1, 1, 1};
}
