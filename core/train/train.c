#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../alloc.h"
#include "../dist/dist.h"
#include "../error.h"
#include "../kernels/kernels.h"
#include "../rng.h"
#include "trainer.h"

void rg_train_config_defaults(rg_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 10;
    cfg->batch = 128;
    rg_optim_config_defaults(&cfg->optim);
    cfg->seed = 1;
    cfg->val_fraction = 0.1;
    rg_lr_config_defaults(&cfg->lr);
    cfg->patience = 5;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One seeded permutation of the (limited) training set: its first n_val entries are the
 * validation examples (val_size of them, else the val fraction), the next n_train the
 * training examples (train_size of them, else all the rest). Both parts keep file order;
 * the training part is reshuffled per epoch. Without val_size and train_size this is the
 * split of regula 0.2, example for example. */
static rg_status split(rg_trainer *t)
{
    int64_t total = t->data->n;
    if (t->cfg.train_limit > 0 && t->cfg.train_limit < total)
        total = t->cfg.train_limit;
    int64_t n_val = t->cfg.val_size > 0 ? t->cfg.val_size
                                         : (int64_t)floor(t->cfg.val_fraction * (double)total);
    if (n_val >= total)
        return t->cfg.val_size > 0
                   ? rg_error_set(RG_ERR_INVALID, "val_size %lld leaves no training examples "
                                  "out of %lld", (long long)n_val, (long long)total)
                   : rg_error_set(RG_ERR_INVALID, "val %g leaves no training examples out of "
                                  "%lld", t->cfg.val_fraction, (long long)total);
    int64_t n_keep = total - n_val;
    if (t->cfg.train_size > 0) {
        if (t->cfg.train_size > n_keep)
            return rg_error_set(RG_ERR_INVALID, "train_size %lld: only %lld training images "
                                "are left after the %lld held out for validation",
                                (long long)t->cfg.train_size, (long long)n_keep,
                                (long long)n_val);
        n_keep = t->cfg.train_size;
    }
    int64_t *perm = malloc((size_t)total * sizeof *perm);
    uint8_t *is_val = calloc((size_t)total, 1);
    t->train_idx = malloc((size_t)n_keep * sizeof *t->train_idx);
    t->order = malloc((size_t)n_keep * sizeof *t->order);
    t->val_idx = malloc((size_t)(n_val ? n_val : 1) * sizeof *t->val_idx);
    if (!perm || !is_val || !t->train_idx || !t->val_idx || !t->order) {
        free(perm);
        free(is_val);
        return rg_error_set(RG_ERR_NOMEM, "cannot allocate the index of %lld examples",
                            (long long)total);
    }
    for (int64_t i = 0; i < total; i++)
        perm[i] = i;
    rg_rng_stream s;
    rg_rng_stream_init(&s, t->cfg.seed, 0, 0, RG_SITE_SPLIT);
    rg_rng_shuffle(&s, perm, total);
    /* is_val: 1 validation, 2 training, 0 unused */
    for (int64_t i = 0; i < n_val; i++)
        is_val[perm[i]] = 1;
    for (int64_t i = n_val; i < total; i++)
        is_val[perm[i]] = t->cfg.train_size > 0 && i >= n_val + n_keep ? 0 : 2;
    t->n_train = t->n_val = 0;
    for (int64_t i = 0; i < total; i++) {
        if (is_val[i] == 1)
            t->val_idx[t->n_val++] = i;
        else if (is_val[i] == 2)
            t->train_idx[t->n_train++] = i;
    }
    free(perm);
    free(is_val);
    return RG_OK;
}

static void append_text(char *buf, size_t cap, const char *s)
{
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "%s%s", used ? " " : "", s);
}

/* Decide, once, which parameters and sites each regularizer touches. The
 * plugin is told only about those. */
