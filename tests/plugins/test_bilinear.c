/* plugins/common/bilinear.h: the padded sampler rotate and scale use must give the same bits
 * as the plain one (its terms are added in the same order; the ones bilinear() skips are
 * exactly +0), at random points, on the border, at integer and just-outside coordinates. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include <math.h>

#include "../../plugins/common/bilinear.h"

/* The reference: the sampler rotate and scale used before the padded one, a bounds check
 * and a skip of zero weights per neighbour (neighbours outside are 0). */
static float bilinear(const float *plane, int64_t h, int64_t w, double ys, double xs)
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

static uint64_t next(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 11;
}

static double unit(uint64_t *x) { return (double)next(x) / 9007199254740992.0; }

static void compare_at(const float *img, const float *pad, int64_t h, int64_t w, double ys,
                       double xs)
{
    float a = bilinear(img, h, w, ys, xs), b = bilinear_padded(pad, h, w, ys, xs);
    cr_assert(memcmp(&a, &b, sizeof a) == 0, "%lldx%lld at (%.17g, %.17g): %.9g plain, %.9g padded",
              (long long)h, (long long)w, ys, xs, (double)a, (double)b);
}

Test(bilinear, padded_sampler_gives_the_bits_of_the_plain_one)
{
    const int64_t sizes[][2] = {{28, 28}, {1, 1}, {3, 7}, {32, 32}};
    uint64_t r = 42;
    for (size_t q = 0; q < sizeof sizes / sizeof sizes[0]; q++) {
        int64_t h = sizes[q][0], w = sizes[q][1];
        float img[32 * 32], pad[34 * 34];
        for (int64_t i = 0; i < h * w; i++)
            img[i] = (float)unit(&r);
        img[0] = 0.0f; /* exact zeros and ones, as uint8 images have */
        img[h * w - 1] = 1.0f;
        memset(pad, 0x7f, sizeof pad); /* the border must be written, not assumed */
        bilinear_pad(pad, img, 1, h, w);
        for (int k = 0; k < 20000; k++)
            compare_at(img, pad, h, w, -1.5 + ((double)h + 3.0) * unit(&r),
                       -1.5 + ((double)w + 3.0) * unit(&r));
        for (int64_t y = -1; y <= h; y++)
            for (int64_t x = -1; x <= w; x++) {
                compare_at(img, pad, h, w, (double)y, (double)x);
                compare_at(img, pad, h, w, (double)y - 1e-12, (double)x + 1e-12);
                compare_at(img, pad, h, w, (double)y + 0.5, (double)x - 0.25);
            }
        compare_at(img, pad, h, w, -0.0, -0.0);
        compare_at(img, pad, h, w, -1.0 + 1e-15, -1.0 + 1e-15);
    }
}

Test(bilinear, pad_copies_every_channel_inside_a_zero_border)
{
    float src[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, dst[2 * 4 * 5];
    memset(dst, 0x7f, sizeof dst);
    bilinear_pad(dst, src, 2, 2, 3);
    cr_assert_eq(bilinear_padded_floats(2, 2, 3), 40);
    for (int ch = 0; ch < 2; ch++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 5; x++) {
                float want = y == 0 || y == 3 || x == 0 || x == 4
                                 ? 0.0f
                                 : src[ch * 6 + (y - 1) * 3 + (x - 1)];
                cr_assert_eq(dst[ch * 20 + y * 5 + x], want, "channel %d (%d, %d)", ch, y, x);
            }
}

/* The row sampler, AVX-512 path where the CPU has it, against the scalar sampler. */
Test(bilinear, row_sampler_gives_the_bits_of_the_scalar_one)
{
    const int64_t sizes[][2] = {{28, 28}, {3, 7}, {32, 32}, {1, 1}};
    uint64_t r = 7;
    for (int wide = 0; wide < 2; wide++)
        for (size_t q = 0; q < sizeof sizes / sizeof sizes[0]; q++) {
            int64_t h = sizes[q][0], w = sizes[q][1];
            float img[32 * 32], pad[34 * 34], out[BILINEAR_ROW];
            double ys[BILINEAR_ROW], xs[BILINEAR_ROW];
            for (int64_t i = 0; i < h * w; i++)
                img[i] = (float)unit(&r);
            bilinear_pad(pad, img, 1, h, w);
            for (int rep = 0; rep < 500; rep++) {
                int64_t n = 1 + (int64_t)(next(&r) % BILINEAR_ROW);
                for (int64_t k = 0; k < n; k++) {
                    ys[k] = -1.5 + ((double)h + 3.0) * unit(&r);
                    xs[k] = -1.5 + ((double)w + 3.0) * unit(&r);
                    if (k % 7 == 3) { /* integers and the borders */
                        ys[k] = (double)(int64_t)ys[k];
                        xs[k] = k % 2 ? -1.0 : (double)w;
                    }
                }
                bilinear_row(pad, h, w, ys, xs, out, n, wide && bilinear_have_avx512());
                for (int64_t k = 0; k < n; k++) {
                    float want = bilinear_padded(pad, h, w, ys[k], xs[k]);
                    cr_assert(memcmp(&want, &out[k], sizeof want) == 0,
                              "wide %d, %lldx%lld, sample %lld of %lld at (%.17g, %.17g): %.9g, "
                              "scalar %.9g",
                              wide, (long long)h, (long long)w, (long long)k, (long long)n,
                              ys[k], xs[k], (double)out[k], (double)want);
                }
            }
        }
    cr_log_info("AVX-512 row path %s", bilinear_have_avx512() ? "tested" : "not on this CPU");
}
