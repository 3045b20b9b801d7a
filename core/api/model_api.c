/* Models for the embedding API: loading a checkpoint's model for evaluation, prediction,
 * metrics. A run's model evaluates through the run's trainer (its buffers are sized for
 * it); a loaded model gets a plugin-free trainer per call, used only for its eval-mode
 * forward pass. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../run/run.h"
#include "../threads.h"
#include "../train/checkpoint.h"
#include "../train/trainer.h"
#include "api.h"

static rg_status fail(const rg_model *m, rg_status st)
{
    return rg_api_fail(m ? m->ctx : NULL, st);
}

static void enter(const rg_model *m)
{
    rg_api_enter(m->ctx);
    if (m->owner)
        rg_threads_set_local(m->owner->threads);
}

rg_status rg_model_load(rg_context *ctx, const char *path, rg_model **out)
{
    if (!ctx)
        return rg_api_null("rg_model_load", "ctx");
    rg_api_enter(ctx);
    if (!path || !out)
        return rg_api_fail(ctx, rg_api_null("rg_model_load", !path ? "path" : "out"));
    *out = NULL;
    rg_checkpoint *c = NULL;
    rg_status st = rg_checkpoint_read(path, &c);
    char buf[128], spec_text[512] = "mlp:512,256", data_text[1024] = "";
    long long ch = 0, h = 0, w = 0;
    if (st == RG_OK &&
        (!rg_checkpoint_config_get(c, "model.input", buf, sizeof buf) ||
         sscanf(buf, "%lld,%lld,%lld", &ch, &h, &w) != 3 ||
         !rg_checkpoint_config_get(c, "model.classes", buf, sizeof buf)))
        st = rg_error_set(RG_ERR_FORMAT, "%s: holds no run record (save it with rg_run_save "
                          "or regula train --save)", path);
    int classes = st == RG_OK ? atoi(buf) : 0;
    if (st == RG_OK) {
        /* the metadata names the model spec in every format */
        json_error_t err;
        json_t *meta = json_loads(c->meta, 0, &err);
        json_t *spec = meta ? json_object_get(meta, "model") : NULL;
        json_t *data = meta ? json_object_get(meta, "data") : NULL;
        snprintf(data_text, sizeof data_text, "%s",
                 json_is_string(data) ? json_string_value(data) : "");
        if (json_is_string(spec))
            snprintf(spec_text, sizeof spec_text, "%s", json_string_value(spec));
        else
            st = rg_error_set(RG_ERR_FORMAT, "%s: the metadata names no model", path);
        json_decref(meta);
    }
    rg_model_spec spec;
    rg_model *m = NULL;
    if (st == RG_OK)
        st = rg_model_spec_parse(spec_text, &spec);
    if (st == RG_OK)
        st = rg_model_build(&spec, (rg_shape){ch, h, w, 0}, classes, &m);
    if (st == RG_OK)
        st = rg_checkpoint_apply_model(c, path, m, 1);
    rg_checkpoint_free(c);
    if (st != RG_OK) {
        rg_model_destroy(m);
        return rg_api_fail(ctx, st);
    }
    m->ctx = ctx;
    m->eval_only = 1;
    snprintf(m->data, sizeof m->data, "%s", data_text);
    *out = m;
    return RG_OK;
}

rg_status rg_model_get_info(const rg_model *m, rg_model_info *info)
{
    if (!m)
        return rg_api_null("rg_model_get_info", "m");
    rg_api_enter(m->ctx);
    if (!info || info->struct_size < RG_SIZE_THROUGH(rg_model_info, data))
        return fail(m, rg_error_set(RG_ERR_INVALID, "rg_model_get_info: info is NULL or its "
                                    "struct_size is too small"));
    rg_model_info i = {info->struct_size, m->input.c, m->input.h, m->input.w, m->num_classes,
                       rg_model_param_count(m), m->num_layers, m->spec.text,
                       m->owner ? rg_recipe_string(m->owner->recipe, "data") : m->data};
    memcpy(info, &i, sizeof i);
    return RG_OK;
}

/* The trainer to run eval-mode forward passes with: the run's own, or a new one. */
static rg_status eval_trainer(rg_model *m, const rg_dataset *ds, rg_trainer **t, int *own)
{
    if (m->owner) {
        *t = m->owner->trainer;
        *own = 0;
        return RG_OK;
    }
    rg_train_config cfg;
    rg_train_config_defaults(&cfg);
    cfg.val_fraction = 0.0;
    cfg.epochs = 0;
    *own = 1;
    return rg_trainer_create(m, ds, &cfg, t);
}

static rg_status check_shape(const rg_model *m, const rg_dataset *ds)
{
    if (ds->c * ds->h * ds->w != rg_shape_size(m->input))
        return rg_error_set(RG_ERR_INVALID, "the model takes %lldx%lldx%lld images, the dataset "
                            "holds %lldx%lldx%lld", (long long)m->input.c,
                            (long long)m->input.h, (long long)m->input.w, (long long)ds->c,
                            (long long)ds->h, (long long)ds->w);
    if (ds->num_classes > m->num_classes)
        return rg_error_set(RG_ERR_INVALID, "the dataset has labels up to %d, the model knows "
                            "%d classes", ds->num_classes - 1, m->num_classes);
    return RG_OK;
}

