/* Learning-curve plots for reports: `regula plot FILE.jsonl -o curves.png`.
 *
 * Two inputs, both JSON Lines written by the regula command:
 *   - a metrics file (train --metrics), one record per epoch, drawn as a loss
 *     panel and an accuracy panel (train vs validation) with the best epoch
 *     (lowest val_loss) marked;
 *   - a sweep file (regula sweep), one record per trial, drawn as a metric
 *     (validation accuracy by default) against the swept parameter.
 * The kind is taken from the keys: a record with "trial" makes a sweep.
 *
 * Rendering uses cairo's image surface and toy text API; nothing here prints.
 * The colours are part of the interface so tests (and users comparing
 * figures) can find the series in the pixels. */
#ifndef RG_PLOT_PLOT_H
#define RG_PLOT_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "regula/status.h"

/* ---- JSON Lines reader ----------------------------------------------------
 * Each line is parsed by jansson. Tolerant of what a person or another tool
 * might write: blank lines, CRLF, unknown keys, booleans, NaN/Infinity
 * (Python's json.dumps writes them), arrays and deeper objects (validated,
 * kept as RG_JV_OTHER, not usable). Strict about syntax otherwise: a
 * malformed line fails with "FILE:LINE:COLUMN: what jansson says". Only one
 * level of nested object keeps its members; a key given twice keeps its
 * last value. */
typedef enum rg_jv_type {
    RG_JV_NULL,
    RG_JV_NUMBER, /* also true/false (1/0), NaN, Infinity, -Infinity */
    RG_JV_STRING,
    RG_JV_OBJECT, /* one nested level: its members follow with parent set */
    RG_JV_OTHER   /* an array or a deeper object: skipped */
} rg_jv_type;

typedef struct rg_jv_field {
    const char *key;
    rg_jv_type type;
    double number;
    const char *string;
    int parent; /* index of the enclosing RG_JV_OBJECT field, -1 at top level */
} rg_jv_field;

typedef struct rg_jsonl_record {
    int line; /* 1-based line number in the file */
    int nfields;
    rg_jv_field *fields; /* in file order */
} rg_jsonl_record;

typedef struct rg_jsonl {
    int nrecords;
    rg_jsonl_record *records;
    struct json_t *docs_; /* the parsed lines, a jansson array: owns keys and strings */
} rg_jsonl;

/* Reads every non-blank line of `path` as one JSON object. Zero records is
 * not an error here (the plot decides what an empty file means). */
rg_status rg_jsonl_read(const char *path, rg_jsonl **out);
/* The same on text in memory; `name` goes in front of error messages. */
rg_status rg_jsonl_parse(const char *name, const char *text, size_t len, rg_jsonl **out);
void rg_jsonl_destroy(rg_jsonl *j);
/* The field `key` of the top level (object == NULL) or of the nested object
 * `object`; the last one when a key repeats; NULL when absent. */
const rg_jv_field *rg_jsonl_get(const rg_jsonl_record *r, const char *object, const char *key);
/* The number of `key` (NaN when absent, null, or not a number). */
double rg_jsonl_number(const rg_jsonl_record *r, const char *object, const char *key);
/* A record of a metrics file that is not an epoch's: it names its kind in "record" (the run
 * record that opens the file, train --log-every's step records). Per-epoch plots leave
 * them out. */
int rg_jsonl_is_extra(const rg_jsonl_record *r);
/* The string of `key` at the top level; NULL when absent or not a string. */
const char *rg_jsonl_string(const rg_jsonl_record *r, const char *key);

/* ---- axes ------------------------------------------------------------------ */
#define RG_PLOT_MAX_TICKS 32

typedef struct rg_plot_axis {
    double lo, hi; /* data limits of the plot area */
    int log;       /* log10 scale; lo > 0 then */
    int integer;   /* ticks only at whole numbers (epochs) */
    int nticks;
    double ticks[RG_PLOT_MAX_TICKS]; /* labelled ticks, inside [lo, hi] */
    int nminor;
    double minor[RG_PLOT_MAX_TICKS]; /* unlabelled ticks (log axes: 2..9 x 10^k) */
} rg_plot_axis;

/* Limits and ticks for data in [dmin, dmax] (finite; dmin may equal dmax):
 * the range is padded by `pad` of its span on each side (in log units on a
 * log axis) and about `target` labelled ticks chosen at 1, 2, 5 x 10^k (or
 * at decades on a log axis). `log` requires dmin > 0. */
void rg_plot_axis_fit(rg_plot_axis *a, double dmin, double dmax, int log, int integer,
                      double pad, int target);
/* Position of `v` as a fraction of the axis length, 0 at lo and 1 at hi. */
double rg_plot_axis_frac(const rg_plot_axis *a, double v);
/* A short label for tick `v` ("0.25", "1e-4", "2e6", "1000"), given the tick
 * spacing so neighbouring labels differ. */
