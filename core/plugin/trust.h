/* Whether a plugin file may be loaded: it is code that runs with the trainer's rights, so
 * a file that another user can replace (or that lies in a directory another user can
 * write) is refused, as ssh's StrictModes refuses such key files. */
#ifndef RG_CORE_PLUGIN_TRUST_H
#define RG_CORE_PLUGIN_TRUST_H

#include "regula/status.h"

/* Checks the file `path` (absolute, symlinks resolved) and every directory above it: each
 * must be owned by this user or root and not writable by other users (group-writable is
 * allowed when the group is this user's private group with no other members, a
 * world-writable directory only with the sticky bit, like /tmp). The message names the
 * path, the reason and --allow-insecure-plugins. */
rg_status rg_plugin_trust_check(const char *path);

#endif
