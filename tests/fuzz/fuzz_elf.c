/* libFuzzer harness for the plugin ELF pre-check (core/plugin/elf_check.c).
 *
 * Input: the would-be plugin file. rg_elf_check_image gets exactly the input
 * bytes (libFuzzer's buffer is a heap block of that size, so ASan reports any
 * read outside [data, data+size)); rg_elf_check_file on the same bytes written to
 * a file must come to the same verdict. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz_util.h"
#include "plugin/elf_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, in case a libFuzzer build hands out a larger buffer */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    rg_status st = rg_elf_check_image(copy, size, "fuzz.so");
    FUZZ_CHECK_MESSAGE(st);
    free(copy);
    if (size > 0) {
        const char *path = fuzz_write(0, ".so", data, size);
        rg_status st2 = rg_elf_check_file(path);
        FUZZ_CHECK_MESSAGE(st2);
        if (st2 != st)
            abort(); /* the file check and the image check disagree */
    }
    return 0;
}
