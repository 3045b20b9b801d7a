/* The ABI 1.5 hooks on parameters: weight transforms (weight_forward/weight_backward),
 * gradient hooks, and the step wrapper with the host services it calls back into. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "../rng.h"
#include "activity.h"
#include "boundary.h"
#include "step_services.h"
#include "trainer.h"

struct rg_step_handle {
    rg_trainer *t;
    const rg_plugin_instance *pi;
    int first, count;         /* the wrapper's targets: t->targets[first, first + count) */
    int evaluations;
};

static void param_ctx(const rg_trainer *t, const rg_target *tg, rg_mode mode, uint64_t site,
                      double lr, rg_rng_stream *rng, rg_param_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->struct_size = sizeof *ctx;
    ctx->mode = mode;
    ctx->epoch = t->epoch;
    ctx->step = t->step;
    ctx->lr = lr;
    if (mode == RG_MODE_TRAIN) {
        /* keyed on the step and the tensor only: every process of a data-parallel run, and a
         * step_wrap's second evaluation, draw the same numbers */
        rg_rng_stream_init(rng, t->cfg.seed, (uint64_t)t->epoch, (uint64_t)t->step,
                           site + (uint64_t)(tg - t->targets));
        ctx->rng = rng;
    }
}

rg_status rg_weights_alloc(rg_trainer *t)
{
    for (int k = 0; k < t->num_targets; k++) {
        rg_target *tg = &t->targets[k];
        if (!tg->pi->plugin->reg.weight_forward)
            continue;
        for (int q = 0; q < k; q++)
            if (t->targets[q].param == tg->param && t->targets[q].pi->plugin->reg.weight_forward)
                return rg_error_set(RG_ERR_INVALID,
                                    "%s and %s both transform %s: one weight transform per "
                                    "tensor (select other layers with layers=)",
                                    t->targets[q].pi->plugin->desc.name, tg->pi->plugin->desc.name,
                                    tg->param->name);
        if (!(tg->wt_buf = rg_alloc_floats((size_t)tg->param->numel)))
            return rg_error_set(RG_ERR_NOMEM, "cannot allocate the transformed copy of %s",
                                tg->param->name);
    }
    return RG_OK;
}

void rg_weights_free(rg_trainer *t)
{
    rg_weights_restore(t);
    for (int k = 0; k < t->num_targets; k++) {
        rg_free(t->targets[k].wt_buf);
        t->targets[k].wt_buf = NULL;
    }
}

void rg_weights_restore(rg_trainer *t)
{
    for (int k = 0; k < t->num_targets; k++) {
        rg_target *tg = &t->targets[k];
        if (tg->wt_raw) {
            tg->param->value = tg->wt_raw;
            tg->wt_raw = NULL;
        }
    }
}

rg_status rg_weights_forward(rg_trainer *t, rg_mode mode)
{
    for (int k = 0; k < t->num_targets; k++) {
        rg_target *tg = &t->targets[k];
        const rg_plugin_instance *pi = tg->pi;
        if (!tg->wt_buf)
            continue;
        rg_param *p = tg->param;
        rg_tensor_view value, out;
        rg_bd_param_view(&value, p, p->value);
        rg_bd_param_view(&out, p, tg->wt_buf);
        rg_rng_stream rng;
        rg_param_ctx ctx;
        param_ctx(t, tg, mode, RG_SITE_WEIGHT, 0.0, &rng, &ctx);
        int64_t pos[RG_CONST_SAMPLES];
        float before[RG_CONST_SAMPLES];
        int ns = rg_bd_samples(p->numel, pos);
        for (int q = 0; q < ns; q++)
            before[q] = p->value[pos[q]];
        rg_error_clear();
        rg_activity_begin(pi, "weight_forward", t->epoch + 1, t->step);
        rg_status st = pi->plugin->reg.weight_forward(pi->inst, &ctx, &value, &out);
        rg_activity_end();
        if (st == RG_ERR_UNSUPPORTED && mode == RG_MODE_EVAL)
            continue; /* a training-only transform: the layer reads the weights as they are */
        if (st != RG_OK)
            return rg_bd_failed(pi, "weight_forward", st);
        if ((st = rg_bd_guarded(pi, "weight_forward", tg->wt_buf, p->numel, "output", p->name,
                                p->numel)) != RG_OK ||
            (st = rg_bd_unchanged(pi, "weight_forward", "weights", p->name, p->value, pos,
                                  before, ns, "", t->epoch, t->step)) != RG_OK)
            return st;
        if (!rg_bd_sampled_finite(tg->wt_buf, p->numel))
            return rg_error_set(RG_ERR_PLUGIN, "plugin %s: weight_forward() produced a "
                                "non-finite weight for %s (epoch %lld, step %lld)",
                                pi->plugin->desc.name, p->name, (long long)t->epoch + 1,
                                (long long)t->step);
        tg->wt_raw = p->value;
        p->value = tg->wt_buf;
    }
    return RG_OK;
}