static rg_status resolve_targets(rg_trainer *t)
{
    rg_model *m = t->model;
    for (int r = 0; r < t->cfg.num_regs; r++) {
        rg_plugin_instance *pi = t->cfg.regs[r];
        const rg_regularizer_hooks *h = &pi->plugin->reg;
        int on_params = h->penalty || h->project || h->project_step || h->weight_forward ||
                        h->gradient || h->step_wrap;
        if (h->step_wrap && t->wrapper >= 0)
            return rg_error_set(RG_ERR_INVALID,
                                "%s and %s both wrap the step (step_wrap): one per run",
                                t->cfg.regs[t->wrapper]->plugin->desc.name,
                                pi->plugin->desc.name);
        if (h->step_wrap)
            t->wrapper = r;
        if (on_params) {
            for (int i = 0; i < m->num_layers; i++) {
                rg_layer *l = &m->layers[i];
                if (pi->sel.layers[0] && !rg_selection_match(pi->sel.layers, l->name))
                    continue;
                for (int p = 0; p < l->num_params; p++) {
                    rg_param *prm = &l->params[p];
                    uint32_t bit = prm->kind == RG_TENSOR_BIAS ? RG_SEL_BIASES : RG_SEL_WEIGHTS;
                    if (!(pi->sel.tensors & bit))
                        continue;
                    if (t->num_targets >= RG_MAX_TARGETS)
                        return rg_error_set(RG_ERR_INVALID, "too many regularizer targets");
                    int index = 0;
                    while (index < m->num_params && m->params[index] != prm)
                        index++;
                    t->targets[t->num_targets++] = (rg_target){pi, r, prm, index, 0, NULL, NULL};
                    append_text(t->targets_text[r], sizeof t->targets_text[r], prm->name);
                }
            }
        }
        if (h->activation_forward) {
            /* Default sites: after every hidden activation (ReLU), never
             * after the output layer, whose logits feed the loss. */
            int found = 0;
            /* after= may name the output layer: a hook on the logits (a confidence
             * penalty) then sits between them and the loss */
            int last = pi->sel.after[0] ? m->num_layers : m->num_layers - 1;
            for (int i = 0; i < last; i++) {
                rg_layer *l = &m->layers[i];
                int match = pi->sel.after[0] ? rg_selection_match(pi->sel.after, l->name)
                                             : strcmp(l->ops->type, "relu") == 0;
                if (!match)
                    continue;
                if (t->num_sites >= RG_MAX_SITES)
                    return rg_error_set(RG_ERR_INVALID, "too many activation hook sites");
                rg_site *s = &t->sites[t->num_sites];
                s->pi = pi;
                s->reg_index = r;
                s->layer = i;
                s->site_id = (uint64_t)t->num_sites;
                t->num_sites++;
                found++;
                char txt[64];
                snprintf(txt, sizeof txt, "after:%s", l->name);
                append_text(t->targets_text[r], sizeof t->targets_text[r], txt);
            }
            if (pi->sel.after[0] && !found)
                return rg_error_set(RG_ERR_INVALID,
                                    "%s: after=%s matches no layer of --model %s",
                                    pi->plugin->desc.name, pi->sel.after, m->spec.text);
        } else if (pi->sel.after[0]) {
            return rg_error_set(RG_ERR_INVALID,
                                "%s: after= selects activation sites, but this plugin has no "
                                "activation hooks (use layers=)",
                                pi->plugin->desc.name);
        }
        if (on_params && pi->sel.layers[0] && !t->targets_text[r][0])
            return rg_error_set(RG_ERR_INVALID, "%s: layers=%s matches no parameter",
                                pi->plugin->desc.name, pi->sel.layers);
    }
    /* Group sites per layer, in --reg order, for the step loop. */
    rg_site sorted[RG_MAX_SITES];
    int n = 0;
    for (int i = 0; i < m->num_layers; i++) {
        t->site_first[i] = n;
        t->site_count[i] = 0;
        for (int k = 0; k < t->num_sites; k++)
            if (t->sites[k].layer == i) {
                sorted[n++] = t->sites[k];
                t->site_count[i]++;
            }
    }
    memcpy(t->sites, sorted, (size_t)n * sizeof sorted[0]);
    for (int i = 0; i < m->num_layers; i++) {
        t->fused[i] = i + 2 < m->num_layers && t->site_count[i] == 0 &&
                      t->site_count[i + 1] == 0 &&
                      rg_conv_block_fits(&m->layers[i], &m->layers[i + 1], &m->layers[i + 2]);
        if (t->fused[i])
            t->fused[i + 1] = t->fused[i + 2] = 0, i += 2;
    }
    /* A linear decay is folded into the optimizer only where it is the last penalty on
     * its tensor: the gradient then receives the same additions in the same order. */
    for (int k = 0; k < t->num_targets; k++) {
        rg_target *tg = &t->targets[k];
        if (t->cfg.no_fold || !tg->pi->plugin->reg.penalty ||
            !tg->pi->plugin->reg.linear_decay || tg->param_index >= m->num_params)
            continue;
        int last = 1;
        for (int q = k + 1; q < t->num_targets; q++)
            if (t->targets[q].param == tg->param && t->targets[q].pi->plugin->reg.penalty)
                last = 0;
        /* a gradient hook sees the whole gradient, decay included, before the optimizer */
        for (int q = 0; q < t->num_targets; q++)
            if (t->targets[q].param == tg->param && t->targets[q].pi->plugin->reg.gradient)
                last = 0;
        tg->foldable = last;
    }
    return RG_OK;
}

