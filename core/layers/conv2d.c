/* 2-D convolution (cross-correlation, as torch.nn.Conv2d), lowered per image
 * onto sgemm through im2col: y_n [oc, oh*ow] = W [oc, c*k*k] x col_n.
 * Images are spread over the OpenMP threads; inside a parallel region the
 * OpenMP build of OpenBLAS runs each sgemm on its calling thread, so the
 * two never oversubscribe the cores. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "../kernels/kernels.h"
#include "conv_impl.h"
#include "layer.h"

typedef rg_conv conv;


void rg_conv_gemm_forward(const rg_conv *cv, const float *w, const float *bias,
                          const float *col, float *z)
{
    int64_t ckk = cv->c * cv->k * cv->k, hw = cv->oh * cv->ow;
    if (cv->fast) {
        rg_gemm_strided(cv->oc, hw, ckk, w, ckk, 1, col, hw, bias, 0, z, hw);
        return;
    }
    for (int64_t o = 0; o < cv->oc; o++)
        for (int64_t j = 0; j < hw; j++)
            z[o * hw + j] = bias[o];
    rg_sgemm(0, 0, cv->oc, hw, ckk, 1.0f, w, ckk, col, hw, 1.0f, z, hw);
}

void rg_conv_gemm_backward(const rg_conv *cv, const float *w, const float *dz, float *col,
                           float *dw, float *dzt, int want_dcol)
{
    int64_t ckk = cv->c * cv->k * cv->k, hw = cv->oh * cv->ow, oc = cv->oc;
    if (cv->fast) {
        /* dW^T [ckk, oc] += col [ckk, hw] x dz^T [hw, oc]: the kernel reads B by
         * rows, so dz is transposed first (oc x hw floats, in L1/L2) */
        for (int64_t o = 0; o < oc; o++)
            for (int64_t j = 0; j < hw; j++)
                dzt[j * oc + o] = dz[o * hw + j];
        rg_gemm_strided(ckk, oc, hw, col, hw, 1, dzt, oc, NULL, 1, dw, oc);
        if (want_dcol) /* dcol [ckk, hw] = W^T [ckk, oc] x dz [oc, hw] */
            rg_gemm_strided(ckk, hw, oc, w, 1, ckk, dz, hw, NULL, 0, col, hw);
        return;
    }
    /* dW += dz [oc, hw] x col^T [hw, ckk] */
    rg_sgemm(0, 1, oc, ckk, hw, 1.0f, dz, hw, col, hw, 1.0f, dw, ckk);
    if (want_dcol)
        rg_sgemm(1, 0, ckk, hw, oc, 1.0f, w, ckk, dz, hw, 0.0f, col, hw);
}

static void conv_forward(rg_layer *l, const float *x, float *y, int64_t n)
{
    conv *cv = l->impl;
    const float *wt = l->params[0].value, *b = l->params[1].value;
    int64_t ckk = cv->c * cv->k * cv->k, hw = cv->oh * cv->ow;
    int64_t in_sz = cv->c * cv->h * cv->w, out_sz = cv->oc * hw;
#pragma omp parallel for schedule(static) num_threads(cv->threads)
    for (int64_t i = 0; i < n; i++) {
        float *col = cv->col + (size_t)omp_get_thread_num() * (size_t)(ckk * hw);
        rg_im2col(x + i * in_sz, cv->c, cv->h, cv->w, cv->k, cv->s, cv->p, cv->oh, cv->ow, col);
        rg_conv_gemm_forward(cv, wt, b, col, y + i * out_sz);
    }
}

