/* Saving a run so that a resume continues it bit-identically, and resuming it: weights,
 * optimizer state, early-stopping snapshot, trainer counters (all randomness is keyed on
 * them), schedule state, per-epoch history, the recipe (field by field, exact text) and
 * the identity of every plugin.
 *
 * Config record (format=3): model.input, model.classes, recipe.FIELD=VALUE and
 * recipe.FIELD.K=ITEM lines, plugin.I identities, state.*, history.E lines. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../error.h"
#include "../plugin/compose.h"
#include "../train/trainer.h"
#include "run.h"

static void plugin_identity(const rg_plugin_instance *pi, char *buf, size_t cap)
{
    const rg_plugin *p = pi->plugin;
    int n = snprintf(buf, cap, "%s|%s|%u.%u", p->desc.name, p->desc.version, p->abi_major,
                     p->abi_minor);
    for (uint32_t k = 0; k < p->num_params && n > 0 && (size_t)n < cap; k++) {
        char v[128];
        rg_param_format(&p->params[k], &pi->values[k], v, sizeof v);
        n += snprintf(buf + n, cap - (size_t)n, "|%s=%s", p->params[k].name, v);
    }
    /* an augmenter composing others (ABI 1.6): their versions are part of what it does */
    char composed[512];
    rg_compose_versions(pi->inst, composed, sizeof composed);
    if (composed[0] && n > 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "|composes=%s", composed);
}

static int all_plugins(const rg_run *run, rg_plugin_instance **out)
{
    int n = 0;
    for (int i = 0; i < run->cfg.num_regs; i++)
        out[n++] = run->cfg.regs[i];
    for (int i = 0; i < run->cfg.num_augs; i++)
        out[n++] = run->cfg.augs[i];
    return n;
}

static int has_newline(const char *s)
{
    return strchr(s, '\n') != NULL;
}

