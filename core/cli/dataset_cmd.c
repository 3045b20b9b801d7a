/* regula dataset export SRC --png DIR: write a dataset as PNG folders, so
 * users see the format and tests can use real images. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_error.h"
#include "args.h"
#include "cli.h"
#include "regula/regula.h"

static const char usage[] =
    "usage: regula dataset export SRC --png DIR [--limit N]\n"
    "\n"
    "Writes the training and test parts of SRC (fashion-mnist, idx:DIR, png:DIR,\n"
    "csv:DIR) as DIR/train/<class>/*.png and DIR/test/<class>/*.png, the layout\n"
    "'regula train --data png:DIR' reads. --limit N writes only the first N\n"
    "images of each part. DIR must not exist or be empty.\n";

/* One part (train or test) of src into dir/part. */
static rg_status export_part(rg_context *ctx, const char *src, const char *dir, const char *part,
                             int64_t limit, int64_t *count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, part);
    rg_dataset *ds = NULL;
    rg_status st = rg_dataset_open(ctx, src, part, NULL, &ds);
    if (st == RG_OK)
        st = rg_dataset_write_png(ds, path, limit);
    if (st == RG_OK)
        rg_dataset_shape(ds, count, NULL, NULL, NULL, NULL);
    if (st != RG_OK)
        rg_cli_error_set(st, "%s", rg_context_error(ctx));
    rg_dataset_destroy(ds);
    if (limit > 0 && *count > limit)
        *count = limit;
    return st;
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
                return rg_cli_fail(2, "%s", rg_cli_error_message());
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
    rg_context *ctx = NULL;
    if (rg_cli_context(0, &ctx) != RG_OK)
        return rg_cli_fail(1, "%s", rg_cli_error_message());
    rg_status st = RG_OK;
    int64_t ntrain = 0, ntest = 0;
    if (mkdir(png, 0777) != 0 && errno != EEXIST)
        st = rg_cli_error_set(RG_ERR_IO, "--png %s: cannot create: %s", png, strerror(errno));
    if (st == RG_OK)
        st = export_part(ctx, src, png, "train", limit, &ntrain);
    if (st == RG_OK)
        st = export_part(ctx, src, png, "test", limit, &ntest);
    if (st == RG_OK)
        printf("wrote %lld training and %lld test images of %s to %s/{train,test}\n",
               (long long)ntrain, (long long)ntest, src, png);
    rg_context_destroy(ctx);
    return st == RG_OK ? 0 : rg_cli_fail(1, "%s", rg_cli_error_message());
}
