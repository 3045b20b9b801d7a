/* Which plugin hook is running, kept so a crash, an exit() or a hang inside a plugin can be
 * blamed on it: one slot for the training thread, one for the input pipeline's worker.
 * Written around every hook call (a few stores, no allocation); read by the exported,
 * async-signal-safe rg_hooks_describe and by rg_hooks_longest. */
#ifndef RG_CORE_TRAIN_ACTIVITY_H
#define RG_CORE_TRAIN_ACTIVITY_H

#include <stdint.h>

#include "../plugin/instance.h"

enum { RG_ACTIVITY_TRAINER = 0, RG_ACTIVITY_PIPELINE = 1, RG_ACTIVITY_SLOTS = 2 };

/* This thread's slot (the pipeline worker takes RG_ACTIVITY_PIPELINE). */
void rg_activity_use_slot(int slot);
void rg_activity_begin(const rg_plugin_instance *pi, const char *hook, int64_t epoch,
                       int64_t step);
void rg_activity_end(void);

/* A composed augmenter (ABI 1.6) running inside its creator's hook: the slot names it
 * (`label`, e.g. "rotate (composed by trivial_augment)") until unnest puts the creator
 * back. The creator's start time is kept, so a hang is timed from the outer hook. */
typedef struct rg_activity_saved {
    int active;
    const char *plugin, *path, *hook;
} rg_activity_saved;
void rg_activity_nest(const char *label, const char *path, const char *hook,
                      rg_activity_saved *saved);
void rg_activity_unnest(const rg_activity_saved *saved);

#endif
