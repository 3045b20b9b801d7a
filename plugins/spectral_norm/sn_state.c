/* The state of a spectral_norm instance in checkpoints (ABI 1.2 state hooks), so that a
 * resumed run continues the power iteration from the same u and v as an uninterrupted one.
 *
 * Format 1, native byte order (as the checkpoint's own tensors):
 *   u32 magic "SNRM", u32 format = 1, u32 count
 *   count times:  u32 name length n (1..SN_NAME_MAX), n bytes of name (no NUL),
 *                 i64 rows, i64 cols (>= 1), i64 step (of the last power iteration, >= 0),
 *                 rows floats u, cols floats v (finite)
 *
 * The bytes come from a file: state_load checks every length against what is left before
 * reading, and builds a new table that replaces the instance's only once all of it is
 * valid, so a refused state leaves the instance as it was. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sn.h"

#define SN_MAGIC 0x4d524e53u /* "SNRM" */
#define SN_FORMAT 1u
#define SN_HEAD 12u
/* the smallest entry: a one-byte name, three i64, one float of u and one of v */
#define SN_ENTRY_MIN (4u + 1u + 24u + 8u)

static uint64_t entry_bytes(const sn_entry *e)
{
    return 4 + strlen(e->name) + 24 + 4 * (uint64_t)(e->rows + e->cols);
}

static uint64_t state_bytes(const sn_plugin *s)
{
    uint64_t n = SN_HEAD;
    for (int64_t i = 0; i < s->table.count; i++)
        n += entry_bytes(&s->table.e[i]);
    return n;
}

rg_status sn_state_size(void *inst, uint64_t *bytes)
{
    *bytes = state_bytes(inst);
    return RG_OK;
}

static unsigned char *put(unsigned char *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

rg_status sn_state_save(void *inst, void *buf, uint64_t bytes)
{
    sn_plugin *s = inst;
    if (bytes != state_bytes(s)) {
        s->host->set_error("spectral_norm: state buffer of %llu bytes, %llu needed",
                           (unsigned long long)bytes, (unsigned long long)state_bytes(s));
        return RG_ERR_INVALID;
    }
    uint32_t head[3] = {SN_MAGIC, SN_FORMAT, (uint32_t)s->table.count};
    unsigned char *p = put(buf, head, sizeof head);
    for (int64_t i = 0; i < s->table.count; i++) {
        const sn_entry *e = &s->table.e[i];
        uint32_t len = (uint32_t)strlen(e->name);
        int64_t dims[3] = {e->rows, e->cols, e->step};
        p = put(p, &len, 4);
        p = put(p, e->name, len);
        p = put(p, dims, sizeof dims);
        p = put(p, e->u, 4 * (size_t)(e->rows + e->cols)); /* v follows u in memory */
    }
    return RG_OK;
}

typedef struct cursor {
    const unsigned char *base;
    uint64_t at, size;
} cursor;

static int take(cursor *c, void *dst, uint64_t n)
{
    if (c->size - c->at < n)
        return 0;
    memcpy(dst, c->base + c->at, n);
    c->at += n;
    return 1;
}

static rg_status refuse(sn_plugin *s, sn_table *t, uint64_t at, const char *what,
                        const char *name)
{
    s->host->set_error("spectral_norm: saved state refused at byte %llu: %s%s%s",
                       (unsigned long long)at, what, name ? " of " : "", name ? name : "");
    sn_table_clear(s->host, t);
    return RG_ERR_FORMAT;
}

static rg_status load_entry(sn_plugin *s, sn_table *t, cursor *c)
{
    uint64_t at = c->at;
    uint32_t len = 0;
    char name[SN_NAME_MAX + 1];
    if (!take(c, &len, 4))
        return refuse(s, t, at, "truncated before a name length", NULL);
    if (len < 1 || len > SN_NAME_MAX) {
        char what[64];
        snprintf(what, sizeof what, "name length %u out of 1..%d", (unsigned)len, SN_NAME_MAX);
        return refuse(s, t, at, what, NULL);
    }
    if (!take(c, name, len))
        return refuse(s, t, at + 4, "truncated inside a name", NULL);
    name[len] = '\0';
    if (memchr(name, '\0', len))
        return refuse(s, t, at + 4, "a NUL byte inside a name", NULL);
    if (sn_table_find(t, name))
        return refuse(s, t, at + 4, "a second entry", name);
    int64_t dims[3];
    at = c->at;
    if (!take(c, dims, sizeof dims))
        return refuse(s, t, at, "truncated shape and step", name);
    uint64_t left = (c->size - c->at) / 4;
    if (dims[0] < 1 || dims[1] < 1 || (uint64_t)dims[0] > left ||
        (uint64_t)dims[1] > left - (uint64_t)dims[0])
        return refuse(s, t, at, "rows and cols not >= 1 or more floats than the state holds",
                      name);
    if (dims[2] < 0)
        return refuse(s, t, at + 16, "negative step", name);
    sn_entry *e = sn_table_add(s->host, t, name, dims[0], dims[1]);
    if (!e) {
        sn_table_clear(s->host, t);
        return RG_ERR_NOMEM;
    }
    at = c->at;
    take(c, e->u, 4 * (uint64_t)(dims[0] + dims[1])); /* the length was checked above */
    for (int64_t k = 0; k < dims[0] + dims[1]; k++)
        if (!isfinite(e->u[k]))
            return refuse(s, t, at + 4 * (uint64_t)k,
                          k < dims[0] ? "a non-finite value in u" : "a non-finite value in v",
                          name);
    e->step = dims[2];
    return RG_OK;
}

rg_status sn_state_load(void *inst, const void *buf, uint64_t bytes)
{
    sn_plugin *s = inst;
    sn_table t = {NULL, 0, 0};
    cursor c = {buf, 0, bytes};
    uint32_t head[3];
    if (!take(&c, head, sizeof head))
        return refuse(s, &t, 0, "shorter than its 12-byte header", NULL);
    if (head[0] != SN_MAGIC)
        return refuse(s, &t, 0, "not a spectral_norm state (magic)", NULL);
    if (head[1] != SN_FORMAT)
        return refuse(s, &t, 4, "format other than 1", NULL);
    if (head[2] > (bytes - SN_HEAD) / SN_ENTRY_MIN)
        return refuse(s, &t, 8, "more tensors than the state has bytes for", NULL);
    for (uint32_t i = 0; i < head[2]; i++) {
        rg_status st = load_entry(s, &t, &c);
        if (st != RG_OK)
            return st;
    }
    if (c.at != bytes)
        return refuse(s, &t, c.at, "trailing bytes after the last tensor", NULL);
    sn_table_clear(s->host, &s->table);
    s->table = t;
    return RG_OK;
}
