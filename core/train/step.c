/* One training step, from a filled batch to updated weights. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "../kernels/kernels.h"
#include "../dist/dist.h"
#include "../rng.h"
#include "activity.h"
#include "boundary.h"
#include "trainer.h"

void rg_step_fill_into(const rg_trainer *t, const rg_dataset *ds, const int64_t *idx, int64_t n,
                       float *x, float *targets, int32_t *labels)
{
    int64_t f = t->in_features, k = t->model->num_classes;
    /* uint8 -> [0, 1] per batch: the dataset stays 1 byte per pixel */
    for (int64_t r = 0; r < n; r++) {
        float *dst = x + r * f;
        if (ds->fpixels) {
            memcpy(dst, ds->fpixels + idx[r] * f, (size_t)f * sizeof(float));
        } else {
            const uint8_t *src = ds->pixels + idx[r] * f;
            for (int64_t j = 0; j < f; j++)
                dst[j] = (float)src[j] * (1.0f / 255.0f);
        }
        float *tr = targets + r * k;
        memset(tr, 0, (size_t)k * sizeof(float));
        tr[ds->labels[idx[r]]] = 1.0f;
        labels[r] = ds->labels[idx[r]];
    }
}

rg_status rg_step_fill_batch(rg_trainer *t, const rg_dataset *ds, const int64_t *idx, int64_t n)
{
    rg_step_fill_into(t, ds, idx, n, t->x, t->t, t->labels);
    return RG_OK;
}

static void view_of(rg_tensor_view *v, uint32_t kind, const char *name, float *data, int64_t n,
                    rg_shape s)
{
    memset(v, 0, sizeof *v);
    v->struct_size = sizeof *v;
    v->kind = kind;
    v->name = name;
    v->data = data;
    v->shape[0] = n;
    if (s.flat) {
        v->ndim = 2;
        v->shape[1] = s.c;
    } else {
        v->ndim = 4;
        v->shape[1] = s.c;
        v->shape[2] = s.h;
        v->shape[3] = s.w;
    }
    v->numel = n * rg_shape_size(s);
}

/* An activation hook's buffers: the activation or gradient (allocated for the largest
 * batch) and the site's state, if any. */
static rg_status site_guarded(const rg_trainer *t, const rg_site *s, const rg_layer *l,
                              const char *hook, float *buf, const char *what, int64_t len)
{
    rg_status st = rg_bd_guarded(s->pi, hook, buf, t->cfg.batch * rg_shape_size(l->out), what,
                           l->name, len);
    if (st == RG_OK && s->state)
        st = rg_bd_guarded(s->pi, hook, s->state, (int64_t)(s->state_bytes + 3) / 4, "state",
                     l->name, (int64_t)s->state_bytes);
    return st;
}

static void site_ctx(rg_trainer *t, rg_site *s, rg_mode mode, int64_t n, rg_rng_stream *rng,
                     rg_activation_ctx *ctx)
{
    /* a data-parallel rank draws the positions its rows have in the whole batch's tensor
     * (hooks that draw one value per element, at its flat index, as dropout does, then give
     * every rank count the same masks) */
    rg_rng_stream_init(rng, t->cfg.seed, (uint64_t)t->epoch, (uint64_t)t->step,
                       RG_SITE_ACTIVATION + s->site_id);
    if (mode == RG_MODE_TRAIN)
        rng->base = (uint64_t)t->row0 * (uint64_t)rg_shape_size(t->model->layers[s->layer].out);
    memset(ctx, 0, sizeof *ctx);
    ctx->struct_size = sizeof *ctx;
    ctx->mode = mode;
    ctx->rng = rng;
    ctx->state = s->state;
    ctx->state_bytes = s->state_bytes;
    int whole = mode == RG_MODE_TRAIN && t->batch_rows > 0;
    ctx->batch_row0 = whole ? t->row0 : 0;
    ctx->batch_rows = whole ? t->batch_rows : n;
}

