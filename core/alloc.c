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

float *rg_alloc_floats(size_t n)
{
    if (n > SIZE_MAX / sizeof(float))
        return NULL;
    return rg_alloc(n * sizeof(float));
}
