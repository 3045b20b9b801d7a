#include <string.h>

#include "kernels.h"

/* Stride 1 with "same" padding (ow == w, the 3x3/pad 1 case): row (ci, ki, kj)
 * of col is the image shifted by kj - p columns and ki - p rows, so each row is
 * one contiguous copy of the image's valid rows plus zeroed padding rows and
 * edge columns, instead of a few short copies per output row. */
static void im2col_same(const float *x, int64_t c, int64_t h, int64_t w, int64_t k, int64_t p,
                        int64_t oh, float *col)
{
    int64_t ow = w;
    for (int64_t ci = 0; ci < c; ci++)
        for (int64_t ki = 0; ki < k; ki++) {
            /* output rows whose input row oy - p + ki lies inside the image */
            int64_t y0 = p - ki > 0 ? p - ki : 0;
            int64_t y1 = h + p - ki < oh ? h + p - ki : oh;
            if (y1 < y0)
                y1 = y0;
            for (int64_t kj = 0; kj < k; kj++) {
                float *row = col + ((ci * k + ki) * k + kj) * oh * ow;
                int64_t sh = kj - p;
                memset(row, 0, (size_t)(y0 * ow) * sizeof(float));
                memset(row + y1 * ow, 0, (size_t)((oh - y1) * ow) * sizeof(float));
                if (y1 == y0)
                    continue;
                float *dst = row + y0 * ow;
                const float *src = x + (ci * h + y0 - p + ki) * w + sh;
                int64_t len = (y1 - y0) * ow;
                /* the first (sh < 0) or last (sh > 0) elements would read outside the
                 * image; they are edge columns, zeroed below */
                int64_t lo = sh < 0 ? -sh : 0, hi = sh > 0 ? len - sh : len;
                memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
                for (int64_t oy = 0; oy < y1 - y0; oy++) {
                    float *d = dst + oy * ow;
                    for (int64_t ox = 0; ox < -sh; ox++)
                        d[ox] = 0.0f;
                    for (int64_t ox = w - sh; ox < ow; ox++)
                        d[ox] = 0.0f;
                }
            }
        }
}

void rg_im2col(const float *x, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s, int64_t p,
               int64_t oh, int64_t ow, float *col)
{
    if (s == 1 && ow == w && 2 * p == k - 1) {
        im2col_same(x, c, h, w, k, p, oh, col);
        return;
    }

    for (int64_t ci = 0; ci < c; ci++)
        for (int64_t ki = 0; ki < k; ki++)
            for (int64_t kj = 0; kj < k; kj++) {
                float *row = col + ((ci * k + ki) * k + kj) * oh * ow;
                for (int64_t oy = 0; oy < oh; oy++) {
                    int64_t iy = oy * s - p + ki;
                    float *dst = row + oy * ow;
                    if (iy < 0 || iy >= h) {
                        memset(dst, 0, (size_t)ow * sizeof(float));
                        continue;
                    }
                    const float *src = x + (ci * h + iy) * w;
                    if (s == 1) {
                        /* stride 1: one contiguous run of the input row, zero padding
                         * on either side */
                        int64_t lo = p - kj > 0 ? p - kj : 0;
                        int64_t hi = w + p - kj < ow ? w + p - kj : ow;
                        if (hi < lo)
                            hi = lo;
                        memset(dst, 0, (size_t)lo * sizeof(float));
                        memcpy(dst + lo, src + lo - p + kj, (size_t)(hi - lo) * sizeof(float));
                        memset(dst + hi, 0, (size_t)(ow - hi) * sizeof(float));
                        continue;
                    }
                    for (int64_t ox = 0; ox < ow; ox++) {
                        int64_t ix = ox * s - p + kj;
                        dst[ox] = (ix >= 0 && ix < w) ? src[ix] : 0.0f;
                    }
                }
            }
}

void rg_col2im(const float *col, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s,
               int64_t p, int64_t oh, int64_t ow, float *x)
{
    for (int64_t ci = 0; ci < c; ci++)
        for (int64_t ki = 0; ki < k; ki++)
            for (int64_t kj = 0; kj < k; kj++) {
                const float *row = col + ((ci * k + ki) * k + kj) * oh * ow;
                for (int64_t oy = 0; oy < oh; oy++) {
                    int64_t iy = oy * s - p + ki;
                    if (iy < 0 || iy >= h)
                        continue;
                    float *dst = x + (ci * h + iy) * w;
                    const float *src = row + oy * ow;
                    if (s == 1) {
                        int64_t lo = p - kj > 0 ? p - kj : 0;
                        int64_t hi = w + p - kj < ow ? w + p - kj : ow;
                        float *d = dst - p + kj;
                        for (int64_t ox = lo; ox < hi; ox++)
                            d[ox] += src[ox];
                        continue;
                    }
                    for (int64_t ox = 0; ox < ow; ox++) {
                        int64_t ix = ox * s - p + kj;
                        if (ix >= 0 && ix < w)
                            dst[ix] += src[ox];
                    }
                }
            }
}
