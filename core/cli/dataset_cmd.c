/* regula dataset export SRC --png DIR: write a dataset as PNG folders, so
 * users see the format and tests can use real images. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../error.h"
#include "args.h"
#include "cli.h"
#include "source.h"
#include "pngfolder.h"

static const char usage[] =
    "usage: regula dataset export SRC --png DIR [--limit N]\n"
    "\n"
    "Writes the training and test parts of SRC (fashion-mnist, idx:DIR, png:DIR,\n"
    "csv:DIR) as DIR/train/<class>/*.png and DIR/test/<class>/*.png, the layout\n"
    "'regula train --data png:DIR' reads. --limit N writes only the first N\n"
    "images of each part. DIR must not exist or be empty.\n";

static rg_status export_part(const rg_dataset *ds, const char *dir, const char *part,
                             int64_t limit, const char *const *names)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, part);
    rg_dataset view = *ds;
    if (limit > 0 && limit < view.n)
        view.n = limit;
    return rg_dataset_export_png(&view, path, names);
}

int rg_cmd_dataset(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "export") != 0)
        return rg_cli_fail(2, "dataset: expected 'export' (see regula dataset --help)");
    const char *src = NULL, *png = NULL;
    int64_t limit = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--png") && i + 1 < argc)
            png = argv[++i];
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            if (rg_arg_int("--limit", argv[++i], 1, INT64_MAX, &limit) != RG_OK)
                return rg_cli_fail(2, "%s", rg_error_message());
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (argv[i][0] != '-' && !src)
            src = argv[i];
        else
            return rg_cli_fail(2, "dataset export: unexpected argument '%s'", argv[i]);
    }
    if (!src || !png)
        return rg_cli_fail(2, "dataset export: expected SRC and --png DIR (see --help)");
    rg_dataset *train = NULL, *test = NULL;
    char where[4096];
    rg_status st = rg_source_open(src, NULL, &train, &test, where, sizeof where);
    const char *const *names = NULL;
    if (st == RG_OK) {
        if (!strcmp(src, "fashion-mnist"))
            names = rg_fashion_mnist_classes;
        else if (train->class_names)
            names = (const char *const *)train->class_names;
        if (mkdir(png, 0777) != 0 && errno != EEXIST)
            st = rg_error_set(RG_ERR_IO, "--png %s: cannot create: %s", png, strerror(errno));
    }
    if (st == RG_OK)
        st = export_part(train, png, "train", limit, names);
    if (st == RG_OK)
        st = export_part(test, png, "test", limit, names);
    if (st == RG_OK)
        printf("wrote %lld training and %lld test images of %s to %s/{train,test}\n",
               (long long)(limit > 0 && limit < train->n ? limit : train->n),
               (long long)(limit > 0 && limit < test->n ? limit : test->n), src, png);
    rg_dataset_destroy(train);
    rg_dataset_destroy(test);
    return st == RG_OK ? 0 : rg_cli_fail(1, "%s", rg_error_message());
}