rg_status rg_run_write(rg_run *run, const char *path)
{
    /* data-parallel ranks hold the same state: rank 0 writes it */
    if (run->ctx && run->ctx->dist.rank != 0)
        return RG_OK;
    rg_model *m = run->model;
    int cap = 3 * (m->num_params + m->num_buffers) + 2 + 2 * RG_TRAIN_MAX_PLUGINS;
    rg_ckpt_tensor *ts = calloc((size_t)cap, sizeof *ts);
    if (!ts)
        return rg_error_set(RG_ERR_NOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < m->num_params + m->num_buffers; i++) {
        rg_param *p = i < m->num_params ? m->params[i] : m->buffers[i - m->num_params];
        ts[n] = (rg_ckpt_tensor){{0}, p->ndim, {0}, p->numel, p->value};
        snprintf(ts[n].name, sizeof ts[n].name, "%s", p->name);
        memcpy(ts[n].shape, p->shape, sizeof ts[n].shape);
        n++;
        /* optimizer state: momentum buffer, Adam's moments */
        for (int s = 0; s < 2 && i < m->num_params; s++)
            if (p->slot[s]) {
                ts[n] = (rg_ckpt_tensor){{0}, p->ndim, {0}, p->numel, p->slot[s]};
                snprintf(ts[n].name, sizeof ts[n].name, "%s#slot%d", p->name, s);
                memcpy(ts[n].shape, p->shape, sizeof ts[n].shape);
                n++;
            }
    }
    /* What a weight transform with an evaluation form (spectral_norm's W/sigma) makes of a
     * weight: the model computes with it, so a model loaded for evaluation, prediction or
     * export reads it (NAME#eval) while a resume reads NAME itself. */
    const rg_param *evp[RG_CKPT_MAX_TENSORS / 4];
    int nev = 0;
    rg_status est = rg_weights_eval_forms(run->trainer, evp, (int)(sizeof evp / sizeof evp[0]),
                                          &nev);
    if (est != RG_OK) {
        free(ts);
        return rg_error_wrap(est, "%s: the evaluation form of the transformed weights", path);
    }
    if (n + nev + 1 + 2 * RG_TRAIN_MAX_PLUGINS > cap) {
        rg_weights_restore(run->trainer);
        free(ts);
        return rg_error_set(RG_ERR_UNSUPPORTED, "%s: too many tensors to save", path);
    }
    for (int i = 0; i < nev; i++) {
        const rg_param *p = evp[i];
        ts[n] = (rg_ckpt_tensor){{0}, p->ndim, {0}, p->numel, p->value};
        snprintf(ts[n].name, sizeof ts[n].name, "%s#eval", p->name);
        memcpy(ts[n].shape, p->shape, sizeof ts[n].shape);
        n++;
    }
    int64_t best_count = 0;
    float *best = rg_trainer_best_weights(run->trainer, &best_count);
    if (best)
        ts[n++] = (rg_ckpt_tensor){"trainer#best", 1, {best_count}, best_count, best};
    if (n > RG_CKPT_MAX_TENSORS) {
        rg_weights_restore(run->trainer);
        free(ts);
        return rg_error_set(RG_ERR_UNSUPPORTED, "%s: more than %d tensors to save", path,
                            RG_CKPT_MAX_TENSORS);
    }
    char *cfg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&cfg, &len);
    if (!f) {
        rg_weights_restore(run->trainer);
        free(ts);
        return rg_error_set(RG_ERR_NOMEM, "out of memory");
    }
    rg_status st = RG_OK;
    fprintf(f, "format=3\nmodel.input=%lld,%lld,%lld\nmodel.classes=%d\n",
            (long long)m->input.c, (long long)m->input.h, (long long)m->input.w, m->num_classes);
    const rg_recipe *r = run->recipe;
    for (int i = 0; i < rg_num_fields; i++) {
        if (rg_fields[i].flags & RG_FIELD_F_ALIAS)
            continue;
        if (rg_fields[i].type != RG_FIELD_LIST) {
            if (has_newline(r->value[i]))
                st = rg_error_set(RG_ERR_INVALID, "%s: a value with a newline cannot be saved",
                                  rg_fields[i].name);
            fprintf(f, "recipe.%s=%s\n", rg_fields[i].name, r->value[i]);
            continue;
        }
        for (int k = 0; k < r->count[i]; k++) {
            if (has_newline(r->items[i][k]))
                st = rg_error_set(RG_ERR_INVALID, "%s: a value with a newline cannot be saved",
                                  rg_fields[i].name);
            fprintf(f, "recipe.%s.%d=%s\n", rg_fields[i].name, k, r->items[i][k]);
        }
    }
    rg_plugin_instance *pl[2 * RG_TRAIN_MAX_PLUGINS];
    int np = all_plugins(run, pl);
    for (int i = 0; i < np; i++) {
        char id[1024];
        plugin_identity(pl[i], id, sizeof id);
        fprintf(f, "plugin.%d=%s\n", i, id);
    }
    rg_trainer_state s;
    rg_trainer_get_state(run->trainer, &s);
    void *owned[2 * RG_TRAIN_MAX_PLUGINS] = {0};
    if (st == RG_OK)
        st = rg_plugin_state_save(pl, np, s.epoch, s.step, ts, &n, cap, f, owned);
    fprintf(f,
            "state.epoch=%lld\nstate.step=%lld\nstate.opt_steps=%lld\nstate.lr_scale=%.17g\n"
            "state.lr_best=%.17g\nstate.lr_wait=%lld\nstate.es_best=%.17g\n"
            "state.es_best_epoch=%lld\nstate.es_wait=%lld\n",
            (long long)s.epoch, (long long)s.step, (long long)s.opt_steps, s.lr.plateau_scale,
            s.lr.plateau_best, (long long)s.lr.plateau_wait, s.es_best,
            (long long)s.es_best_epoch, (long long)s.es_wait);
    if (!isnan(run->best_saved))
        fprintf(f, "state.save_best=%.17g\n", run->best_saved);
    /* an epoch stopped between batches (SIGINT, rg_run_request_stop): where it goes on */
    if (s.part.batch > 0) {
        fprintf(f, "state.batch=%lld\nstate.partial=%.17g,%.17g,%.17g,%lld,%lld\n",
                (long long)s.part.batch, s.part.loss_sum, s.part.pen_sum, (double)NAN,
                (long long)s.part.hits, (long long)s.part.seen);
        for (int k = 0; k < run->cfg.num_regs; k++)
            fprintf(f, "state.partial_penalty.%d=%.17g\n", k, s.part.penalty[k]);
    }
    /* No wall-clock time in the file (nan in the timing fields the format has): the same
     * seed and threads then write the same bytes, which users compare with cmp or a hash;
     * the metrics file keeps the timings. */
    for (int64_t e = 0; e < run->epochs_done; e++) {
        const rg_epoch_stats *h = &run->history[e];
        fprintf(f, "history.%lld=%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", (long long)e,
                h->train_loss, h->train_accuracy, h->train_penalty, h->val_loss,
                h->val_accuracy, (double)NAN);
    }
    int bad = fclose(f) != 0;
    json_t *meta = rg_run_identity_json(run);
    if (meta) {
        json_object_set_new(meta, "epochs_done", json_integer(run->epochs_done));
        json_object_set_new(meta, "recipe", rg_recipe_json(r));
    }
    char *meta_text = meta ? json_dumps(meta, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                                  JSON_REAL_PRECISION(9))
                           : NULL;
    json_decref(meta);
    if (st == RG_OK && (bad || !cfg || !meta_text))
        st = rg_error_set(RG_ERR_NOMEM, "out of memory");
    if (st == RG_OK)
        st = rg_checkpoint_write(path, meta_text, cfg, ts, n);
    rg_weights_restore(run->trainer);
    free(meta_text);
    free(cfg);
    free(ts);
    for (int i = 0; i < np; i++)
        rg_free(owned[i]);
    return st;
}

