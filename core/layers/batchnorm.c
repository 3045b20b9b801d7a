/* Batch normalization (Ioffe & Szegedy 2015) with PyTorch's conventions
 * (torch.nn.BatchNorm1d/2d): per feature (flat input) or per channel (image
 * input), normalized with the biased batch variance in training, running
 * statistics updated with momentum 0.1 and the unbiased variance, eps 1e-5;
 * evaluation uses the running statistics. gamma and beta are registered as
 * RG_TENSOR_BIAS, so weight regularizers leave them alone unless
 * tensors=biases|all asks (as Keras does without a gamma_regularizer). */
#include <math.h>
#include <stdio.h>

#include "../alloc.h"
#include "../error.h"
#include "layer.h"

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

typedef struct bn {
    int64_t channels, spatial;  /* features = channels x spatial */
    float *mean, *invstd;       /* of the last training batch, for backward */
} bn;

static void bn_forward(rg_layer *l, const float *x, float *y, int64_t n)
{
    bn *b = l->impl;
    const float *gamma = l->params[0].value, *beta = l->params[1].value;
    float *rmean = l->buffers[0].value, *rvar = l->buffers[1].value;
    int64_t C = b->channels, S = b->spatial, m = n * S;
    int training = l->training;
#pragma omp parallel for schedule(static) if (n * C * S >= 32768)
    for (int64_t c = 0; c < C; c++) {
        double mean, var;
        if (training) {
            double s = 0.0, ss = 0.0;
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < S; j++) {
                    double v = x[(i * C + c) * S + j];
                    s += v;
                    ss += v * v;
                }
            mean = s / (double)m;
            var = ss / (double)m - mean * mean;
            if (var < 0.0)
                var = 0.0;
            b->mean[c] = (float)mean;
            b->invstd[c] = (float)(1.0 / sqrt(var + BN_EPS));
            double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
            rmean[c] = (float)((1.0 - BN_MOMENTUM) * rmean[c] + BN_MOMENTUM * mean);
            rvar[c] = (float)((1.0 - BN_MOMENTUM) * rvar[c] + BN_MOMENTUM * unbiased);
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        float mu = (float)mean, is = (float)(1.0 / sqrt(var + BN_EPS));
        float g = gamma[c] * is, bb = beta[c];
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < S; j++) {
                int64_t k = (i * C + c) * S + j;
                y[k] = g * (x[k] - mu) + bb;
            }
    }
}

static void bn_backward(rg_layer *l, const float *x, const float *y, const float *dy, float *dx,
                        int64_t n)
{
    (void)y;
    bn *b = l->impl;
    const float *gamma = l->params[0].value;
    float *dgamma = l->params[0].grad, *dbeta = l->params[1].grad;
    int64_t C = b->channels, S = b->spatial;
    double m = (double)(n * S);
#pragma omp parallel for schedule(static) if (n * C * S >= 32768)
    for (int64_t c = 0; c < C; c++) {
        float mu = b->mean[c], is = b->invstd[c];
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < S; j++) {
                int64_t k = (i * C + c) * S + j;
                sdy += dy[k];
                sdyx += (double)dy[k] * (double)((x[k] - mu) * is);
            }
        dgamma[c] = (float)sdyx;
        dbeta[c] = (float)sdy;
        if (!dx)
            continue;
        /* dx = gamma * invstd / m * (m dy - sum(dy) - xhat * sum(dy xhat)) */
        float scale = (float)(gamma[c] * is / m);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < S; j++) {
                int64_t k = (i * C + c) * S + j;
                float xhat = (x[k] - mu) * is;
                dx[k] = scale * (float)(m * dy[k] - sdy - xhat * sdyx);
            }
    }
}

static void bn_release(rg_layer *l)
{
    bn *b = l->impl;
    if (!b)
        return;
    rg_free(b->mean);
    rg_free(b->invstd);
    rg_free(b);
    l->impl = NULL;
}

static const rg_layer_ops bn_ops = {"batchnorm", bn_forward, bn_backward, NULL, bn_release};

rg_status rg_batchnorm_init(rg_layer *l, const char *name, rg_shape in)
{
    l->ops = &bn_ops;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->in = l->out = in;
    bn *b = rg_alloc(sizeof *b);
    if (!b)
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory", name);
    l->impl = b;
    b->channels = in.c;
    b->spatial = in.flat ? 1 : in.h * in.w;
    b->mean = rg_alloc_floats((size_t)in.c);
    b->invstd = rg_alloc_floats((size_t)in.c);
    if (!b->mean || !b->invstd)
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory", name);
    int64_t shape[1] = {in.c};
    l->num_params = 2;
    l->num_buffers = 2;
    rg_status st = rg_param_alloc(&l->params[0], name, "gamma", RG_TENSOR_BIAS, 1, shape);
    if (st == RG_OK)
        st = rg_param_alloc(&l->params[1], name, "beta", RG_TENSOR_BIAS, 1, shape);
    if (st == RG_OK)
        st = rg_param_alloc(&l->buffers[0], name, "running_mean", RG_TENSOR_BIAS, 1, shape);
    if (st == RG_OK)
        st = rg_param_alloc(&l->buffers[1], name, "running_var", RG_TENSOR_BIAS, 1, shape);
    if (st == RG_OK)
        for (int64_t c = 0; c < in.c; c++) {
            l->params[0].value[c] = 1.0f;
            l->buffers[1].value[c] = 1.0f;
        }
    return st;
}