static rg_status forward_layers(rg_trainer *t, int64_t n, rg_mode mode)
{
    rg_model *m = t->model;
    const float *in = t->x;
    for (int i = 0; i < m->num_layers; i++) {
        rg_layer *l = &m->layers[i];
        if (t->fused[i]) {
            /* no hook reads the conv or relu output: they stay unwritten */
            t->post[i] = t->post[i + 1] = NULL;
            i += 2;
            l = &m->layers[i];
            rg_conv_block_forward(&m->layers[i - 2], l, in, m->out[i], n);
        } else {
            l->training = mode == RG_MODE_TRAIN;
            l->ops->forward(l, in, m->out[i], n);
        }
        const float *cur = m->out[i];
        for (int k = 0; k < t->site_count[i]; k++) {
            rg_site *s = &t->sites[t->site_first[i] + k];
            int64_t len = n * rg_shape_size(l->out);
            memcpy(s->buf, cur, (size_t)len * sizeof(float));
            rg_tensor_view act;
            view_of(&act, RG_TENSOR_ACTIVATION, l->name, s->buf, n, l->out);
            rg_rng_stream rng;
            rg_activation_ctx ctx;
            site_ctx(t, s, mode, n, &rng, &ctx);
            rg_error_clear();
            rg_activity_begin(s->pi, "activation_forward", t->epoch + 1, t->step);
            rg_status st = s->pi->plugin->reg.activation_forward(s->pi->inst, &ctx, &act);
            rg_activity_end();
            if (st != RG_OK)
                return rg_bd_failed(s->pi, "activation_forward", st);
            if ((st = site_guarded(t, s, l, "activation_forward", s->buf, "activation", len)) !=
                RG_OK)
                return st;
            if (!rg_bd_sampled_finite(s->buf, len))
                return rg_error_set(RG_ERR_PLUGIN, "plugin %s: activation_forward() produced a "
                                    "non-finite activation after %s (epoch %lld, step %lld)",
                                    s->pi->plugin->desc.name, l->name,
                                    (long long)t->epoch + 1, (long long)t->step);
            if (mode == RG_MODE_TRAIN)
                t->penalty[s->reg_index] += ctx.penalty;
            cur = s->buf;
        }
        t->post[i] = (float *)cur;
        in = cur;
    }
    return RG_OK;
}

rg_status rg_step_forward_layers(rg_trainer *t, int64_t n, rg_mode mode)
{
    return forward_layers(t, n, mode);
}

/* Training: the caller has swapped in the transformed weights (step_local) and keeps them
 * through backward. Evaluation: transformed around this forward pass alone. */
rg_status rg_step_forward(rg_trainer *t, int64_t n, rg_mode mode)
{
    if (mode == RG_MODE_TRAIN)
        return forward_layers(t, n, mode);
    rg_status st = rg_weights_forward(t, mode);
    if (st == RG_OK)
        st = forward_layers(t, n, mode);
    rg_weights_restore(t);
    return st;
}

static rg_status backward(rg_trainer *t, int64_t n)
{
    rg_model *m = t->model;
    for (int i = m->num_layers - 1; i >= 0; i--) {
        rg_layer *l = &m->layers[i];
        for (int k = t->site_count[i] - 1; k >= 0; k--) {
            rg_site *s = &t->sites[t->site_first[i] + k];
            rg_tensor_view grad, out;
            view_of(&grad, RG_TENSOR_GRADIENT, l->name, m->grad[i], n, l->out);
            view_of(&out, RG_TENSOR_ACTIVATION, l->name, s->buf, n, l->out);
            rg_rng_stream rng;
            rg_activation_ctx ctx;
            site_ctx(t, s, RG_MODE_TRAIN, n, &rng, &ctx);
            ctx.output = &out;
            rg_error_clear();
            rg_activity_begin(s->pi, "activation_backward", t->epoch + 1, t->step);
            rg_status st = s->pi->plugin->reg.activation_backward(s->pi->inst, &ctx, &grad);
            rg_activity_end();
            if (st != RG_OK)
                return rg_bd_failed(s->pi, "activation_backward", st);
            int64_t len = n * rg_shape_size(l->out);
            if ((st = site_guarded(t, s, l, "activation_backward", m->grad[i], "gradient",
                                   len)) != RG_OK)
                return st;
            if (!rg_bd_sampled_finite(m->grad[i], len))
                return rg_error_set(RG_ERR_PLUGIN, "plugin %s: activation_backward() produced a "
                                    "non-finite gradient at %s (epoch %lld, step %lld)",
                                    s->pi->plugin->desc.name, l->name,
                                    (long long)t->epoch + 1, (long long)t->step);
        }
        if (i >= 2 && t->fused[i - 2]) {
            int c = i - 2;
            const float *x = c > 0 ? t->post[c - 1] : t->x;
            rg_conv_block_backward(&m->layers[c], l, x, m->out[i], m->grad[i],
                                   c > 0 ? m->grad[c - 1] : NULL, n);
            i = c;
            rg_grad_sync_layer_done(t, c);
            continue;
        }
        const float *x = i > 0 ? t->post[i - 1] : t->x;
        l->ops->backward(l, x, m->out[i], m->grad[i], i > 0 ? m->grad[i - 1] : NULL, n);
        rg_grad_sync_layer_done(t, i);
    }
    return RG_OK;
}

