/* Layers: forward/backward on batches, no I/O, no plugins. A layer reads
 * its input and writes its output in buffers the model owns, so the
 * training step allocates nothing. */
#ifndef RG_CORE_LAYER_H
#define RG_CORE_LAYER_H

#include <stdint.h>

#include "regula/plugin.h"

/* Per-sample shape; a flat vector of F features is {F, 1, 1} with flat = 1. */
typedef struct rg_shape {
    int64_t c, h, w;
    int flat;
} rg_shape;

static inline int64_t rg_shape_size(rg_shape s) { return s.c * s.h * s.w; }

typedef struct rg_param {
    char name[64];            /* "dense1.weight" */
    uint32_t kind;            /* RG_TENSOR_WEIGHT or RG_TENSOR_BIAS */
    uint32_t ndim;
    int64_t shape[4];         /* dim 0 indexes the unit (neuron or filter) */
    int64_t numel;
    float *value;
    float *grad;
    float *slot[2];           /* optimizer state (momentum, Adam moments) */
} rg_param;

typedef struct rg_layer rg_layer;

typedef struct rg_layer_ops {
    const char *type;
    /* y = f(x) for n samples. */
    void (*forward)(rg_layer *l, const float *x, float *y, int64_t n);
    /* Writes parameter gradients (overwriting) and, when dx != NULL,
     * d(loss)/dx. y is this layer's own forward output. */
    void (*backward)(rg_layer *l, const float *x, const float *y, const float *dy, float *dx,
                     int64_t n);
    /* Optional: size per-batch scratch (called before the first step and
     * whenever the maximum batch changes; never inside a step). */
    rg_status (*set_batch)(rg_layer *l, int64_t max_batch);
    /* Optional: free what the layer's impl holds. */
    void (*release)(rg_layer *l);
} rg_layer_ops;

struct rg_layer {
    const rg_layer_ops *ops;
    char name[32];            /* "dense1", "relu1": what selections match */
    rg_shape in, out;
    int training;             /* set by the trainer before forward (batchnorm) */
    int num_params;
    rg_param params[2];
    /* Non-trained state saved with the model (batchnorm running statistics),
     * like PyTorch buffers: no gradient, no optimizer, no regularizer. */
    int num_buffers;
    rg_param buffers[2];
    void *impl;               /* layer-specific scratch */
};

rg_status rg_dense_init(rg_layer *l, const char *name, rg_shape in, int64_t units);
void rg_relu_init(rg_layer *l, const char *name, rg_shape in);
/* Square kernel k, stride, zero padding pad; out channels `channels`. */
rg_status rg_conv2d_init(rg_layer *l, const char *name, rg_shape in, int64_t channels, int64_t k,
                         int64_t stride, int64_t pad);
/* Windows k x k with the given stride, no padding (floor of partial windows). */
rg_status rg_maxpool_init(rg_layer *l, const char *name, rg_shape in, int64_t k, int64_t stride);
/* A 2x2, stride 2 max pool's argmax indices (one per output, the input index
 * inside its channel plane), or NULL for any other layer. */
int32_t *rg_maxpool_2x2_indices(const rg_layer *l);
rg_status rg_avgpool_init(rg_layer *l, const char *name, rg_shape in, int64_t k, int64_t stride);
rg_status rg_global_avgpool_init(rg_layer *l, const char *name, rg_shape in);
void rg_flatten_init(rg_layer *l, const char *name, rg_shape in);
rg_status rg_batchnorm_init(rg_layer *l, const char *name, rg_shape in);
/* conv -> relu -> 2x2 max pool fused (conv_block.c): the three layers' results
 * in one pass per image while its convolution output is in cache, without
 * writing the conv and relu outputs (nor their gradients) to the model's
 * buffers. Bit-identical to running the three layers one after another, except
 * the conv bias gradient's summation order (per thread, as the unfused conv). */
int rg_conv_block_fits(const rg_layer *conv, const rg_layer *relu, const rg_layer *pool);
/* y: the pool's output (and its argmax indices, kept in the pool layer). */
void rg_conv_block_forward(rg_layer *conv, rg_layer *pool, const float *x, float *y, int64_t n);
/* y, dy: the pool's output and its gradient; writes the conv's parameter
 * gradients and, when dx != NULL, the gradient of the conv's input. */
void rg_conv_block_backward(rg_layer *conv, rg_layer *pool, const float *x, const float *y,
                            const float *dy, float *dx, int64_t n);
/* Allocates a parameter (or buffer) tensor named "<layer>.<what>". */
rg_status rg_param_alloc(rg_param *p, const char *layer, const char *what, uint32_t kind,
                         uint32_t ndim, const int64_t *shape);
void rg_layer_release(rg_layer *l);

#endif
