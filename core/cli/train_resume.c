#include "train_resume.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"

/* A growing text buffer for the config record. */
typedef struct text {
    char *s;
    size_t len, cap;
    int oom;
} text;

static void addf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = t->s ? vsnprintf(t->s + t->len, room, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (n >= 0 && cap - t->len <= (size_t)n)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->oom = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

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
}

rg_status rg_cli_run_save(const char *path, const char *meta_json, const rg_run_record *rec,
                          rg_model *m, rg_trainer *t)
{
    static rg_ckpt_tensor ts[RG_CKPT_MAX_TENSORS];
    static char names[RG_CKPT_MAX_TENSORS][96];
    int n = 0;
    for (int i = 0; i < m->num_params + m->num_buffers && n < RG_CKPT_MAX_TENSORS; i++) {
        rg_param *p = i < m->num_params ? m->params[i] : m->buffers[i - m->num_params];
        ts[n] = (rg_ckpt_tensor){{0}, p->ndim, {0}, p->numel, p->value};
        snprintf(ts[n].name, sizeof ts[n].name, "%s", p->name);
        memcpy(ts[n].shape, p->shape, sizeof ts[n].shape);
        n++;
        /* optimizer state: momentum buffer, Adam's moments */
        for (int s = 0; s < 2 && i < m->num_params; s++)
            if (p->slot[s] && n < RG_CKPT_MAX_TENSORS) {
                snprintf(names[n], sizeof names[n], "%s#slot%d", p->name, s);
                ts[n] = (rg_ckpt_tensor){{0}, p->ndim, {0}, p->numel, p->slot[s]};
                snprintf(ts[n].name, sizeof ts[n].name, "%s", names[n]);
                memcpy(ts[n].shape, p->shape, sizeof ts[n].shape);
                n++;
            }
    }
    int64_t best_count = 0;
    float *best = rg_trainer_best_weights(t, &best_count);
    if (best && n < RG_CKPT_MAX_TENSORS) {
        ts[n] = (rg_ckpt_tensor){"trainer#best", 1, {best_count}, best_count, best};
        n++;
    }
    if (n >= RG_CKPT_MAX_TENSORS)
        return rg_error_set(RG_ERR_UNSUPPORTED, "%s: more than %d tensors to save", path,
                            RG_CKPT_MAX_TENSORS);
    text cfg = {0};
    addf(&cfg, "format=2\nmodel.input=%lld,%lld,%lld\nmodel.classes=%d\n",
         (long long)m->input.c, (long long)m->input.h, (long long)m->input.w, m->num_classes);
    for (int i = 0; i < rec->argc; i++) {
        if (strchr(rec->argv[i], '\n'))
            return rg_error_set(RG_ERR_INVALID, "argument with a newline cannot be saved");
        addf(&cfg, "arg=%s\n", rec->argv[i]);
    }
    for (int i = 0; i < rec->num_plugins; i++) {
        char id[1024];
        plugin_identity(rec->plugins[i], id, sizeof id);
        addf(&cfg, "plugin.%d=%s\n", i, id);
    }
    rg_trainer_state s;
    rg_trainer_get_state(t, &s);
    addf(&cfg,
         "state.epoch=%lld\nstate.step=%lld\nstate.opt_steps=%lld\nstate.lr_scale=%.17g\n"
         "state.lr_best=%.17g\nstate.lr_wait=%lld\nstate.es_best=%.17g\n"
         "state.es_best_epoch=%lld\nstate.es_wait=%lld\n",
         (long long)s.epoch, (long long)s.step, (long long)s.opt_steps, s.lr.plateau_scale,
         s.lr.plateau_best, (long long)s.lr.plateau_wait, s.es_best, (long long)s.es_best_epoch,
         (long long)s.es_wait);
    for (int64_t e = 0; e < rec->epochs_done; e++) {
        const rg_epoch_stats *h = &rec->history[e];
        addf(&cfg, "history.%lld=%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", (long long)e,
             h->train_loss, h->train_accuracy, h->train_penalty, h->val_loss, h->val_accuracy,
             h->seconds);
    }
    rg_status st = cfg.oom ? rg_error_set(RG_ERR_NOMEM, "out of memory")
                           : rg_checkpoint_write(path, meta_json, cfg.s, ts, n);
    free(cfg.s);
    return st;
}

static int resume_may_change(const char *flag)
{
    static const char *const ok[] = {"--epochs", "--stop-after", "--save", "--summary",
                                     "--metrics", "--threads", NULL};
    for (int i = 0; ok[i]; i++)
        if (!strcmp(flag, ok[i]))
            return 1;
    return 0;
}

