/* Bilinear sampling with zero fill, shared by the geometric augmenters
 * (rotate, scale). Header-only and static, like beta.h beside it. */
#ifndef RG_PLUGINS_COMMON_BILINEAR_H
#define RG_PLUGINS_COMMON_BILINEAR_H

#include <math.h>
#include <stdint.h>

/* Bilinear sample of plane (h x w) at (ys, xs); neighbours outside are 0. */
static inline float bilinear(const float *plane, int64_t h, int64_t w, double ys, double xs)
{
    if (!(ys > -1.0 && ys < (double)h && xs > -1.0 && xs < (double)w))
        return 0.0f;
    double fy = floor(ys), fx = floor(xs), ay = ys - fy, ax = xs - fx;
    int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
    double v = 0.0;
    for (int dy = 0; dy < 2; dy++) {
        int64_t y = y0 + dy;
        double wy = dy ? ay : 1.0 - ay;
        if (y < 0 || y >= h || wy == 0.0)
            continue;
        for (int dx = 0; dx < 2; dx++) {
            int64_t x = x0 + dx;
            double wx = dx ? ax : 1.0 - ax;
            if (x < 0 || x >= w || wx == 0.0)
                continue;
            v += wy * wx * (double)plane[y * w + x];
        }
    }
    return v < 0.0 ? 0.0f : (v > 1.0 ? 1.0f : (float)v);
}

#endif