void rg_plot_format_tick(const rg_plot_axis *a, double v, char *buf, size_t cap);

/* ---- plots ----------------------------------------------------------------- */
typedef enum rg_plot_kind { RG_PLOT_METRICS, RG_PLOT_SWEEP } rg_plot_kind;
typedef enum rg_plot_scale { RG_PLOT_SCALE_AUTO, RG_PLOT_SCALE_LINEAR, RG_PLOT_SCALE_LOG } rg_plot_scale;

/* Defaults: metrics 1200x500 (two panels), sweep 800x500 (one panel). */
#define RG_PLOT_METRICS_WIDTH 1200
#define RG_PLOT_METRICS_HEIGHT 500
#define RG_PLOT_SWEEP_WIDTH 800
#define RG_PLOT_SWEEP_HEIGHT 500
#define RG_PLOT_MIN_SIZE 200
#define RG_PLOT_MAX_SIZE 8000

/* Series colours (0xRRGGBB), the Tableau 10 palette matplotlib users know. */
#define RG_PLOT_COLOR_TRAIN 0x1f77b4 /* blue */
#define RG_PLOT_COLOR_VAL 0xff7f0e   /* orange */
#define RG_PLOT_COLOR_BEST 0xd62728  /* red: the best-epoch line, the best trial */
/* Sweep series take the palette in order (blue first). */
#define RG_PLOT_PALETTE_SIZE 10
extern const unsigned rg_plot_palette[RG_PLOT_PALETTE_SIZE];

typedef struct rg_plot_options {
    int width, height;        /* pixels; 0 selects the kind's default */
    const char *title;        /* NULL: the input's file name */
    const char *param;        /* sweep: x parameter; NULL: the first that varies */
    const char *metric;       /* sweep: y key; NULL: "val_accuracy" */
    rg_plot_scale x_scale;    /* sweep x; AUTO: log when all > 0 and max/min > 20 */
    rg_plot_scale y_scale;    /* metrics loss panel / sweep y; AUTO: log loss when
                                 all > 0 and max/min > 100; sweep y linear */
} rg_plot_options;

typedef struct rg_plot_rect {
    double x0, y0, x1, y1; /* pixels; y0 is the top edge */
} rg_plot_rect;

/* What was drawn, for the CLI's one-line summary and for tests. */
typedef struct rg_plot_info {
    rg_plot_kind kind;
    int width, height;
    int records; /* JSON records read */
    int points;  /* metrics: epochs drawn; sweep: trials drawn */
    int skipped; /* sweep: trials without a finite metric or not "ok" */
    int series;  /* sweep: number of series (1 unless other parameters vary) */
    int npanels;
    rg_plot_rect area[2]; /* plot areas: [0] loss or sweep, [1] accuracy */
    rg_plot_axis x[2], y[2];
    double best_x;   /* best epoch, or the best trial's parameter value; NaN if none */
    double best_y;   /* its val_loss (metrics) or metric (sweep) */
    int best_trial;  /* sweep: the best trial's "trial" number; -1 if none */
    char param[128]; /* sweep: the x parameter ("trial" when no params) */
    char metric[64]; /* sweep: the y key */
} rg_plot_info;

/* Reads `in_path`, draws the plot its records call for and writes `out_png`.
 * `info` may be NULL. Errors: missing or unreadable file, malformed line
 * (with its number), empty file, nothing plottable, an unknown or
 * non-numeric --param, a forced log scale over non-positive values, a PNG
 * that cannot be written. */
/* A grid of images with its labels: cells of cell_w x cell_h pixels, the first at (x0, y0)
 * of the grid; a title per column, a label per row, a caption under it. */
typedef struct rg_grid_layout {
    int rows, cols;
    double x0, y0, cell_w, cell_h;
    const char *const *col_labels, *const *row_labels;
    const char *caption;
} rg_grid_layout;
/* planes: c (1 or 3) planes of h x w bytes, the grid as regula augment composes it. */
rg_status rg_plot_labeled_grid(const uint8_t *planes, int64_t c, int64_t h, int64_t w,
                               const rg_grid_layout *g, const char *out);

/* Several runs' metrics files in one figure (2 to RG_PLOT_PALETTE_SIZE): loss, validation
 * accuracy, learning rate and each regularizer's penalty against epoch, a colour per run
 * (the palette in order), labels[r] (NULL: from the run record) in the legend. */
rg_status rg_plot_compare(const char *const *paths, const char *const *labels, int nruns,
                          const rg_plot_options *o, const char *out, rg_plot_info *info);
rg_status rg_plot_file(const char *in_path, const char *out_png, const rg_plot_options *opt,
                       rg_plot_info *info);
/* Frees the font caches cairo keeps for the life of the process. Only when
 * no other thread is drawing: the CLI calls it before exit so leak checkers
 * (ASan) see a clean process. */
void rg_plot_release_caches(void);

#endif