static int parse_ll(const rg_checkpoint *c, const char *key, long long *out)
{
    char buf[64], *end = NULL;
    if (!rg_checkpoint_config_get(c, key, buf, sizeof buf))
        return 0;
    *out = strtoll(buf, &end, 10);
    return *end == '\0';
}

static int parse_d(const rg_checkpoint *c, const char *key, double *out)
{
    char buf[64], *end = NULL;
    if (!rg_checkpoint_config_get(c, key, buf, sizeof buf))
        return 0;
    *out = strtod(buf, &end);
    return *end == '\0';
}

rg_status rg_run_restore(rg_run *run, const rg_checkpoint *c, const char *path)
{
    rg_plugin_instance *pl[2 * RG_TRAIN_MAX_PLUGINS];
    int np = all_plugins(run, pl);
    for (int i = 0; i < np; i++) {
        char key[32], stored[1024], now[1024];
        snprintf(key, sizeof key, "plugin.%d", i);
        plugin_identity(pl[i], now, sizeof now);
        if (!rg_checkpoint_config_get(c, key, stored, sizeof stored))
            return rg_error_set(RG_ERR_FORMAT, "resume %s: no record of plugin %d (%s)", path, i,
                                now);
        if (strcmp(stored, now) != 0)
            return rg_error_set(RG_ERR_INVALID,
                                "resume %s: the run used plugin %s, but now %s loads as %s: "
                                "install the same plugin version or start a new run",
                                path, stored, pl[i]->plugin->desc.name, now);
    }
    rg_status st = rg_plugin_state_restore(pl, np, c, path);
    if (st != RG_OK)
        return st;
    rg_model *m = run->model;
    st = rg_checkpoint_apply_model(c, path, m, 0);
    for (int i = 0; st == RG_OK && i < m->num_params; i++) {
        rg_param *p = m->params[i];
        for (int s = 0; s < 2 && p->slot[s]; s++) {
            char name[128];
            snprintf(name, sizeof name, "%s#slot%d", p->name, s);
            const rg_ckpt_tensor *ts = rg_checkpoint_find(c, name);
            if (!ts || ts->numel != p->numel)
                return rg_error_set(RG_ERR_FORMAT, "resume %s: optimizer state %s missing "
                                    "(the run used another optimizer?)", path, name);
            memcpy(p->slot[s], ts->data, (size_t)p->numel * sizeof(float));
        }
    }
    if (st != RG_OK)
        return st;
    int64_t best_count = 0;
    float *best = rg_trainer_best_weights(run->trainer, &best_count);
    if (best) {
        const rg_ckpt_tensor *tb = rg_checkpoint_find(c, "trainer#best");
        if (!tb || tb->numel != best_count)
            return rg_error_set(RG_ERR_FORMAT, "resume %s: early-stopping snapshot missing",
                                path);
        memcpy(best, tb->data, (size_t)best_count * sizeof(float));
    }
    long long e, step, opt, lw, ebe, ew;
    rg_trainer_state s;
    if (!parse_ll(c, "state.epoch", &e) || !parse_ll(c, "state.step", &step) ||
        !parse_ll(c, "state.opt_steps", &opt) ||
        !parse_d(c, "state.lr_scale", &s.lr.plateau_scale) ||
        !parse_d(c, "state.lr_best", &s.lr.plateau_best) || !parse_ll(c, "state.lr_wait", &lw) ||
        !parse_d(c, "state.es_best", &s.es_best) || !parse_ll(c, "state.es_best_epoch", &ebe) ||
        !parse_ll(c, "state.es_wait", &ew))
        return rg_error_set(RG_ERR_FORMAT, "resume %s: the trainer state record is incomplete",
                            path);
    s.epoch = e;
    s.step = step;
    s.opt_steps = opt;
    s.lr.plateau_wait = lw;
    s.es_best_epoch = ebe;
    s.es_wait = ew;
    run->best_saved = NAN;
    parse_d(c, "state.save_best", &run->best_saved); /* save_best: the best so far */
    memset(&s.part, 0, sizeof s.part);
    long long pb = 0;
    if (parse_ll(c, "state.batch", &pb) && pb > 0) {
        char buf[256];
        long long hits, seen;
        if (!rg_checkpoint_config_get(c, "state.partial", buf, sizeof buf) ||
            sscanf(buf, "%lf,%lf,%lf,%lld,%lld", &s.part.loss_sum, &s.part.pen_sum,
                   &s.part.seconds, &hits, &seen) != 5 || hits < 0 || seen < hits)
            return rg_error_set(RG_ERR_FORMAT, "resume %s: the record of the stopped epoch is "
                                "incomplete", path);
        s.part.batch = pb;
        s.part.hits = hits;
        s.part.seen = seen;
        for (int k = 0; k < run->cfg.num_regs; k++) {
            char key[48];
            snprintf(key, sizeof key, "state.partial_penalty.%d", k);
            if (!parse_d(c, key, &s.part.penalty[k]))
                return rg_error_set(RG_ERR_FORMAT, "resume %s: %s missing", path, key);
        }
    }
    rg_trainer_set_state(run->trainer, &s);
    run->epochs_done = 0;
    run->seconds_sum = 0;
    run->timed_epochs = 0;
    for (int64_t k = 0; k < e && k <= run->cfg.epochs; k++) {
        char key[48], buf[512];
        snprintf(key, sizeof key, "history.%lld", (long long)k);
        if (!rg_checkpoint_config_get(c, key, buf, sizeof buf))
            break;
        rg_epoch_stats *h = &run->history[k];
        memset(h, 0, sizeof *h);
        h->epoch = k + 1;
        if (sscanf(buf, "%lf,%lf,%lf,%lf,%lf,%lf", &h->train_loss, &h->train_accuracy,
                   &h->train_penalty, &h->val_loss, &h->val_accuracy, &h->seconds) != 6)
            return rg_error_set(RG_ERR_FORMAT, "resume %s: bad %s record", path, key);
        run->epochs_done = k + 1;
        if (isfinite(h->seconds)) /* checkpoints of 0.5 and before kept the timings */
            run->seconds_sum += h->seconds, run->timed_epochs++;
    }
    run->resumed = 1;
    /* a finished run stays finished: fit again only evaluates nothing new */
    run->state = RG_RUN_READY;
    return RG_OK;
}

