/* The run's JSON records, written with jansson: the identity (checkpoint metadata and
 * summary head), one metrics line per epoch, the summary. Non-finite numbers become null
 * (JSON has no spelling for them). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../api/api.h"
#include "../error.h"
#include "run.h"

/* As the hand-written writer did: 9 significant digits, enough for a float. */
#define RG_JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *plugin_json(const rg_plugin_instance *pi, const char *role, const char *on)
{
    const rg_plugin *p = pi->plugin;
    char abi[32];
    snprintf(abi, sizeof abi, "%u.%u", p->abi_major, p->abi_minor);
    json_t *params = json_object();
    for (uint32_t k = 0; k < p->num_params; k++) {
        const rg_param_desc *d = &p->params[k];
        char buf[128];
        rg_param_format(d, &pi->values[k], buf, sizeof buf);
        json_object_set_new(params, d->name,
                            d->type == RG_PARAM_FLOAT || d->type == RG_PARAM_INT
                                ? num(pi->values[k].number)
                            : d->type == RG_PARAM_BOOL ? json_boolean(pi->values[k].number != 0)
                                                       : json_string(buf));
    }
    /* what it touches: "dense1.weight", "after:relu1" (space-separated in the trainer) */
    json_t *targets = json_array();
    for (const char *t = on ? on : ""; *t;) {
        size_t len = strcspn(t, " ");
        if (len)
            json_array_append_new(targets, json_stringn(t, len));
        t += len + (t[len] == ' ');
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "name", p->desc.name,
                     "role", role, "kind", rg_plugin_kind_name(p->desc.kind), "version",
                     p->desc.version, "abi", abi, "path", p->path, "spec", pi->spec, "params",
                     params, "targets", targets);
}

void *rg_run_identity_json(const rg_run *run)
{
    json_t *plugins = json_array();
    for (int i = 0; i < run->cfg.num_regs; i++)
        json_array_append_new(plugins, plugin_json(run->cfg.regs[i], "reg",
                                                   rg_trainer_targets(run->trainer, i)));
    for (int i = 0; i < run->cfg.num_augs; i++)
        json_array_append_new(plugins, plugin_json(run->cfg.augs[i], "aug", NULL));
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:o}", "regula_version", rg_version(),
                     "data", rg_recipe_string(run->recipe, "data"), "model",
                     run->model->spec.text, "parameters",
                     (json_int_t)rg_model_param_count(run->model), "seed",
                     (json_int_t)run->cfg.seed, "threads", run->threads, "plugins", plugins);
}

/* now as ISO 8601 UTC with milliseconds, "2026-12-02T18:55:01.123Z" */
static json_t *timestamp(void)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char buf[40];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000);
    return json_string(buf);
}

/* one line, ", " and ": " separators as before (JSON_COMPACT would drop the spaces) */
static rg_status write_line(rg_run *run, FILE *f, json_t *o)
{
    int bad = !o || json_dumpf(o, f, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) != 0;
    json_decref(o);
    bad |= fputc('\n', f) == EOF;
    if (bad || fflush(f) != 0 || ferror(f))
        return rg_error_set(RG_ERR_IO, "metrics %s: write error",
                            rg_recipe_string(run->recipe, "metrics"));
    return RG_OK;
}

/* specs joined by spaces (a spec holds none): "l2:lambda=5e-4 dropout:rate=0.3" */
static json_t *specs(rg_plugin_instance *const *pis, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += strlen(pis[i]->spec) + 1;
    char *text = calloc(len + 1, 1);
    if (!text)
        return NULL;
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(text, " ");
        strcat(text, pis[i]->spec);
    }
    json_t *o = json_string(text);
    free(text);
    return o;
}

rg_status rg_run_write_run_record(rg_run *run, FILE *f)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o}", "record", "run", "model",
                          run->model->spec.text, "data", rg_recipe_string(run->recipe, "data"),
                          "seed", (json_int_t)run->cfg.seed, "batch", (json_int_t)run->cfg.batch,
                          "regularizers", specs(run->cfg.regs, run->cfg.num_regs), "augmenters",
                          specs(run->cfg.augs, run->cfg.num_augs), "time", timestamp());
    return write_line(run, f, o);
}

rg_status rg_run_write_step(rg_run *run, FILE *f, const rg_progress *p)
{
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "record", "step", "step",
                          (json_int_t)p->step, "epoch", (json_int_t)p->epoch, "batch",
                          (json_int_t)p->batch, "loss", num(p->step_loss), "lr",
                          num(rg_trainer_lr(run->trainer)), "penalty", num(p->step_penalty),
                          "time", timestamp());
    return write_line(run, f, o);
}

