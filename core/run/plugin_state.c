/* Plugin state in checkpoints (ABI 1.2): the bytes a stateful plugin's state_save()
 * writes are stored as one float tensor "plugin.I#state" (padded to whole floats) with
 * their exact length in the config line plugin.I.state_bytes, and handed back to its
 * state_load() on resume. A plugin that declares RG_CAP_STATEFUL without the hooks cannot
 * be resumed bit-identically, so resume refuses it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "../train/activity.h"
#include "run.h"

/* More than this is a plugin bug (or a hostile one), not a state. */
#define RG_STATE_MAX_BYTES ((uint64_t)1 << 32)

rg_status rg_plugin_state_save(rg_plugin_instance **pl, int np, int64_t epoch, int64_t step,
                               rg_ckpt_tensor *ts, int *n, int cap, FILE *cfg, void **owned)
{
    for (int i = 0; i < np; i++) {
        owned[i] = NULL;
        const rg_plugin_desc *d = &pl[i]->plugin->desc;
        if (!d->state_save)
            continue;
        uint64_t bytes = 0;
        rg_activity_begin(pl[i], "state_size", epoch, step);
        rg_status st = d->state_size(pl[i]->inst, &bytes);
        rg_activity_end();
        if (st != RG_OK)
            return rg_error_wrap(RG_ERR_PLUGIN, "plugin %s (%s): state_size() failed",
                                 d->name, pl[i]->plugin->path);
        if (bytes > RG_STATE_MAX_BYTES)
            return rg_error_set(RG_ERR_PLUGIN,
                                "plugin %s (%s): state_size() says %llu bytes (more than the "
                                "%llu a checkpoint holds)",
                                d->name, pl[i]->plugin->path, (unsigned long long)bytes,
                                (unsigned long long)RG_STATE_MAX_BYTES);
        if (*n >= cap)
            return rg_error_set(RG_ERR_UNSUPPORTED, "too many tensors to save");
        int64_t floats = (int64_t)((bytes + 3) / 4);
        /* zeroed, with the guard words of every host buffer after it (alloc.h) */
        float *buf = rg_alloc_floats((size_t)floats);
        if (!buf)
            return rg_error_set(RG_ERR_NOMEM, "plugin %s: out of memory for its %llu-byte state",
                                d->name, (unsigned long long)bytes);
        owned[i] = buf;
        rg_activity_begin(pl[i], "state_save", epoch, step);
        st = d->state_save(pl[i]->inst, buf, bytes);
        rg_activity_end();
        if (st != RG_OK)
            return rg_error_wrap(RG_ERR_PLUGIN, "plugin %s (%s): state_save() failed",
                                 d->name, pl[i]->plugin->path);
        /* padding bytes past `bytes` inside the last float count as overrun too */
        unsigned char pad[4] = {0};
        size_t tail = (size_t)(floats * 4 - (int64_t)bytes);
        if (rg_guard_check(buf, (size_t)floats) ||
            (tail && memcmp((unsigned char *)buf + bytes, pad, tail) != 0))
            return rg_error_set(RG_ERR_PLUGIN,
                                "plugin %s (%s): state_save() wrote past the %llu bytes "
                                "state_size() announced",
                                d->name, pl[i]->plugin->path, (unsigned long long)bytes);
        rg_ckpt_tensor *t = &ts[(*n)++];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "plugin.%d#state", i);
        t->ndim = 1;
        t->shape[0] = floats;
        t->numel = floats;
        t->data = buf;
        fprintf(cfg, "plugin.%d.state_bytes=%llu\n", i, (unsigned long long)bytes);
    }
    return RG_OK;
}

rg_status rg_plugin_state_restore(rg_plugin_instance **pl, int np, const rg_checkpoint *c,
                                  const char *path)
{
    for (int i = 0; i < np; i++) {
        const rg_plugin_desc *d = &pl[i]->plugin->desc;
        if (!d->state_load) {
            if (d->caps & RG_CAP_STATEFUL)
                return rg_error_set(RG_ERR_UNSUPPORTED,
                                    "resume %s: plugin %s (%s) declares itself stateful but has "
                                    "no state hooks (ABI 1.2 state_size/state_save/state_load), "
                                    "so its state was not saved and a resumed run would differ "
                                    "from an uninterrupted one: start a new run, or ask its "
                                    "author for the state hooks",
                                    path, d->name, pl[i]->plugin->path);
            continue;
        }
        char key[48], buf[32], name[48];
        snprintf(key, sizeof key, "plugin.%d.state_bytes", i);
        snprintf(name, sizeof name, "plugin.%d#state", i);
        const rg_ckpt_tensor *t = rg_checkpoint_find(c, name);
        char *end = NULL;
        if (!rg_checkpoint_config_get(c, key, buf, sizeof buf) || !t)
            return rg_error_set(RG_ERR_FORMAT,
                                "resume %s: the checkpoint holds no state for plugin %s (written "
                                "before it had state hooks?): start a new run",
                                path, d->name);
        unsigned long long bytes = strtoull(buf, &end, 10);
        if (*end || bytes > RG_STATE_MAX_BYTES || (int64_t)((bytes + 3) / 4) != t->numel)
            return rg_error_set(RG_ERR_FORMAT,
                                "resume %s: %s=%s does not match the %lld floats of %s", path,
                                key, buf, (long long)t->numel, name);
        /* the file image is not aligned for the plugin: hand it an aligned copy */
        void *copy = malloc(bytes ? bytes : 1);
        if (!copy)
            return rg_error_set(RG_ERR_NOMEM, "out of memory");
        memcpy(copy, t->data, bytes);
        rg_activity_begin(pl[i], "state_load", -1, -1);
        rg_status st = d->state_load(pl[i]->inst, copy, bytes);
        rg_activity_end();
        free(copy);
        if (st != RG_OK)
            return rg_error_wrap(RG_ERR_PLUGIN, "resume %s: plugin %s (%s): state_load() refused "
                                 "its saved state", path, d->name, pl[i]->plugin->path);
    }
    return RG_OK;
}