/* A foldable target's linear_decay(): 1 when the optimizer takes it over this step, 0
 * when the plugin declines (penalty() is called as usual), or a failure. */
static rg_status fold_decay(rg_trainer *t, const rg_target *tg, const rg_tensor_view *value,
                            int *folded)
{
    *folded = 0;
    float c = 0.0f;
    double pc = 0.0;
    rg_error_clear();
    rg_activity_begin(tg->pi, "linear_decay", t->epoch + 1, t->step);
    rg_status st = tg->pi->plugin->reg.linear_decay(tg->pi->inst, value, &c, &pc);
    rg_activity_end();
    if (st == RG_ERR_UNSUPPORTED)
        return RG_OK;
    if (st != RG_OK)
        return rg_bd_failed(tg->pi, "linear_decay", st);
    if (!isfinite(c) || !isfinite(pc))
        return rg_error_set(RG_ERR_NUMERIC,
                            "plugin %s: linear_decay() on %s declared a non-finite coefficient "
                            "(gradient %g, penalty %g)",
                            tg->pi->plugin->desc.name, tg->param->name, (double)c, pc);
    int i = tg->param_index;
    t->fold[i] = 1;
    t->fold_coef[i] = c;
    t->fold_pcoef[i] = pc;
    t->fold_target[i] = (int)(tg - t->targets);
    *folded = 1;
    return RG_OK;
}

/* The penalties of the decays the optimizer folded, from the sums of squares it took
 * of the weights before updating them. */
static rg_status add_folded_penalties(rg_trainer *t, double *total)
{
    for (int i = 0; i < t->model->num_params; i++) {
        if (!t->fold[i])
            continue;
        const rg_target *tg = &t->targets[t->fold_target[i]];
        double p = t->fold_pcoef[i] * t->fold_sumsq[i];
        if (!isfinite(p))
            return rg_error_set(RG_ERR_NUMERIC,
                                "plugin %s: the penalty on %s became non-finite (epoch %lld, "
                                "step %lld)",
                                tg->pi->plugin->desc.name, tg->param->name,
                                (long long)t->epoch + 1, (long long)t->step);
        t->penalty[tg->reg_index] += p;
        *total += p;
    }
    return RG_OK;
}

static rg_status add_penalties(rg_trainer *t, double *total)
{
    memset(t->fold, 0, sizeof t->fold);
    for (int k = 0; k < t->num_targets; k++) {
        rg_target *tg = &t->targets[k];
        if (!tg->pi->plugin->reg.penalty)
            continue;
        rg_tensor_view value, grad;
        rg_bd_param_view(&value, tg->param, tg->param->value);
        rg_bd_param_view(&grad, tg->param, tg->param->grad);
        if (tg->foldable) {
            int folded;
            rg_status st = fold_decay(t, tg, &value, &folded);
            if (st != RG_OK)
                return st;
            if (folded)
                continue;
        }
        double p = 0.0;
        int64_t pos[RG_CONST_SAMPLES];
        float before[RG_CONST_SAMPLES];
        int ns = rg_bd_samples(tg->param->numel, pos);
        for (int q = 0; q < ns; q++)
            before[q] = tg->param->value[pos[q]];
        rg_error_clear();
        rg_activity_begin(tg->pi, "penalty", t->epoch + 1, t->step);
        rg_status st = tg->pi->plugin->reg.penalty(tg->pi->inst, &value, &p, &grad);
        rg_activity_end();
        if (st != RG_OK)
            return rg_bd_failed(tg->pi, "penalty", st);
        if ((st = rg_bd_guarded(tg->pi, "penalty", tg->param->grad, tg->param->numel, "gradient",
                          tg->param->name, tg->param->numel)) != RG_OK ||
            (st = rg_bd_guarded(tg->pi, "penalty", tg->param->value, tg->param->numel, "weights",
                          tg->param->name, tg->param->numel)) != RG_OK)
            return st;
        if ((st = rg_bd_unchanged(tg->pi, "penalty", "weights", tg->param->name, tg->param->value,
                                  pos, before, ns,
                                  ": add the gradient to grad, or change weights in "
                                  "project_step()", t->epoch, t->step)) != RG_OK)
            return st;
        /* the penalty and a sample of its gradient here, so the right plugin is named in
         * the common case; every element is checked in the optimizer's update loop */
        int grad_ok = 1;
        for (int q = 0; q < ns; q++)
            grad_ok &= isfinite(tg->param->grad[pos[q]]);
        if (!isfinite(p) || !grad_ok)
            return rg_error_set(RG_ERR_NUMERIC,
                                "plugin %s: penalty() on %s produced a non-finite %s",
                                tg->pi->plugin->desc.name, tg->param->name,
                                isfinite(p) ? "gradient" : "penalty");
        t->penalty[tg->reg_index] += p;
        *total += p;
    }
    return RG_OK;
}

