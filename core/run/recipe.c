/* Recipe values: parsed and range-checked against the field table when set, kept as
 * text, turned into a training configuration by the run. */
#include "recipe.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../error.h"

static rg_status bad(rg_recipe *r, rg_status st)
{
    return r ? rg_api_fail(r->ctx, st) : st;
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0",
                                                                              "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(v, yes[i]))
            return *out = 1, 1;
        if (!strcmp(v, no[i]))
            return *out = 0, 1;
    }
    return 0;
}

static int choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n))
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static rg_status check_milestones(const char *v)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", v);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        errno = 0;
        long long e = strtoll(tok, &end, 10);
        if (end == tok || *end || errno || e < 1 || e > 100000)
            return rg_error_set(RG_ERR_INVALID, "lr_milestones %s: %s is not an epoch in "
                                "[1, 100000]", v, tok);
        if (++n > RG_LR_MAX_MILESTONES)
            return rg_error_set(RG_ERR_INVALID, "lr_milestones %s: at most %d milestones", v,
                                RG_LR_MAX_MILESTONES);
    }
    return RG_OK;
}

/* The shortest text that reads back as exactly x. */
static int shortest(double x, char *out, size_t cap)
{
    for (int p = 15; p <= 17; p++) {
        snprintf(out, cap, "%.*g", p, x);
        if (strtod(out, NULL) == x)
            return p;
    }
    return 17;
}

/* Checks text against field d; writes its canonical form to out. */
static rg_status check_value(const rg_field_def *d, const char *v, char *out, size_t cap)
{
    char *end = NULL;
    switch (d->type) {
    case RG_FIELD_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (end == v || *end || errno == ERANGE)
            return rg_error_set(RG_ERR_INVALID, "%s %s: expected an integer", d->name, v);
        if ((double)x < d->min || (d->max < 9e18 && (double)x > d->max))
            return rg_error_set(RG_ERR_INVALID, "%s %s: out of range [%.0f, %.0f]", d->name,
                                v, d->min, d->max);
        snprintf(out, cap, "%lld", x);
        return RG_OK;
    }
    case RG_FIELD_NUMBER: {
        if (!*v && !*d->def) {
            out[0] = '\0';
            return RG_OK;
        }
        errno = 0;
        double x = strtod(v, &end);
        if (end == v || *end || errno == ERANGE || !isfinite(x))
            return rg_error_set(RG_ERR_INVALID, "%s %s: expected a number", d->name, v);
        if (x < d->min || x > d->max)
            return rg_error_set(RG_ERR_INVALID, "%s %s: out of range [%g, %g]", d->name, v,
                                d->min, d->max);
        shortest(x, out, cap);
        return RG_OK;
    }
    case RG_FIELD_BOOL: {
        int b;
        if (!parse_bool(v, &b))
            return rg_error_set(RG_ERR_INVALID, "%s %s: expected true or false", d->name, v);
        snprintf(out, cap, "%s", b ? "true" : "false");
        return RG_OK;
    }
    case RG_FIELD_CHOICE:
        if (!choice_ok(d->choices, v)) {
            /* "a|b|c" -> "a, b or c" */
            char list[256];
            size_t o = 0;
            int bars = 0, seen = 0;
            for (const char *p = d->choices; *p; p++)
                bars += *p == '|';
            for (const char *p = d->choices; *p && o + 5 < sizeof list; p++) {
                if (*p != '|') {
                    list[o++] = *p;
                    continue;
                }
                const char *sep = ++seen == bars ? " or " : ", ";
                o += (size_t)snprintf(list + o, sizeof list - o, "%s", sep);
            }
            list[o] = '\0';
            return rg_error_set(RG_ERR_INVALID, "%s %s: expected %s", d->name, v, list);
        }
        break;
    case RG_FIELD_STRING:
        if (!strcmp(d->name, "lr_milestones") && *v) {
            rg_status st = check_milestones(v);
            if (st != RG_OK)
                return st;
        }
        break;
    case RG_FIELD_LIST:
        if (!*v)
            return rg_error_set(RG_ERR_INVALID, "%s: an empty plugin spec", d->name);
        break;
    }
    if (strlen(v) >= cap)
        return rg_error_set(RG_ERR_INVALID, "%s: value longer than %zu bytes", d->name, cap - 1);
    snprintf(out, cap, "%s", v);
    return RG_OK;
}

