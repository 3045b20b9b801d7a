/* libFuzzer harness for the PNG decoder (datasets/png.c, rg_png_read_image).
 *
 * Input: a PNG file. The size asked for is the IHDR's own width x height when it
 * is at most 512 x 512 (else 8 x 8, which is then refused as a different size);
 * bit 0 of the last input byte picks 1 or 3 channels, bit 1 asks for a center
 * crop to half the size, so the conversion and crop paths run too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz_util.h"
#include "pngfolder.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t w = 8, h = 8, c = 1;
    int crop = 0;
    if (size >= 24) {
        uint32_t iw = be32(data + 16), ih = be32(data + 20);
        if (iw >= 1 && iw <= 512 && ih >= 1 && ih <= 512) {
            w = iw;
            h = ih;
        }
    }
    if (size > 0) {
        c = (data[size - 1] & 1) ? 3 : 1;
        if (data[size - 1] & 2) {
            crop = 1;
            w = w / 2 ? w / 2 : 1;
            h = h / 2 ? h / 2 : 1;
        }
    }
    const char *path = fuzz_write(0, ".png", data, size);
    uint8_t *planes = malloc((size_t)(c * h * w));
    if (!planes)
        return 0;
    rg_status st = rg_png_read_image(path, c, h, w, crop, planes);
    FUZZ_CHECK_MESSAGE(st);
    if (st == RG_OK)
        fuzz_touch(planes, (size_t)(c * h * w)); /* MSan would check it is all written */
    free(planes);
    return 0;
}
