#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "../rng.h"
#include "model.h"

rg_status rg_model_build(const rg_model_spec *spec, rg_shape input, int num_classes,
                          rg_model **out)
{
    rg_model *m = rg_alloc(sizeof *m);
    if (!m)
        return rg_error_set(RG_ERR_NOMEM, "cannot allocate the model");
    m->spec = *spec;
    m->input = input;
    m->num_classes = num_classes;
    rg_shape cur = input;
    int count[16] = {0};
    rg_status st = RG_OK;
    for (int i = 0; i < spec->num_layers && st == RG_OK; i++) {
        rg_layer *l = &m->layers[i];
        const rg_layer_spec *ls = &spec->layers[i];
        static const char *const base[] = {"", "dense", "relu", "conv", "maxpool", "avgpool",
                                           "gap", "flatten", "batchnorm"};
        char name[32];
        snprintf(name, sizeof name, "%s%d", base[ls->type], ++count[ls->type]);
        switch (ls->type) {
        case RG_LAYER_DENSE:
            st = rg_dense_init(l, name, cur, ls->units ? ls->units : num_classes);
            break;
        case RG_LAYER_RELU:
            rg_relu_init(l, name, cur);
            break;
        case RG_LAYER_CONV:
            st = rg_conv2d_init(l, name, cur, ls->units, ls->k, ls->stride, ls->pad);
            break;
        case RG_LAYER_MAXPOOL:
            st = rg_maxpool_init(l, name, cur, ls->k, ls->stride);
            break;
        case RG_LAYER_AVGPOOL:
            st = rg_avgpool_init(l, name, cur, ls->k, ls->stride);
            break;
        case RG_LAYER_GAP:
            st = rg_global_avgpool_init(l, name, cur);
            break;
        case RG_LAYER_FLATTEN:
            rg_flatten_init(l, name, cur);
            break;
        case RG_LAYER_BATCHNORM:
            st = rg_batchnorm_init(l, name, cur);
            break;
        }
        m->num_layers = i + 1;
        if (st != RG_OK)
            st = rg_error_wrap(st, "model %s", spec->text);
        cur = l->out;
        for (int p = 0; p < l->num_params; p++)
            m->params[m->num_params++] = &l->params[p];
        for (int p = 0; p < l->num_buffers; p++)
            m->buffers[m->num_buffers++] = &l->buffers[p];
    }
    if (st == RG_OK && rg_shape_size(cur) != num_classes)
        st = rg_error_set(RG_ERR_INVALID, "model %s: the last layer has %lld outputs, not %d",
                          spec->text, (long long)rg_shape_size(cur), num_classes);
    if (st != RG_OK) {
        rg_model_destroy(m);
        return st;
    }
    *out = m;
    return RG_OK;
}

static void free_buffers(rg_model *m)
{
    for (int i = 0; i < m->num_layers; i++) {
        rg_free(m->out[i]);
        rg_free(m->grad[i]);
        m->out[i] = m->grad[i] = NULL;
    }
    m->max_batch = 0;
}

void rg_model_destroy(rg_model *m)
{
    /* a run's model goes with its run (rg_run_destroy) */
    if (!m || m->owner)
        return;
    free_buffers(m);
    for (int i = 0; i < m->num_layers; i++)
        rg_layer_release(&m->layers[i]);
    rg_free(m);
}

rg_status rg_model_set_batch(rg_model *m, int64_t max_batch)
{
    free_buffers(m);
    for (int i = 0; i < m->num_layers; i++) {
        size_t n = (size_t)(max_batch * rg_shape_size(m->layers[i].out));
        m->out[i] = rg_alloc_floats(n);
        m->grad[i] = rg_alloc_floats(n);
        if (!m->out[i] || !m->grad[i])
            return rg_error_set(RG_ERR_NOMEM, "cannot allocate buffers for batch %lld",
                                (long long)max_batch);
        rg_layer *l = &m->layers[i];
        if (l->ops->set_batch) {
            rg_status st = l->ops->set_batch(l, max_batch);
            if (st != RG_OK)
                return st;
        }
    }
    m->max_batch = max_batch;
    return RG_OK;
}

void rg_model_init_params(rg_model *m, uint64_t seed)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, 0, RG_SITE_INIT);
    uint64_t offset = 0;
    int last_dense = -1;
    for (int i = 0; i < m->num_layers; i++)
        if (strcmp(m->layers[i].ops->type, "dense") == 0)
            last_dense = i;
    for (int i = 0; i < m->num_layers; i++) {
        rg_layer *l = &m->layers[i];
        /* batchnorm starts at gamma 1, beta 0 (set by its init) */
        if (l->num_params == 0 || strcmp(l->ops->type, "batchnorm") == 0)
            continue;
        rg_param *w = &l->params[0];
        int64_t fan_out = w->shape[0], fan_in = w->numel / w->shape[0];
        if (i == last_dense) {
            float a = (float)sqrt(6.0 / (double)(fan_in + fan_out));
            rg_rng_uniform(&s, offset, w->value, (size_t)w->numel);
            for (int64_t k = 0; k < w->numel; k++)
                w->value[k] = (2.0f * w->value[k] - 1.0f) * a;
        } else {
            float sd = (float)sqrt(2.0 / (double)fan_in);
            rg_rng_normal(&s, offset, w->value, (size_t)w->numel);
            for (int64_t k = 0; k < w->numel; k++)
                w->value[k] *= sd;
        }
        offset += (uint64_t)w->numel;
        for (int p = 1; p < l->num_params; p++)
            memset(l->params[p].value, 0, (size_t)l->params[p].numel * sizeof(float));
    }
}

int64_t rg_model_param_count(const rg_model *m)
{
    int64_t n = 0;
    for (int i = 0; i < m->num_params; i++)
        n += m->params[i]->numel;
    return n;
}

int rg_model_find_layer(const rg_model *m, const char *name)
{
    for (int i = 0; i < m->num_layers; i++)
        if (strcmp(m->layers[i].name, name) == 0)
            return i;
    return -1;
}
