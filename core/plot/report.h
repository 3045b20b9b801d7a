/* regula sweep report DIR: what a sweep found, for a person deciding what to
 * keep. Reads DIR/sweep.jsonl (best first, as regula sweep writes it) and the
 * per-epoch metrics of every run (DIR/trial-N.metrics.jsonl, or
 * DIR/trial-N-sK.metrics.jsonl for seed K), averages each trial's curves over
 * its seeds, and says which trials overfit and which underfit:
 *   overfit:  the validation loss ended more than 5% above its lowest, at
 *             least two epochs after it, while the training loss kept falling
 *             (the note regula train prints per epoch, on the mean curves);
 *   underfit: the last training loss is at least 1.5 times the lowest last
 *             training loss of the sweep's trials and the validation loss is
 *             not above it by more than 10% (no gap: the model does not even
 *             fit the training data as the best-fitting trial does).
 * Only finished trials (status ok) with three epochs or more are judged: a
 * trial successive halving stopped has short curves, underfit by comparison.
 * The figure: the regularization path (the metric against each swept
 * numeric parameter, the best trial per value with ± one sd over seeds, the
 * winner ringed) above the validation loss and accuracy curves of every
 * trial (winner red, overfit orange, underfit blue, the rest grey). */
#ifndef RG_PLOT_REPORT_H
#define RG_PLOT_REPORT_H

#include "plot.h"

typedef enum rg_fit_verdict {
    RG_FIT_NEITHER,
    RG_FIT_OVERFIT,
    RG_FIT_UNDERFIT,
    RG_FIT_UNJUDGED /* fewer than three epochs, or no validation loss */
} rg_fit_verdict;

#define RG_REPORT_COLOR_OVERFIT 0xff7f0e  /* orange */
#define RG_REPORT_COLOR_UNDERFIT 0x1f77b4 /* blue */
#define RG_REPORT_COLOR_OTHER 0xb0b0b0    /* grey */
#define RG_REPORT_MAX_PATHS 3
#define RG_REPORT_WIDTH 1200
#define RG_REPORT_HEIGHT 900

typedef struct rg_report_trial {
    int number;
    const rg_jsonl_record *r; /* its line of sweep.jsonl */
    const char *status;       /* "ok", "stopped", "failed" */
    double metric, sd;        /* the metric (mean over seeds) and its sd (0: one seed) */
    int seeds;                /* metrics files found */
    int n;                    /* epochs of the mean curves */
    double *epoch, *train_loss, *val_loss, *val_accuracy;
    int best;                 /* index of the lowest validation loss, -1 if none */
    rg_fit_verdict verdict;
    char label[256];          /* "key=value key=value" */
} rg_report_trial;

typedef struct rg_report {
    char dir[4096];
    const char *metric; /* val_accuracy or val_loss */
    int higher;         /* 1 for accuracy */
    rg_jsonl *sweep;
    int n;
    rg_report_trial *t; /* in the order of sweep.jsonl */
    int winner;         /* index in t of the first trial with status ok and the metric; -1 */
    int npaths;
    char paths[RG_REPORT_MAX_PATHS][128]; /* numeric parameters that vary */
    double lowest_train_loss;             /* over the trials' last epochs */
} rg_report;

typedef struct rg_report_info {
    int width, height;
    int npanels;
    rg_plot_rect area[RG_REPORT_MAX_PATHS + 2]; /* paths first, then loss and accuracy curves */
    rg_plot_axis x[RG_REPORT_MAX_PATHS + 2], y[RG_REPORT_MAX_PATHS + 2];
    double winner_x[RG_REPORT_MAX_PATHS], winner_y; /* the winner's point in each path panel */
    int curves; /* trials drawn in the curve panels */
} rg_report_info;

/* metric: "val_accuracy" (NULL) or "val_loss". Errors name the file and
 * line: no DIR/sweep.jsonl, a malformed line, a metrics file that is not
 * JSON Lines. A trial without metrics files is kept, unjudged. */
rg_status rg_report_load(const char *dir, const char *metric, rg_report **out);
void rg_report_destroy(rg_report *r);
/* The text summary; malloc'd, NULL when out of memory. */
char *rg_report_text(const rg_report *r);
/* The figure as a PNG; width/height 0 for the defaults. */
rg_status rg_report_draw(const rg_report *r, const char *png, int width, int height,
                         rg_report_info *info);

#endif
