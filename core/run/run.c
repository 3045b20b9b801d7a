/* Building a run from a recipe, and the run's read-only accessors. */
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../error.h"
#include "../threads.h"
#include "../train/trainer.h"
#include "source.h"

static rg_status make_plugins(rg_run *run)
{
    rg_train_config *c = &run->cfg;
    char **items;
    int n = rg_recipe_list(run->recipe, "reg", &items);
    for (int i = 0; i < n; i++) {
        rg_status st = rg_plugin_instance_create(items[i], RG_PLUGIN_REGULARIZER, NULL,
                                                 &c->regs[c->num_regs]);
        if (st != RG_OK)
            return rg_error_wrap(st, "reg %s", items[i]);
        c->num_regs++;
    }
    n = rg_recipe_list(run->recipe, "aug", &items);
    int group = 0;
    for (int i = 0; i < n; i++) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", items[i]);
        int oneof = strchr(buf, ';') != NULL;
        group += oneof;
        char *save = NULL;
        for (char *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
            if (c->num_augs >= RG_TRAIN_MAX_PLUGINS)
                return rg_error_set(RG_ERR_INVALID, "aug: at most %d augmenters",
                                    RG_TRAIN_MAX_PLUGINS);
            rg_status st = rg_plugin_instance_create(tok, RG_PLUGIN_AUGMENTER, NULL,
                                                     &c->augs[c->num_augs]);
            if (st != RG_OK)
                return rg_error_wrap(st, "aug %s", tok);
            c->aug_group[c->num_augs++] = oneof ? group : 0;
        }
    }
    return RG_OK;
}

static rg_status check_data(const rg_dataset *train, const rg_dataset *test)
{
    if (!train)
        return rg_error_set(RG_ERR_INVALID, "the training dataset is NULL");
    if (train->n < 1)
        return rg_error_set(RG_ERR_INVALID, "the training dataset is empty");
    if (test && (test->c != train->c || test->h != train->h || test->w != train->w))
        return rg_error_set(RG_ERR_INVALID, "test images are %lldx%lldx%lld, training images "
                            "%lldx%lldx%lld: they must match", (long long)test->c,
                            (long long)test->h, (long long)test->w, (long long)train->c,
                            (long long)train->h, (long long)train->w);
    return RG_OK;
}

/* Takes ownership of recipe. */
rg_status rg_run_build(rg_context *ctx, rg_recipe *recipe, const rg_dataset *train,
                       const rg_dataset *test, rg_run **out)
{
    *out = NULL;
    rg_run *run = calloc(1, sizeof *run);
    if (run)
        run->best_saved = NAN;
    if (!run) {
        rg_recipe_destroy(recipe);
        return rg_error_set(RG_ERR_NOMEM, "out of memory");
    }
    run->ctx = ctx;
    run->recipe = recipe;
    run->train_m.loss = run->train_m.accuracy = NAN;
    run->val_m = run->test_m = run->train_m;
    rg_status st = RG_OK;
    int64_t t = rg_recipe_int(recipe, "threads");
    run->threads = t > 0 ? (int)t : ctx->threads;
    rg_threads_set_local(run->threads);
    rg_recipe_apply(recipe, &run->cfg);
    rg_model_spec spec;
    st = rg_model_spec_parse(rg_recipe_string(recipe, "model"), &spec);
    /* plugins before data: a typo in a plugin spec fails in milliseconds */
    if (st == RG_OK)
        st = make_plugins(run);
    if (st == RG_OK && !train) {
        rg_data_options opt = {rg_recipe_bool(recipe, "center_crop"), 0};
        st = rg_source_open(rg_recipe_string(recipe, "data"), &opt, &run->own_train,
                            &run->own_test, run->where, sizeof run->where);
        train = run->own_train;
        test = run->own_test;
    } else if (st == RG_OK) {
        snprintf(run->where, sizeof run->where, "memory (%s)",
                 rg_recipe_string(recipe, "data"));
    }
    if (st == RG_OK)
        st = check_data(train, test);
    run->train = train;
    run->test = test;
    if (st == RG_OK) {
        int classes = train->num_classes;
        if (test && test->num_classes > classes)
            classes = test->num_classes;
        st = rg_model_build(&spec, (rg_shape){train->c, train->h, train->w, 0}, classes,
                            &run->model);
    }
    if (st == RG_OK) {
        run->model->ctx = ctx;
        run->model->owner = run;
        rg_model_init_params(run->model, run->cfg.seed);
        run->cfg.stop_flag = &run->stop;
        run->cfg.dist = &ctx->dist;
        st = rg_trainer_create(run->model, train, &run->cfg, &run->trainer);
    }
    if (st == RG_OK) {
        run->history = calloc((size_t)run->cfg.epochs + 1, sizeof *run->history);
        if (!run->history)
            st = rg_error_set(RG_ERR_NOMEM, "out of memory");
    }
    st = rg_run_ranks_agree(run, st);
    if (st != RG_OK) {
        rg_run_destroy(run);
        return st;
    }
    *out = run;
    return RG_OK;
}