rg_status rg_run_write_metrics(rg_run *run, FILE *f, const rg_epoch_stats *s)
{
    json_t *pen = json_object();
    for (int k = 0; k < run->cfg.num_regs; k++)
        json_object_set_new(pen, run->cfg.regs[k]->plugin->desc.name,
                            num(rg_trainer_penalty(run->trainer, k)));
    json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "epoch",
                          (json_int_t)s->epoch, "train_loss", num(s->train_loss),
                          "train_accuracy", num(s->train_accuracy), "penalty",
                          num(s->train_penalty), "val_loss", num(s->val_loss), "val_accuracy",
                          num(s->val_accuracy), "lr", num(rg_trainer_lr(run->trainer)),
                          "seconds", num(s->seconds), "penalties", pen);
    if (o) {
        rg_trainer_state ts;
        rg_trainer_get_state(run->trainer, &ts);
        json_object_set_new(o, "step", json_integer(ts.step));
        json_object_set_new(o, "time", timestamp());
    }
    return write_line(run, f, o);
}

static const char summary_notes[] =
    "train_*/val_*/test_* are eval-mode data loss and accuracy after the last epoch; history "
    "holds per-epoch running means in train mode (data loss; train_penalty is what "
    "regularizers added); regularizers[].penalty is each one's mean loss term over the last "
    "epoch, sparsity the fraction of exact zeros in the tensors it touches; seconds exclude "
    "evaluation";

rg_status rg_run_write_summary(rg_run *run, const char *path)
{
    if (run->ctx && run->ctx->dist.rank != 0) /* rank 0 reports for the group */
        return RG_OK;
    const rg_train_config *c = &run->cfg;
    json_t *o = rg_run_identity_json(run);
    json_t *regs = json_array(), *hist = json_array();
    for (int k = 0; k < c->num_regs; k++)
        json_array_append_new(regs, json_pack("{s:s, s:s, s:o, s:o}", "name",
                                              c->regs[k]->plugin->desc.name, "targets",
                                              rg_trainer_targets(run->trainer, k), "penalty",
                                              num(rg_trainer_penalty(run->trainer, k)),
                                              "sparsity",
                                              num(rg_trainer_sparsity(run->trainer, k))));
    for (int64_t e = 0; e < run->epochs_done; e++) {
        const rg_epoch_stats *s = &run->history[e];
        json_array_append_new(hist, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "epoch",
                                              (json_int_t)s->epoch, "train_loss",
                                              num(s->train_loss), "train_accuracy",
                                              num(s->train_accuracy), "train_penalty",
                                              num(s->train_penalty), "val_loss",
                                              num(s->val_loss), "val_accuracy",
                                              num(s->val_accuracy), "seconds",
                                              num(s->seconds)));
    }
    json_t *rest = json_pack(
        "{s:I, s:I, s:s, s:o, s:o, s:b, s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
        "s:s, s:o, s:o, s:o}",
        "epochs", (json_int_t)run->epochs_done, "batch", (json_int_t)c->batch, "optimizer",
        c->optim.kind == RG_OPTIM_ADAM ? "adam" : "sgd", "lr", num(c->optim.lr), "momentum",
        num(c->optim.momentum), "nesterov", c->optim.nesterov, "lr_schedule",
        rg_lr_schedule_name(c->lr.kind), "train_examples",
        (json_int_t)rg_trainer_train_count(run->trainer), "val_examples",
        (json_int_t)rg_trainer_val_count(run->trainer), "test_examples",
        (json_int_t)run->test_m.count, "train_loss", num(run->train_m.loss), "train_accuracy",
        num(run->train_m.accuracy), "val_loss", num(run->val_m.loss), "val_accuracy",
        num(run->val_m.accuracy), "test_loss", num(run->test_m.loss), "test_accuracy",
        num(run->test_m.accuracy), "seconds_per_epoch",
        num(run->timed_epochs ? run->seconds_sum / (double)run->timed_epochs : NAN), "notes",
        summary_notes, "regularizers", regs, "history", hist, "recipe",
        rg_recipe_json(run->recipe));
    if (!o || !rest || json_object_update(o, rest) != 0) {
        json_decref(o);
        json_decref(rest);
        return rg_error_set(RG_ERR_NOMEM, "summary %s: out of memory", path);
    }
    json_decref(rest);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int bad = json_dump_file(o, tmp, RG_JSON_FLAGS) != 0;
    json_decref(o);
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return rg_error_set(RG_ERR_IO, "summary %s: cannot write", path);
    }
    return RG_OK;
}
