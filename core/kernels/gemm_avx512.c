/* A single-threaded AVX-512 GEMM for the convolutions' small per-image
 * products, chosen at run time when the processor has AVX-512F (else the
 * caller uses OpenBLAS). Why our own: the environment pins OpenBLAS to its
 * Haswell (AVX2) kernels, because older OpenBLAS builds misbehave on newer
 * processors, which leaves half of a Zen 5 or Xeon core's FMA width unused;
 * and these shapes (K = 9 to 288, N = 196 or 784) spend much of OpenBLAS's
 * time packing. B and C are read in place; only A is addressed through
 * strides, so one kernel serves W x col, W^T x dY and col x dY^T.
 *
 * Register block: 8 rows x 32 columns, 16 zmm accumulators, every k one pair
 * of B loads and 8 broadcasts of A. The sum over k runs in order, so a result
 * depends only on its inputs (deterministic), though not bit-equal to
 * OpenBLAS's blocked sums. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define MR 8

#define RG_AVX512 __attribute__((target("avx512f")))

/* One 8 x 32 block of C. Rows past mr repeat row mr - 1 (their sums are
 * computed and dropped), so the loop body is the same for every block and the
 * 16 accumulators are named variables the compiler keeps in registers. */
static RG_AVX512 void block(int mr, int64_t k, const float *a, int64_t rsa, int64_t csa,
                            const float *b, int64_t ldb, const float *bias, int accumulate,
                            float *c, int64_t ldc, __mmask16 m0, __mmask16 m1)
{
    const float *p[MR];
    for (int i = 0; i < MR; i++)
        p[i] = a + (i < mr ? i : mr - 1) * rsa;
    const float *p0 = p[0], *p1 = p[1], *p2 = p[2], *p3 = p[3], *p4 = p[4], *p5 = p[5],
                *p6 = p[6], *p7 = p[7];
#define RG_INIT(i)                                                                             \
    __m512 c##i##a = bias ? _mm512_set1_ps(bias[i < mr ? i : mr - 1]) : _mm512_setzero_ps();   \
    __m512 c##i##b = c##i##a;
    RG_INIT(0) RG_INIT(1) RG_INIT(2) RG_INIT(3) RG_INIT(4) RG_INIT(5) RG_INIT(6) RG_INIT(7)
#undef RG_INIT
    for (int64_t kk = 0; kk < k; kk++) {
        const float *br = b + kk * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, br);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, br + 16);
        int64_t o = kk * csa;
#define RG_FMA(i)                                                                              \
    {                                                                                          \
        __m512 ai = _mm512_set1_ps(p##i[o]);                                                   \
        c##i##a = _mm512_fmadd_ps(ai, b0, c##i##a);                                            \
        c##i##b = _mm512_fmadd_ps(ai, b1, c##i##b);                                            \
    }
        RG_FMA(0) RG_FMA(1) RG_FMA(2) RG_FMA(3) RG_FMA(4) RG_FMA(5) RG_FMA(6) RG_FMA(7)
#undef RG_FMA
    }