rg_status rg_run_create(rg_context *ctx, const rg_recipe *recipe, rg_run **out)
{
    return rg_run_create_with_data(ctx, recipe, NULL, NULL, out);
}

rg_status rg_run_create_with_data(rg_context *ctx, const rg_recipe *recipe,
                                  const rg_dataset *train, const rg_dataset *test, rg_run **out)
{
    if (!ctx)
        return rg_api_null("rg_run_create", "ctx");
    rg_api_enter(ctx);
    if (!out)
        return rg_api_fail(ctx, rg_api_null("rg_run_create", "out"));
    *out = NULL;
    if (!recipe)
        return rg_api_fail(ctx, rg_api_null("rg_run_create", "recipe"));
    if (test && !train)
        return rg_api_fail(ctx, rg_error_set(RG_ERR_INVALID, "rg_run_create_with_data: a test "
                                             "set without a training set"));
    rg_recipe *copy = NULL;
    rg_status st = rg_recipe_copy(recipe, &copy);
    if (st == RG_OK) {
        copy->ctx = ctx;
        rg_api_enter(ctx);
        st = rg_run_build(ctx, copy, train, test, out);
    }
    return rg_api_fail(ctx, st);
}

void rg_run_destroy(rg_run *run)
{
    if (!run)
        return;
    rg_trainer_destroy(run->trainer);
    if (run->model)
        run->model->owner = NULL;
    rg_model_destroy(run->model);
    for (int i = 0; i < run->cfg.num_regs; i++)
        rg_plugin_instance_destroy(run->cfg.regs[i]);
    for (int i = 0; i < run->cfg.num_augs; i++)
        rg_plugin_instance_destroy(run->cfg.augs[i]);
    rg_dataset_destroy(run->own_train);
    rg_dataset_destroy(run->own_test);
    rg_recipe_destroy(run->recipe);
    free(run->history);
    free(run->plugins_text);
    free(run);
}

void rg_run_request_stop(rg_run *run)
{
    if (run)
        run->stop = 1;
}

rg_status rg_run_get_result(const rg_run *run, rg_run_result *out)
{
    if (!run)
        return rg_api_null("rg_run_get_result", "run");
    rg_api_enter(run->ctx);
    if (!out || out->struct_size < RG_SIZE_THROUGH(rg_run_result, seconds_per_epoch))
        return rg_api_fail(run->ctx, rg_error_set(RG_ERR_INVALID, "rg_run_get_result: out is "
                                                  "NULL or its struct_size is too small"));
    rg_run_result r;
    memset(&r, 0, sizeof r);
    r.struct_size = out->struct_size;
    r.state = run->state;
    r.epochs_done = run->epochs_done;
    r.early_stopped = run->early_stopped;
    r.best_epoch = run->best_epoch;
    r.train_examples = rg_trainer_train_count(run->trainer);
    r.val_examples = rg_trainer_val_count(run->trainer);
    r.test_examples = run->test ? run->test->n : 0;
    const rg_eval *ev[3] = {&run->train_m, &run->val_m, &run->test_m};
    rg_metrics *m[3] = {&r.train, &r.val, &r.test};
    for (int k = 0; k < 3; k++)
        *m[k] = (rg_metrics){sizeof(rg_metrics), ev[k]->loss, ev[k]->accuracy, ev[k]->count};
    r.seconds_per_epoch = run->timed_epochs ? run->seconds_sum / (double)run->timed_epochs : NAN;
    memcpy(out, &r, sizeof r);
    return RG_OK;
}

void rg_run_epoch_info(const rg_run *run, const rg_epoch_stats *s, rg_epoch_info *out);
void rg_run_epoch_info(const rg_run *run, const rg_epoch_stats *s, rg_epoch_info *out)
{
    *out = (rg_epoch_info){sizeof *out, s->epoch, s->train_loss, s->train_accuracy,
                           s->train_penalty, s->val_loss, s->val_accuracy,
                           rg_trainer_lr(run->trainer), s->seconds, s->eval_seconds};
}

