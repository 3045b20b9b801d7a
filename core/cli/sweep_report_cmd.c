/* regula sweep report DIR -o report.png: what a finished sweep found, as a
 * text summary on stdout and a figure (core/plot/report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_error.h"
#include "../plot/report.h"
#include "args.h"
#include "cli.h"
#include "sweep.h"

static const char usage[] =
    "usage: regula sweep report DIR -o report.png [--metric val_accuracy|val_loss]\n"
    "                           [--width PX] [--height PX]\n"
    "\n"
    "Reads DIR/sweep.jsonl and the per-epoch metrics of every trial (DIR/trial-N.metrics.jsonl,\n"
    "or DIR/trial-N-sK.metrics.jsonl per seed), averages each trial's curves over its seeds\n"
    "and prints which trials overfit and which underfit:\n"
    "  overfit   the validation loss ended more than 5% above its lowest, two or more\n"
    "            epochs after it, while the training loss kept falling\n"
    "  underfit  the last training loss is 1.5x or more the lowest last training loss of\n"
    "            the sweep, and the validation loss is at most 10% above it\n"
    "  (only finished trials with 3 or more epochs of curves are judged: one stopped by\n"
    "  --halving would look underfit beside them). Then the regularization path of every swept numeric parameter: per value\n"
    "  the best trial with it, its metric (± sd over seeds) and verdict, and where the\n"
    "  winner sits (too little regularization overfits, too much underfits).\n"
    "\n"
    "The PNG (default 1200x900): the paths on top (metric against the parameter, error\n"
    "bars of one sd, the winner ringed in red, a dashed line for the trials with the\n"
    "parameter off or 0 on a log axis), below them the validation loss and accuracy of\n"
    "every trial per epoch: winner red (its training loss dashed), overfit orange,\n"
    "underfit blue, the others grey.\n"
    "\n"
    "  -o, --output FILE  the PNG to write (required)\n"
    "  --metric M         val_accuracy (default) or val_loss for the path\n"
    "  --width PX, --height PX  200..8000\n";

int rg_cmd_sweep_report(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *metric = NULL;
    int width = 0, height = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (a[0] != '-') {
            if (dir)
                return rg_cli_fail(2, "sweep report: one DIR expected, got '%s' and '%s'", dir, a);
            dir = a;
            continue;
        }
        if (strcmp(a, "-o") && strcmp(a, "--output") && strcmp(a, "--metric") &&
            strcmp(a, "--width") && strcmp(a, "--height"))
            return rg_cli_fail(2, "sweep report: unknown option '%s' (see regula sweep report "
                               "--help)", a);
        if (i + 1 >= argc)
            return rg_cli_fail(2, "sweep report: %s needs a value", a);
        const char *v = argv[++i];
        int64_t n;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            out = v;
        } else if (!strcmp(a, "--metric")) {
            if (strcmp(v, "val_accuracy") && strcmp(v, "val_loss"))
                return rg_cli_fail(2, "sweep report: --metric %s: expected val_accuracy or "
                                   "val_loss", v);
            metric = v;
        } else {
            if (rg_arg_int(a, v, RG_PLOT_MIN_SIZE, RG_PLOT_MAX_SIZE, &n) != RG_OK)
                return rg_cli_fail(2, "sweep report: %s", rg_cli_error_message());
            if (!strcmp(a, "--width"))
                width = (int)n;
            else
                height = (int)n;
        }
    }
    if (!dir)
        return rg_cli_fail(2, "sweep report: expected the sweep's DIR (see regula sweep report "
                           "--help)");
    if (!out)
        return rg_cli_fail(2, "sweep report: expected -o report.png");
    rg_report *rep = NULL;
    rg_status st = rg_report_load(dir, metric, &rep);
    if (st != RG_OK)
        return rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "sweep report: %s",
                           rg_cli_error_message());
    char *text = rg_report_text(rep);
    rg_report_info info;
    st = rg_report_draw(rep, out, width, height, &info);
    rg_report_destroy(rep);
    rg_plot_release_caches();
    if (!text) {
        return rg_cli_fail(1, "out of memory");
    }
    fputs(text, stdout);
    free(text);
    if (st != RG_OK)
        return rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "sweep report: %s",
                           rg_cli_error_message());
    printf("\nwrote %s (%dx%d): %d path panel%s, curves of %d trials\n", out, info.width,
           info.height, info.npanels - 2, info.npanels == 3 ? "" : "s", info.curves);
    return 0;
}