#define RG_STORE(i)                                                                            \
    if (i < mr) {                                                                              \
        float *cr = c + i * ldc;                                                               \
        if (accumulate) {                                                                      \
            c##i##a = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), c##i##a);                   \
            c##i##b = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), c##i##b);              \
        }                                                                                      \
        _mm512_mask_storeu_ps(cr, m0, c##i##a);                                                \
        _mm512_mask_storeu_ps(cr + 16, m1, c##i##b);                                           \
    }
    RG_STORE(0) RG_STORE(1) RG_STORE(2) RG_STORE(3) RG_STORE(4) RG_STORE(5) RG_STORE(6)
    RG_STORE(7)
#undef RG_STORE
}

static RG_AVX512 void gemm512(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa,
                              int64_t csa, const float *b, int64_t ldb, const float *bias,
                              int accumulate, float *c, int64_t ldc)
{
    /* column blocks outside: one 32-wide panel of B (k x 128 bytes, <= 36 KB
     * for the CNN's k = 288) stays in L1 while every row block passes over it */
    for (int64_t j = 0; j < n; j += 32) {
        int64_t w = n - j < 32 ? n - j : 32;
        __mmask16 m0 = (__mmask16)(w >= 16 ? 0xffff : (1u << w) - 1);
        __mmask16 m1 = (__mmask16)(w >= 32 ? 0xffff : w > 16 ? (1u << (w - 16)) - 1 : 0);
        for (int64_t i = 0; i < m; i += MR) {
            int mr = (int)(m - i < MR ? m - i : MR);
            block(mr, k, a + i * rsa, rsa, csa, b + j, ldb, bias ? bias + i : NULL,
                       accumulate, c + i * ldc + j, ldc, m0, m1);
        }
    }
}

/* REGULA_KERNELS=blas keeps every product on OpenBLAS: for a test of that path
 * on an AVX-512 machine, and for a benchmark row beside it. */
int rg_gemm_strided_available(void)
{
    const char *k = getenv("REGULA_KERNELS");
    if (k && strcmp(k, "blas") == 0)
        return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
}

void rg_gemm_strided(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa, int64_t csa,
                     const float *b, int64_t ldb, const float *bias, int accumulate, float *c,
                     int64_t ldc)
{
    gemm512(m, n, k, a, rsa, csa, b, ldb, bias, accumulate, c, ldc);
}

void rg_gemm_strided_parallel(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa,
                              int64_t csa, const float *b, int64_t ldb, float *c, int64_t ldc)
{
    /* threads take whole 32-column panels: a result never depends on the split */
    int64_t panels = (n + 31) / 32;
#pragma omp parallel for schedule(static) if (panels > 1 && m * n * k >= 1 << 18)
    for (int64_t q = 0; q < panels; q++) {
        int64_t j = q * 32, w = n - j < 32 ? n - j : 32;
        gemm512(m, w, k, a, rsa, csa, b + j, ldb, NULL, 0, c + j, ldc);
    }
}

void rg_gemm_nt_parallel(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                         const float *bt, int64_t ldbt, float *c, int64_t ldc, float *scratch,
                         int threads)
{
    int64_t panels = (n + 31) / 32;
#pragma omp parallel num_threads(threads) if (panels > 1 && m * n * k >= 1 << 18)
    {
        /* this thread's packed panel: 32 rows of bt as k x 32, in L2 */
        float *panel = scratch + (size_t)omp_get_thread_num() * (size_t)(k * 32);
#pragma omp for schedule(static)
        for (int64_t q = 0; q < panels; q++) {
            int64_t j = q * 32, w = n - j < 32 ? n - j : 32;
            for (int64_t k0 = 0; k0 < k; k0 += 16) {
                int64_t kn = k - k0 < 16 ? k - k0 : 16;
                for (int64_t jj = 0; jj < w; jj++) {
                    const float *src = bt + (j + jj) * ldbt + k0;
                    for (int64_t kk = 0; kk < kn; kk++)
                        panel[(k0 + kk) * 32 + jj] = src[kk];
                }
            }
            gemm512(m, w, k, a, lda, 1, panel, 32, NULL, 0, c + j, ldc);
        }
    }
}

#else

void rg_gemm_nt_parallel(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                         const float *bt, int64_t ldbt, float *c, int64_t ldc, float *scratch,
                         int threads)
{
    (void)m, (void)n, (void)k, (void)a, (void)lda, (void)bt, (void)ldbt, (void)c, (void)ldc;
    (void)scratch, (void)threads;
}

void rg_gemm_strided_parallel(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa,
                              int64_t csa, const float *b, int64_t ldb, float *c, int64_t ldc)
{
    (void)m, (void)n, (void)k, (void)a, (void)rsa, (void)csa, (void)b, (void)ldb, (void)c;
    (void)ldc;
}

int rg_gemm_strided_available(void)
{
    return 0;
}

void rg_gemm_strided(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa, int64_t csa,
                     const float *b, int64_t ldb, const float *bias, int accumulate, float *c,
                     int64_t ldc)
{
    (void)m, (void)n, (void)k, (void)a, (void)rsa, (void)csa, (void)b, (void)ldb, (void)bias;
    (void)accumulate, (void)c, (void)ldc;
}

#endif
