/* Fully connected layer, y = x W^T + b with W stored [out, in] (PyTorch's
 * nn.Linear layout), so row i is unit i's incoming weight vector. */
#include <omp.h>
#include <stdio.h>

#include "../alloc.h"
#include "../error.h"
#include "../kernels/kernels.h"
#include "layer.h"

/* With the AVX-512 kernel, the forward product reads W^T: each thread packs
 * the 32-unit panels it computes into its part of `panel` (rg_gemm_nt_parallel),
 * so the transpose stays in cache and is spread over the threads. */
typedef struct dense {
    int fast;
    int threads;  /* panel holds this many threads' buffers */
    float *panel;
} dense;

static rg_status dense_set_batch(rg_layer *l, int64_t max_batch)
{
    (void)max_batch;
    dense *d = l->impl;
    if (!d->fast)
        return RG_OK;
    rg_free(d->panel);
    d->threads = omp_get_max_threads();
    d->panel = rg_alloc_floats((size_t)d->threads * (size_t)(l->params[0].shape[1] * 32));
    if (!d->panel)
        return rg_error_set(RG_ERR_NOMEM, "%s: cannot allocate the packing buffers", l->name);
    return RG_OK;
}

static void dense_forward(rg_layer *l, const float *x, float *y, int64_t n)
{
    const rg_param *w = &l->params[0], *b = &l->params[1];
    dense *d = l->impl;
    int64_t in = w->shape[1], out = w->shape[0];
    if (d->fast) {
        rg_gemm_nt_parallel(n, out, in, x, in, w->value, in, y, out, d->panel, d->threads);
    } else {
        rg_sgemm(0, 1, n, out, in, 1.0f, x, in, w->value, in, 0.0f, y, out);
    }
    rg_add_bias_rows(n, out, b->value, y);
}

static void dense_backward(rg_layer *l, const float *x, const float *y, const float *dy,
                           float *dx, int64_t n)
{
    (void)y;
    rg_param *w = &l->params[0], *b = &l->params[1];
    dense *d = l->impl;
    int64_t in = w->shape[1], out = w->shape[0];
    /* dW = dy^T x, db = column sums of dy, dx = dy W */
    if (d->fast)
        rg_gemm_strided_parallel(out, in, n, dy, 1, out, x, in, w->grad, in);
    else
        rg_sgemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 0.0f, w->grad, in);
    rg_sum_rows(n, out, dy, b->grad);
    if (dx && d->fast)
        rg_gemm_strided_parallel(n, in, out, dy, out, 1, w->value, in, dx, in);
    else if (dx)
        rg_sgemm(0, 0, n, in, out, 1.0f, dy, out, w->value, in, 0.0f, dx, in);
}

static void dense_release(rg_layer *l)
{
    dense *d = l->impl;
    if (!d)
        return;
    rg_free(d->panel);
    rg_free(d);
    l->impl = NULL;
}

static const rg_layer_ops dense_ops = {"dense", dense_forward, dense_backward, dense_set_batch,
                                       dense_release};

rg_status rg_param_alloc(rg_param *p, const char *layer, const char *what, uint32_t kind,
                             uint32_t ndim, const int64_t *shape)
{
    snprintf(p->name, sizeof p->name, "%s.%s", layer, what);
    p->kind = kind;
    p->ndim = ndim;
    p->numel = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= shape[i];
    }
    p->value = rg_alloc_floats((size_t)p->numel);
    p->grad = rg_alloc_floats((size_t)p->numel);
    if (!p->value || !p->grad)
        return rg_error_set(RG_ERR_NOMEM, "%s: cannot allocate %lld floats", p->name,
                            (long long)p->numel);
    return RG_OK;
}

rg_status rg_dense_init(rg_layer *l, const char *name, rg_shape in, int64_t units)
{
    int64_t fan_in = rg_shape_size(in);
    l->ops = &dense_ops;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->in = in;
    l->out = (rg_shape){units, 1, 1, 1};
    l->num_params = 2;
    int64_t wshape[2] = {units, fan_in}, bshape[1] = {units};
    rg_status st = rg_param_alloc(&l->params[0], name, "weight", RG_TENSOR_WEIGHT, 2, wshape);
    if (st == RG_OK)
        st = rg_param_alloc(&l->params[1], name, "bias", RG_TENSOR_BIAS, 1, bshape);
    dense *d = st == RG_OK ? rg_alloc(sizeof *d) : NULL;
    if (st == RG_OK && !d)
        st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory", name);
    if (d) {
        l->impl = d;
        d->fast = rg_gemm_strided_available();
        st = dense_set_batch(l, 0);
    }
    return st;
}

static void param_free(rg_param *p)
{
    rg_free(p->value);
    rg_free(p->grad);
    rg_free(p->slot[0]);
    rg_free(p->slot[1]);
    p->value = p->grad = p->slot[0] = p->slot[1] = NULL;
}

void rg_layer_release(rg_layer *l)
{
    for (int i = 0; i < l->num_params; i++)
        param_free(&l->params[i]);
    for (int i = 0; i < l->num_buffers; i++)
        param_free(&l->buffers[i]);
    if (l->ops && l->ops->release)
        l->ops->release(l);
    l->num_params = l->num_buffers = 0;
}