static rg_status set_scalar(rg_recipe *r, int i, const char *canon)
{
    char *copy = strdup(canon);
    if (!copy)
        return rg_error_set(RG_ERR_NOMEM, "out of memory");
    free(r->value[i]);
    r->value[i] = copy;
    return RG_OK;
}

static rg_status append(rg_recipe *r, int i, const char *item)
{
    char **grown = realloc(r->items[i], (size_t)(r->count[i] + 1) * sizeof *grown);
    if (!grown)
        return rg_error_set(RG_ERR_NOMEM, "out of memory");
    r->items[i] = grown;
    if (!(grown[r->count[i]] = strdup(item)))
        return rg_error_set(RG_ERR_NOMEM, "out of memory");
    r->count[i]++;
    return RG_OK;
}

static void clear_field(rg_recipe *r, int i)
{
    free(r->value[i]);
    r->value[i] = NULL;
    for (int k = 0; k < r->count[i]; k++)
        free(r->items[i][k]);
    free(r->items[i]);
    r->items[i] = NULL;
    r->count[i] = 0;
    r->set[i] = 0;
}

static rg_status set_field(rg_recipe *r, int i, const char *value)
{
    const rg_field_def *d = &rg_fields[i];
    char canon[4096];
    rg_status st = check_value(d, value, canon, sizeof canon);
    if (st != RG_OK)
        return st;
    if (d->flags & RG_FIELD_F_ALIAS) {
        /* aug_oneof: "A;B;..." becomes one entry of aug */
        int members = 0;
        for (const char *p = canon; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL)
            if (*p && *p != ';')
                members++;
        int empty = canon[0] == ';' || strstr(canon, ";;") != NULL ||
                    (*canon && canon[strlen(canon) - 1] == ';');
        if (members < 2 || empty)
            return rg_error_set(RG_ERR_INVALID, "aug_oneof %s: expected two or more non-empty "
                                "specs separated by ';'", value);
        int aug = rg_field_find("aug");
        r->set[aug] = 1;
        return append(r, aug, canon);
    }
    if (d->type == RG_FIELD_LIST && strchr(canon, ';')) {
        /* ';' separates the members of a one-of group of augmenters, and nothing else: the
         * JSON form writes such an item as an array, which must read back the same */
        if (strcmp(d->name, "aug") != 0)
            return rg_error_set(RG_ERR_INVALID, "%s %s: a spec may not contain ';' (one-of "
                                "groups are for augmenters)", d->name, value);
        int members = 0, empty = 0;
        for (const char *p = canon;; p++) {
            const char *e = strchr(p, ';');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            members++;
            empty |= len == 0;
            if (!e)
                break;
            p = e;
        }
        if (members < 2 || empty)
            return rg_error_set(RG_ERR_INVALID, "%s %s: a one-of group needs two or more "
                                "non-empty specs separated by ';'", d->name, value);
    }
    r->set[i] = 1;
    if (d->type == RG_FIELD_LIST) {
        if (r->count[i] >= RG_TRAIN_MAX_PLUGINS)
            return rg_error_set(RG_ERR_INVALID, "%s: at most %d plugins", d->name,
                                RG_TRAIN_MAX_PLUGINS);
        return append(r, i, canon);
    }
    return set_scalar(r, i, canon);
}

static rg_status find(const rg_recipe *r, const char *field, int *i)
{
    if (!r)
        return rg_error_set(RG_ERR_INVALID, "recipe is NULL");
    if (!field)
        return rg_error_set(RG_ERR_INVALID, "field name is NULL");
    if ((*i = rg_field_find(field)) < 0)
        return rg_error_set(RG_ERR_INVALID, "no recipe field named '%s'", field);
    return RG_OK;
}