static rg_status constraint_nonfinite(const rg_target *tg)
{
    return rg_error_set(RG_ERR_NUMERIC, "plugin %s: constraint on %s produced a non-finite "
                        "weight", tg->pi->plugin->desc.name, tg->param->name);
}

rg_status rg_step_check_constrained(const rg_trainer *t)
{
    for (int k = 0; k < t->num_targets; k++) {
        const rg_target *tg = &t->targets[k];
        const rg_regularizer_hooks *h = &tg->pi->plugin->reg;
        if ((h->project_step || h->project) && !rg_bd_all_finite(tg->param->value, tg->param->numel))
            return constraint_nonfinite(tg);
    }
    return RG_OK;
}

/* Targets are grouped by regularizer in --reg order, so constraints apply
 * in that order too; within one regularizer project_step comes first. */
static rg_status apply_constraints(rg_trainer *t, double lr)
{
    rg_step_info info = {sizeof info, 0, t->epoch, t->step, lr};
    for (int k = 0; k < t->num_targets; k++) {
        rg_target *tg = &t->targets[k];
        const rg_regularizer_hooks *h = &tg->pi->plugin->reg;
        if (!h->project_step && !h->project)
            continue;
        rg_tensor_view value;
        rg_bd_param_view(&value, tg->param, tg->param->value);
        rg_error_clear();
        rg_status st = RG_OK;
        if (h->project_step) {
            rg_activity_begin(tg->pi, "project_step", t->epoch + 1, t->step);
            st = h->project_step(tg->pi->inst, &info, &value);
            rg_activity_end();
            if (st != RG_OK)
                return rg_bd_failed(tg->pi, "project_step", st);
        }
        if (h->project) {
            rg_activity_begin(tg->pi, "project", t->epoch + 1, t->step);
            st = h->project(tg->pi->inst, &value);
            rg_activity_end();
            if (st != RG_OK)
                return rg_bd_failed(tg->pi, "project", st);
        }
        if ((st = rg_bd_guarded(tg->pi, h->project ? "project" : "project_step", tg->param->value,
                          tg->param->numel, "weights", tg->param->name,
                          tg->param->numel)) != RG_OK)
            return st;
        /* sampled here; every element is checked by rg_step_check_constrained when the
         * next loss is not finite, and at the end of each epoch */
        if (!rg_bd_sampled_finite(tg->param->value, tg->param->numel))
            return constraint_nonfinite(tg);
    }
    return RG_OK;
}

/* Label-smoothing style hooks rewrite the soft targets of the batch. */
static rg_status adjust_targets(rg_trainer *t, int64_t n)
{
    for (int r = 0; r < t->cfg.num_regs; r++) {
        rg_plugin_instance *pi = t->cfg.regs[r];
        if (!pi->plugin->reg.targets)
            continue;
        rg_tensor_view v;
        memset(&v, 0, sizeof v);
        v.struct_size = sizeof v;
        v.kind = RG_TENSOR_ACTIVATION;
        v.name = "targets";
        v.ndim = 2;
        v.shape[0] = n;
        v.shape[1] = t->model->num_classes;
        v.numel = n * t->model->num_classes;
        v.data = t->t;
        rg_error_clear();
        rg_activity_begin(pi, "targets", t->epoch + 1, t->step);
        rg_status st = pi->plugin->reg.targets(pi->inst, &v);
        rg_activity_end();
        if (st != RG_OK)
            return rg_bd_failed(pi, "targets", st);
        if ((st = rg_bd_guarded(pi, "targets", t->t, t->cfg.batch * t->model->num_classes, "targets",
                          "the batch", v.numel)) != RG_OK)
            return st;
    }
    return RG_OK;
}