rg_status rg_cli_resume_args(const char *path, int argc, char **argv, rg_checkpoint **ckpt,
                             int *out_argc, char ***out_argv)
{
    rg_status st = rg_checkpoint_read(path, ckpt);
    if (st != RG_OK)
        return rg_error_wrap(st, "--resume");
    const rg_checkpoint *c = *ckpt;
    char fmt[16];
    if (!rg_checkpoint_config_get(c, "format", fmt, sizeof fmt) || strcmp(fmt, "2") != 0)
        return rg_error_set(RG_ERR_FORMAT, "--resume %s: holds no run record (it was not "
                            "written by regula train --save)", path);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0)
            continue;
        if (!strcmp(argv[i], "--resume")) {
            i++;
            continue;
        }
        if (!strcmp(argv[i], "--quiet"))
            continue;
        if (!resume_may_change(argv[i]))
            return rg_error_set(RG_ERR_INVALID, "--resume: %s cannot change in a resumed run "
                                "(only --epochs, --stop-after, --save, --summary, --metrics, "
                                "--threads, --quiet)", argv[i]);
    }
    /* One block: the vector, then copies of the stored arguments. */
    size_t bytes = strlen(c->config) + 1, slots = (size_t)argc + 2;
    for (const char *p = c->config; (p = strchr(p, '\n')) != NULL; p++)
        slots++;
    char **v = malloc(slots * sizeof *v + bytes);
    if (!v)
        return rg_error_set(RG_ERR_NOMEM, "out of memory");
    char *store = (char *)(v + slots);
    memcpy(store, c->config, bytes);
    int n = 0;
    v[n++] = argv[0];
    for (char *line = store; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        if (!strncmp(line, "arg=", 4))
            v[n++] = line + 4;
        line = end ? end + 1 : NULL;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--resume")) {
            i++;
            continue;
        }
        v[n++] = argv[i];
    }
    v[n] = NULL;
    *out_argc = n;
    *out_argv = v;
    return RG_OK;
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

rg_status rg_cli_run_restore(const rg_checkpoint *c, const char *path, const rg_run_record *rec,
                             rg_model *m, rg_trainer *t, rg_epoch_stats *history,
                             int64_t *epochs_done)
{
    for (int i = 0; i < rec->num_plugins; i++) {
        char key[32], stored[1024], now[1024];
        snprintf(key, sizeof key, "plugin.%d", i);
        plugin_identity(rec->plugins[i], now, sizeof now);
        if (!rg_checkpoint_config_get(c, key, stored, sizeof stored))
            return rg_error_set(RG_ERR_FORMAT, "--resume %s: no record of plugin %d (%s)", path,
                                i, now);
        if (strcmp(stored, now) != 0)
            return rg_error_set(RG_ERR_INVALID,
                                "--resume %s: the run used plugin %s, but now %s loads as %s: "
                                "install the same plugin version or start a new run",
                                path, stored, rec->plugins[i]->plugin->desc.name, now);
    }
    rg_status st = rg_checkpoint_apply_model(c, path, m);
    for (int i = 0; st == RG_OK && i < m->num_params; i++) {
        rg_param *p = m->params[i];
        for (int s = 0; s < 2 && p->slot[s]; s++) {
            char name[128];
            snprintf(name, sizeof name, "%s#slot%d", p->name, s);
            const rg_ckpt_tensor *ts = rg_checkpoint_find(c, name);
            if (!ts || ts->numel != p->numel)
                return rg_error_set(RG_ERR_FORMAT, "--resume %s: optimizer state %s missing "
                                    "(the run used another optimizer?)", path, name);
            memcpy(p->slot[s], ts->data, (size_t)p->numel * sizeof(float));
        }
    }
    if (st != RG_OK)
        return st;
    int64_t best_count = 0;
    float *best = rg_trainer_best_weights(t, &best_count);
    if (best) {
        const rg_ckpt_tensor *tb = rg_checkpoint_find(c, "trainer#best");
        if (!tb || tb->numel != best_count)
            return rg_error_set(RG_ERR_FORMAT, "--resume %s: early-stopping snapshot missing",
                                path);
        memcpy(best, tb->data, (size_t)best_count * sizeof(float));
    }
    long long e, step, opt, lw, ebe, ew;
    rg_trainer_state s;
    if (!parse_ll(c, "state.epoch", &e) || !parse_ll(c, "state.step", &step) ||
        !parse_ll(c, "state.opt_steps", &opt) || !parse_d(c, "state.lr_scale", &s.lr.plateau_scale) ||
        !parse_d(c, "state.lr_best", &s.lr.plateau_best) || !parse_ll(c, "state.lr_wait", &lw) ||
        !parse_d(c, "state.es_best", &s.es_best) || !parse_ll(c, "state.es_best_epoch", &ebe) ||
        !parse_ll(c, "state.es_wait", &ew))
        return rg_error_set(RG_ERR_FORMAT, "--resume %s: the trainer state record is incomplete",
                            path);
    s.epoch = e;
    s.step = step;
    s.opt_steps = opt;
    s.lr.plateau_wait = lw;
    s.es_best_epoch = ebe;
    s.es_wait = ew;
    rg_trainer_set_state(t, &s);
    *epochs_done = 0;
    for (int64_t k = 0; k < e; k++) {
        char key[48], buf[512];
        snprintf(key, sizeof key, "history.%lld", (long long)k);
        if (!rg_checkpoint_config_get(c, key, buf, sizeof buf))
            break;
        rg_epoch_stats *h = &history[k];
        memset(h, 0, sizeof *h);
        h->epoch = k + 1;
        if (sscanf(buf, "%lf,%lf,%lf,%lf,%lf,%lf", &h->train_loss, &h->train_accuracy,
                   &h->train_penalty, &h->val_loss, &h->val_accuracy, &h->seconds) != 6)
            return rg_error_set(RG_ERR_FORMAT, "--resume %s: bad %s record", path, key);
        *epochs_done = k + 1;
    }
    return RG_OK;
}