/* ---- exported ---------------------------------------------------------------------- */

int rg_recipe_field_count(void)
{
    return rg_num_fields;
}

rg_status rg_recipe_field(int index, rg_field_info *info)
{
    rg_error_clear();
    if (!info)
        return rg_api_null("rg_recipe_field", "info");
    if (index < 0 || index >= rg_num_fields)
        return rg_error_set(RG_ERR_INVALID, "rg_recipe_field: index %d outside [0, %d)", index,
                            rg_num_fields);
    if (info->struct_size < RG_SIZE_THROUGH(rg_field_info, value_name))
        return rg_error_set(RG_ERR_VERSION, "rg_recipe_field: info.struct_size %u is too small",
                            (unsigned)info->struct_size);
    const rg_field_def *d = &rg_fields[index];
    rg_field_info f = {info->struct_size, d->name, d->type, d->def, d->min, d->max, d->choices,
                       d->doc, d->resumable, d->value_name};
    memcpy(info, &f, sizeof f);
    return RG_OK;
}

rg_status rg_recipe_create(rg_context *ctx, rg_recipe **out)
{
    if (!ctx)
        return rg_api_null("rg_recipe_create", "ctx");
    rg_api_enter(ctx);
    if (!out)
        return rg_api_fail(ctx, rg_api_null("rg_recipe_create", "out"));
    rg_recipe *r = calloc(1, sizeof *r);
    if (!r)
        return rg_api_fail(ctx, rg_error_set(RG_ERR_NOMEM, "out of memory"));
    r->ctx = ctx;
    for (int i = 0; i < rg_num_fields; i++)
        if (rg_fields[i].type != RG_FIELD_LIST && set_scalar(r, i, rg_fields[i].def) != RG_OK) {
            rg_recipe_destroy(r);
            return rg_api_fail(ctx, RG_ERR_NOMEM);
        }
    *out = r;
    return RG_OK;
}

rg_status rg_recipe_take(rg_recipe *dst, const rg_recipe *src, int i)
{
    clear_field(dst, i);
    dst->set[i] = src->set[i];
    if (rg_fields[i].type != RG_FIELD_LIST)
        return set_scalar(dst, i, src->value[i] ? src->value[i] : "");
    for (int k = 0; k < src->count[i]; k++)
        if (append(dst, i, src->items[i][k]) != RG_OK)
            return RG_ERR_NOMEM;
    return RG_OK;
}

rg_status rg_recipe_copy(const rg_recipe *r, rg_recipe **out)
{
    if (!r)
        return rg_api_null("rg_recipe_copy", "r");
    rg_api_enter(r->ctx);
    rg_recipe *c = NULL;
    rg_status st = rg_recipe_create(r->ctx, &c);
    for (int i = 0; st == RG_OK && i < rg_num_fields; i++)
        st = rg_recipe_take(c, r, i);
    if (st != RG_OK) {
        rg_recipe_destroy(c);
        return rg_api_fail(r->ctx, st);
    }
    *out = c;
    return RG_OK;
}

void rg_recipe_destroy(rg_recipe *r)
{
    if (!r)
        return;
    for (int i = 0; i < rg_num_fields; i++)
        clear_field(r, i);
    for (int i = 0; i < rg_num_fields; i++)
        free(r->text[i]);
    free(r);
}

rg_status rg_recipe_set(rg_recipe *r, const char *field, const char *value)
{
    int i = 0;
    rg_status st = find(r, field, &i);
    if (st != RG_OK)
        return bad(r, st);
    rg_api_enter(r->ctx);
    if (!value)
        return bad(r, rg_error_set(RG_ERR_INVALID, "%s: value is NULL", field));
    return bad(r, set_field(r, i, value));
}

rg_status rg_recipe_reset(rg_recipe *r, const char *field)
{
    int i = 0;
    rg_status st = find(r, field, &i);
    if (st != RG_OK)
        return bad(r, st);
    clear_field(r, i);
    if (rg_fields[i].type != RG_FIELD_LIST)
        return bad(r, set_scalar(r, i, rg_fields[i].def));
    return RG_OK;
}

