#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *rg_alloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    size_t rounded = (bytes + RG_ALIGN - 1) / RG_ALIGN * RG_ALIGN;
    if (rounded < bytes)
        return NULL;
    void *p = aligned_alloc(RG_ALIGN, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}

void rg_free(void *ptr)
{
    free(ptr);
}

/* A tiny normal float (about 6.1e-38), not a NaN: NaN + x keeps the NaN's bits, so an
 * overrun that accumulates (g[i] += ...) would go unseen; any nonzero addend of the size
 * a gradient has changes this value. */
#define RG_GUARD_BITS 0x01a5a5a5u

float *rg_alloc_floats(size_t n)
{
    if (n > SIZE_MAX / sizeof(float) - RG_GUARD_FLOATS)
        return NULL;
    float *v = rg_alloc((n + RG_GUARD_FLOATS) * sizeof(float));
    if (v)
        for (int i = 0; i < RG_GUARD_FLOATS; i++) {
            uint32_t g = RG_GUARD_BITS;
            memcpy(&v[n + (size_t)i], &g, sizeof g);
        }
    return v;
}

int rg_guard_check(float *v, size_t n)
{
    int last = 0;
    for (int i = 0; i < RG_GUARD_FLOATS; i++) {
        uint32_t u;
        memcpy(&u, &v[n + (size_t)i], sizeof u);
        if (u != RG_GUARD_BITS) {
            last = i + 1;
            u = RG_GUARD_BITS;
            memcpy(&v[n + (size_t)i], &u, sizeof u);
        }
    }
    return last;
}