static rg_status alloc_buffers(rg_trainer *t)
{
    rg_model *m = t->model;
    int64_t b = t->cfg.batch;
    rg_status st = rg_model_set_batch(m, b);
    if (st != RG_OK)
        return st;
    t->in_features = rg_shape_size(m->input);
    for (int s = 0; s < 2; s++) {
        t->slot_x[s] = rg_alloc_floats((size_t)(b * t->in_features));
        t->slot_t[s] = rg_alloc_floats((size_t)(b * m->num_classes));
        t->slot_labels[s] = rg_alloc((size_t)b * sizeof(int32_t));
    }
    t->x = t->slot_x[0];
    t->t = t->slot_t[0];
    t->labels = t->slot_labels[0];
    t->row_loss = rg_alloc_floats((size_t)b);
    t->correct = rg_alloc((size_t)b);
    t->pipe = rg_pipeline_create();
    t->aug_x = rg_alloc_floats((size_t)(b * t->in_features));
    t->aug_t = rg_alloc_floats((size_t)(b * m->num_classes));
    t->aug_rows = rg_alloc((size_t)b * sizeof(int64_t));
    if (!t->aug_x || !t->aug_t || !t->aug_rows)
        return rg_error_set(RG_ERR_NOMEM, "cannot allocate augmentation buffers");
    if (!t->slot_x[0] || !t->slot_t[0] || !t->slot_x[1] || !t->slot_t[1] || !t->row_loss ||
        !t->correct || !t->slot_labels[0] || !t->slot_labels[1] || !t->pipe)
        return rg_error_set(RG_ERR_NOMEM, "cannot allocate batch buffers");
    for (int k = 0; k < t->num_sites; k++) {
        rg_site *s = &t->sites[k];
        rg_layer *l = &m->layers[s->layer];
        s->buf = rg_alloc_floats((size_t)(b * rg_shape_size(l->out)));
        if (!s->buf)
            return rg_error_set(RG_ERR_NOMEM, "cannot allocate activation hook buffers");
        const rg_regularizer_hooks *h = &s->pi->plugin->reg;
        if (h->activation_state_bytes) {
            rg_tensor_view v = {0};
            v.struct_size = sizeof v;
            v.kind = RG_TENSOR_ACTIVATION;
            v.name = l->name;
            v.shape[0] = b;
            v.shape[1] = l->out.c;
            v.ndim = l->out.flat ? 2 : 4;
            v.shape[2] = l->out.flat ? 0 : l->out.h;
            v.shape[3] = l->out.flat ? 0 : l->out.w;
            v.numel = b * rg_shape_size(l->out);
            s->state_bytes = h->activation_state_bytes(s->pi->inst, &v);
            if (s->state_bytes) {
                /* floats, for the guard words after them */
                s->state = rg_alloc_floats((s->state_bytes + 3) / 4);
                if (!s->state)
                    return rg_error_set(RG_ERR_NOMEM, "plugin %s: cannot allocate %zu bytes of "
                                        "activation state", s->pi->plugin->desc.name,
                                        s->state_bytes);
            }
        }
    }
    return RG_OK;
}