int rg_recipe_is_set(const rg_recipe *r, const char *field)
{
    int i = rg_field_find(field);
    return r && i >= 0 && r->set[i];
}

static const char *effective(const rg_recipe *r, int i, char *buf, size_t cap)
{
    if (!strcmp(rg_fields[i].name, "lr") && !*r->value[i]) {
        snprintf(buf, cap, "%s",
                 !strcmp(rg_recipe_string(r, "optimizer"), "adam") ? "0.001" : "0.05");
        return buf;
    }
    return r->value[i];
}

const char *rg_recipe_get(const rg_recipe *r, const char *field)
{
    int i = 0;
    if (find(r, field, &i) != RG_OK)
        return NULL;
    rg_recipe *w = (rg_recipe *)r; /* the text buffer is a cache, not the recipe */
    size_t len = 1;
    if (rg_fields[i].type == RG_FIELD_LIST)
        for (int k = 0; k < r->count[i]; k++)
            len += strlen(r->items[i][k]) + 1;
    else
        len += strlen(r->value[i]) + 32;
    char *t = malloc(len);
    if (!t)
        return NULL;
    free(w->text[i]);
    w->text[i] = t;
    t[0] = '\0';
    if (rg_fields[i].type == RG_FIELD_LIST) {
        for (int k = 0; k < r->count[i]; k++) {
            if (k)
                strcat(t, "\n");
            strcat(t, r->items[i][k]);
        }
    } else {
        char buf[32];
        snprintf(t, len, "%s", effective(r, i, buf, sizeof buf));
    }
    return t;
}

static rg_status plugin_entry(rg_recipe *r, const char *role, int index, int *field)
{
    if (!role || (strcmp(role, "reg") && strcmp(role, "aug")))
        return rg_error_set(RG_ERR_INVALID, "plugin role %s: expected reg or aug",
                            role ? role : "(NULL)");
    *field = rg_field_find(role);
    if (index < 0 || index >= r->count[*field])
        return rg_error_set(RG_ERR_INVALID, "%s: no plugin at index %d (the list holds %d)",
                            role, index, r->count[*field]);
    return RG_OK;
}

rg_status rg_recipe_add_plugin(rg_recipe *r, const char *role, const char *name, int *index)
{
    if (!r)
        return rg_api_null("rg_recipe_add_plugin", "r");
    rg_api_enter(r->ctx);
    if (!name || !*name || strchr(name, ':') || strchr(name, ';'))
        return bad(r, rg_error_set(RG_ERR_INVALID, "rg_recipe_add_plugin: '%s' is not a plugin "
                                   "name (parameters go through rg_recipe_set_plugin_param)",
                                   name ? name : "(NULL)"));
    if (!role || (strcmp(role, "reg") && strcmp(role, "aug")))
        return bad(r, rg_error_set(RG_ERR_INVALID, "plugin role %s: expected reg or aug",
                                   role ? role : "(NULL)"));
    rg_status st = rg_recipe_set(r, role, name);
    if (st == RG_OK && index)
        *index = r->count[rg_field_find(role)] - 1;
    return st;
}

rg_status rg_recipe_set_plugin_param(rg_recipe *r, const char *role, int index, const char *key,
                                     const char *value)
{
    if (!r)
        return rg_api_null("rg_recipe_set_plugin_param", "r");
    rg_api_enter(r->ctx);
    int f = 0;
    rg_status st = plugin_entry(r, role, index, &f);
    if (st != RG_OK)
        return bad(r, st);
    if (!key || !*key || !value || strpbrk(key, ",=:;") || strpbrk(value, ",;"))
        return bad(r, rg_error_set(RG_ERR_INVALID, "%s %d: parameter %s=%s: keys and values "
                                   "may not hold ',', ';' (or '=', ':' in keys)", role, index,
                                   key ? key : "(NULL)", value ? value : "(NULL)"));
    const char *old = r->items[f][index];
    size_t len = strlen(old) + strlen(key) + strlen(value) + 3;
    char *s = malloc(len);
    if (!s)
        return bad(r, rg_error_set(RG_ERR_NOMEM, "out of memory"));
    const char *slash = strrchr(old, '/');
    int has_params = strchr(slash ? slash : old, ':') != NULL;
    snprintf(s, len, "%s%c%s=%s", old, has_params ? ',' : ':', key, value);
    free(r->items[f][index]);
    r->items[f][index] = s;
    return RG_OK;
}

