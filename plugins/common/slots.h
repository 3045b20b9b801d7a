/* Per-thread scratch for the augmenters that warp each image through a zero-bordered copy
 * (rotate, scale, shear, perspective): S slots, one per host thread, each with its own
 * copy, slot s handling images [n*s/S, n*(s+1)/S). The scratch is sized at create() for a
 * default image and grown (once) on the first call with a larger one, so the steady-state
 * step allocates nothing. Header-only, like bilinear.h: each plugin stays one .so built
 * against sdk/include alone. */
#ifndef RG_PLUGINS_COMMON_SLOTS_H
#define RG_PLUGINS_COMMON_SLOTS_H

#include <regula/plugin.h>

#include "bilinear.h"

typedef struct slot_scratch {
    float *data;
    int64_t cap; /* floats in data */
} slot_scratch;

static inline int64_t slot_count(const rg_host_api *host)
{
    int t = host->num_threads ? host->num_threads() : 1;
    return t < 1 ? 1 : t;
}

/* At least `floats` floats; `who` names the plugin in the error. */
static inline rg_status slot_scratch_grow(const rg_host_api *host, slot_scratch *s,
                                          int64_t floats, const char *who)
{
    if (floats <= s->cap)
        return RG_OK;
    float *d = host->alloc((size_t)floats * sizeof(float));
    if (!d) {
        host->set_error("%s: cannot allocate %lld floats of scratch", who, (long long)floats);
        return RG_ERR_NOMEM;
    }
    host->free(s->data);
    s->data = d;
    s->cap = floats;
    return RG_OK;
}

/* What a plugin does to image i with its slot's copy buffer. */
typedef void (*slot_image_fn)(const void *job, int64_t i, float *copy);

typedef struct slot_run {
    slot_image_fn fn;
    const void *job;
    float *scratch;
    int64_t n, slots, img;
} slot_run;

static inline rg_status slot_body(void *ctx, int64_t begin, int64_t end)
{
    const slot_run *r = ctx;
    for (int64_t s = begin; s < end; s++)
        for (int64_t i = r->n * s / r->slots; i < r->n * (s + 1) / r->slots; i++)
            r->fn(r->job, i, r->scratch + s * r->img);
    return RG_OK;
}

/* fn on every image of b, the slots over the host's threads. */
static inline rg_status slot_run_images(const rg_host_api *host, slot_scratch *s,
                                        const rg_batch_view *b, slot_image_fn fn,
                                        const void *job, const char *who)
{
    int64_t slots = slot_count(host);
    if (slots > b->n)
        slots = b->n;
    int64_t img = bilinear_padded_floats(b->c, b->h, b->w);
    rg_status st = slot_scratch_grow(host, s, slots * img, who);
    if (st != RG_OK)
        return st;
    slot_run r = {fn, job, s->data, b->n, slots, img};
    return host->parallel_for(slots, 1, slot_body, &r);
}

#endif