rg_status rg_trainer_create(rg_model *model, const rg_dataset *train, const rg_train_config *cfg,
                            rg_trainer **out)
{
    if (cfg->batch < 1 || cfg->epochs < 0)
        return rg_error_set(RG_ERR_INVALID, "batch must be >= 1 and epochs >= 0");
    if (rg_shape_size(model->input) != train->c * train->h * train->w)
        return rg_error_set(RG_ERR_INVALID, "model input has %lld features, data %lld",
                            (long long)rg_shape_size(model->input),
                            (long long)(train->c * train->h * train->w));
    rg_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return rg_error_set(RG_ERR_NOMEM, "cannot allocate the trainer");
    t->wrapper = -1;
    t->model = model;
    t->data = train;
    t->cfg = *cfg;
    rg_status st = split(t);
    t->steps_per_epoch = (t->n_train + cfg->batch - 1) / cfg->batch;
    t->total_steps = cfg->epochs * t->steps_per_epoch;
    rg_lr_state_init(&t->lr_state);
    t->es_best = INFINITY;
    if (st == RG_OK && cfg->early_metric != RG_EARLY_NONE) {
        if (t->n_val == 0)
            st = rg_error_set(RG_ERR_INVALID, "early_stop needs a validation split (val > 0)");
        t->best_count = rg_model_param_count(model);
        for (int i = 0; i < model->num_buffers; i++)
            t->best_count += model->buffers[i]->numel;
        if (st == RG_OK && !(t->best = rg_alloc_floats((size_t)t->best_count)))
            st = rg_error_set(RG_ERR_NOMEM, "cannot allocate the best-weights snapshot");
    }
    if (st == RG_OK)
        st = resolve_targets(t);
    if (st == RG_OK)
        st = alloc_buffers(t);
    if (st == RG_OK)
        st = rg_weights_alloc(t);
    if (st == RG_OK)
        st = rg_optim_init(&t->opt, &cfg->optim, model->params, model->num_params);
    if (st == RG_OK)
        st = rg_grad_sync_init(t);
    if (st != RG_OK) {
        rg_trainer_destroy(t);
        return st;
    }
    *out = t;
    return RG_OK;
}

void rg_trainer_destroy(rg_trainer *t)
{
    if (!t)
        return;
    rg_grad_sync_free(t);
    rg_weights_free(t);
    for (int k = 0; k < t->num_sites; k++) {
        rg_free(t->sites[k].buf);
        rg_free(t->sites[k].state);
    }
    for (int s = 0; s < 2; s++) {
        rg_free(t->slot_x[s]);
        rg_free(t->slot_t[s]);
        rg_free(t->slot_labels[s]);
    }
    rg_pipeline_destroy(t->pipe);
    rg_free(t->best);
    rg_free(t->aug_x);
    rg_free(t->aug_t);
    rg_free(t->aug_rows);
    rg_free(t->row_loss);
    rg_free(t->correct);
    free(t->train_idx);
    free(t->val_idx);
    free(t->order);
    free(t);
}

void rg_trainer_set_callbacks(rg_trainer *t, void (*on_batch)(void *, const rg_progress *),
                              void *user)
{
    t->cfg.on_batch = on_batch;
    t->cfg.on_epoch = NULL;
    t->cfg.user = user;
}