/* An augmenter's output at the boundary: finite pixels, inside [0, 1] for images stored as
 * uint8 (float images from memory are the host's scale), and target rows that are
 * distributions. One vectorizable pass; the offending element is looked up only on
 * failure, so the check costs a read of the batch. */
static rg_status check_augmented(const rg_trainer *t, const rg_plugin_instance *pi, int64_t n,
                                 int64_t step, const float *x, const float *targets)
{
    const rg_dataset *ds = t->data;
    int64_t f = t->in_features, k = t->model->num_classes, total = n * f;
    if (!RG_CHECKS)
        return RG_OK;
    int ranged = ds->fpixels == NULL;
    /* on the bits, so it vectorizes: a float is in [0, 1] iff its bits are at most those of
     * 1.0f (NaN and +inf are above) or it is -0.0f */
    uint32_t out_of_range = 0;
    if (ranged)
        for (int64_t i = 0; i < total; i++) {
            uint32_t u;
            memcpy(&u, &x[i], sizeof u);
            out_of_range |= (u > 0x3f800000u) & (u != 0x80000000u);
        }
    if (ranged ? out_of_range != 0 : !rg_bd_all_finite(x, total)) {
        int64_t i = 0;
        while (i < total && isfinite(x[i]) && (!ranged || (x[i] >= 0.0f && x[i] <= 1.0f)))
            i++;
        int64_t img = i / f, r = i % f, hw = ds->h * ds->w;
        return rg_error_set(RG_ERR_PLUGIN, "plugin %s: apply() wrote %g at image %lld, "
                            "channel %lld, row %lld, column %lld (epoch %lld, step %lld): "
                            "augmented pixels must be finite%s", pi->plugin->desc.name,
                            (double)x[i < total ? i : 0], (long long)img, (long long)(r / hw),
                            (long long)(r % hw / ds->w), (long long)(r % ds->w),
                            (long long)t->epoch + 1, (long long)step,
                            ranged ? " and inside [0, 1]" : "");
    }
    for (int64_t row = 0; row < n; row++) {
        const float *tr = targets + row * k;
        double sum = 0.0, least = 0.0;
        for (int64_t j = 0; j < k; j++) {
            sum += tr[j];
            least = tr[j] < least || !isfinite(tr[j]) ? tr[j] : least;
        }
        if (!(least >= 0.0) || !(fabs(sum - 1.0) <= 1e-4))
            return rg_error_set(RG_ERR_PLUGIN, "plugin %s: apply() left target row %lld summing "
                                "to %g (smallest entry %g) (epoch %lld, step %lld): targets "
                                "must be non-negative and sum to 1", pi->plugin->desc.name,
                                (long long)row, sum, least, (long long)t->epoch + 1,
                                (long long)step);
    }
    return RG_OK;
}

static rg_status apply_one(const rg_trainer *t, int k, int64_t n, int64_t step, float *x,
                           float *targets, int host_buffers)
{
    const rg_dataset *ds = t->data;
    rg_plugin_instance *pi = t->cfg.augs[k];
    rg_batch_view b = {sizeof b, 0, n, ds->c, ds->h, ds->w, x, targets, t->model->num_classes};
    rg_rng_stream rng;
    rg_rng_stream_init(&rng, t->cfg.seed, (uint64_t)t->epoch, (uint64_t)step,
                       RG_SITE_AUGMENT + (uint64_t)k);
    rg_error_clear();
    rg_activity_begin(pi, "apply", t->epoch + 1, step);
    rg_status st = pi->plugin->aug.apply(pi->inst, &b, &rng);
    rg_activity_end();
    if (st != RG_OK)
        return rg_bd_failed(pi, "apply", st);
    /* the host's own batch buffers carry guard words; an embedding's images do not */
    int64_t f = t->in_features, kc = t->model->num_classes, cap = t->cfg.batch;
    if (host_buffers &&
        ((st = rg_bd_guarded(pi, "apply", x, cap * f, "images", "the batch", n * f)) != RG_OK ||
         (st = rg_bd_guarded(pi, "apply", targets, cap * kc, "targets", "the batch", n * kc)) != RG_OK))
        return st;
    return check_augmented(t, pi, n, step, x, targets);
}

/* One-of group [k, k + m): each sample gets one member, drawn from its own
 * stream position; the samples of each member are gathered into a
 * contiguous sub-batch, augmented together and scattered back. */
