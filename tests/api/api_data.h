/* Synthetic data for the embedding API tests: 1x6x6 images of three classes, class k
 * a bright band on rows 2k and 2k+1 over uniform noise. Learnable in a few epochs, so a
 * test can tell a trained model (accuracy near 1) from an untrained one (near 1/3). */
#ifndef RG_TESTS_API_DATA_H
#define RG_TESTS_API_DATA_H

#include <stdint.h>
#include <stdlib.h>

#include "regula/regula.h"

#define API_PX 36

static inline void api_make_images(int64_t n, uint32_t seed, float *x, int32_t *y)
{
    uint32_t s = seed * 2654435761u + 1u;
    for (int64_t i = 0; i < n; i++) {
        int32_t k = (int32_t)(i % 3);
        y[i] = k;
        for (int p = 0; p < API_PX; p++) {
            s = s * 1664525u + 1013904223u;
            float noise = (float)(s >> 8) / 16777216.0f * 0.6f;
            int row = p / 6;
            x[i * API_PX + p] = noise + (row / 2 == k ? 0.4f : 0.0f);
        }
    }
}

/* A dataset of n such images, copied into the library. */
static inline rg_dataset *api_dataset(rg_context *ctx, int64_t n, uint32_t seed)
{
    float *x = malloc((size_t)n * API_PX * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    api_make_images(n, seed, x, y);
    rg_dataset *ds = NULL;
    rg_dataset_from_memory(ctx, n, 1, 6, 6, RG_PIXELS_F32, x, y, 3, RG_MEMORY_COPY, &ds);
    free(x);
    free(y);
    return ds;
}

#endif
