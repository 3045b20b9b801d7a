/* Bilinear sampling with zero fill, shared by the geometric augmenters
 * (rotate, scale). Header-only and static, like beta.h beside it. */
#ifndef RG_PLUGINS_COMMON_BILINEAR_H
#define RG_PLUGINS_COMMON_BILINEAR_H

#include <math.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Bilinear sampling with zero fill: the planes are first copied into a zero border one pixel
 * wide (bilinear_pad), so the four neighbours are read without bounds checks or branches,
 * and floor() is a truncation and a compare. Neighbours outside the image count as 0; the
 * four terms are added in a fixed order (tests/plugins/test_bilinear.c checks the bits
 * against the straightforward sampler with a bounds check per neighbour). */
static inline int64_t bilinear_padded_floats(int64_t c, int64_t h, int64_t w)
{
    return c * (h + 2) * (w + 2);
}

/* c planes of h x w from src into dst, each (h+2) x (w+2) with a zero border. */
static inline void bilinear_pad(float *dst, const float *src, int64_t c, int64_t h, int64_t w)
{
    int64_t pw = w + 2, pp = (h + 2) * pw;
    for (int64_t ch = 0; ch < c; ch++) {
        float *d = dst + ch * pp;
        const float *sp = src + ch * h * w;
        for (int64_t x = 0; x < pw; x++)
            d[x] = d[(h + 1) * pw + x] = 0.0f;
        for (int64_t y = 0; y < h; y++) {
            float *row = d + (y + 1) * pw;
            row[0] = row[w + 1] = 0.0f;
            for (int64_t x = 0; x < w; x++)
                row[x + 1] = sp[y * w + x];
        }
    }
}

static inline int64_t bilinear_floor(double v)
{
    int64_t t = (int64_t)v;
    return t - ((double)t > v);
}

/* The sample of a plane at (ys, xs), read from its padded copy (h x w inside, row stride
 * w + 2); clamped to [0, 1]. */
static inline float bilinear_padded(const float *padded, int64_t h, int64_t w, double ys,
                                    double xs)
{
    if (!(ys > -1.0 && ys < (double)h && xs > -1.0 && xs < (double)w))
        return 0.0f;
    int64_t y0 = bilinear_floor(ys), x0 = bilinear_floor(xs);
    double ay = ys - (double)y0, ax = xs - (double)x0;
    const float *r0 = padded + (y0 + 1) * (w + 2) + (x0 + 1), *r1 = r0 + (w + 2);
    double v = 0.0;
    v += (1.0 - ay) * (1.0 - ax) * (double)r0[0];
    v += (1.0 - ay) * ax * (double)r0[1];
    v += ay * (1.0 - ax) * (double)r1[0];
    v += ay * ax * (double)r1[1];
    /* the clamp as 0 > v ? 0 : v, then 1 < lo ? 1 : lo: exactly what SSE2's maxsd
     * and minsd compute (NaN and -0 included), without the branches gcc emits for the
     * ternaries, which mispredicted on every dark-to-bright edge */
#ifdef __SSE2__
    __m128d x = _mm_max_sd(_mm_setzero_pd(), _mm_set_sd(v));
    return (float)_mm_cvtsd_f64(_mm_min_sd(_mm_set_sd(1.0), x));
#else
    double lo = 0.0 > v ? 0.0 : v;
    return (float)(1.0 < lo ? 1.0 : lo);
#endif
}