static rg_status apply_one_of(const rg_trainer *t, int k, int m, int64_t n, int64_t step,
                              float *x, float *targets)
{
    int64_t f = t->in_features, kc = t->model->num_classes;
    rg_rng_stream pick;
    rg_rng_stream_init(&pick, t->cfg.seed, (uint64_t)t->epoch, (uint64_t)step,
                       RG_SITE_AUGMENT_PICK + (uint64_t)k);
    for (int j = 0; j < m; j++) {
        int64_t cnt = 0;
        for (int64_t r = 0; r < n; r++)
            if ((int)rg_rng_below(&pick, (uint64_t)r, (uint32_t)m) == j)
                t->aug_rows[cnt++] = r;
        if (cnt == 0)
            continue;
        for (int64_t q = 0; q < cnt; q++) {
            memcpy(t->aug_x + q * f, x + t->aug_rows[q] * f, (size_t)f * sizeof(float));
            memcpy(t->aug_t + q * kc, targets + t->aug_rows[q] * kc, (size_t)kc * sizeof(float));
        }
        rg_status st = apply_one(t, k + j, cnt, step, t->aug_x, t->aug_t, 1);
        if (st != RG_OK)
            return st;
        for (int64_t q = 0; q < cnt; q++) {
            memcpy(x + t->aug_rows[q] * f, t->aug_x + q * f, (size_t)f * sizeof(float));
            memcpy(targets + t->aug_rows[q] * kc, t->aug_t + q * kc, (size_t)kc * sizeof(float));
        }
    }
    return RG_OK;
}

rg_status rg_step_augment(const rg_trainer *t, int64_t n, int64_t step, float *x, float *targets,
                          int host_buffers)
{
    for (int k = 0; k < t->cfg.num_augs;) {
        int g = t->cfg.aug_group[k], m = 1;
        while (g && k + m < t->cfg.num_augs && t->cfg.aug_group[k + m] == g)
            m++;
        rg_status st = g ? apply_one_of(t, k, m, n, step, x, targets)
                         : apply_one(t, k, n, step, x, targets, host_buffers);
        if (st != RG_OK)
            return st;
        k += m;
    }
    return RG_OK;
}

double rg_trainer_lr(const rg_trainer *t)
{
    return rg_lr_at(&t->cfg.lr, &t->lr_state, t->cfg.optim.lr, t->epoch, t->step,
                    t->steps_per_epoch, t->total_steps);
}

/* After a non-finite loss (backward = 0) or parameter gradient (backward = 1): the first
 * activation hook whose output buffer holds a non-finite value, in the order they ran. */
static rg_status blame_nonfinite_site(const rg_trainer *t, int64_t n, int backward)
{
    const rg_model *m = t->model;
    for (int j = 0; j < m->num_layers; j++) {
        int i = backward ? m->num_layers - 1 - j : j;
        const rg_layer *l = &m->layers[i];
        int64_t len = n * rg_shape_size(l->out);
        for (int k = 0; k < t->site_count[i]; k++) {
            const rg_site *s = &t->sites[t->site_first[i] + k];
            if (backward ? rg_bd_all_finite(m->grad[i], len) : rg_bd_all_finite(s->buf, len))
                continue;
            return rg_error_set(RG_ERR_PLUGIN, "plugin %s: %s() produced a non-finite %s %s %s "
                                "(epoch %lld, step %lld)", s->pi->plugin->desc.name,
                                backward ? "activation_backward" : "activation_forward",
                                backward ? "gradient" : "activation", backward ? "at" : "after",
                                l->name, (long long)t->epoch + 1, (long long)t->step);
        }
    }
    return RG_OK;
}

/* A gradient the optimizer found non-finite although the loss is finite: the plugins
 * whose penalty() touched that tensor, or whose activation_backward() output is not
 * finite, are the suspects. */
static rg_status nonfinite_gradient(const rg_trainer *t, int64_t n, const rg_param *p)
{
    rg_status st = blame_nonfinite_site(t, n, 1);
    if (st != RG_OK)
        return st;
    char names[512] = "";
    for (int k = 0; k < t->num_targets; k++) {
        const rg_target *tg = &t->targets[k];
        if (tg->param != p || !tg->pi->plugin->reg.penalty)
            continue;
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                 tg->pi->plugin->desc.name);
    }
    if (names[0])
        return rg_error_set(RG_ERR_NUMERIC,
                            "plugin %s: penalty() on %s produced a non-finite gradient "
                            "(epoch %lld, step %lld; the loss is finite)",
                            names, p->name, (long long)t->epoch + 1, (long long)t->step);
    return rg_error_set(RG_ERR_NUMERIC,
                        "the gradient of %s became non-finite at epoch %lld step %lld though "
                        "the loss is finite (lower --lr?)",
                        p->name, (long long)t->epoch + 1, (long long)t->step + 1);
}

