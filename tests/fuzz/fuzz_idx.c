/* libFuzzer harness for the IDX reader (datasets/idx.c, rg_idx_load).
 *
 * Input: u16 little-endian length L | L bytes images file | rest: labels file
 * (L is clamped to what follows). Either file may be raw IDX or gzip: gzread
 * passes non-gzip data through. Each file is written to its own scratch file. */
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "fuzz_util.h"
#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t img_len = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (img_len > size)
        img_len = size;
    const char *images = fuzz_write(0, "-images-idx3-ubyte", data, img_len);
    const char *labels = fuzz_write(1, "-labels-idx1-ubyte", data + img_len, size - img_len);

    rg_dataset *ds = (rg_dataset *)1;
    rg_status st = rg_idx_load(images, labels, &ds);
    FUZZ_CHECK_MESSAGE(st);
    if (st != RG_OK) {
        if (ds != NULL)
            abort(); /* documented: *out is NULL on failure */
        return 0;
    }
    if (ds->n < 1 || ds->c != 1 || ds->h < 1 || ds->w < 1 || ds->num_classes < 1 ||
        ds->num_classes > 256)
        abort();
    fuzz_touch(ds->pixels, (size_t)(ds->n * ds->c * ds->h * ds->w));
    fuzz_touch(ds->labels, (size_t)ds->n);
    for (int64_t i = 0; i < ds->n; i++)
        if (ds->labels[i] >= ds->num_classes)
            abort();
    rg_dataset_destroy(ds);
    return 0;
}
