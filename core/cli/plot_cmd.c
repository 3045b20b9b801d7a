/* regula plot FILE.jsonl -o curves.png: learning curves from a metrics file
 * (train --metrics) or a sweep file (regula sweep), drawn by core/plot. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli_error.h"
#include "../plot/plot.h"
#include "args.h"
#include "cli.h"

static const char usage[] =
    "usage: regula plot FILE.jsonl -o OUT.png [options]\n"
    "       regula plot RUN1.jsonl RUN2.jsonl ... -o OUT.png [--label TEXT ...]\n"
    "\n"
    "Draws learning curves from a JSON Lines file (one object per line) as a PNG\n"
    "for a report. The kind of plot follows from the records (\"trial\" -> sweep):\n"
    "\n"
    "  metrics  what `regula train --metrics FILE` writes, one record per epoch:\n"
    "           epoch, train_loss, train_accuracy, val_loss, val_accuracy (null or\n"
    "           absent without a validation split); other keys are ignored.\n"
    "           Two panels, loss and accuracy against epoch, train (blue) against\n"
    "           validation (orange). The best epoch, lowest val_loss, is a red\n"
    "           dashed line, labelled with its value. Null, NaN and missing values\n"
    "           are skipped; a repeated epoch keeps its last record.\n"
    "  sweep    what `regula sweep` writes, one record per trial: trial, params\n"
    "           {name: value, ...}, val_accuracy, val_loss, status. The metric\n"
    "           against the swept parameter: a point per trial, a line through\n"
    "           the trials sorted by x, the best trial ringed in red and named\n"
    "           in the legend with its value and parameters.\n"
    "           Trials whose status is not \"ok\" or without the metric are skipped.\n"
    "           When other parameters vary too, each combination of their values\n"
    "           is its own series, named in the legend.\n"
    "  compare  two or more metrics files (up to 10): the runs overlaid, one colour\n"
    "           each, in panels for the loss (validation a line, training a line\n"
    "           with dots), the validation accuracy, the learning rate and each\n"
    "           regularizer's penalty. The legend names each run by its --label (in\n"
    "           the order of the files), else by the regularizers and augmenters its\n"
    "           metrics file records; the title says the model and data when the\n"
    "           runs share them.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  the PNG to write (required)\n"
    "  --label TEXT       compare: the next run's name in the legend (repeatable)\n"
    "  --title TEXT       title above the plot (default: the input file's name)\n"
    "  --width PX         image width in pixels, 200..8000\n"
    "                     (default 1200 for metrics, 800 for a sweep)\n"
    "  --height PX        image height in pixels, 200..8000 (default 500)\n"
    "  --log-y            y on a log scale: the loss panel (metrics) or the metric\n"
    "                     (sweep); all its values must be > 0\n"
    "  --linear-y         y on a linear scale (default for a sweep; for metrics the\n"
    "                     loss is on a log scale when all losses are > 0 and span\n"
    "                     more than a factor of 100, accuracy is always linear)\n"
    "sweep only:\n"
    "  --param NAME       the parameter on the x axis (default: the first numeric\n"
    "                     parameter in \"params\" that varies across trials; \"trial\"\n"
    "                     plots against the trial number)\n"
    "  --metric KEY       the value on the y axis (default val_accuracy); the best\n"
    "                     trial has the highest value, or the lowest when KEY\n"
    "                     contains \"loss\"\n"
    "  --log-x            x on a log scale (all values must be > 0); default when\n"
    "                     all values are > 0 and span more than a factor of 20\n"
    "  --linear-x         x on a linear scale\n"
    "\n"
    "Errors (missing or empty file, a malformed line with its number, nothing to\n"
    "plot) are one line on stderr and a non-zero exit status.\n";

static int set_scale(rg_plot_scale *slot, rg_plot_scale v, const char *flag)
{
    if (*slot != RG_PLOT_SCALE_AUTO && *slot != v)
        return rg_cli_fail(2, "plot: %s conflicts with an earlier scale option", flag);
    *slot = v;
    return 0;
}

int rg_cmd_plot(int argc, char **argv)
{
    rg_plot_options o = {0};
    const char *in = NULL, *out = NULL;
    enum { MAX_RUNS = 10 };
    const char *ins[MAX_RUNS + 1], *labels[MAX_RUNS + 1];
    int nin = 0, nlabels = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        int rc = -1;
        if (!strcmp(a, "--log-x"))
            rc = set_scale(&o.x_scale, RG_PLOT_SCALE_LOG, a);
        else if (!strcmp(a, "--linear-x"))
            rc = set_scale(&o.x_scale, RG_PLOT_SCALE_LINEAR, a);
        else if (!strcmp(a, "--log-y"))
            rc = set_scale(&o.y_scale, RG_PLOT_SCALE_LOG, a);
        else if (!strcmp(a, "--linear-y"))
            rc = set_scale(&o.y_scale, RG_PLOT_SCALE_LINEAR, a);
        if (rc > 0)
            return rc;
        if (rc == 0)
            continue;
        if (a[0] != '-' || !strcmp(a, "-")) {
            if (nin == MAX_RUNS)
                return rg_cli_fail(2, "plot: at most %d input files", MAX_RUNS);
            ins[nin++] = a;
            in = ins[0];
            continue;
        }
        static const char *valued[] = {"-o", "--output", "--title", "--width", "--height",
                                       "--param", "--metric", "--label", NULL};
        int known = 0;
        for (int k = 0; valued[k] && !known; k++)
            known = !strcmp(a, valued[k]);
        if (!known)
            return rg_cli_fail(2, "plot: unknown option '%s' (see regula plot --help)", a);
        if (i + 1 >= argc)
            return rg_cli_fail(2, "plot: %s needs a value (see regula plot --help)", a);
        const char *v = argv[++i];
        int64_t n = 0;
        rg_status st = RG_OK;
        if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--title"))
            o.title = v;
        else if (!strcmp(a, "--param"))
            o.param = v;
        else if (!strcmp(a, "--metric"))
            o.metric = v;
        else if (!strcmp(a, "--label") && nlabels < MAX_RUNS)
            labels[nlabels++] = v;
        else if ((st = rg_arg_int(a, v, RG_PLOT_MIN_SIZE, RG_PLOT_MAX_SIZE, &n)) == RG_OK) {
            if (!strcmp(a, "--width"))
                o.width = (int)n;
            else
                o.height = (int)n;
        }
        if (st != RG_OK)
            return rg_cli_fail(2, "plot: %s", rg_cli_error_message());
    }
    if (!in)
        return rg_cli_fail(2, "plot: expected an input FILE.jsonl (see regula plot --help)");
    if (!out)
        return rg_cli_fail(2, "plot: expected -o OUT.png (see regula plot --help)");

    if (nlabels && nlabels != nin)
        return rg_cli_fail(2, "plot: %d --label for %d input files (one each, in order)",
                           nlabels, nin);
    rg_plot_info info;
    rg_status st = nin > 1 ? rg_plot_compare(ins, nlabels ? labels : NULL, nin, &o, out, &info)
                           : rg_plot_file(in, out, &o, &info);
    rg_plot_release_caches();
    if (st != RG_OK)
        return rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "plot: %s", rg_cli_error_message());
    if (nin > 1) {
        printf("wrote %s (%dx%d): %d runs in %d panels\n", out, info.width, info.height,
               info.series, info.npanels);
    } else if (info.kind == RG_PLOT_METRICS) {
        printf("wrote %s (%dx%d): %d epoch%s", out, info.width, info.height, info.points,
               info.points == 1 ? "" : "s");
        if (isfinite(info.best_x))
            printf(", best epoch %g (val_loss %.4g)", info.best_x, info.best_y);
        printf("%s\n", info.y[0].log ? ", loss on a log scale" : "");
    } else {
        printf("wrote %s (%dx%d): %s against %s%s, %d trial%s in %d series", out, info.width,
               info.height, info.metric, info.param, info.x[0].log ? " (log scale)" : "",
               info.points, info.points == 1 ? "" : "s", info.series);
        if (info.skipped)
            printf(", %d skipped", info.skipped);
        printf(", best trial %d (%.4g)\n", info.best_trial, info.best_y);
    }
    return 0;
}