rg_status rg_trainer_run_epoch(rg_trainer *t, rg_epoch_stats *stats)
{
    double t0 = now_seconds();
    int64_t n = t->n_train, b = t->cfg.batch;
    int64_t batches = (n + b - 1) / b;
    memcpy(t->order, t->train_idx, (size_t)n * sizeof *t->order);
    rg_rng_stream s;
    rg_rng_stream_init(&s, t->cfg.seed, (uint64_t)t->epoch + 1, 0, RG_SITE_SHUFFLE);
    rg_rng_shuffle(&s, t->order, n);
    /* an epoch stopped between batches goes on where it stopped, with its sums */
    int64_t first = t->part.batch > 0 && t->part.batch < batches ? t->part.batch : 0;
    double loss_sum = first ? t->part.loss_sum : 0.0, pen_sum = first ? t->part.pen_sum : 0.0;
    int64_t hits = first ? t->part.hits : 0, seen = first ? t->part.seen : 0;
    t0 -= first && isfinite(t->part.seconds) ? t->part.seconds : 0.0;
    if (first)
        memcpy(t->penalty_epoch, t->part.penalty, sizeof t->penalty_epoch);
    else
        memset(t->penalty_epoch, 0, sizeof t->penalty_epoch);
    memset(&t->part, 0, sizeof t->part);
    rg_pipeline *pipe = NULL;
    rg_status st = rg_pipeline_start(t, first, batches, &pipe);
    if (st != RG_OK)
        return st;
    for (int64_t i = first; i < batches; i++) {
        /* data-parallel ranks stop at the batch they agreed on in the last step's sums */
        int parallel = t->cfg.dist && t->cfg.dist->size > 1;
        int stop = parallel ? t->stop_agreed : t->cfg.stop_flag && *t->cfg.stop_flag;
        if (stop && i > first) {
            t->stop_agreed = 0;
            /* a clean stop between batches: the epoch's progress is kept */
            rg_pipeline_stop(pipe);
            t->x = t->slot_x[0];
            t->t = t->slot_t[0];
            t->labels = t->slot_labels[0];
            t->part.batch = i;
            t->part.loss_sum = loss_sum;
            t->part.pen_sum = pen_sum;
            t->part.hits = hits;
            t->part.seen = seen;
            t->part.seconds = now_seconds() - t0;
            memcpy(t->part.penalty, t->penalty_epoch, sizeof t->part.penalty);
            memset(stats, 0, sizeof *stats);
            stats->epoch = t->epoch + 1;
            stats->interrupted = 1;
            return RG_OK;
        }
        int64_t cnt = 0;
        double loss = 0.0, pen = 0.0;
        int64_t correct = 0;
        st = rg_pipeline_take(pipe, i, &cnt);
        if (st == RG_OK)
            st = rg_step_train(t, cnt, &loss, &pen, &correct);
        rg_pipeline_release(pipe, i);
        if (st != RG_OK) {
            rg_pipeline_stop(pipe);
            return st;
        }
        t->step++;
        loss_sum += loss * (double)cnt;
        pen_sum += pen * (double)cnt;
        for (int r = 0; r < t->cfg.num_regs; r++)
            t->penalty_epoch[r] += t->penalty[r] * (double)cnt;
        hits += correct;
        seen += cnt;
        if (t->cfg.on_batch) {
            rg_progress p = {t->epoch + 1, t->cfg.epochs, i + 1, batches,
                             loss_sum / (double)seen, (double)hits / (double)seen,
                             now_seconds() - t0, t->step, loss, pen};
            t->cfg.on_batch(t->cfg.user, &p);
        }
    }
    rg_pipeline_stop(pipe);
    t->x = t->slot_x[0];
    t->t = t->slot_t[0];
    t->labels = t->slot_labels[0];
    /* the steps sample what constraint hooks write; the epoch's weights are checked whole
     * before they are evaluated or saved */
    if ((st = rg_step_check_constrained(t)) != RG_OK)
        return st;
    t->epoch++;
    for (int r = 0; r < t->cfg.num_regs; r++)
        t->penalty_epoch[r] = seen ? t->penalty_epoch[r] / (double)seen : 0.0;
    memset(stats, 0, sizeof *stats);
    stats->epoch = t->epoch;
    stats->seconds = now_seconds() - t0;
    stats->train_loss = seen ? loss_sum / (double)seen : NAN;
    stats->train_accuracy = seen ? (double)hits / (double)seen : NAN;
    stats->train_penalty = seen ? pen_sum / (double)seen : NAN;
    stats->val_loss = stats->val_accuracy = NAN;
    if (t->n_val > 0) {
        double e0 = now_seconds();
        rg_eval ev;
        st = rg_trainer_evaluate_val(t, &ev);
        if (st != RG_OK)
            return st;
        stats->val_loss = ev.loss;
        stats->val_accuracy = ev.accuracy;
        stats->eval_seconds = now_seconds() - e0;
    }
    if (t->cfg.on_epoch)
        t->cfg.on_epoch(t->cfg.user, stats);
    return RG_OK;
}

