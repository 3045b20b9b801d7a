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

#endif
