/* Data-parallel runs: before the first step every rank checks that it loaded the same
 * plugins as rank 0 (name, version and the bytes of the file), since a rank whose plugin
 * differs would silently train something else. One broadcast and one reduction, which every
 * rank joins even when its own setup failed, so no rank is left waiting. */
#include <stdio.h>
#include <string.h>

#include "../api/api.h"
#include "../error.h"
#include "run.h"

#define RG_AGREE_MAX (2 * RG_TRAIN_MAX_PLUGINS)

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* name, version and file contents (in-process plugins have no file: name and version) */
static uint64_t fingerprint(const rg_plugin *pl)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(h, pl->desc.name, strlen(pl->desc.name) + 1);
    h = fnv1a(h, pl->desc.version, strlen(pl->desc.version) + 1);
    FILE *f = pl->path[0] ? fopen(pl->path, "rb") : NULL;
    if (f) {
        unsigned char buf[65536];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, f)) > 0)
            h = fnv1a(h, buf, got);
        fclose(f);
    }
    return h;
}

rg_status rg_run_ranks_agree(rg_run *run, rg_status local)
{
    const rg_dist *d = run->ctx ? &run->ctx->dist : NULL;
    if (!d || d->size <= 1)
        return local;
    const rg_train_config *c = &run->cfg;
    const rg_plugin_instance *all[RG_AGREE_MAX];
    int n = 0;
    for (int i = 0; local == RG_OK && i < c->num_regs && n < RG_AGREE_MAX; i++)
        all[n++] = c->regs[i];
    for (int i = 0; local == RG_OK && i < c->num_augs && n < RG_AGREE_MAX; i++)
        all[n++] = c->augs[i];
    /* rank 0's count and fingerprints, as doubles of 32-bit halves would lose nothing but
     * a byte broadcast is simpler */
    uint64_t mine[1 + RG_AGREE_MAX] = {0}, theirs[1 + RG_AGREE_MAX];
    mine[0] = (uint64_t)n;
    for (int i = 0; i < n; i++)
        mine[1 + i] = fingerprint(all[i]->plugin);
    memcpy(theirs, mine, sizeof mine);
    rg_status st = rg_dist_broadcast(d, theirs, sizeof theirs);
    double flags[2 + RG_AGREE_MAX] = {0}; /* [0] setup failed, [1] count, [2 + i] plugin i */
    flags[0] = local != RG_OK;
    if (local == RG_OK) {
        flags[1] = theirs[0] != mine[0];
        for (int i = 0; i < n; i++)
            flags[2 + i] = theirs[1 + i] != mine[1 + i];
    }
    if (st == RG_OK)
        st = rg_dist_sum_doubles(d, flags, 2 + RG_AGREE_MAX);
    if (local != RG_OK)
        return local;
    if (st != RG_OK)
        return st;
    if (flags[0] > 0)
        return rg_error_set(RG_ERR_INVALID, "rank %d of %d: %g other rank(s) could not set "
                            "up the run (their messages name the cause)",
                            d->rank, d->size, flags[0]);
    if (flags[1] > 0)
        return rg_error_set(RG_ERR_PLUGIN, "the ranks load different numbers of plugins "
                            "(%lld here): every rank must run the same recipe",
                            (long long)mine[0]);
    for (int i = 0; i < n; i++)
        if (flags[2 + i] > 0)
            return rg_error_set(RG_ERR_PLUGIN,
                                "plugin %s %s (%s) is not the same file on every rank (%g "
                                "rank(s) differ from rank 0 in its version or bytes): every "
                                "rank must load the same plugin files; the run does not start",
                                all[i]->plugin->desc.name, all[i]->plugin->desc.version,
                                all[i]->plugin->path[0] ? all[i]->plugin->path : "in-process",
                                flags[2 + i]);
    return RG_OK;
}
