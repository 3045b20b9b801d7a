/* rotate's sampling alone: 20,000 rotations of a 28x28 image through bilinear_row()
 * (plugins/common/bilinear.h), on the scalar path and on the AVX-512 path, in ns per pixel.
 *
 *   cc -O3 -I. -o bilinear_rows bench/bilinear_rows.c -lm && ./bilinear_rows */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "plugins/common/bilinear.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void)
{
    enum { H = 28, W = 28, N = 20000 };
    float img[H * W], pad[(H + 2) * (W + 2)], out[H * W];
    for (int i = 0; i < H * W; i++)
        img[i] = (float)((i * 37) % 255) / 255.0f;
    for (int wide = 0; wide < 2; wide++) {
        if (wide && !bilinear_have_avx512()) {
            printf("no AVX-512 on this CPU\n");
            break;
        }
        double xs[W], ys[W], t0 = now(), c = 0.5 * (W - 1);
        for (int r = 0; r < N; r++) {
            double t = 0.1 * sin((double)r), ct = cos(t), st = sin(t);
            bilinear_pad(pad, img, 1, H, W);
            for (int y = 0; y < H; y++) {
                for (int k = 0; k < W; k++) {
                    double xo = k - c, yo = y - c;
                    xs[k] = c + xo * ct - yo * st;
                    ys[k] = c + xo * st + yo * ct;
                }
                bilinear_row(pad, H, W, ys, xs, out + y * W, W, wide);
            }
        }
        printf("%s path: %.2f ns/pixel (checksum %.6f)\n", wide ? "AVX-512" : "scalar",
               (now() - t0) / N / (H * W) * 1e9, (double)out[H * W / 2]);
    }
    return 0;
}