/* n samples of one padded plane at (ys[k], xs[k]) into out[k]: bilinear_padded() per
 * sample, or 8 at a time with AVX-512 where the CPU has it. The vector path does the same
 * double operations in the same order (floor by roundscale, gathers of the four
 * neighbours, the same clamp: vmaxpd/vminpd are maxsd/minsd), so the bits are the same
 * either way; tests/plugins/test_bilinear.c compares them. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f,avx512vl"))) static inline void
bilinear_row_avx512(const float *padded, int64_t h, int64_t w, const double *ys,
                    const double *xs, float *out, int64_t n)
{
    const int32_t pw = (int32_t)(w + 2);
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
    const __m512d m1 = _mm512_set1_pd(-1.0), hd = _mm512_set1_pd((double)h),
                  wd = _mm512_set1_pd((double)w);
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m512d y = _mm512_loadu_pd(ys + k), x = _mm512_loadu_pd(xs + k);
        __mmask8 in = _mm512_cmp_pd_mask(y, m1, _CMP_GT_OQ) & _mm512_cmp_pd_mask(y, hd, _CMP_LT_OQ) &
                      _mm512_cmp_pd_mask(x, m1, _CMP_GT_OQ) & _mm512_cmp_pd_mask(x, wd, _CMP_LT_OQ);
        __m512d fy = _mm512_roundscale_pd(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        __m512d fx = _mm512_roundscale_pd(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        __m512d ay = _mm512_sub_pd(y, fy), ax = _mm512_sub_pd(x, fx);
        __m256i iy = _mm512_cvttpd_epi32(_mm512_maskz_mov_pd(in, fy));
        __m256i ix = _mm512_cvttpd_epi32(_mm512_maskz_mov_pd(in, fx));
        /* (y0 + 1) * pw + (x0 + 1); lanes outside are 0 and masked below */
        __m256i i00 = _mm256_add_epi32(
            _mm256_mullo_epi32(_mm256_add_epi32(iy, _mm256_set1_epi32(1)), _mm256_set1_epi32(pw)),
            _mm256_add_epi32(ix, _mm256_set1_epi32(1)));
        __m256 zf = _mm256_setzero_ps();
        /* each 64-bit gather fetches a neighbour pair (x0, x0 + 1) of one row: two gathers
         * per 8 samples instead of four */
        __m512i p0 = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), in, i00, padded, 4);
        __m512i p1 = _mm512_mask_i32gather_epi64(
            _mm512_setzero_si512(), in, _mm256_add_epi32(i00, _mm256_set1_epi32(pw)), padded, 4);
        __m512d r00 = _mm512_cvtps_pd(_mm256_castsi256_ps(_mm512_cvtepi64_epi32(p0)));
        __m512d r01 = _mm512_cvtps_pd(
            _mm256_castsi256_ps(_mm512_cvtepi64_epi32(_mm512_srli_epi64(p0, 32))));
        __m512d r10 = _mm512_cvtps_pd(_mm256_castsi256_ps(_mm512_cvtepi64_epi32(p1)));
        __m512d r11 = _mm512_cvtps_pd(
            _mm256_castsi256_ps(_mm512_cvtepi64_epi32(_mm512_srli_epi64(p1, 32))));
        __m512d wy0 = _mm512_sub_pd(one, ay), wx0 = _mm512_sub_pd(one, ax);
        __m512d v = _mm512_add_pd(zero, _mm512_mul_pd(_mm512_mul_pd(wy0, wx0), r00));
        v = _mm512_add_pd(v, _mm512_mul_pd(_mm512_mul_pd(wy0, ax), r01));
        v = _mm512_add_pd(v, _mm512_mul_pd(_mm512_mul_pd(ay, wx0), r10));
        v = _mm512_add_pd(v, _mm512_mul_pd(_mm512_mul_pd(ay, ax), r11));
        v = _mm512_min_pd(one, _mm512_max_pd(zero, v));
        __m256 f = _mm512_cvtpd_ps(v);
        _mm256_storeu_ps(out + k, _mm256_mask_mov_ps(zf, in, f));
    }
    for (; k < n; k++)
        out[k] = bilinear_padded(padded, h, w, ys[k], xs[k]);
}

static inline int bilinear_have_avx512(void)
{
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    }
    return have;
}
#else
static inline int bilinear_have_avx512(void)
{
    return 0;
}
#endif

#define BILINEAR_ROW 64 /* samples per bilinear_row() call the augmenters make */

static inline void bilinear_row(const float *padded, int64_t h, int64_t w, const double *ys,
                                const double *xs, float *out, int64_t n, int wide)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (wide) {
        bilinear_row_avx512(padded, h, w, ys, xs, out, n);
        return;
    }
#endif
    (void)wide;
    for (int64_t k = 0; k < n; k++)
        out[k] = bilinear_padded(padded, h, w, ys[k], xs[k]);
}

#endif
