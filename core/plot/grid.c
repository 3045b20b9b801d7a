/* The augment preview as a labelled figure: the grid of images (regula augment) with the
 * column titles (original, draw 1, ...) above, each row's class name on its left and the
 * augmenter specs as a caption below. */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../cli/cli_error.h"
#include "draw.h"
#include "plot.h"

rg_status rg_plot_labeled_grid(const uint8_t *planes, int64_t c, int64_t h, int64_t w,
                               const rg_grid_layout *g, const char *out)
{
    /* the row labels' width, measured on a scratch figure, sets the left margin */
    rg_fig fig = {0};
    rg_status st = rg_fig_create(&fig, 16, 16, 1);
    if (st != RG_OK)
        return st;
    fig.s = 1.0;
    double lw = 0;
    for (int r = 0; r < g->rows; r++)
        lw = fmax(lw, rg_text_width(&fig, g->row_labels[r], 11, 0));
    double cw = rg_text_width(&fig, g->caption, 10, 0);
    rg_fig_destroy(&fig);
    double left = ceil(lw + 12), top = 22, bottom = 26;
    int W = (int)fmax(left + (double)w + 8, cw + 16), H = (int)(top + (double)h + bottom);
    if ((st = rg_fig_create(&fig, W, H, 1)) != RG_OK)
        return st;
    fig.s = 1.0;
    /* the grid's pixels: gray or RGB planes into the RGB24 surface */
    cairo_surface_flush(fig.surface);
    unsigned char *px = cairo_image_surface_get_data(fig.surface);
    int stride = cairo_image_surface_get_stride(fig.surface);
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            uint32_t v[3];
            for (int k = 0; k < 3; k++)
                v[k] = planes[((c == 3 ? k : 0) * h + y) * w + x];
            uint32_t *dst = (uint32_t *)(px + (size_t)(top + (double)y) * (size_t)stride) +
                            (size_t)(left + (double)x);
            *dst = (v[0] << 16) | (v[1] << 8) | v[2];
        }
    cairo_surface_mark_dirty(fig.surface);
    rg_draw_color(&fig, 0x202020);
    for (int col = 0; col < g->cols; col++)
        rg_draw_text(&fig, g->col_labels[col], 11, col == 0, left + g->x0 + (col + 0.5) * g->cell_w,
                     top - 6, 0.5, 1.0);
    for (int r = 0; r < g->rows; r++)
        rg_draw_text(&fig, g->row_labels[r], 11, 0, left - 6,
                     top + g->y0 + (r + 0.5) * g->cell_h, 1.0, 0.5);
    rg_draw_color(&fig, 0x505050);
    rg_draw_text(&fig, g->caption, 10, 0, 8, top + (double)h + 16, 0.0, 1.0);
    st = rg_fig_write(&fig, out);
    rg_fig_destroy(&fig);
    return st;
}