static rg_status evaluate(rg_trainer *t, const rg_dataset *ds, const int64_t *idx, int64_t n,
                          rg_eval *out)
{
    rg_model *m = t->model;
    int last = m->num_layers - 1;
    int64_t b = t->cfg.batch;
    double loss_sum = 0.0;
    int64_t hits = 0;
    int64_t *seq = NULL;
    if (!idx) {
        seq = malloc((size_t)(b) * sizeof *seq);
        if (!seq)
            return rg_error_set(RG_ERR_NOMEM, "cannot allocate evaluation index");
    }
    /* data-parallel: each rank evaluates its contiguous share of the samples, and the sums
     * (with who failed) are added over the ranks */
    int64_t lo = 0, hi = n;
    const rg_dist *d = t->cfg.dist;
    if (d && d->size > 1)
        rg_dist_rows(d, n, &lo, &hi);
    /* a weight transform's evaluation form (a reparameterization) once for the whole pass;
     * the weights are put back before anything else reads them */
    rg_status st = rg_weights_forward(t, RG_MODE_EVAL);
    for (int64_t start = lo; start < hi && st == RG_OK; start += b) {
        int64_t cnt = start + b <= hi ? b : hi - start;
        const int64_t *rows = idx ? idx + start : seq;
        if (!idx)
            for (int64_t r = 0; r < cnt; r++)
                seq[r] = start + r;
        st = rg_step_fill_batch(t, ds, rows, cnt);
        if (st == RG_OK)
            st = rg_step_forward_layers(t, cnt, RG_MODE_EVAL);
        if (st != RG_OK)
            break;
        rg_softmax_xent(cnt, m->num_classes, t->post[last], t->t, 0.0f, t->row_loss, NULL,
                        NULL);
        for (int64_t r = 0; r < cnt; r++)
            loss_sum += t->row_loss[r];
        hits += rg_count_correct(cnt, m->num_classes, t->post[last], t->labels);
    }
    rg_weights_restore(t);
    free(seq);
    if (d && d->size > 1) {
        char message[2048];
        snprintf(message, sizeof message, "%s", st != RG_OK ? rg_error_message() : "");
        double red[3] = {st != RG_OK, loss_sum, (double)hits};
        rg_status rs = rg_dist_sum_doubles(d, red, 3);
        if (st != RG_OK)
            return rg_error_set(st, "%s", message);
        if (rs != RG_OK)
            return rs;
        if (red[0] > 0)
            return rg_error_set(RG_ERR_IO, "rank %d of %d: another rank's evaluation failed "
                                "(its message names the cause)", d->rank, d->size);
        loss_sum = red[1];
        hits = (int64_t)red[2];
    } else if (st != RG_OK) {
        return st;
    }
    out->count = n;
    out->loss = n ? loss_sum / (double)n : NAN;
    out->accuracy = n ? (double)hits / (double)n : NAN;
    return RG_OK;
}

rg_status rg_trainer_evaluate(rg_trainer *t, const rg_dataset *ds, rg_eval *out)
{
    if (ds->c * ds->h * ds->w != t->in_features)
        return rg_error_set(RG_ERR_INVALID, "evaluation data has %lld features, model %lld",
                            (long long)(ds->c * ds->h * ds->w), (long long)t->in_features);
    if (ds->num_classes > t->model->num_classes)
        return rg_error_set(RG_ERR_INVALID, "evaluation data has %d classes, model %d",
                            ds->num_classes, t->model->num_classes);
    return evaluate(t, ds, NULL, ds->n, out);
}

rg_status rg_trainer_evaluate_train(rg_trainer *t, rg_eval *out)
{
    return evaluate(t, t->data, t->train_idx, t->n_train, out);
}

rg_status rg_trainer_evaluate_val(rg_trainer *t, rg_eval *out)
{
    return evaluate(t, t->data, t->val_idx, t->n_val, out);
}

int64_t rg_trainer_train_count(const rg_trainer *t) { return t->n_train; }
int64_t rg_trainer_val_count(const rg_trainer *t) { return t->n_val; }
double rg_trainer_penalty(const rg_trainer *t, int k) { return t->penalty_epoch[k]; }

