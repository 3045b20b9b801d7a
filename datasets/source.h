/* The data sources the command line accepts, each giving a training and a
 * test set:
 *   fashion-mnist   Debian's dataset-fashion-mnist ($REGULA_DATA overrides)
 *   idx:DIR         DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
 *   png:DIR         DIR/train/<class>/NAME.png and DIR/test/<class>/NAME.png
 *   csv:DIR         DIR/train.csv and DIR/test.csv (label,p0,p1,... rows)
 * In the PNG and CSV layouts the test part may be missing when only a
 * training set is wanted (export, or --data-no-test). */
#ifndef RG_DATASETS_SOURCE_H
#define RG_DATASETS_SOURCE_H

#include <stddef.h>

#include "dataset.h"
#include "regula/status.h"

#define RG_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct rg_data_options {
    int center_crop; /* png: crop larger images to the first image's size */
    int channels;    /* png: 0 as stored, 1 gray, 3 RGB */
} rg_data_options;

/* Opens both parts; `where` receives the resolved directory. */
rg_status rg_source_open(const char *src, const rg_data_options *opt, rg_dataset **train,
                           rg_dataset **test, char *where, size_t cap);
/* Fashion-MNIST's class names, in label order. */
extern const char *const rg_fashion_mnist_classes[10];

#endif
