/* libFuzzer harness for the checkpoint reader (core/train/checkpoint.c).
 *
 * Input: a checkpoint file. It is read with its last 4 bytes replaced by the right
 * CRC-32 (when it is long enough to hold one), so mutations behind the checksum
 * reach the structure parser; inputs shorter than 12 bytes or of a length that is a
 * multiple of 8 are also read as given, which covers the checksum check itself.
 * (Each read costs rg_checkpoint_read's 1 MiB buffer: reading every input twice
 * halved the executions per second under ASan.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "error.h"
#include "fuzz_util.h"
#include "train/checkpoint.h"

static void read_one(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write(0, ".ckpt", data, size);
    rg_checkpoint *c = NULL;
    rg_status st = rg_checkpoint_read(path, &c);
    FUZZ_CHECK_MESSAGE(st);
    if (st != RG_OK)
        return;
    if (!c || !c->meta || !c->config || c->count < 0 || c->count > RG_CKPT_MAX_TENSORS)
        abort();
    fuzz_touch(c->meta, strlen(c->meta));
    fuzz_touch(c->config, strlen(c->config));
    for (int i = 0; i < c->count; i++) {
        const rg_ckpt_tensor *t = &c->tensors[i];
        if (t->ndim > 4 || t->numel < 0 || strlen(t->name) >= sizeof t->name)
            abort();
        /* numel is the product of the shape, and numel floats lie inside the file image
         * (computed without wrapping, unlike a reader that multiplies in size_t) */
        int64_t numel = 1;
        for (uint32_t d = 0; d < t->ndim; d++)
            if (t->shape[d] < 0 || __builtin_mul_overflow(numel, t->shape[d], &numel))
                abort();
        if (numel != t->numel || (uint64_t)numel > size / sizeof(float))
            abort();
        size_t bytes = (size_t)numel * sizeof(float);
        const uint8_t *p = t->data;
        if (bytes && (p < c->image || bytes > (size_t)(c->image + size - p)))
            abort();
        fuzz_touch(p, bytes);
        if (rg_checkpoint_find(c, t->name) == NULL)
            abort();
    }
    char buf[64];
    rg_checkpoint_config_get(c, "epoch", buf, sizeof buf);
    rg_checkpoint_config_get(c, "model", buf, 1);
    rg_checkpoint_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 12 || size % 8 == 0)
        read_one(data, size);
    if (size < 12)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    uint32_t crc = (uint32_t)crc32(crc32(0, NULL, 0), fixed, (uInt)(size - 4));
    for (int k = 0; k < 4; k++)
        fixed[size - 4 + k] = (uint8_t)(crc >> (8 * k));
    if (size % 8 != 0 || memcmp(fixed, data, size) != 0)
        read_one(fixed, size);
    free(fixed);
    return 0;
}
