/* libFuzzer harness for the CSV reader (datasets/csv.c, rg_dataset_open_csv).
 *
 * Input: the CSV file. When the first byte is below 0x10 it is a mode byte, not
 * part of the file: 0 infers the square side from the columns (h = w = 0), else
 * h = (b >> 2) + 1, w = (b & 3) + 1. Without a mode byte h = w = 0. */
#include <stdint.h>
#include <string.h>

#include "csv.h"
#include "error.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t h = 0, w = 0;
    if (size > 0 && data[0] < 0x10) {
        if (data[0]) {
            h = (data[0] >> 2) + 1;
            w = (data[0] & 3) + 1;
        }
        data++;
        size--;
    }
    const char *path = fuzz_write(0, ".csv", data, size);
    rg_dataset *ds = (rg_dataset *)1;
    rg_status st = rg_dataset_open_csv(path, h, w, &ds);
    FUZZ_CHECK_MESSAGE(st);
    if (st != RG_OK) {
        if (ds != NULL)
            abort();
        return 0;
    }
    if (ds->n < 1 || ds->c != 1 || ds->h < 1 || ds->w < 1 || (h && (ds->h != h || ds->w != w)) ||
        ds->num_classes < 1 || ds->num_classes > 256)
        abort();
    fuzz_touch(ds->pixels, (size_t)(ds->n * ds->h * ds->w));
    fuzz_touch(ds->labels, (size_t)ds->n);
    for (int64_t i = 0; i < ds->n; i++)
        if (ds->labels[i] >= ds->num_classes)
            abort();
    rg_dataset_destroy(ds);
    return 0;
}
