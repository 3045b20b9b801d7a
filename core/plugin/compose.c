#include "compose.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../rng.h"
#include "../train/activity.h"
#include "instance.h"

/* Composition nests (a policy of policies), but a policy that composes itself would recurse
 * until the stack ran out: 4 levels are more than any published policy needs. */
#define RG_COMPOSE_MAX_DEPTH 4

struct rg_augmenter_ref {
    rg_plugin_instance *pi;
    void *owner;                   /* the creating instance; NULL while its create() runs */
    struct rg_augmenter_ref *next; /* in the pending list, then in g_owned */
    char label[160];               /* "rotate (composed by trivial_augment)" */
};

/* The create() running on this thread, if any. */
static _Thread_local struct {
    struct rg_augmenter_ref *pending;
    const char *owner;
    uint32_t kind;
    const rg_host_api *host;
    int depth;
} t_create;

/* Owned refs of every live instance; touched at create() and destroy() only, never in the
 * step, so one lock is enough. */
static struct rg_augmenter_ref *g_owned;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

void rg_compose_begin(rg_compose_mark *m, const char *owner, uint32_t kind,
                      const rg_host_api *host)
{
    m->pending = t_create.pending;
    m->owner = t_create.owner;
    m->kind = t_create.kind;
    m->host = t_create.host;
    m->depth = t_create.depth;
    t_create.pending = NULL;
    t_create.owner = owner;
    t_create.kind = kind;
    t_create.host = host;
    t_create.depth = m->depth + 1;
}

static void destroy_list(struct rg_augmenter_ref *r)
{
    while (r) {
        struct rg_augmenter_ref *next = r->next;
        rg_plugin_instance_destroy(r->pi);
        free(r);
        r = next;
    }
}

void rg_compose_end(const rg_compose_mark *m, void *inst)
{
    struct rg_augmenter_ref *mine = t_create.pending;
    t_create.pending = m->pending;
    t_create.owner = m->owner;
    t_create.kind = m->kind;
    t_create.host = m->host;
    t_create.depth = m->depth;
    if (!mine)
        return;
    if (!inst) {
        destroy_list(mine);
        return;
    }
    struct rg_augmenter_ref *last = mine;
    for (struct rg_augmenter_ref *r = mine; r; r = r->next) {
        r->owner = inst;
        last = r;
    }
    pthread_mutex_lock(&g_lock);
    last->next = g_owned;
    g_owned = mine;
    pthread_mutex_unlock(&g_lock);
}

