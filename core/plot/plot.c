/* rg_plot_file: read the JSON Lines, pick the kind from its keys, draw. */
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <string.h>

#include "../cli/cli_error.h"
#include "draw.h"
#include "plot.h"

const unsigned rg_plot_palette[RG_PLOT_PALETTE_SIZE] = {
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0x9467bd, 0x8c564b,
    0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf, 0x393b79,
};

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

rg_status rg_plot_file(const char *in_path, const char *out_png, const rg_plot_options *opt,
                       rg_plot_info *info)
{
    rg_plot_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    info->best_x = info->best_y = NAN;
    info->best_trial = -1;
    rg_plot_options o = {0};
    if (opt)
        o = *opt;
    if ((o.width && (o.width < RG_PLOT_MIN_SIZE || o.width > RG_PLOT_MAX_SIZE)) ||
        (o.height && (o.height < RG_PLOT_MIN_SIZE || o.height > RG_PLOT_MAX_SIZE)))
        return rg_cli_error_set(RG_ERR_INVALID, "image size %dx%d: each side must be in [%d, %d]",
                            o.width, o.height, RG_PLOT_MIN_SIZE, RG_PLOT_MAX_SIZE);
    if (!o.title)
        o.title = base_name(in_path);

    rg_jsonl *j = NULL;
    rg_status st = rg_jsonl_read(in_path, &j);
    if (st != RG_OK)
        return st;
    info->records = j->nrecords;
    if (j->nrecords == 0) {
        rg_jsonl_destroy(j);
        return rg_cli_error_set(RG_ERR_FORMAT, "%s: empty file (no JSON records to plot)", in_path);
    }
    int sweep = 0;
    for (int i = 0; i < j->nrecords && !sweep; i++)
        sweep = rg_jsonl_get(&j->records[i], NULL, "trial") != NULL;
    info->kind = sweep ? RG_PLOT_SWEEP : RG_PLOT_METRICS;
    st = sweep ? rg_plot_sweep(in_path, j, &o, out_png, info)
               : rg_plot_metrics(in_path, j, &o, out_png, info);
    rg_jsonl_destroy(j);
    return st;
}

void rg_plot_release_caches(void)
{
    /* cairo's toy font faces hold fontconfig patterns; once cairo lets go,
     * fontconfig can free its configuration (cairo never calls FcFini). */
    cairo_debug_reset_static_data();
    FcFini();
}
