/* Where plugins are found, in this order and never elsewhere (never the
 * current directory implicitly): an explicit path, then each directory of
 * $REGULA_PLUGIN_PATH, then the plugin directory next to the running binary
 * (<bindir>/../<libdir>/regula/plugins, true in the build tree and in any
 * install prefix), then the configured install directory. */
#ifndef RG_CORE_PLUGIN_DISCOVERY_H
#define RG_CORE_PLUGIN_DISCOVERY_H

#include <limits.h>

#include "regula/plugin.h"

#define RG_PLUGIN_MAX_DIRS 32
#define RG_PLUGIN_MAX_FOUND 256

typedef struct rg_plugin_dirs {
    int count;
    char dir[RG_PLUGIN_MAX_DIRS][PATH_MAX];
} rg_plugin_dirs;

typedef struct rg_plugin_found {
    char name[64];
    char path[PATH_MAX];
    int shadowed;             /* a same-named plugin earlier in the search wins */
} rg_plugin_found;

typedef struct rg_plugin_listing {
    int count;
    rg_plugin_found item[RG_PLUGIN_MAX_FOUND];
} rg_plugin_listing;

void rg_plugin_search_dirs(rg_plugin_dirs *dirs);
/* A NAME with a '/' or ending in ".so" is a path; anything else is looked
 * up as NAME.so in the search directories. */
rg_status rg_plugin_resolve(const char *name, char *path, size_t cap);
/* Every *.so in the search directories, sorted by name within each
 * directory, later duplicates marked shadowed. */
void rg_plugin_list(rg_plugin_listing *out);

#endif