rg_status rg_weights_eval_forms(rg_trainer *t, const rg_param **params, int cap, int *count)
{
    *count = 0;
    rg_status st = rg_weights_forward(t, RG_MODE_EVAL);
    if (st != RG_OK) {
        rg_weights_restore(t);
        return st;
    }
    for (int k = 0; k < t->num_targets && *count < cap; k++)
        if (t->targets[k].wt_raw)
            params[(*count)++] = t->targets[k].param;
    return RG_OK;
}

rg_status rg_weights_backward(rg_trainer *t)
{
    for (int k = 0; k < t->num_targets; k++) {
        rg_target *tg = &t->targets[k];
        const rg_plugin_instance *pi = tg->pi;
        if (!tg->wt_raw || !pi->plugin->reg.weight_backward)
            continue;
        rg_param *p = tg->param;
        rg_tensor_view value, grad;
        rg_bd_param_view(&value, p, tg->wt_raw);
        rg_bd_param_view(&grad, p, p->grad);
        rg_rng_stream rng;
        rg_param_ctx ctx;
        param_ctx(t, tg, RG_MODE_TRAIN, RG_SITE_WEIGHT, 0.0, &rng, &ctx);
        rg_error_clear();
        rg_activity_begin(pi, "weight_backward", t->epoch + 1, t->step);
        rg_status st = pi->plugin->reg.weight_backward(pi->inst, &ctx, &value, &grad);
        rg_activity_end();
        if (st != RG_OK)
            return rg_bd_failed(pi, "weight_backward", st);
        if ((st = rg_bd_guarded(pi, "weight_backward", p->grad, p->numel, "gradient", p->name,
                                p->numel)) != RG_OK)
            return st;
        if (!rg_bd_sampled_finite(p->grad, p->numel))
            return rg_error_set(RG_ERR_PLUGIN, "plugin %s: weight_backward() produced a "
                                "non-finite gradient for %s (epoch %lld, step %lld)",
                                pi->plugin->desc.name, p->name, (long long)t->epoch + 1,
                                (long long)t->step);
    }
    return RG_OK;
}

rg_status rg_gradient_hooks(rg_trainer *t, double lr)
{
    for (int k = 0; k < t->num_targets; k++) {
        rg_target *tg = &t->targets[k];
        const rg_plugin_instance *pi = tg->pi;
        if (!pi->plugin->reg.gradient)
            continue;
        rg_param *p = tg->param;
        rg_tensor_view value, grad;
        rg_bd_param_view(&value, p, p->value);
        rg_bd_param_view(&grad, p, p->grad);
        rg_rng_stream rng;
        rg_param_ctx ctx;
        param_ctx(t, tg, RG_MODE_TRAIN, RG_SITE_GRADIENT, lr, &rng, &ctx);
        int64_t pos[RG_CONST_SAMPLES];
        float before[RG_CONST_SAMPLES];
        int ns = rg_bd_samples(p->numel, pos);
        for (int q = 0; q < ns; q++)
            before[q] = p->value[pos[q]];
        rg_error_clear();
        rg_activity_begin(pi, "gradient", t->epoch + 1, t->step);
        rg_status st = pi->plugin->reg.gradient(pi->inst, &ctx, &value, &grad);
        rg_activity_end();
        if (st != RG_OK)
            return rg_bd_failed(pi, "gradient", st);
        if ((st = rg_bd_guarded(pi, "gradient", p->grad, p->numel, "gradient", p->name,
                                p->numel)) != RG_OK ||
            (st = rg_bd_guarded(pi, "gradient", p->value, p->numel, "weights", p->name,
                                p->numel)) != RG_OK ||
            (st = rg_bd_unchanged(pi, "gradient", "weights", p->name, p->value, pos, before,
                                  ns, "", t->epoch, t->step)) != RG_OK)
            return st;
        if (!rg_bd_sampled_finite(p->grad, p->numel))
            return rg_error_set(RG_ERR_PLUGIN, "plugin %s: gradient() produced a non-finite "
                                "gradient for %s (epoch %lld, step %lld)",
                                pi->plugin->desc.name, p->name, (long long)t->epoch + 1,
                                (long long)t->step);
    }
    return RG_OK;
}

