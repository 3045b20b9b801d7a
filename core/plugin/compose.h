/* The host's composition services (ABI 1.6): an augmenter's create() may create installed
 * augmenters by spec (host->augmenter_create) and apply them from its apply(). The host owns
 * what was composed: a create() in progress collects its augmenters, which then belong to
 * the instance it returned and are destroyed after that instance's destroy(). */
#ifndef RG_CORE_PLUGIN_COMPOSE_H
#define RG_CORE_PLUGIN_COMPOSE_H

#include <stdint.h>

#include "regula/plugin.h"

/* What a create() in progress saves of the enclosing one (creation nests). */
typedef struct rg_compose_mark {
    struct rg_augmenter_ref *pending;
    const char *owner;
    uint32_t kind;
    const rg_host_api *host;
    int depth;
} rg_compose_mark;

/* Around every desc.create(): begin before, end after with the instance it returned (NULL
 * when it failed: what it composed is destroyed then). */
void rg_compose_begin(rg_compose_mark *m, const char *owner, uint32_t kind,
                      const rg_host_api *host);
void rg_compose_end(const rg_compose_mark *m, void *inst);
/* After desc.destroy(inst): destroys what inst still owns. */
void rg_compose_release(void *inst);
/* How many augmenters inst owns; their specs, comma-separated, into buf (for the checker). */
int64_t rg_compose_owned(void *inst, char *buf, size_t cap);

/* The distinct "name version" of what inst owns, sorted, comma-separated, into buf ("" when
 * nothing): part of a plugin's identity in checkpoints, so a resume with another version
 * of a composed augmenter is refused like one of the plugin itself. */
void rg_compose_versions(void *inst, char *buf, size_t cap);

/* The host services themselves (host.c puts them in the table). */
rg_status rg_host_augmenter_create(const char *spec, rg_augmenter_ref **out);
rg_status rg_host_augmenter_apply(rg_augmenter_ref *ref, struct rg_batch_view *batch,
                                  const rg_rng_stream *rng, uint64_t key);
void rg_host_augmenter_destroy(rg_augmenter_ref *ref);

#endif
