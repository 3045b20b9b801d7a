#include "draw.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_error.h"

/* Digit cap height of DejaVu Sans (what "sans-serif" resolves to on Debian)
 * as a fraction of the font size: anchors text on its digits, not on the
 * accents and descenders that vary per string. */
#define CAP 0.73

rg_status rg_fig_create(rg_fig *f, int width, int height, int across)
{
    memset(f, 0, sizeof *f);
    f->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    if (cairo_surface_status(f->surface) != CAIRO_STATUS_SUCCESS) {
        rg_status st = rg_cli_error_set(RG_ERR_NOMEM, "cannot create a %dx%d image: %s", width,
                                    height, cairo_status_to_string(cairo_surface_status(f->surface)));
        cairo_surface_destroy(f->surface);
        f->surface = NULL;
        return st;
    }
    f->cr = cairo_create(f->surface);
    f->width = width;
    f->height = height;
    double s = fmin(width / (600.0 * across), height / 500.0);
    f->s = s < 0.6 ? 0.6 : (s > 4.0 ? 4.0 : s);
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    return RG_OK;
}

static cairo_status_t write_file(void *closure, const unsigned char *data, unsigned int len)
{
    return fwrite(data, 1, len, closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

rg_status rg_fig_write(rg_fig *f, const char *path)
{
    cairo_surface_flush(f->surface);
    if (cairo_status(f->cr) != CAIRO_STATUS_SUCCESS)
        return rg_cli_error_set(RG_ERR_NOMEM, "drawing failed: %s",
                            cairo_status_to_string(cairo_status(f->cr)));
    /* Our own stream, so a bad path gets the system's reason. */
    FILE *out = fopen(path, "wb");
    if (!out)
        return rg_cli_error_set(RG_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    cairo_status_t cs = cairo_surface_write_to_png_stream(f->surface, write_file, out);
    int bad = fclose(out) != 0;
    if (cs != CAIRO_STATUS_SUCCESS || bad)
        return rg_cli_error_set(RG_ERR_IO, "%s: cannot write the PNG: %s", path,
                            cs != CAIRO_STATUS_SUCCESS ? cairo_status_to_string(cs) : "write error");
    return RG_OK;
}

void rg_fig_destroy(rg_fig *f)
{
    if (f->cr)
        cairo_destroy(f->cr);
    if (f->surface)
        cairo_surface_destroy(f->surface);
    memset(f, 0, sizeof *f);
}

void rg_draw_color(rg_fig *f, unsigned rgb)
{
    cairo_set_source_rgb(f->cr, ((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0,
                         (rgb & 255) / 255.0);
}

static void set_font(rg_fig *f, double size, int bold)
{
    cairo_select_font_face(f->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(f->cr, size * f->s);
}

double rg_text_width(rg_fig *f, const char *text, double size, int bold)
{
    cairo_text_extents_t e;
    set_font(f, size, bold);
    cairo_text_extents(f->cr, text, &e);
    return e.x_advance;
}

double rg_draw_text(rg_fig *f, const char *text, double size, int bold, double x, double y,
                    double ax, double ay)
{
    double w = rg_text_width(f, text, size, bold);
    double cap = CAP * size * f->s;
    cairo_move_to(f->cr, x - ax * w, y + (1.0 - ay) * cap);
    cairo_show_text(f->cr, text);
    cairo_new_path(f->cr);
    return w;
}

double rg_draw_title(rg_fig *f, const char *title)
{
    double top = 14 * f->s;
    rg_draw_color(f, RG_COLOR_TEXT);
    /* A title wider than the figure is cut with an ellipsis, not clipped. */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", title);
    double room = f->width - 24 * f->s;
    size_t n = strlen(buf);
    while (n > 4 && rg_text_width(f, buf, RG_FONT_TITLE, 1) > room) {
        /* Step back over UTF-8 continuation bytes so a character is not split. */
        n--;
        while (n > 0 && ((unsigned char)buf[n] & 0xc0) == 0x80)
            n--;
        memcpy(buf + n, "...", 4);
    }
    rg_draw_text(f, buf, RG_FONT_TITLE, 1, f->width / 2.0, top, 0.5, 0.0);
    return top + (RG_FONT_TITLE * CAP + 14) * f->s;
}

/* Room below the area: tick, gap, tick label, gap, axis title. */
static double bottom_room(double s)
{
    return (5 + 6 + RG_FONT_TICK * CAP + 12 + RG_FONT_AXIS * CAP + 6) * s;
}

rg_plot_rect rg_layout_area(rg_fig *f, rg_plot_rect box, const rg_plot_axis *y, double top)
{
    double s = f->s, label_w = 0;
    char buf[64];
    for (int i = 0; i < y->nticks; i++) {
        rg_plot_format_tick(y, y->ticks[i], buf, sizeof buf);
        label_w = fmax(label_w, rg_text_width(f, buf, RG_FONT_TICK, 0));
    }
    rg_plot_rect a;
    a.x0 = floor(box.x0 + RG_FONT_AXIS * 1.1 * s + 10 * s + label_w + 6 * s + 5 * s);
    a.x1 = floor(box.x1 - 14 * s); /* half of the last x tick label */
    a.y0 = floor(box.y0 + top * s);
    a.y1 = floor(box.y1 - bottom_room(s));
    return a;
}

int rg_area_ok(rg_plot_rect a)
{
    return a.x1 - a.x0 >= 20 && a.y1 - a.y0 >= 20;
}

double rg_map_x(rg_plot_rect a, const rg_plot_axis *x, double v)
{
    return a.x0 + rg_plot_axis_frac(x, v) * (a.x1 - a.x0);
}

double rg_map_y(rg_plot_rect a, const rg_plot_axis *y, double v)
{
    return a.y1 - rg_plot_axis_frac(y, v) * (a.y1 - a.y0);
}

/* A 1-pixel line on pixel centres stays crisp. */
static double crisp(double v)
{
    return floor(v) + 0.5;
}

void rg_draw_axes(rg_fig *f, rg_plot_rect a, const rg_plot_axis *x, const rg_plot_axis *y,
                  const char *xtitle, const char *ytitle)
{
    cairo_t *cr = f->cr;
    double s = f->s, tick = 5 * s;
    char buf[64];
    cairo_set_line_width(cr, 1.0);
    cairo_set_dash(cr, NULL, 0, 0);
    rg_draw_color(f, RG_COLOR_GRID);
    for (int i = 0; i < x->nticks; i++) {
        double px = crisp(rg_map_x(a, x, x->ticks[i]));
        cairo_move_to(cr, px, a.y0);
        cairo_line_to(cr, px, a.y1);
    }
    for (int i = 0; i < y->nticks; i++) {
        double py = crisp(rg_map_y(a, y, y->ticks[i]));
        cairo_move_to(cr, a.x0, py);
        cairo_line_to(cr, a.x1, py);
    }
    cairo_stroke(cr);

    rg_draw_color(f, RG_COLOR_FRAME);
    cairo_rectangle(cr, a.x0 + 0.5, a.y0 + 0.5, a.x1 - a.x0 - 1, a.y1 - a.y0 - 1);
    for (int i = 0; i < x->nticks; i++) {
        double px = crisp(rg_map_x(a, x, x->ticks[i]));
        cairo_move_to(cr, px, a.y1);
        cairo_line_to(cr, px, a.y1 + tick);
    }
    for (int i = 0; i < x->nminor; i++) {
        double px = crisp(rg_map_x(a, x, x->minor[i]));
        cairo_move_to(cr, px, a.y1);
        cairo_line_to(cr, px, a.y1 + tick * 0.6);
    }
    for (int i = 0; i < y->nticks; i++) {
        double py = crisp(rg_map_y(a, y, y->ticks[i]));
        cairo_move_to(cr, a.x0, py);
        cairo_line_to(cr, a.x0 - tick, py);
    }
    for (int i = 0; i < y->nminor; i++) {
        double py = crisp(rg_map_y(a, y, y->minor[i]));
        cairo_move_to(cr, a.x0, py);
        cairo_line_to(cr, a.x0 - tick * 0.6, py);
    }
    cairo_stroke(cr);

    rg_draw_color(f, RG_COLOR_TEXT);
    for (int i = 0; i < x->nticks; i++) {
        rg_plot_format_tick(x, x->ticks[i], buf, sizeof buf);
        rg_draw_text(f, buf, RG_FONT_TICK, 0, rg_map_x(a, x, x->ticks[i]), a.y1 + tick + 6 * s,
                     0.5, 0.0);
    }
    double label_w = 0;
    for (int i = 0; i < y->nticks; i++) {
        rg_plot_format_tick(y, y->ticks[i], buf, sizeof buf);
        label_w = fmax(label_w, rg_draw_text(f, buf, RG_FONT_TICK, 0, a.x0 - tick - 6 * s,
                                             rg_map_y(a, y, y->ticks[i]), 1.0, 0.5));
    }
    if (xtitle)
        rg_draw_text(f, xtitle, RG_FONT_AXIS, 0, (a.x0 + a.x1) / 2,
                     a.y1 + tick + 6 * s + RG_FONT_TICK * CAP * s + 12 * s, 0.5, 0.0);
    if (ytitle) {
        cairo_save(cr);
        cairo_translate(cr, a.x0 - tick - 6 * s - label_w - 10 * s, (a.y0 + a.y1) / 2);
        cairo_rotate(cr, -M_PI / 2);
        rg_draw_text(f, ytitle, RG_FONT_AXIS, 0, 0, 0, 0.5, 1.0);
        cairo_restore(cr);
    }
}

void rg_obstacles_free(rg_obstacles *o)
{
    free(o->xy);
    memset(o, 0, sizeof *o);
}

void rg_obstacles_add(rg_obstacles *o, double x, double y)
{
    if (!o)
        return;
    if (o->n == o->cap) {
        int cap = o->cap ? o->cap * 2 : 256;
        double *nx = realloc(o->xy, (size_t)cap * 2 * sizeof *nx);
        if (!nx)
            return; /* the legend only loses a hint */
        o->xy = nx;
        o->cap = cap;
    }
    o->xy[2 * o->n] = x;
    o->xy[2 * o->n + 1] = y;
    o->n++;
}

static int finite_point(const double *xs, const double *ys, int i, const rg_plot_axis *x,
                        const rg_plot_axis *y)
{
    return isfinite(xs[i]) && isfinite(ys[i]) && (!x->log || xs[i] > 0) && (!y->log || ys[i] > 0);
}

void rg_draw_series(rg_fig *f, rg_plot_rect a, const rg_plot_axis *x, const rg_plot_axis *y,
                    const double *xs, const double *ys, int n, unsigned color, int dots,
                    rg_obstacles *obst)
{
    cairo_t *cr = f->cr;
    double s = f->s;
    cairo_save(cr);
    cairo_rectangle(cr, a.x0, a.y0, a.x1 - a.x0, a.y1 - a.y0);
    cairo_clip(cr);
    rg_draw_color(f, color);
    cairo_set_line_width(cr, 2.5 * s);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_dash(cr, NULL, 0, 0);
    int open = 0;
    double lx = 0, ly = 0;
    for (int i = 0; i < n; i++) {
        if (!finite_point(xs, ys, i, x, y)) {
            open = 0;
            continue;
        }
        double px = rg_map_x(a, x, xs[i]), py = rg_map_y(a, y, ys[i]);
        if (open) {
            cairo_line_to(cr, px, py);
            double len = hypot(px - lx, py - ly);
            int steps = (int)(len / (8 * s)) + 1;
            for (int k = 1; k <= steps; k++)
                rg_obstacles_add(obst, lx + (px - lx) * k / steps, ly + (py - ly) * k / steps);
        } else {
            cairo_move_to(cr, px, py);
            rg_obstacles_add(obst, px, py);
        }
        open = 1;
        lx = px;
        ly = py;
    }
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        if (!finite_point(xs, ys, i, x, y))
            continue;
        int alone = (i == 0 || !finite_point(xs, ys, i - 1, x, y)) &&
                    (i == n - 1 || !finite_point(xs, ys, i + 1, x, y));
        if (dots || alone) {
            cairo_new_sub_path(cr);
            cairo_arc(cr, rg_map_x(a, x, xs[i]), rg_map_y(a, y, ys[i]), 3.5 * s, 0, 2 * M_PI);
        }
    }
    cairo_fill(cr);
    cairo_restore(cr);
}

static double vline_width(rg_fig *f)
{
    return fmax(1.0, round(2.0 * f->s));
}

double rg_vline_snap(rg_fig *f, double px)
{
    /* An even width centred on a pixel edge (odd: on a pixel centre) covers
     * whole pixels, so the line shows its exact colour. */
    return (int)vline_width(f) % 2 ? floor(px) + 0.5 : round(px);
}

void rg_draw_vline_dashed(rg_fig *f, rg_plot_rect a, double px, unsigned color,
                          rg_obstacles *obst)
{
    for (double y = a.y0; obst && y <= a.y1; y += 8 * f->s)
        rg_obstacles_add(obst, px, y);
    cairo_t *cr = f->cr;
    double dash[2] = {7 * f->s, 4 * f->s};
    cairo_save(cr);
    rg_draw_color(f, color);
    cairo_set_line_width(cr, vline_width(f));
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    cairo_set_dash(cr, dash, 2, 0);
    px = rg_vline_snap(f, px);
    cairo_move_to(cr, px, a.y0 + 1);
    cairo_line_to(cr, px, a.y1 - 1);
    cairo_stroke(cr);
    cairo_restore(cr);
}

void rg_draw_ring(rg_fig *f, double px, double py, double radius, unsigned color)
{
    cairo_t *cr = f->cr;
    cairo_save(cr);
    rg_draw_color(f, color);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_line_width(cr, 2.0 * f->s);
    cairo_new_sub_path(cr);
    cairo_arc(cr, px, py, radius * f->s, 0, 2 * M_PI);
    cairo_stroke(cr);
    cairo_restore(cr);
}

static void swatch(rg_fig *f, const rg_legend_entry *e, double x, double y, double w)
{
    cairo_t *cr = f->cr;
    double s = f->s;
    cairo_save(cr);
    rg_draw_color(f, e->color);
    cairo_set_line_width(cr, e->style == RG_LEGEND_DASH ? vline_width(f) : 2.5 * s);
    if (e->style == RG_LEGEND_DASH) {
        double dash[2] = {5 * s, 3 * s};
        cairo_set_dash(cr, dash, 2, 0);
    }
    if (e->style == RG_LEGEND_RING) {
        cairo_restore(cr);
        rg_draw_ring(f, x + w / 2, y, 6.5, e->color);
        return;
    }
    cairo_move_to(cr, x, y);
    cairo_line_to(cr, x + w, y);
    cairo_stroke(cr);
    if (e->style == RG_LEGEND_LINE_DOT) {
        cairo_arc(cr, x + w / 2, y, 3.5 * s, 0, 2 * M_PI);
        cairo_fill(cr);
    }
    cairo_restore(cr);
}

static double legend_pad(const rg_fig *f)
{
    return 8 * f->s;
}

static double legend_row(const rg_fig *f)
{
    return RG_FONT_LEGEND * 1.5 * f->s;
}

void rg_legend_size(rg_fig *f, const rg_legend_entry *e, int n, double *w, double *h)
{
    double pad = legend_pad(f), tw = 0;
    for (int i = 0; i < n; i++)
        tw = fmax(tw, rg_text_width(f, e[i].label, RG_FONT_LEGEND, 0));
    *w = ceil(pad + 24 * f->s + 7 * f->s + tw + pad);
    *h = ceil(pad * 1.2 + n * legend_row(f));
}

void rg_draw_legend_at(rg_fig *f, double x, double y, const rg_legend_entry *e, int n)
{
    cairo_t *cr = f->cr;
    double s = f->s, pad = legend_pad(f), sw = 24 * s, gap = 7 * s, row = legend_row(f);
    double w, h;
    rg_legend_size(f, e, n, &w, &h);
    x = floor(x) + 0.5;
    y = floor(y) + 0.5;
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_fill_preserve(cr);
    rg_draw_color(f, 0xcccccc);
    cairo_set_line_width(cr, 1.0);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        double ry = y + pad * 0.6 + (i + 0.5) * row;
        swatch(f, &e[i], x + pad, ry, sw);
        rg_draw_color(f, RG_COLOR_TEXT);
        rg_draw_text(f, e[i].label, RG_FONT_LEGEND, 0, x + pad + sw + gap, ry, 0.0, 0.5);
    }
}

void rg_draw_legend(rg_fig *f, rg_plot_rect a, const rg_legend_entry *e, int n,
                    const rg_obstacles *obst)
{
    if (n <= 0)
        return;
    double s = f->s, w, h, inset = 8 * s;
    rg_legend_size(f, e, n, &w, &h);
    if (w > a.x1 - a.x0 - 2 * inset || h > a.y1 - a.y0 - 2 * inset)
        return; /* a figure too small for a legend is better without one */
    /* Corners first, in order of preference (loss curves fall, so top right
     * is usually free), then places along the top and bottom edges; the
     * first with the fewest obstacles under it wins. */
    double L = a.x0 + inset, R = a.x1 - inset - w, T = a.y0 + inset, B = a.y1 - inset - h;
    double cx[10] = {R, R, L, L}, cy[10] = {T, B, T, B};
    int nc = 4;
    for (int q = 1; q <= 3; q++) {
        cx[nc] = L + (R - L) * q / 4.0;
        cy[nc++] = T;
        cx[nc] = L + (R - L) * q / 4.0;
        cy[nc++] = B;
    }
    int best = 0, best_hits = -1;
    for (int c = 0; c < nc; c++) {
        int hits = 0;
        for (int i = 0; obst && i < obst->n; i++) {
            double px = obst->xy[2 * i], py = obst->xy[2 * i + 1];
            hits += px >= cx[c] - 6 * s && px <= cx[c] + w + 6 * s && py >= cy[c] - 6 * s &&
                    py <= cy[c] + h + 6 * s;
        }
        if (best_hits < 0 || hits < best_hits) {
            best = c;
            best_hits = hits;
        }
    }
    rg_draw_legend_at(f, cx[best], cy[best], e, n);
}
