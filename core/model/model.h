/* A model is a sequence of layers plus the activation buffers for one batch
 * size, allocated once so the training step never allocates. */
#ifndef RG_CORE_MODEL_H
#define RG_CORE_MODEL_H

#include <stdint.h>

#include "../layers/layer.h"
#include "regula/regula.h"

#define RG_MODEL_MAX_LAYERS 64

typedef enum rg_layer_type {
    RG_LAYER_DENSE = 1,
    RG_LAYER_RELU = 2,
    RG_LAYER_CONV = 3,
    RG_LAYER_MAXPOOL = 4,
    RG_LAYER_AVGPOOL = 5,
    RG_LAYER_GAP = 6,
    RG_LAYER_FLATTEN = 7,
    RG_LAYER_BATCHNORM = 8
} rg_layer_type;

typedef struct rg_layer_spec {
    rg_layer_type type;
    int64_t units;            /* dense units or conv channels; 0 = the number of classes */
    int64_t k, stride, pad;   /* conv and pooling */
} rg_layer_spec;

/* A parsed --model. Two forms expand into the same layer list:
 *   mlp:H1,H2,...   hidden dense+ReLU layers, then a dense output layer;
 *   a layer list    e.g. conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,
 *                   flatten,dense:128,relu,dense:10
 * Layers: dense:N, relu, conv:C:K[:S[:P]] (stride 1, padding K/2 by default),
 * maxpool:K[:S], avgpool:K[:S] (stride K by default), gap (global average
 * pooling), flatten, batchnorm. */
typedef struct rg_model_spec {
    char text[256];
    int num_layers;
    rg_layer_spec layers[RG_MODEL_MAX_LAYERS];
} rg_model_spec;

rg_status rg_model_spec_parse(const char *text, rg_model_spec *out);

typedef enum rg_init_scheme {
    RG_INIT_HE = 1,     /* N(0, 2/fan_in) for layers feeding a ReLU (He et al. 2015) */
    RG_INIT_XAVIER = 2  /* U(-a, a), a = sqrt(6/(fan_in+fan_out)) (Glorot & Bengio 2010) */
} rg_init_scheme;

typedef struct rg_model {
    rg_model_spec spec;
    rg_shape input;
    int num_classes;
    int num_layers;
    rg_layer layers[RG_MODEL_MAX_LAYERS];
    int num_params;
    rg_param *params[2 * RG_MODEL_MAX_LAYERS];
    int num_buffers;                  /* non-trained state, saved in checkpoints */
    rg_param *buffers[2 * RG_MODEL_MAX_LAYERS];

    int64_t max_batch;
    struct rg_context *ctx;           /* embedding API: where errors go */
    int eval_only;                    /* loaded for evaluation (rg_model_load) */
    char data[1024];                  /* the data source it was trained on */
    struct rg_run *owner;             /* the run it belongs to, which destroys it */
    float *out[RG_MODEL_MAX_LAYERS];  /* raw output of layer i */
    float *grad[RG_MODEL_MAX_LAYERS]; /* d(loss)/d(what layer i+1 read) */
} rg_model;

rg_status rg_model_build(const rg_model_spec *spec, rg_shape input, int num_classes,
                          rg_model **out);
void rg_model_destroy(rg_model *m);
/* Hidden layers get He init, the output layer Xavier; biases start at 0.
 * Draws come from the (seed, RG_SITE_INIT) stream at fixed offsets per
 * parameter, so init is independent of thread count. */
void rg_model_init_params(rg_model *m, uint64_t seed);
/* (Re)size buffers for batches of up to max_batch. */
rg_status rg_model_set_batch(rg_model *m, int64_t max_batch);
int64_t rg_model_param_count(const rg_model *m);
int rg_model_find_layer(const rg_model *m, const char *name);

#endif