/* ---- typed reads ------------------------------------------------------------------- */

static int idx(const char *field)
{
    int i = rg_field_find(field);
    return i < 0 ? 0 : i;
}

int64_t rg_recipe_int(const rg_recipe *r, const char *field)
{
    return strtoll(r->value[idx(field)], NULL, 10);
}

double rg_recipe_number(const rg_recipe *r, const char *field)
{
    char buf[32];
    return strtod(effective(r, idx(field), buf, sizeof buf), NULL);
}

int rg_recipe_bool(const rg_recipe *r, const char *field)
{
    return !strcmp(r->value[idx(field)], "true");
}

const char *rg_recipe_string(const rg_recipe *r, const char *field)
{
    return r->value[idx(field)];
}

int rg_recipe_list(const rg_recipe *r, const char *field, char ***items)
{
    int i = idx(field);
    *items = r->items[i];
    return r->count[i];
}

int rg_recipe_field_equal(const rg_recipe *a, const rg_recipe *b, int i)
{
    const rg_field_def *d = &rg_fields[i];
    if (d->type == RG_FIELD_LIST) {
        if (a->count[i] != b->count[i])
            return 0;
        for (int k = 0; k < a->count[i]; k++)
            if (strcmp(a->items[i][k], b->items[i][k]))
                return 0;
        return 1;
    }
    char ba[32], bb[32];
    const char *va = effective(a, i, ba, sizeof ba), *vb = effective(b, i, bb, sizeof bb);
    if (d->type == RG_FIELD_NUMBER || d->type == RG_FIELD_INT)
        return strtod(va, NULL) == strtod(vb, NULL);
    return !strcmp(va, vb);
}

rg_status rg_recipe_apply(const rg_recipe *r, rg_train_config *c)
{
    rg_train_config_defaults(c);
    c->epochs = rg_recipe_int(r, "epochs");
    c->batch = rg_recipe_int(r, "batch");
    c->optim.kind = !strcmp(rg_recipe_string(r, "optimizer"), "adam") ? RG_OPTIM_ADAM
                                                                       : RG_OPTIM_SGD;
    c->optim.lr = rg_recipe_number(r, "lr");
    c->optim.momentum = rg_recipe_number(r, "momentum");
    c->optim.nesterov = rg_recipe_bool(r, "nesterov");
    for (int k = RG_LR_CONSTANT; k <= RG_LR_PLATEAU; k++)
        if (!strcmp(rg_recipe_string(r, "lr_schedule"), rg_lr_schedule_name((rg_lr_schedule)k)))
            c->lr.kind = (rg_lr_schedule)k;
    c->lr.gamma = rg_recipe_number(r, "lr_gamma");
    c->lr.step_size = rg_recipe_int(r, "lr_step");
    c->lr.patience = rg_recipe_int(r, "lr_patience");
    c->lr.min_lr = rg_recipe_number(r, "min_lr");
    c->lr.warmup_epochs = rg_recipe_int(r, "warmup_epochs");
    char buf[512];
    snprintf(buf, sizeof buf, "%s", rg_recipe_string(r, "lr_milestones"));
    c->lr.n_milestones = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok && c->lr.n_milestones < RG_LR_MAX_MILESTONES;
         tok = strtok_r(NULL, ",", &save))
        c->lr.milestones[c->lr.n_milestones++] = strtoll(tok, NULL, 10);
    const char *es = rg_recipe_string(r, "early_stop");
    c->early_metric = !strcmp(es, "val_loss")       ? RG_EARLY_VAL_LOSS
                      : !strcmp(es, "val_accuracy") ? RG_EARLY_VAL_ACCURACY
                                                    : RG_EARLY_NONE;
    c->patience = rg_recipe_int(r, "patience");
    c->min_delta = rg_recipe_number(r, "min_delta");
    c->seed = (uint64_t)strtoull(rg_recipe_string(r, "seed"), NULL, 10);
    c->val_fraction = rg_recipe_number(r, "val");
    c->train_limit = rg_recipe_int(r, "train_limit");
    c->val_size = rg_recipe_int(r, "val_size");
    c->train_size = rg_recipe_int(r, "train_size");
    return RG_OK;
}