double rg_trainer_sparsity(const rg_trainer *t, int k)
{
    int64_t zeros = 0, total = 0;
    for (int i = 0; i < t->num_targets; i++) {
        const rg_target *tg = &t->targets[i];
        if (tg->reg_index != k)
            continue;
        for (int64_t j = 0; j < tg->param->numel; j++)
            zeros += tg->param->value[j] == 0.0f;
        total += tg->param->numel;
    }
    return total ? (double)zeros / (double)total : NAN;
}
const char *rg_trainer_targets(const rg_trainer *t, int k) { return t->targets_text[k]; }

void rg_trainer_layer_hooks(const rg_trainer *t, int layer, char *buf, size_t cap)
{
    const rg_layer *l = &t->model->layers[layer];
    size_t len = 0;
    buf[0] = '\0';
    for (int r = 0; r < t->cfg.num_regs; r++) {
        int touches = 0;
        for (int k = 0; k < t->num_targets && !touches; k++)
            for (int p = 0; p < l->num_params; p++)
                touches |= t->targets[k].reg_index == r && t->targets[k].param == &l->params[p];
        for (int k = 0; k < t->num_sites && !touches; k++)
            touches = t->sites[k].reg_index == r && t->sites[k].layer == layer;
        if (!touches)
            continue;
        int w = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "",
                         t->cfg.regs[r]->plugin->desc.name);
        if (w < 0 || (size_t)w >= cap - len)
            return;
        len += (size_t)w;
    }
}

static void copy_weights(rg_trainer *t, int to_snapshot)
{
    rg_model *m = t->model;
    int64_t off = 0;
    for (int i = 0; i < m->num_params + m->num_buffers; i++) {
        rg_param *p = i < m->num_params ? m->params[i] : m->buffers[i - m->num_params];
        size_t bytes = (size_t)p->numel * sizeof(float);
        if (to_snapshot)
            memcpy(t->best + off, p->value, bytes);
        else
            memcpy(p->value, t->best + off, bytes);
        off += p->numel;
    }
}

rg_status rg_trainer_end_epoch(rg_trainer *t, const rg_epoch_stats *s, int *stop)
{
    *stop = 0;
    rg_lr_epoch_end(&t->cfg.lr, &t->lr_state, t->cfg.optim.lr, s->val_loss);
    if (t->cfg.early_metric == RG_EARLY_NONE)
        return RG_OK;
    /* lower is better: accuracy enters negated */
    double v = t->cfg.early_metric == RG_EARLY_VAL_LOSS ? s->val_loss : -s->val_accuracy;
    if (isnan(v))
        return rg_error_set(RG_ERR_NUMERIC, "early stopping: validation metric is NaN at epoch "
                            "%lld", (long long)s->epoch);
    if (v < t->es_best - t->cfg.min_delta) {
        t->es_best = v;
        t->es_best_epoch = s->epoch;
        t->es_wait = 0;
        copy_weights(t, 1);
    } else if (++t->es_wait >= t->cfg.patience) {
        *stop = 1;
    }
    return RG_OK;
}

int64_t rg_trainer_restore_best(rg_trainer *t)
{
    if (!t->best || t->es_best_epoch == 0)
        return 0;
    copy_weights(t, 0);
    return t->es_best_epoch;
}

void rg_trainer_get_state(const rg_trainer *t, rg_trainer_state *s)
{
    s->epoch = t->epoch;
    s->step = t->step;
    s->opt_steps = t->opt.steps;
    s->lr = t->lr_state;
    s->es_best = t->es_best;
    s->es_best_epoch = t->es_best_epoch;
    s->es_wait = t->es_wait;
    s->part = t->part;
}

void rg_trainer_set_state(rg_trainer *t, const rg_trainer_state *s)
{
    t->epoch = s->epoch;
    t->step = s->step;
    t->opt.steps = s->opt_steps;
    t->lr_state = s->lr;
    t->es_best = s->es_best;
    t->es_best_epoch = s->es_best_epoch;
    t->es_wait = s->es_wait;
    t->part = s->part;
}

float *rg_trainer_best_weights(rg_trainer *t, int64_t *count)
{
    *count = t->best_count;
    return t->best;
}