rg_status rg_run_get_epoch(const rg_run *run, int64_t epoch, rg_epoch_info *out)
{
    if (!run)
        return rg_api_null("rg_run_get_epoch", "run");
    rg_api_enter(run->ctx);
    if (!out || out->struct_size < RG_SIZE_THROUGH(rg_epoch_info, eval_seconds))
        return rg_api_fail(run->ctx, rg_error_set(RG_ERR_INVALID, "rg_run_get_epoch: out is "
                                                  "NULL or its struct_size is too small"));
    if (epoch < 1 || epoch > run->epochs_done)
        return rg_api_fail(run->ctx, rg_error_set(RG_ERR_INVALID, "rg_run_get_epoch: epoch "
                                                  "%lld outside 1..%lld", (long long)epoch,
                                                  (long long)run->epochs_done));
    rg_epoch_info e;
    rg_run_epoch_info(run, &run->history[epoch - 1], &e);
    e.lr = NAN; /* the schedule's rate is only known for the current step */
    memcpy(out, &e, out->struct_size < sizeof e ? out->struct_size : sizeof e);
    out->struct_size = out->struct_size < sizeof e ? out->struct_size : (uint32_t)sizeof e;
    return RG_OK;
}

const rg_recipe *rg_run_recipe(const rg_run *run)
{
    return run ? run->recipe : NULL;
}

rg_model *rg_run_model(rg_run *run)
{
    return run ? run->model : NULL;
}

const char *rg_run_describe_plugins(rg_run *run)
{
    if (!run)
        return NULL;
    free(run->plugins_text);
    run->plugins_text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&run->plugins_text, &len);
    if (!f)
        return NULL;
    const rg_train_config *c = &run->cfg;
    for (int i = 0; i < c->num_regs; i++) {
        const char *on = rg_trainer_targets(run->trainer, i);
        fprintf(f, "reg %s %s (%s) on %s\n", c->regs[i]->plugin->desc.name,
                c->regs[i]->plugin->desc.version, c->regs[i]->spec,
                on[0] ? on : c->regs[i]->plugin->reg.targets ? "the training targets" : "nothing");
    }
    for (int i = 0; i < c->num_augs; i++)
        fprintf(f, "aug %s %s (%s)%s\n", c->augs[i]->plugin->desc.name,
                c->augs[i]->plugin->desc.version, c->augs[i]->spec,
                c->aug_group[i] ? " [one of group]" : "");
    fclose(f);
    return run->plugins_text;
}

rg_status rg_run_layer_hooks(rg_run *run, int index, char *buf, size_t cap)
{
    if (!run)
        return rg_api_null("rg_run_layer_hooks", "run");
    rg_api_enter(run->ctx);
    if (!buf || cap == 0)
        return rg_api_fail(run->ctx, rg_api_null("rg_run_layer_hooks", "buf"));
    if (index < 0 || index >= run->model->num_layers)
        return rg_api_fail(run->ctx, rg_error_set(RG_ERR_INVALID, "rg_run_layer_hooks: layer "
                                                  "%d outside [0, %d)", index,
                                                  run->model->num_layers));
    rg_trainer_layer_hooks(run->trainer, index, buf, cap);
    return RG_OK;
}

rg_status rg_run_augment(rg_run *run, float *images, float *targets, int64_t n, int64_t step)
{
    if (!run)
        return rg_api_null("rg_run_augment", "run");
    rg_api_enter(run->ctx);
    rg_threads_set_local(run->threads);
    if (!images || !targets)
        return rg_api_fail(run->ctx, rg_api_null("rg_run_augment", !images ? "images"
                                                                           : "targets"));
    if (n < 1 || n > run->cfg.batch)
        return rg_api_fail(run->ctx, rg_error_set(RG_ERR_INVALID, "rg_run_augment: n=%lld "
                                                  "outside [1, batch %lld]", (long long)n,
                                                  (long long)run->cfg.batch));
    if (step < 0)
        return rg_api_fail(run->ctx, rg_error_set(RG_ERR_INVALID, "rg_run_augment: step %lld",
                                                  (long long)step));
    return rg_api_fail(run->ctx, rg_step_augment(run->trainer, n, step, images, targets, 0));
}