/* ---- JSON -------------------------------------------------------------------------- */

static json_t *field_json(const rg_recipe *r, int i)
{
    const rg_field_def *d = &rg_fields[i];
    char buf[32];
    const char *v = d->type == RG_FIELD_LIST ? NULL : effective(r, i, buf, sizeof buf);
    switch (d->type) {
    case RG_FIELD_INT:
        return json_integer(strtoll(v, NULL, 10));
    case RG_FIELD_NUMBER:
        return json_real(strtod(v, NULL));
    case RG_FIELD_BOOL:
        return json_boolean(!strcmp(v, "true"));
    case RG_FIELD_STRING:
    case RG_FIELD_CHOICE:
        return json_string(v);
    case RG_FIELD_LIST: {
        json_t *a = json_array();
        for (int k = 0; a && k < r->count[i]; k++) {
            const char *item = r->items[i][k];
            if (!strchr(item, ';')) {
                json_array_append_new(a, json_string(item));
                continue;
            }
            json_t *group = json_array();
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s", item);
            char *save = NULL;
            for (char *tok = strtok_r(tmp, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
                json_array_append_new(group, json_string(tok));
            json_array_append_new(a, group);
        }
        return a;
    }
    }
    return json_null();
}

void *rg_recipe_json(const rg_recipe *r)
{
    json_t *o = json_object();
    for (int i = 0; o && i < rg_num_fields; i++)
        if (!(rg_fields[i].flags & RG_FIELD_F_ALIAS))
            json_object_set_new(o, rg_fields[i].name, field_json(r, i));
    return o;
}

char *rg_recipe_to_json(const rg_recipe *r)
{
    if (!r)
        return NULL;
    json_t *o = rg_recipe_json(r);
    /* jansson has one precision per dump: the smallest that keeps every number exact */
    int prec = 15;
    for (int i = 0; i < rg_num_fields; i++)
        if (rg_fields[i].type == RG_FIELD_NUMBER) {
            char buf[40];
            int p = shortest(rg_recipe_number(r, rg_fields[i].name), buf, sizeof buf);
            prec = p > prec ? p : prec;
        }
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(prec))
                : NULL;
    json_decref(o);
    return s;
}

static rg_status value_text(const rg_field_def *d, json_t *v, char *buf, size_t cap,
                            const char *origin)
{
    if (json_is_string(v))
        snprintf(buf, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, cap, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    else
        return rg_error_set(RG_ERR_INVALID, "%s: field %s: expected %s", origin, d->name,
                            d->type == RG_FIELD_INT      ? "an integer"
                            : d->type == RG_FIELD_NUMBER ? "a number"
                            : d->type == RG_FIELD_BOOL   ? "true or false"
                                                         : "a string");
    int ok = 1;
    switch (d->type) {
    case RG_FIELD_INT: ok = json_is_integer(v); break;
    case RG_FIELD_NUMBER: ok = json_is_number(v) || (json_is_string(v) && !*buf && !*d->def); break;
    case RG_FIELD_BOOL: ok = json_is_boolean(v); break;
    default: ok = json_is_string(v); break;
    }
    if (!ok)
        return rg_error_set(RG_ERR_INVALID, "%s: field %s: expected %s, got %s", origin, d->name,
                            d->type == RG_FIELD_INT      ? "an integer"
                            : d->type == RG_FIELD_NUMBER ? "a number"
                            : d->type == RG_FIELD_BOOL   ? "true or false"
                                                         : "a string",
                            buf);
    return RG_OK;
}

rg_status rg_recipe_from_json_object(rg_recipe *r, void *object, const char *origin)
{
    json_t *o = object;
    if (!json_is_object(o))
        return rg_error_set(RG_ERR_FORMAT, "%s: expected a JSON object of recipe fields", origin);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int i = rg_field_find(key);
        if (i < 0 || (rg_fields[i].flags & RG_FIELD_F_ALIAS))
            return rg_error_set(RG_ERR_INVALID, "%s: unknown recipe field '%s'", origin, key);
        const rg_field_def *d = &rg_fields[i];
        char buf[4096];
        rg_status st;
        if (d->type != RG_FIELD_LIST) {
            if ((st = value_text(d, v, buf, sizeof buf, origin)) != RG_OK)
                return st;
            if ((st = set_field(r, i, buf)) != RG_OK)
                return rg_error_wrap(st, "%s", origin);
            continue;
        }
        if (!json_is_array(v))
            return rg_error_set(RG_ERR_INVALID, "%s: field %s: expected an array of plugin "
                                "specs", origin, key);
        clear_field(r, i);
        r->set[i] = 1;
        size_t k;
        json_t *item;
        json_array_foreach(v, k, item) {
            buf[0] = '\0';
            if (json_is_string(item)) {
                snprintf(buf, sizeof buf, "%s", json_string_value(item));
            } else if (json_is_array(item) && !strcmp(key, "aug")) {
                size_t g;
                json_t *m;
                json_array_foreach(item, g, m) {
                    if (!json_is_string(m))
                        return rg_error_set(RG_ERR_INVALID, "%s: aug[%zu]: a one-of group "
                                            "holds plugin spec strings", origin, k);
                    size_t len = strlen(buf);
                    snprintf(buf + len, sizeof buf - len, "%s%s", g ? ";" : "",
                             json_string_value(m));
                }
                int oneof = rg_field_find("aug_oneof");
                if ((st = set_field(r, oneof, buf)) != RG_OK)
                    return rg_error_wrap(st, "%s: aug[%zu]", origin, k);
                continue;
            } else {
                return rg_error_set(RG_ERR_INVALID, "%s: %s[%zu]: expected a plugin spec "
                                    "string%s", origin, key, k,
                                    strcmp(key, "aug") ? "" : " or an array of them (one-of)");
            }
            if ((st = set_field(r, i, buf)) != RG_OK)
                return rg_error_wrap(st, "%s: %s[%zu]", origin, key, k);
        }
    }
    return RG_OK;
}

rg_status rg_recipe_parse_json(rg_recipe *r, const char *text, const char *origin)
{
    if (!r)
        return rg_api_null("rg_recipe_parse_json", "r");
    rg_api_enter(r->ctx);
    if (!text)
        return bad(r, rg_api_null("rg_recipe_parse_json", "text"));
    if (!origin)
        origin = "recipe";
    json_error_t err;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!o)
        return bad(r, rg_error_set(RG_ERR_FORMAT, "%s:%d:%d: %s", origin, err.line, err.column,
                                   err.text));
    rg_status st = rg_recipe_from_json_object(r, o, origin);
    json_decref(o);
    return bad(r, st);
}

rg_status rg_recipe_load_json(rg_recipe *r, const char *path)
{
    if (!r)
        return rg_api_null("rg_recipe_load_json", "r");
    rg_api_enter(r->ctx);
    if (!path)
        return bad(r, rg_api_null("rg_recipe_load_json", "path"));
    json_error_t err;
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!o) {
        if (err.line < 1)
            return bad(r, rg_error_set(RG_ERR_IO, "%s: %s", path, err.text));
        return bad(r, rg_error_set(RG_ERR_FORMAT, "%s:%d:%d: %s", path, err.line, err.column,
                                   err.text));
    }
    rg_status st = rg_recipe_from_json_object(r, o, path);
    json_decref(o);
    return bad(r, st);
}
