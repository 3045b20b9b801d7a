/* CSV image sets: one grayscale image per line, "label,p0,p1,...".
 *
 * Fields are integers 0..255 (spaces or tabs around a field are allowed);
 * the pixels of a row are the image in row-major order, c = 1. The first
 * line is a header, and skipped, when its first field is not an integer
 * (so "-1,..." is a data row with a bad label, not a header). LF or CRLF
 * line ends, a UTF-8 byte-order mark at the start and a missing final
 * newline are accepted; blank lines only at the end of the file. Rows and
 * columns in messages are 1-based and count the header and the label:
 * column 1 is the label, column 2 is p0. */
#ifndef RG_DATASETS_CSV_H
#define RG_DATASETS_CSV_H

#include <stdint.h>

#include "dataset.h"
#include "regula/status.h"

/* h and w give the image shape (h * w pixel columns per row); both 0 infer
 * a square side from the first data row's column count, refused when the
 * count is not a square. num_classes is max label + 1. On failure *out is
 * NULL and rg_error_message() names the file, row, column and what was
 * expected. */
rg_status rg_dataset_open_csv(const char *path, int64_t h, int64_t w, rg_dataset **out);

#endif