/* Unlinks inst's refs from g_owned (all of them, or only `one`) into a list of their own. */
static struct rg_augmenter_ref *take(void *inst, const struct rg_augmenter_ref *one)
{
    struct rg_augmenter_ref *out = NULL, **at = &g_owned;
    pthread_mutex_lock(&g_lock);
    while (*at) {
        struct rg_augmenter_ref *r = *at;
        if (r->owner == inst && (!one || r == one)) {
            *at = r->next;
            r->next = out;
            out = r;
        } else {
            at = &r->next;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return out;
}

void rg_compose_release(void *inst)
{
    if (inst)
        destroy_list(take(inst, NULL)); /* outside the lock: destroying nests */
}

int64_t rg_compose_owned(void *inst, char *buf, size_t cap)
{
    int64_t n = 0;
    size_t used = 0;
    if (cap)
        buf[0] = '\0';
    pthread_mutex_lock(&g_lock);
    for (const struct rg_augmenter_ref *r = g_owned; r; r = r->next) {
        if (r->owner != inst)
            continue;
        n++;
        if (used < cap) {
            int w = snprintf(buf + used, cap - used, "%s%s", n > 1 ? ", " : "", r->pi->spec);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void rg_compose_versions(void *inst, char *buf, size_t cap)
{
    enum { MAX = 64 };
    char ids[MAX][96];
    const char *sorted[MAX];
    int n = 0;
    if (cap)
        buf[0] = '\0';
    pthread_mutex_lock(&g_lock);
    for (const struct rg_augmenter_ref *r = g_owned; r; r = r->next) {
        if (r->owner != inst)
            continue;
        char id[96];
        snprintf(id, sizeof id, "%s %s", r->pi->plugin->desc.name, r->pi->plugin->desc.version);
        int seen = 0;
        for (int k = 0; k < n && !seen; k++)
            seen = strcmp(ids[k], id) == 0;
        if (!seen && n < MAX)
            memcpy(ids[n++], id, sizeof id);
    }
    pthread_mutex_unlock(&g_lock);
    for (int k = 0; k < n; k++)
        sorted[k] = ids[k];
    qsort(sorted, (size_t)n, sizeof sorted[0], cmp_str);
    size_t used = 0;
    for (int k = 0; k < n && used < cap; k++) {
        int w = snprintf(buf + used, cap - used, "%s%s", k ? "," : "", sorted[k]);
        used += w > 0 ? (size_t)w : 0;
    }
}

rg_status rg_host_augmenter_create(const char *spec, rg_augmenter_ref **out)
{
    if (!out || !spec)
        return rg_error_set(RG_ERR_INVALID, "augmenter_create(): spec and out must not be NULL");
    *out = NULL;
    if (!t_create.owner)
        return rg_error_set(RG_ERR_INVALID,
                            "augmenter_create(\"%s\") outside create(): an augmenter composes "
                            "others in its create() and applies them in its apply()",
                            spec);
    if (t_create.kind != RG_PLUGIN_AUGMENTER)
        return rg_error_set(RG_ERR_INVALID,
                            "plugin %s: augmenter_create(\"%s\") from a regularizer: only an "
                            "augmenter composes augmenters",
                            t_create.owner, spec);
    if (t_create.depth > RG_COMPOSE_MAX_DEPTH)
        return rg_error_set(RG_ERR_INVALID,
                            "plugin %s: augmenter_create(\"%s\"): augmenters composed more than "
                            "%d deep (does a policy compose itself?)",
                            t_create.owner, spec, RG_COMPOSE_MAX_DEPTH);
    struct rg_augmenter_ref *r = calloc(1, sizeof *r);
    if (!r)
        return rg_error_set(RG_ERR_NOMEM, "cannot allocate a composed augmenter");
    const char *owner = t_create.owner;
    rg_status st = rg_plugin_instance_create(spec, RG_PLUGIN_AUGMENTER, t_create.host, &r->pi);
    if (st != RG_OK) {
        free(r);
        return rg_error_wrap(st, "plugin %s: augmenter_create(\"%s\")", owner, spec);
    }
    snprintf(r->label, sizeof r->label, "%s (composed by %s)", r->pi->plugin->desc.name, owner);
    r->next = t_create.pending;
    t_create.pending = r;
    *out = r;
    return RG_OK;
}

/* The child stream: the parent's key (the run's seed) with a prefix mixed from the parent's
 * prefix and `key`, so two keys, or a key and the parent's own positions, share no draws
 * (up to a 2^-64 chance that two prefixes meet, as for any two sites). */
static void derive(const rg_rng_stream *parent, uint64_t key, rg_rng_stream *child)
{
    *child = *parent;
    uint64_t p = (uint64_t)parent->prefix[0] | (uint64_t)parent->prefix[1] << 32;
    uint64_t q = rg_rng_mix(rg_rng_mix(p ^ 0x436f6d706f736564ull) ^ key);
    child->prefix[0] = (uint32_t)q;
    child->prefix[1] = (uint32_t)(q >> 32);
}

rg_status rg_host_augmenter_apply(rg_augmenter_ref *ref, struct rg_batch_view *batch,
                                  const rg_rng_stream *rng, uint64_t key)
{
    if (!ref || !batch || !rng)
        return rg_error_set(RG_ERR_INVALID, "augmenter_apply(): ref, batch and rng must not be "
                                            "NULL");
    if (batch->struct_size < RG_BATCH_VIEW_SIZE_V1_0 || batch->n < 0 || !batch->data)
        return rg_error_set(RG_ERR_INVALID,
                            "augmenter_apply() on %s: the batch view is not one (struct_size "
                            "%u, n %lld, data %s)",
                            ref->label, (unsigned)batch->struct_size, (long long)batch->n,
                            batch->data ? "set" : "NULL");
    if (batch->n == 0)
        return RG_OK;
    rg_rng_stream child;
    derive(rng, key, &child);
    rg_activity_saved saved;
    rg_activity_nest(ref->label, ref->pi->plugin->path, "apply", &saved);
    rg_status st = ref->pi->plugin->aug.apply(ref->pi->inst, batch, &child);
    rg_activity_unnest(&saved);
    if (st != RG_OK)
        return rg_error_wrap(RG_ERR_PLUGIN, "plugin %s: apply() failed", ref->label);
    return RG_OK;
}

void rg_host_augmenter_destroy(rg_augmenter_ref *ref)
{
    if (!ref)
        return;
    /* still pending: the create() that made it is running on this thread */
    for (struct rg_augmenter_ref **at = &t_create.pending; *at; at = &(*at)->next)
        if (*at == ref) {
            *at = ref->next;
            ref->next = NULL;
            destroy_list(ref);
            return;
        }
    destroy_list(take(ref->owner, ref));
}
