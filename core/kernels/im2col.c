#include <string.h>

#include "kernels.h"

void rg_im2col(const float *x, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s, int64_t p,
               int64_t oh, int64_t ow, float *col)
{
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
