/* The convolution's private state, shared by conv2d.c (the layer) and
 * conv_block.c (the same convolution fused with the ReLU and 2x2 max pool
 * that follow it). Not part of any public header. */
#ifndef RG_CORE_CONV_IMPL_H
#define RG_CORE_CONV_IMPL_H

#include <stdint.h>

typedef struct rg_conv {
    int64_t c, h, w, oc, k, s, p, oh, ow;
    int threads;
    int fast;       /* rg_gemm_strided (AVX-512) instead of OpenBLAS; dw then holds W^T */
    float *col;     /* per thread: c*k*k x oh*ow */
    float *dw;      /* per thread: partial weight gradients */
    float *yt;      /* per thread: 2 x oc x oh*ow, one image's output (or its gradient)
                     * and the transposed gradient */
    double *db;     /* per thread: partial bias gradients */
} rg_conv;

/* z [oc, hw] = W col + bias, one image. */
void rg_conv_gemm_forward(const rg_conv *cv, const float *w, const float *bias,
                          const float *col, float *z);
/* One image's backward products: this thread's weight-gradient partial dw +=
 * dz col^T (stored as W^T [ckk, oc] when cv->fast), and, when want_dcol,
 * col = W^T dz (col is read first). dzt: scratch of oc x hw floats. */
void rg_conv_gemm_backward(const rg_conv *cv, const float *w, const float *dz, float *col,
                           float *dw, float *dzt, int want_dcol);
/* One image's whole backward pass from its conv output gradient dzi: im2col of xi
 * into col, this thread's dw and db partials, and dxi (when not NULL). */
void rg_conv_image_backward(const rg_conv *cv, const float *w, const float *xi,
                            const float *dzi, float *col, float *dw, float *dzt, double *db,
                            float *dxi);
/* db[o] += sum of row o of d [oc, hw]: one image's bias gradient, summed in
 * float along the row (vectorized) and accumulated in double across images. */
void rg_conv_bias_grad(const rg_conv *cv, const float *d, double *db);
/* Folds the per-thread partial gradients into the parameters' grad, in
 * thread order (deterministic for a given thread count). */
void rg_conv_reduce_grads(const rg_conv *cv, float *wgrad, float *bgrad);

#endif
