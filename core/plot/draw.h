/* Drawing helpers shared by the two plot kinds (private to core/plot): a
 * figure on a cairo image surface, panels with axes, series, legends.
 * Sizes are in "design pixels" of the default figure, multiplied by the
 * figure's scale so a larger PNG gets proportionally larger text. */
#ifndef RG_PLOT_DRAW_H
#define RG_PLOT_DRAW_H

#include <cairo.h>

#include "plot.h"

#define RG_FONT_TICK 12.0
#define RG_FONT_AXIS 14.0
#define RG_FONT_TITLE 18.0
#define RG_FONT_LEGEND 12.5
#define RG_FONT_NOTE 12.5

#define RG_COLOR_TEXT 0x222222
#define RG_COLOR_FRAME 0x555555
#define RG_COLOR_GRID 0xe6e6e6

typedef struct rg_fig {
    cairo_surface_t *surface;
    cairo_t *cr;
    int width, height;
    double s; /* scale: 1 at the default size of the plot kind */
} rg_fig;

/* A white RGB24 canvas; `across` panels side by side set the scale. */
rg_status rg_fig_create(rg_fig *f, int width, int height, int across);
rg_status rg_fig_write(rg_fig *f, const char *path);
void rg_fig_destroy(rg_fig *f);

void rg_draw_color(rg_fig *f, unsigned rgb);
/* Text at (x, y) anchored by ax (0 left, .5 centre, 1 right) and ay (0 top,
 * .5 middle, 1 baseline); sizes in design pixels. Returns the width drawn. */
double rg_draw_text(rg_fig *f, const char *text, double size, int bold, double x, double y,
                    double ax, double ay);
double rg_text_width(rg_fig *f, const char *text, double size, int bold);
/* The title centred at the top; returns the y below it. */
double rg_draw_title(rg_fig *f, const char *title);

/* The plot area left inside `box` once the y tick labels (of axis y), the
 * axis titles, the x tick labels and `top` design pixels above are placed. */
rg_plot_rect rg_layout_area(rg_fig *f, rg_plot_rect box, const rg_plot_axis *y, double top);
int rg_area_ok(rg_plot_rect a);
double rg_map_x(rg_plot_rect a, const rg_plot_axis *x, double v);
double rg_map_y(rg_plot_rect a, const rg_plot_axis *y, double v);
/* Grid, frame, ticks with labels and both axis titles. */
void rg_draw_axes(rg_fig *f, rg_plot_rect a, const rg_plot_axis *x, const rg_plot_axis *y,
                  const char *xtitle, const char *ytitle);

/* Pixel positions the legend should not cover. */
typedef struct rg_obstacles {
    int n, cap;
    double *xy;
} rg_obstacles;
void rg_obstacles_add(rg_obstacles *o, double x, double y);
void rg_obstacles_free(rg_obstacles *o);

/* A polyline through the points with finite x and y (a non-finite value
 * breaks the line), dots at the points when `dots`, isolated points always
 * dotted. Samples the drawn path into `obst` when it is not NULL. */
void rg_draw_series(rg_fig *f, rg_plot_rect a, const rg_plot_axis *x, const rg_plot_axis *y,
                    const double *xs, const double *ys, int n, unsigned color, int dots,
                    rg_obstacles *obst);
/* A dashed vertical line over the full height of the area, at pixel x
 * (sampled into `obst` when not NULL). */
void rg_draw_vline_dashed(rg_fig *f, rg_plot_rect a, double px, unsigned color,
                          rg_obstacles *obst);
/* The pixel column a vertical line of the dashed style covers fully. */
double rg_vline_snap(rg_fig *f, double px);
void rg_draw_ring(rg_fig *f, double px, double py, double radius, unsigned color);

typedef enum rg_legend_style {
    RG_LEGEND_LINE,
    RG_LEGEND_LINE_DOT,
    RG_LEGEND_DASH,
    RG_LEGEND_RING
} rg_legend_style;
typedef struct rg_legend_entry {
    const char *label;
    unsigned color;
    rg_legend_style style;
} rg_legend_entry;
void rg_legend_size(rg_fig *f, const rg_legend_entry *e, int n, double *w, double *h);
/* A boxed legend with its top left corner at (x, y). */
void rg_draw_legend_at(rg_fig *f, double x, double y, const rg_legend_entry *e, int n);
/* A boxed legend inside `a` where it covers the fewest obstacles. */
void rg_draw_legend(rg_fig *f, rg_plot_rect a, const rg_legend_entry *e, int n,
                    const rg_obstacles *obst);

/* The two plot kinds, called by rg_plot_file with a non-empty file. */
rg_status rg_plot_metrics(const char *path, const rg_jsonl *j, const rg_plot_options *o,
                          const char *out, rg_plot_info *info);
rg_status rg_plot_sweep(const char *path, const rg_jsonl *j, const rg_plot_options *o,
                        const char *out, rg_plot_info *info);

#endif