/* ---- the step wrapper and its host services ---- */

int64_t rg_host_step_tensors(const rg_step_handle *h)
{
    return h ? h->count : 0;
}

rg_status rg_host_step_tensor(rg_step_handle *h, int64_t i, rg_tensor_view *value,
                              rg_tensor_view *grad)
{
    if (!h || !value || !grad || i < 0 || i >= h->count) {
        rg_error_set(RG_ERR_INVALID, "step_tensor(): tensor %lld of %d, or a NULL view",
                     (long long)i, h ? h->count : 0);
        return RG_ERR_INVALID;
    }
    rg_param *p = h->t->targets[h->first + i].param;
    rg_bd_param_view(value, p, p->value);
    rg_bd_param_view(grad, p, p->grad);
    grad->kind = RG_TENSOR_GRADIENT;
    return RG_OK;
}

rg_status rg_host_step_evaluate(rg_step_handle *h, double *loss)
{
    if (!h || !loss) {
        rg_error_set(RG_ERR_INVALID, "step_evaluate(): NULL handle or loss");
        return RG_ERR_INVALID;
    }
    h->evaluations++;
    rg_activity_end(); /* the host's own passes run between the wrapper's calls */
    rg_status st = rg_step_again(h->t, loss);
    rg_activity_begin(h->pi, "step_wrap", h->t->epoch + 1, h->t->step);
    return st;
}

rg_status rg_step_wrap_run(rg_trainer *t, double lr)
{
    if (t->wrapper < 0)
        return RG_OK;
    rg_step_handle h = {t, t->cfg.regs[t->wrapper], 0, 0, 0};
    while (h.first < t->num_targets && t->targets[h.first].reg_index != t->wrapper)
        h.first++;
    while (h.first + h.count < t->num_targets &&
           t->targets[h.first + h.count].reg_index == t->wrapper)
        h.count++;
    /* what the wrapper must give back: a sample of each of its tensors (on the heap: a
     * wrapper may hold every tensor of a large model) */
    int64_t *pos = malloc((size_t)(h.count ? h.count : 1) * RG_CONST_SAMPLES * sizeof *pos);
    float *before = malloc((size_t)(h.count ? h.count : 1) * RG_CONST_SAMPLES * sizeof *before);
    int *ns = malloc((size_t)(h.count ? h.count : 1) * sizeof *ns);
    if (!pos || !before || !ns) {
        free(pos);
        free(before);
        free(ns);
        return rg_error_set(RG_ERR_NOMEM, "cannot allocate the step wrapper's samples");
    }
    for (int i = 0; i < h.count; i++) {
        const rg_param *p = t->targets[h.first + i].param;
        int64_t *ps = pos + (size_t)i * RG_CONST_SAMPLES;
        ns[i] = rg_bd_samples(p->numel, ps);
        for (int q = 0; q < ns[i]; q++)
            before[(size_t)i * RG_CONST_SAMPLES + q] = p->value[ps[q]];
    }
    rg_step_info info = {sizeof info, 0, t->epoch, t->step, lr};
    const rg_plugin_instance *pi = h.pi;
    rg_error_clear();
    rg_activity_begin(pi, "step_wrap", t->epoch + 1, t->step);
    rg_status st = pi->plugin->reg.step_wrap(pi->inst, &info, &h);
    rg_activity_end();
    if (st != RG_OK)
        st = rg_bd_failed(pi, "step_wrap", st);
    for (int i = 0; st == RG_OK && i < h.count; i++) {
        const rg_param *p = t->targets[h.first + i].param;
        const int64_t *ps = pos + (size_t)i * RG_CONST_SAMPLES;
        const float *bs = before + (size_t)i * RG_CONST_SAMPLES;
        for (int q = 0; q < ns[i]; q++)
            if (memcmp(&bs[q], &p->value[ps[q]], sizeof(float)) != 0) {
                st = rg_error_set(RG_ERR_PLUGIN,
                                  "plugin %s (%s): step_wrap() left the weights of %s changed "
                                  "(element %lld: %.9g before, %.9g after): it must put back "
                                  "what it moved, bit for bit (epoch %lld, step %lld)",
                                  pi->plugin->desc.name, pi->plugin->path, p->name,
                                  (long long)ps[q], (double)bs[q], (double)p->value[ps[q]],
                                  (long long)t->epoch + 1, (long long)t->step);
                break;
            }
    }
    free(pos);
    free(before);
    free(ns);
    return st;
}