/* The recipe stored in a format-3 checkpoint. */
static rg_status stored_recipe(rg_context *ctx, const rg_checkpoint *c, const char *path,
                               rg_recipe **out)
{
    char fmt[16];
    if (!rg_checkpoint_config_get(c, "format", fmt, sizeof fmt) || strcmp(fmt, "3") != 0)
        return rg_error_set(RG_ERR_FORMAT, "resume %s: holds no run record of this regula "
                            "version (format %s; it was written by an older regula or not "
                            "by a run's save)", path,
                            rg_checkpoint_config_get(c, "format", fmt, sizeof fmt) ? fmt
                                                                                   : "none");
    rg_recipe *r = NULL;
    rg_status st = rg_recipe_create(ctx, &r);
    for (int i = 0; st == RG_OK && i < rg_num_fields; i++) {
        if (rg_fields[i].flags & RG_FIELD_F_ALIAS)
            continue;
        rg_recipe_reset(r, rg_fields[i].name);
        /* a stop point belongs to the invocation that asked for it: inherited, a resume
         * would stop at once where the saved run stopped */
        if (!strcmp(rg_fields[i].name, "stop_at_epoch"))
            continue;
        char key[96];
        if (rg_fields[i].type != RG_FIELD_LIST) {
            snprintf(key, sizeof key, "recipe.%s", rg_fields[i].name);
            char *buf = malloc(8192);
            if (!buf) {
                st = rg_error_set(RG_ERR_NOMEM, "out of memory");
                break;
            }
            if (rg_checkpoint_config_get(c, key, buf, 8192)) {
                free(r->value[i]);
                r->value[i] = buf;
                r->set[i] = 1;
            } else {
                free(buf);
            }
            continue;
        }
        for (int k = 0;; k++) {
            char item[8192];
            snprintf(key, sizeof key, "recipe.%s.%d", rg_fields[i].name, k);
            if (!rg_checkpoint_config_get(c, key, item, sizeof item))
                break;
            char **grown = realloc(r->items[i], (size_t)(k + 1) * sizeof *grown);
            if (!grown || !(grown[k] = strdup(item))) {
                if (grown)
                    r->items[i] = grown;
                st = rg_error_set(RG_ERR_NOMEM, "out of memory");
                break;
            }
            r->items[i] = grown;
            r->count[i] = k + 1;
            r->set[i] = 1;
        }
    }
    if (st != RG_OK) {
        rg_recipe_destroy(r);
        return st;
    }
    *out = r;
    return RG_OK;
}

