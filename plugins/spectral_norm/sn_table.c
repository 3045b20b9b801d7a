/* The table of per-tensor state of a spectral_norm instance, keyed by tensor name. A
 * model has a handful of weight tensors, so lookup is a linear scan. */
#include <string.h>

#include "sn.h"

sn_entry *sn_table_find(const sn_table *t, const char *name)
{
    for (int64_t i = 0; name && i < t->count; i++)
        if (strcmp(t->e[i].name, name) == 0)
            return &t->e[i];
    return NULL;
}

static int grow(const rg_host_api *h, sn_table *t)
{
    int64_t cap = t->cap ? 2 * t->cap : 8;
    sn_entry *e = h->alloc((size_t)cap * sizeof *e);
    if (!e)
        return 0;
    if (t->count)
        memcpy(e, t->e, (size_t)t->count * sizeof *e);
    h->free(t->e);
    t->e = e;
    t->cap = cap;
    return 1;
}

sn_entry *sn_table_add(const rg_host_api *h, sn_table *t, const char *name, int64_t rows,
                       int64_t cols)
{
    size_t len = strlen(name);
    if (t->count == t->cap && !grow(h, t)) {
        h->set_error("spectral_norm: out of memory for the state of %s", name);
        return NULL;
    }
    sn_entry *e = &t->e[t->count];
    memset(e, 0, sizeof *e);
    e->name = h->alloc(len + 1);
    e->u = h->alloc((size_t)(rows + cols) * sizeof(float));
    if (!e->name || !e->u) {
        h->free(e->name);
        h->free(e->u);
        h->set_error("spectral_norm: out of memory for u and v of %s (%lld + %lld floats)",
                     name, (long long)rows, (long long)cols);
        return NULL;
    }
    memcpy(e->name, name, len + 1);
    e->rows = rows;
    e->cols = cols;
    e->step = -1;
    e->v = e->u + rows;
    t->count++;
    return e;
}

void sn_table_drop_last(const rg_host_api *h, sn_table *t)
{
    if (t->count == 0)
        return;
    sn_entry *e = &t->e[--t->count];
    h->free(e->name);
    h->free(e->u);
}

void sn_table_clear(const rg_host_api *h, sn_table *t)
{
    while (t->count)
        sn_table_drop_last(h, t);
    h->free(t->e);
    t->e = NULL;
    t->cap = 0;
}
