/* IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
 *
 * Only unsigned-byte data is accepted: images with 3 dims (n, rows, cols),
 * loaded as n x 1 x rows x cols, and labels with 1 dim (n). Error messages
 * name the file and a byte offset in the decompressed stream, i.e. the
 * offset a user sees in the file after gunzip. */
#ifndef RG_DATASETS_IDX_H
#define RG_DATASETS_IDX_H

#include "dataset.h"
#include "regula/status.h"

/* Reads an images file (3 dims: n, rows, cols -> c = 1) and a labels file
 * (1 dim: n) that must agree on n. On failure *out is NULL and
 * rg_error_message() says why. */
rg_status rg_idx_load(const char *images_path, const char *labels_path, rg_dataset **out);

/* dir contains <split>-images-idx3-ubyte[.gz] and
 * <split>-labels-idx1-ubyte[.gz]; for each file the raw name is tried first,
 * then .gz. split is "train" or "t10k". */
rg_status rg_dataset_open_idx(const char *dir, const char *split, rg_dataset **out);

#endif