void rg_conv_bias_grad(const rg_conv *cv, const float *d, double *db)
{
    int64_t hw = cv->oh * cv->ow;
    for (int64_t o = 0; o < cv->oc; o++) {
        const float *r = d + o * hw;
        /* 8 running sums, so the compiler can keep them in one vector register */
        float lane[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
        int64_t j = 0;
        for (; j + 8 <= hw; j += 8)
            for (int q = 0; q < 8; q++)
                lane[q] += r[j + q];
        float s = 0.0f;
        for (; j < hw; j++)
            s += r[j];
        for (int q = 0; q < 8; q++)
            s += lane[q];
        db[o] += s;
    }
}

void rg_conv_reduce_grads(const rg_conv *cv, float *wgrad, float *bgrad)
{
    int64_t ckk = cv->c * cv->k * cv->k, nw = cv->oc * ckk;
    if (cv->fast) {
        /* the partials are W^T [ckk, oc] */
        for (int64_t o = 0; o < cv->oc; o++)
            for (int64_t r = 0; r < ckk; r++) {
                float s = cv->dw[r * cv->oc + o];
                for (int t = 1; t < cv->threads; t++)
                    s += cv->dw[(size_t)t * (size_t)nw + (size_t)(r * cv->oc + o)];
                wgrad[o * ckk + r] = s;
            }
    } else {
        memcpy(wgrad, cv->dw, (size_t)nw * sizeof(float));
        for (int t = 1; t < cv->threads; t++)
            rg_saxpy(nw, 1.0f, cv->dw + (size_t)t * (size_t)nw, wgrad);
    }
    for (int64_t o = 0; o < cv->oc; o++) {
        double s = 0.0;
        for (int t = 0; t < cv->threads; t++)
            s += cv->db[(size_t)t * (size_t)cv->oc + (size_t)o];
        bgrad[o] = (float)s;
    }
}

void rg_conv_image_backward(const rg_conv *cv, const float *w, const float *xi,
                            const float *dzi, float *col, float *dw, float *dzt, double *db,
                            float *dxi)
{
    rg_im2col(xi, cv->c, cv->h, cv->w, cv->k, cv->s, cv->p, cv->oh, cv->ow, col);
    rg_conv_gemm_backward(cv, w, dzi, col, dw, dzt, dxi != NULL);
    rg_conv_bias_grad(cv, dzi, db);
    if (dxi) {
        /* col now holds dcol = W^T dz_i: scatter it back */
        memset(dxi, 0, (size_t)(cv->c * cv->h * cv->w) * sizeof(float));
        rg_col2im(col, cv->c, cv->h, cv->w, cv->k, cv->s, cv->p, cv->oh, cv->ow, dxi);
    }
}

static void conv_backward(rg_layer *l, const float *x, const float *y, const float *dy, float *dx,
                          int64_t n)
{
    (void)y;
    conv *cv = l->impl;
    rg_param *wp = &l->params[0], *bp = &l->params[1];
    int64_t ckk = cv->c * cv->k * cv->k, hw = cv->oh * cv->ow;
    int64_t in_sz = cv->c * cv->h * cv->w, out_sz = cv->oc * hw;
    int threads = cv->threads;
    memset(cv->dw, 0, (size_t)threads * (size_t)(cv->oc * ckk) * sizeof(float));
    memset(cv->db, 0, (size_t)threads * (size_t)cv->oc * sizeof(double));
    /* Static schedule: thread t always gets the same images for a given n and
     * thread count, and partial sums are reduced in thread order, so the
     * gradients are bit-identical run to run. */
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num();
        float *col = cv->col + (size_t)t * (size_t)(ckk * hw);
        float *dw = cv->dw + (size_t)t * (size_t)(cv->oc * ckk);
        double *db = cv->db + (size_t)t * (size_t)cv->oc;
        float *dzt = cv->yt + (size_t)t * (size_t)(cv->oc * hw);
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            rg_conv_image_backward(cv, wp->value, x + i * in_sz, dy + i * out_sz, col, dw, dzt,
                                   db, dx ? dx + i * in_sz : NULL);
        }
    }
    rg_conv_reduce_grads(cv, wp->grad, bp->grad);
}

static rg_status conv_set_batch(rg_layer *l, int64_t max_batch)
{
    (void)max_batch;
    conv *cv = l->impl;
    rg_free(cv->col);
    rg_free(cv->dw);
    rg_free(cv->yt);
    rg_free(cv->db);
    cv->threads = omp_get_max_threads();
    cv->fast = rg_gemm_strided_available();
    int64_t ckk = cv->c * cv->k * cv->k, hw = cv->oh * cv->ow;
    cv->col = rg_alloc_floats((size_t)cv->threads * (size_t)(ckk * hw));
    cv->dw = rg_alloc_floats((size_t)cv->threads * (size_t)(cv->oc * ckk));
    /* per thread: one image's conv output or gradient, and its transpose */
    cv->yt = rg_alloc_floats((size_t)cv->threads * (size_t)(2 * cv->oc * hw));
    cv->db = rg_alloc((size_t)cv->threads * (size_t)cv->oc * sizeof(double));
    if (!cv->col || !cv->dw || !cv->yt || !cv->db)
        return rg_error_set(RG_ERR_NOMEM, "%s: cannot allocate convolution scratch", l->name);
    return RG_OK;
}

static void conv_release(rg_layer *l)
{
    conv *cv = l->impl;
    if (!cv)
        return;
    rg_free(cv->col);
    rg_free(cv->dw);
    rg_free(cv->yt);
    rg_free(cv->db);
    rg_free(cv);
    l->impl = NULL;
}

static const rg_layer_ops conv_ops = {"conv", conv_forward, conv_backward, conv_set_batch,
                                      conv_release};

rg_status rg_conv2d_init(rg_layer *l, const char *name, rg_shape in, int64_t channels, int64_t k,
                         int64_t stride, int64_t pad)
{
    l->ops = &conv_ops;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->in = in;
    if (in.flat)
        return rg_error_set(RG_ERR_INVALID, "%s: a convolution needs an image input, not a flat "
                            "vector of %lld features", name, (long long)in.c);
    int64_t oh = (in.h + 2 * pad - k) / stride + 1, ow = (in.w + 2 * pad - k) / stride + 1;
    if (k < 1 || stride < 1 || pad < 0 || oh < 1 || ow < 1)
        return rg_error_set(RG_ERR_INVALID, "%s: kernel %lld, stride %lld, padding %lld do not fit "
                            "a %lldx%lld input", name, (long long)k, (long long)stride,
                            (long long)pad, (long long)in.h, (long long)in.w);
    conv *cv = rg_alloc(sizeof *cv);
    if (!cv)
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory", name);
    *cv = (conv){in.c, in.h, in.w, channels, k, stride, pad, oh, ow, 0, 0, NULL, NULL, NULL, NULL};
    l->impl = cv;
    l->out = (rg_shape){channels, oh, ow, 0};
    l->num_params = 2;
    int64_t wshape[4] = {channels, in.c, k, k}, bshape[1] = {channels};
    rg_status st = rg_param_alloc(&l->params[0], name, "weight", RG_TENSOR_WEIGHT, 4, wshape);
    if (st == RG_OK)
        st = rg_param_alloc(&l->params[1], name, "bias", RG_TENSOR_BIAS, 1, bshape);
    if (st == RG_OK)
        st = conv_set_batch(l, 0);
    return st;
}
