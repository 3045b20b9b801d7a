#include "trust.h"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../error.h"

/* A user private group (Debian's default with umask 002): named like its only user, who
 * is this user. Writable by that group is writable by this user only. */
static int private_group(gid_t gid)
{
    struct group *g = getgrgid(gid);
    struct passwd *pw = getpwuid(geteuid());
    if (!g || !pw || strcmp(g->gr_name, pw->pw_name) != 0 || pw->pw_gid != gid)
        return 0;
    for (char **m = g->gr_mem; m && *m; m++)
        if (strcmp(*m, pw->pw_name) != 0)
            return 0;
    return 1;
}

static rg_status refuse(const char *plugin, const char *path, int is_dir, const char *why)
{
    return rg_error_set(RG_ERR_PLUGIN,
                        "%s: refusing to load the plugin: %s %s is %s, so another user could "
                        "replace the code regula runs (fix: chmod go-w %s, or pass "
                        "--allow-insecure-plugins if you trust every user of this machine)",
                        plugin, is_dir ? "its directory" : "the file", path, why, path);
}

static rg_status check_one(const char *plugin, const char *path, int is_dir)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return RG_OK; /* the open that follows reports a missing file with its cause */
    uid_t me = geteuid();
    if (st.st_uid != me && st.st_uid != 0) {
        char why[64];
        snprintf(why, sizeof why, "owned by another user (uid %u)", (unsigned)st.st_uid);
        return refuse(plugin, path, is_dir, why);
    }
    if ((st.st_mode & S_IWOTH) && !(is_dir && (st.st_mode & S_ISVTX)))
        return refuse(plugin, path, is_dir, "writable by every user");
    if ((st.st_mode & S_IWGRP) && !(is_dir && (st.st_mode & S_ISVTX)) &&
        !private_group(st.st_gid)) {
        struct group *g = getgrgid(st.st_gid);
        char why[128];
        snprintf(why, sizeof why, "writable by group %s", g ? g->gr_name : "(unknown)");
        return refuse(plugin, path, is_dir, why);
    }
    return RG_OK;
}

rg_status rg_plugin_trust_check(const char *path)
{
    rg_status st = check_one(path, path, 0);
    if (st != RG_OK)
        return st;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            return RG_OK;
        if (slash == dir) {
            dir[1] = '\0';
            return check_one(path, dir, 1);
        }
        *slash = '\0';
        if ((st = check_one(path, dir, 1)) != RG_OK)
            return st;
    }
}
