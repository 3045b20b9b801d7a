#include "discovery.h"

#include <dirent.h>
#include <dlfcn.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../error.h"
#include "host.h"
#include "instance.h"
#include "loader.h"

#ifndef REGULA_PLUGIN_INSTALL_DIR
#define REGULA_PLUGIN_INSTALL_DIR "/usr/local/lib/regula/plugins"
#endif
#ifndef REGULA_PLUGIN_RELDIR
#define REGULA_PLUGIN_RELDIR "lib/regula/plugins"
#endif

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void add_dir(rg_plugin_dirs *d, const char *dir)
{
    if (!*dir || d->count >= RG_PLUGIN_MAX_DIRS)
        return;
    char real[PATH_MAX];
    const char *use = realpath(dir, real) ? real : dir;
    for (int i = 0; i < d->count; i++)
        if (strcmp(d->dir[i], use) == 0)
            return;
    snprintf(d->dir[d->count++], PATH_MAX, "%s", use);
}

void rg_plugin_search_dirs(rg_plugin_dirs *d)
{
    d->count = 0;
    const char *own = rg_plugin_context_path();
    if (own && *own) {
        char buf[8192];
        snprintf(buf, sizeof buf, "%s", own);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
            add_dir(d, tok);
    }
    const char *env = getenv("REGULA_PLUGIN_PATH");
    if (env) {
        char buf[8192];
        snprintf(buf, sizeof buf, "%s", env);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
            add_dir(d, tok);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char rel[PATH_MAX + 32];
        snprintf(rel, sizeof rel, "%s/../%s", dirname(exe), REGULA_PLUGIN_RELDIR);
        if (is_dir(rel))
            add_dir(d, rel);
    }
    /* next to libregula.so (<libdir>/regula/plugins): what an embedding program finds
     * in the build tree and in any install prefix */
    Dl_info info;
    if (dladdr((void *)rg_plugin_search_dirs, &info) && info.dli_fname) {
        char lib[PATH_MAX], rel[PATH_MAX + 32];
        snprintf(lib, sizeof lib, "%s", info.dli_fname);
        snprintf(rel, sizeof rel, "%s/regula/plugins", dirname(lib));
        if (is_dir(rel))
            add_dir(d, rel);
    }
    if (is_dir(REGULA_PLUGIN_INSTALL_DIR))
        add_dir(d, REGULA_PLUGIN_INSTALL_DIR);
    for (int i = 0; i < d->count; i++)
        RG_TRACE("plugin search dir %d: %s", i + 1, d->dir[i]);
}

static int find_by_descriptor(const char *name, char *path, size_t cap)
{
    rg_plugin_listing *list = malloc(sizeof *list);
    if (!list)
        return 0;
    rg_plugin_list(list);
    int found = 0;
    for (int i = 0; !found && i < list->count; i++) {
        if (list->item[i].shadowed)
            continue;
        rg_plugin *pl = NULL;
        if (rg_plugin_load(list->item[i].path, NULL, &pl) != RG_OK)
            continue;
        if (strcmp(pl->desc.name, name) == 0) {
            snprintf(path, cap, "%s", list->item[i].path);
            found = 1;
        }
        rg_plugin_unload(pl);
    }
    free(list);
    rg_error_clear();
    return found;
}

rg_status rg_plugin_resolve(const char *name, char *path, size_t cap)
{
    size_t len = strlen(name);
    if (strchr(name, '/') || (len > 3 && strcmp(name + len - 3, ".so") == 0)) {
        /* whether it opens is the loader's to say, with the cause */
        RG_TRACE("plugin '%s': explicit path", name);
        snprintf(path, cap, "%s", name);
        return RG_OK;
    }
    rg_plugin_dirs dirs;
    rg_plugin_search_dirs(&dirs);
    char searched[4096] = "";
    for (int i = 0; i < dirs.count; i++) {
        char cand[PATH_MAX + 80];
        snprintf(cand, sizeof cand, "%s/%s.so", dirs.dir[i], name);
        RG_TRACE("plugin '%s': trying %s", name, cand);
        if (access(cand, R_OK) == 0) {
            snprintf(path, cap, "%s", cand);
            return RG_OK;
        }
        size_t used = strlen(searched);
        snprintf(searched + used, sizeof searched - used, "%s%s", used ? ", " : "",
                 dirs.dir[i]);
    }
    /* A file named otherwise whose descriptor carries the name (renamed on install, or
     * a versioned file name): slow, but only on the way to an error. */
    if (find_by_descriptor(name, path, cap))
        return RG_OK;
    return rg_error_set(RG_ERR_INVALID,
                        "unknown plugin '%s': no %s.so in %s, and no plugin there names "
                        "itself '%s' (run 'regula plugins' to list them, set "
                        "REGULA_PLUGIN_PATH, or give a path to the .so)",
                        name, name, searched[0] ? searched : "any search directory", name);
}

static int cmp_found(const void *a, const void *b)
{
    return strcmp(((const rg_plugin_found *)a)->name, ((const rg_plugin_found *)b)->name);
}

void rg_plugin_list(rg_plugin_listing *out)
{
    out->count = 0;
    rg_plugin_dirs dirs;
    rg_plugin_search_dirs(&dirs);
    for (int i = 0; i < dirs.count; i++) {
        DIR *dh = opendir(dirs.dir[i]);
        if (!dh)
            continue;
        int first = out->count;
        struct dirent *e;
        while ((e = readdir(dh)) && out->count < RG_PLUGIN_MAX_FOUND) {
            size_t len = strlen(e->d_name);
            if (len < 4 || len - 3 >= sizeof out->item[0].name ||
                strcmp(e->d_name + len - 3, ".so") != 0)
                continue;
            rg_plugin_found *f = &out->item[out->count++];
            snprintf(f->name, sizeof f->name, "%.*s", (int)(len - 3), e->d_name);
            snprintf(f->path, sizeof f->path, "%s/%s", dirs.dir[i], e->d_name);
            f->shadowed = 0;
        }
        closedir(dh);
        qsort(out->item + first, (size_t)(out->count - first), sizeof out->item[0], cmp_found);
    }
    for (int i = 0; i < out->count; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(out->item[i].name, out->item[j].name) == 0)
                out->item[i].shadowed = 1;
}