static void resumable_list(char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < rg_num_fields; i++)
        if (rg_fields[i].resumable)
            o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "%s%s", o ? ", " : "",
                                  rg_fields[i].name);
}

/* Stored recipe with the given one's set fields over it, refusing those that may not
 * change. */
static rg_status merge(rg_recipe *stored, const rg_recipe *given, const char *path)
{
    for (int i = 0; given && i < rg_num_fields; i++) {
        if (!given->set[i] || (rg_fields[i].flags & RG_FIELD_F_ALIAS))
            continue;
        if (!rg_fields[i].resumable && !rg_recipe_field_equal(stored, given, i)) {
            char ok[512], a[512], b[512];
            resumable_list(ok, sizeof ok);
            snprintf(a, sizeof a, "%s", rg_recipe_get(stored, rg_fields[i].name));
            snprintf(b, sizeof b, "%s", rg_recipe_get(given, rg_fields[i].name));
            for (char *p = a; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            for (char *p = b; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            return rg_error_set(RG_ERR_INVALID, "%s cannot change in a resumed run: %s holds "
                                "'%s', the recipe gives '%s' (fields that may change: %s)",
                                rg_fields[i].name, path, a, b, ok);
        }
        if (rg_recipe_take(stored, given, i) != RG_OK)
            return rg_error_set(RG_ERR_NOMEM, "out of memory");
    }
    return RG_OK;
}

rg_status rg_run_resume(rg_context *ctx, const char *path, const rg_recipe *recipe,
                        rg_run **out)
{
    return rg_run_resume_with_data(ctx, path, recipe, NULL, NULL, out);
}

rg_status rg_run_resume_with_data(rg_context *ctx, const char *path, const rg_recipe *recipe,
                                  const rg_dataset *train, const rg_dataset *test, rg_run **out)
{
    if (!ctx)
        return rg_api_null("rg_run_resume", "ctx");
    rg_api_enter(ctx);
    if (!out || !path)
        return rg_api_fail(ctx, rg_api_null("rg_run_resume", !out ? "out" : "path"));
    *out = NULL;
    rg_checkpoint *c = NULL;
    rg_recipe *r = NULL;
    rg_status st = rg_checkpoint_read(path, &c);
    if (st != RG_OK)
        st = rg_error_wrap(st, "resume");
    if (st == RG_OK)
        st = stored_recipe(ctx, c, path, &r);
    if (st == RG_OK)
        st = merge(r, recipe, path);
    long long done = 0;
    if (st == RG_OK && parse_ll(c, "state.epoch", &done) &&
        done > rg_recipe_int(r, "epochs"))
        st = rg_error_set(RG_ERR_INVALID, "resume %s: the run has %lld epochs already; epochs "
                          "must be at least that", path, done);
    rg_run *run = NULL;
    if (st == RG_OK) {
        rg_api_enter(ctx);
        st = rg_run_build(ctx, r, train, test, &run);
        r = NULL;
    }
    if (st == RG_OK)
        st = rg_run_restore(run, c, path);
    rg_recipe_destroy(r);
    rg_checkpoint_free(c);
    if (st != RG_OK) {
        rg_run_destroy(run);
        return rg_api_fail(ctx, st);
    }
    *out = run;
    return RG_OK;
}

rg_status rg_run_save(rg_run *run, const char *path)
{
    if (!run)
        return rg_api_null("rg_run_save", "run");
    rg_api_enter(run->ctx);
    if (!path)
        return rg_api_fail(run->ctx, rg_api_null("rg_run_save", "path"));
    return rg_api_fail(run->ctx, rg_run_write(run, path));
}