/* The part of a step each rank does on its own rows: targets (first pass only: a second
 * evaluation must not rewrite them again), the transformed weights, forward, the loss (its
 * sum over these nl rows into *sum, the gradient scaled by 1/n, n the whole batch),
 * backward. The transformed weights stay swapped in: the caller maps the gradient back
 * (after the processes' gradients are summed) and restores them. */
static rg_status step_local(rg_trainer *t, int64_t nl, int64_t n, double *sum, int64_t *hits,
                            int first)
{
    rg_model *m = t->model;
    int last = m->num_layers - 1;
    int64_t k = m->num_classes;
    memset(t->penalty, 0, sizeof t->penalty);
    rg_status st = first ? adjust_targets(t, nl) : RG_OK;
    if (st == RG_OK)
        st = rg_weights_forward(t, RG_MODE_TRAIN);
    if (st == RG_OK)
        st = forward_layers(t, nl, RG_MODE_TRAIN);
    if (st != RG_OK)
        return st;
    /* mean cross-entropy over the batch, as torch.nn.CrossEntropyLoss */
    rg_softmax_xent(nl, k, t->post[last], t->t, 1.0f / (float)n, t->row_loss, m->grad[last],
                    NULL);
    *sum = 0.0;
    for (int64_t r = 0; r < nl; r++)
        *sum += t->row_loss[r];
    /* accuracy against the true labels: smoothed or mixed targets have no
     * reliable argmax */
    *hits = rg_count_correct(nl, k, t->post[last], t->labels);
    /* a non-finite loss with activation hooks: name the hook whose output was not finite
     * (the per-step check only samples it) before backward runs on it */
    if (!isfinite(*sum) && RG_CHECKS &&
        ((st = rg_step_check_constrained(t)) != RG_OK ||
         (st = blame_nonfinite_site(t, nl, 0)) != RG_OK))
        return st;
    return backward(t, nl);
}

/* Data-parallel: every rank's step so far, summed. The gradients' buckets are in flight
 * since backward (grad_sync.c); one reduction of the scalars (who failed, the loss and hit
 * sums, the activation penalties, a stop request) then makes every rank stop with a rank
 * whose step failed, instead of leaving them waiting for it. */
static rg_status reduce_step(rg_trainer *t, rg_status local, double *sum, int64_t *hits)
{
    const rg_dist *d = t->cfg.dist;
    enum { FAIL, SUM, HITS, STOP, PEN };
    double red[PEN + RG_TRAIN_MAX_PLUGINS] = {0};
    red[FAIL] = local != RG_OK;
    red[SUM] = *sum;
    red[HITS] = (double)*hits;
    red[STOP] = t->cfg.stop_flag && *t->cfg.stop_flag;
    for (int r = 0; r < t->cfg.num_regs; r++)
        red[PEN + r] = t->penalty[r];
    char message[2048];
    snprintf(message, sizeof message, "%s", local != RG_OK ? rg_error_message() : "");
    /* the buckets backward did not start (all of them when this rank failed before) go
     * first, so that every rank makes the same collective calls in the same order */
    rg_status st = rg_grad_sync_post_rest(t);
    if (st == RG_OK)
        st = rg_dist_sum_doubles(d, red, PEN + t->cfg.num_regs);
    rg_status waited = rg_grad_sync_finish(t);
    if (st == RG_OK)
        st = waited;
    if (st != RG_OK)
        return st;
    if (local != RG_OK)
        return rg_error_set(local, "%s", message);
    if (red[FAIL] > 0)
        return rg_error_set(RG_ERR_PLUGIN, "rank %d of %d stops: %g other rank(s) failed at "
                            "epoch %lld, step %lld (the failing rank's message names the cause)",
                            d->rank, d->size, red[FAIL], (long long)t->epoch + 1,
                            (long long)t->step + 1);
    for (int r = 0; r < t->cfg.num_regs; r++) {
        /* before ABI 1.4 a hook could only normalize by the rows it sees, one rank's
         * share of the batch: its summed penalty would be N times too large */
        const rg_plugin *p = t->cfg.regs[r]->plugin;
        if (red[PEN + r] != 0.0 && p->abi_minor < 4)
            return rg_error_set(RG_ERR_UNSUPPORTED,
                                "plugin %s (built against plugin ABI 1.%u) adds an activation "
                                "penalty, which it can only normalize by one rank's share of "
                                "the batch: data-parallel runs need it rebuilt against ABI 1.4 "
                                "or later (ctx->batch_rows), or train it on one process",
                                p->desc.name, (unsigned)p->abi_minor);
        t->penalty[r] = red[PEN + r];
    }
    *sum = red[SUM];
    *hits = (int64_t)red[HITS];
    if (red[STOP] > 0)
        t->stop_agreed = 1;
    return RG_OK;
}

