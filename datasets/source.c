#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "csv.h"
#include "idx.h"
#include "pngfolder.h"

const char *const rg_fashion_mnist_classes[10] = {
    "tshirt_top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle_boot"};

static rg_status open_pair(const char *kind, const char *dir, const rg_data_options *opt,
                           rg_dataset **train, rg_dataset **test)
{
    char a[4096], b[4096];
    rg_png_options po = {opt ? opt->channels : 0, opt ? opt->center_crop : 0};
    if (!strcmp(kind, "png")) {
        snprintf(a, sizeof a, "%s/train", dir);
        snprintf(b, sizeof b, "%s/test", dir);
        rg_status st = rg_dataset_open_png_dir(a, &po, train);
        if (st == RG_OK && test) {
            /* the test images must match the training images' size */
            rg_png_options tp = po;
            tp.channels = (int)(*train)->c;
            st = rg_dataset_open_png_dir(b, &tp, test);
        }
        if (st != RG_OK)
            rg_error_wrap(st, "data png:%s (expected %s/train/<class>/*.png and "
                              "%s/test/<class>/*.png, as 'regula dataset export' writes)",
                          dir, dir, dir);
        return st;
    }
    snprintf(a, sizeof a, "%s/train.csv", dir);
    snprintf(b, sizeof b, "%s/test.csv", dir);
    rg_status st = rg_dataset_open_csv(a, 0, 0, train);
    if (st == RG_OK && test)
        st = rg_dataset_open_csv(b, (*train)->h, (*train)->w, test);
    return st;
}

rg_status rg_source_open(const char *src, const rg_data_options *opt, rg_dataset **train,
                           rg_dataset **test, char *where, size_t cap)
{
    *train = NULL;
    if (test)
        *test = NULL;
    rg_status st;
    if (!strcmp(src, "fashion-mnist") || !strncmp(src, "idx:", 4)) {
        int fm = !strcmp(src, "fashion-mnist");
        const char *env = getenv("REGULA_DATA");
        if (fm)
            snprintf(where, cap, "%s", env && *env ? env : RG_FASHION_MNIST_DIR);
        else if (src[4])
            snprintf(where, cap, "%s", src + 4);
        else
            return rg_error_set(RG_ERR_INVALID, "data idx: needs a directory");
        st = rg_dataset_open_idx(where, "train", train);
        if (st == RG_OK && test)
            st = rg_dataset_open_idx(where, "t10k", test);
        if (st != RG_OK && fm)
            rg_error_wrap(st, "Fashion-MNIST (install Debian's dataset-fashion-mnist or set "
                              "REGULA_DATA)");
    } else if ((!strncmp(src, "png:", 4) || !strncmp(src, "csv:", 4)) && src[4]) {
        char kind[4] = {src[0], src[1], src[2], 0};
        snprintf(where, cap, "%s", src + 4);
        st = open_pair(kind, where, opt, train, test);
    } else {
        return rg_error_set(RG_ERR_INVALID,
                            "data %s: expected fashion-mnist, idx:DIR, png:DIR or csv:DIR", src);
    }
    if (st != RG_OK) {
        rg_dataset_destroy(*train);
        *train = NULL;
        if (test) {
            rg_dataset_destroy(*test);
            *test = NULL;
        }
    }
    return st;
}
