#include "activity.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regula/regula.h"

typedef struct slot {
    volatile int active;       /* set last on begin, cleared first on end */
    const char *plugin, *path, *hook;
    int64_t epoch, step;
    struct timespec since;
} slot;

static slot g_slots[RG_ACTIVITY_SLOTS];
static _Thread_local int t_slot = RG_ACTIVITY_TRAINER;

void rg_activity_use_slot(int slot)
{
    t_slot = slot;
}

void rg_activity_begin(const rg_plugin_instance *pi, const char *hook, int64_t epoch,
                       int64_t step)
{
    slot *s = &g_slots[t_slot];
    s->plugin = pi->plugin->desc.name;
    s->path = pi->plugin->path;
    s->hook = hook;
    s->epoch = epoch;
    s->step = step;
    clock_gettime(CLOCK_MONOTONIC, &s->since);
    __atomic_store_n(&s->active, 1, __ATOMIC_RELEASE);
}

void rg_activity_end(void)
{
    __atomic_store_n(&g_slots[t_slot].active, 0, __ATOMIC_RELEASE);
}

void rg_activity_nest(const char *label, const char *path, const char *hook,
                      rg_activity_saved *saved)
{
    slot *s = &g_slots[t_slot];
    saved->active = __atomic_load_n(&s->active, __ATOMIC_ACQUIRE);
    saved->plugin = s->plugin;
    saved->path = s->path;
    saved->hook = s->hook;
    /* off while the names change, so a signal never reads one plugin's name with another's path */
    __atomic_store_n(&s->active, 0, __ATOMIC_RELEASE);
    s->plugin = label;
    s->path = path;
    s->hook = hook;
    if (!saved->active) {
        s->epoch = 0;
        s->step = 0;
        clock_gettime(CLOCK_MONOTONIC, &s->since);
    }
    __atomic_store_n(&s->active, 1, __ATOMIC_RELEASE);
}

void rg_activity_unnest(const rg_activity_saved *saved)
{
    slot *s = &g_slots[t_slot];
    __atomic_store_n(&s->active, 0, __ATOMIC_RELEASE);
    s->plugin = saved->plugin;
    s->path = saved->path;
    s->hook = saved->hook;
    __atomic_store_n(&s->active, saved->active, __ATOMIC_RELEASE);
}

/* write(2) and hand-made number formatting only: this runs inside signal handlers. */
static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void put_int(int fd, int64_t v)
{
    char buf[24];
    int i = (int)sizeof buf;
    buf[--i] = '\0';
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    do
        buf[--i] = (char)('0' + u % 10);
    while ((u /= 10) && i > 1);
    if (v < 0)
        buf[--i] = '-';
    put(fd, buf + i);
}

int rg_hooks_describe(int fd, const char *prefix)
{
    int n = 0;
    for (int k = 0; k < RG_ACTIVITY_SLOTS; k++) {
        const slot *s = &g_slots[k];
        if (!__atomic_load_n(&s->active, __ATOMIC_ACQUIRE))
            continue;
        n++;
        if (fd < 0)
            continue;
        put(fd, prefix ? prefix : "");
        put(fd, "plugin ");
        put(fd, s->plugin);
        put(fd, " (");
        put(fd, s->path);
        put(fd, "), hook ");
        put(fd, s->hook);
        put(fd, "(), epoch ");
        put_int(fd, s->epoch);
        put(fd, ", step ");
        put_int(fd, s->step);
        put(fd, k == RG_ACTIVITY_PIPELINE ? " (input pipeline)\n" : "\n");
    }
    return n;
}

double rg_hooks_longest(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double longest = 0.0;
    for (int k = 0; k < RG_ACTIVITY_SLOTS; k++) {
        const slot *s = &g_slots[k];
        if (!__atomic_load_n(&s->active, __ATOMIC_ACQUIRE))
            continue;
        double t = (double)(now.tv_sec - s->since.tv_sec) +
                   1e-9 * (double)(now.tv_nsec - s->since.tv_nsec);
        longest = t > longest ? t : longest;
    }
    return longest;
}
