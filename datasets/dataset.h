/* In-memory labelled image set, the form every loader produces and the
 * trainer consumes. */
#ifndef RG_DATASETS_DATASET_H
#define RG_DATASETS_DATASET_H

#include <stdint.h>

#include "regula/regula.h"

typedef struct rg_dataset {
    int64_t n, c, h, w;      /* images n x c x h x w, uint8 pixels */
    int32_t num_classes;     /* max label + 1, at least 1 */
    /* Kept as uint8 and converted per batch: Fashion-MNIST as floats would
     * cost 190 MB. Both arrays come from malloc, so any loader's result can
     * be released by rg_dataset_destroy. */
    uint8_t *pixels;         /* n*c*h*w bytes, image-major, then c, h, w */
    uint8_t *labels;         /* n bytes */
    /* NULL, or num_classes malloc'ed names (entries may be NULL) from a
     * loader that knows them, e.g. the PNG folder's class sub-folders. */
    char **class_names;
    /* Datasets from memory (rg_dataset_from_memory): float32 pixels read as given,
     * instead of `pixels`; borrowed: pixels/fpixels belong to the caller. */
    float *fpixels;
    int borrowed;
    struct rg_context *ctx;
} rg_dataset;

/* NULL-safe; frees pixels, labels, class_names (each name and the array)
 * and the struct. */
void rg_dataset_destroy(rg_dataset *ds);

#endif
