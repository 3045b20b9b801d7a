#ifndef RG_TEST_ABI_LAYOUT_H
#define RG_TEST_ABI_LAYOUT_H

#include <stddef.h>

/* A struct field (offset, size), a sizeof, or a constant (value, 0). */
typedef struct rg_abi_entry {
    const char *what;
    size_t offset_or_value;
    size_t size;
} rg_abi_entry;

extern const rg_abi_entry rg_layout_v1_0[];
extern const rg_abi_entry rg_layout_current[];

#endif