rg_status rg_model_evaluate(rg_model *m, const rg_dataset *ds, rg_metrics *out)
{
    if (!m)
        return rg_api_null("rg_model_evaluate", "m");
    enter(m);
    if (!ds || !out)
        return fail(m, rg_api_null("rg_model_evaluate", !ds ? "ds" : "out"));
    rg_status st = check_shape(m, ds);
    rg_trainer *t = NULL;
    int own = 0;
    rg_eval ev = {NAN, NAN, 0};
    if (st == RG_OK)
        st = eval_trainer(m, ds, &t, &own);
    if (st == RG_OK)
        st = rg_trainer_evaluate(t, ds, &ev);
    if (own)
        rg_trainer_destroy(t);
    if (st == RG_OK)
        *out = (rg_metrics){sizeof *out, ev.loss, ev.accuracy, ev.count};
    return fail(m, st);
}

rg_status rg_model_predict(rg_model *m, const float *images, int64_t n,
                           int64_t values_per_image, float *probs)
{
    if (!m)
        return rg_api_null("rg_model_predict", "m");
    enter(m);
    if (!images || !probs)
        return fail(m, rg_api_null("rg_model_predict", !images ? "images" : "probs"));
    int64_t f = rg_shape_size(m->input), k = m->num_classes;
    if (n < 1)
        return fail(m, rg_error_set(RG_ERR_INVALID, "rg_model_predict: n=%lld: expected at "
                                    "least one image", (long long)n));
    if (values_per_image != f)
        return fail(m, rg_error_set(RG_ERR_INVALID, "rg_model_predict: %lld values per image, "
                                    "the model takes %lldx%lldx%lld = %lld",
                                    (long long)values_per_image, (long long)m->input.c,
                                    (long long)m->input.h, (long long)m->input.w,
                                    (long long)f));
    for (int64_t i = 0; i < n * f; i++)
        if (!isfinite(images[i]))
            return fail(m, rg_error_set(RG_ERR_NUMERIC, "rg_model_predict: value %lld (image "
                                        "%lld) is not finite", (long long)i,
                                        (long long)(i / f)));
    uint8_t *labels = calloc((size_t)n, 1);
    if (!labels)
        return fail(m, rg_error_set(RG_ERR_NOMEM, "out of memory"));
    rg_dataset ds = {n, m->input.c, m->input.h, m->input.w, 1, NULL, labels, NULL,
                     (float *)images, 1, m->ctx};
    rg_trainer *t = NULL;
    int own = 0;
    rg_status st = eval_trainer(m, &ds, &t, &own);
    int64_t b = st == RG_OK ? t->cfg.batch : 0;
    int64_t *idx = st == RG_OK ? malloc((size_t)b * sizeof *idx) : NULL;
    if (st == RG_OK && !idx)
        st = rg_error_set(RG_ERR_NOMEM, "out of memory");
    for (int64_t start = 0; st == RG_OK && start < n; start += b) {
        int64_t cnt = start + b <= n ? b : n - start;
        for (int64_t r = 0; r < cnt; r++)
            idx[r] = start + r;
        st = rg_step_fill_batch(t, &ds, idx, cnt);
        if (st == RG_OK)
            st = rg_step_forward(t, cnt, RG_MODE_EVAL);
        const float *z = t->post[m->num_layers - 1];
        for (int64_t r = 0; st == RG_OK && r < cnt; r++) {
            const float *zr = z + r * k;
            float *pr = probs + (start + r) * k;
            double mx = zr[0], sum = 0.0;
            for (int64_t j = 1; j < k; j++)
                mx = zr[j] > mx ? zr[j] : mx;
            for (int64_t j = 0; j < k; j++)
                sum += exp((double)zr[j] - mx);
            for (int64_t j = 0; j < k; j++)
                pr[j] = (float)(exp((double)zr[j] - mx) / sum);
        }
    }
    free(idx);
    if (own)
        rg_trainer_destroy(t);
    free(labels);
    return fail(m, st);
}

rg_status rg_run_evaluate(rg_run *run, const rg_dataset *ds, rg_metrics *out)
{
    if (!run)
        return rg_api_null("rg_run_evaluate", "run");
    return rg_model_evaluate(run->model, ds, out);
}

int rg_model_layer_count(const rg_model *m) { return m ? m->num_layers : 0; }

rg_status rg_model_get_layer(const rg_model *m, int index, rg_layer_info *info)
{
    if (!m)
        return rg_api_null("rg_model_get_layer", "m");
    rg_api_enter(m->ctx);
    if (!info || info->struct_size < RG_SIZE_THROUGH(rg_layer_info, zeros))
        return fail(m, rg_error_set(RG_ERR_INVALID, "rg_model_get_layer: info is NULL or its "
                                    "struct_size is too small"));
    if (index < 0 || index >= m->num_layers)
        return fail(m, rg_error_set(RG_ERR_INVALID, "rg_model_get_layer: layer %d outside "
                                    "[0, %d)", index, m->num_layers));
    const rg_layer *l = &m->layers[index];
    double sumsq = 0.0;
    int64_t n = 0, zeros = 0;
    for (int p = 0; p < l->num_params; p++) {
        const rg_param *prm = &l->params[p];
        for (int64_t i = 0; i < prm->numel; i++) {
            double v = prm->value[i];
            sumsq += v * v;
            zeros += prm->value[i] == 0.0f;
        }
        n += prm->numel;
    }
    rg_layer_info i = {info->struct_size, l->name, l->ops->type, l->out.c, l->out.h, l->out.w,
                       n, sqrt(sumsq), n ? (double)zeros / (double)n : NAN};
    memcpy(info, &i, info->struct_size < sizeof i ? info->struct_size : sizeof i);
    return RG_OK;
}