/* One pass of the step on this rank's rows, summed over the ranks, with the gradient of
 * the transformed weights mapped back to the weights. */
static rg_status pass(rg_trainer *t, int first, double *sum, int64_t *hits)
{
    const rg_dist *d = t->cfg.dist;
    rg_grad_sync_begin(t);
    rg_status st = step_local(t, t->local_rows, t->batch_rows, sum, hits, first);
    if (d && d->size > 1)
        st = reduce_step(t, st, sum, hits);
    if (st == RG_OK)
        st = rg_weights_backward(t);
    rg_weights_restore(t);
    return st;
}

rg_status rg_step_again(rg_trainer *t, double *loss)
{
    double pen[RG_TRAIN_MAX_PLUGINS], sum = 0.0;
    int64_t hits = 0;
    /* the step reports the penalties and accuracy of its first pass */
    memcpy(pen, t->penalty, sizeof pen);
    rg_status st = pass(t, 0, &sum, &hits);
    memcpy(t->penalty, pen, sizeof pen);
    *loss = sum / (double)t->batch_rows;
    if (st == RG_OK && !isfinite(*loss))
        st = rg_error_set(RG_ERR_NUMERIC, "the loss of the second evaluation became non-finite "
                          "at epoch %lld step %lld", (long long)t->epoch + 1,
                          (long long)t->step + 1);
    return st;
}

rg_status rg_step_train(rg_trainer *t, int64_t n, double *loss, double *penalty,
                        int64_t *correct)
{
    rg_model *m = t->model;
    const rg_dist *d = t->cfg.dist;
    int64_t lo = 0, hi = n;
    if (d && d->size > 1)
        rg_dist_rows(d, n, &lo, &hi);
    /* this rank's rows of the batch the pipeline filled whole */
    float *x = t->x, *tg = t->t;
    int32_t *labels = t->labels;
    t->x += lo * t->in_features;
    t->t += lo * m->num_classes;
    t->labels += lo;
    t->row0 = lo;
    t->batch_rows = n;
    t->local_rows = hi - lo;
    double sum = 0.0;
    int64_t hits = 0;
    double lr = rg_trainer_lr(t);
    rg_status st = pass(t, 1, &sum, &hits);
    if (st == RG_OK)
        st = rg_step_wrap_run(t, lr);
    t->x = x;
    t->t = tg;
    t->labels = labels;
    t->row0 = 0;
    t->batch_rows = 0;
    t->local_rows = 0;
    if (st != RG_OK)
        return st;
    double data_loss = sum / (double)n, pen = 0.0;
    for (int r = 0; r < t->cfg.num_regs; r++)
        pen += t->penalty[r]; /* activation-hook penalties from forward */
    if ((st = add_penalties(t, &pen)) != RG_OK)
        return st;
    if (!isfinite(data_loss + pen))
        return rg_error_set(RG_ERR_NUMERIC,
                            "loss became non-finite at epoch %lld step %lld (lower --lr?)",
                            (long long)t->epoch + 1, (long long)t->step + 1);
    if ((st = rg_gradient_hooks(t, lr)) != RG_OK)
        return st;
    int bad = rg_optim_step_decay(&t->opt, m->params, m->num_params, lr, t->fold, t->fold_coef,
                                  t->fold_sumsq);
    if (RG_CHECKS && bad >= 0)
        return nonfinite_gradient(t, hi - lo, m->params[bad]);
    if ((st = add_folded_penalties(t, &pen)) != RG_OK)
        return st;
    if ((st = apply_constraints(t, lr)) != RG_OK)
        return st;
    *loss = data_loss;
    *penalty = pen;
    *correct = hits;
    return RG_OK;
}
