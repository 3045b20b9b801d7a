/* conv -> ReLU -> 2x2/2 max pool as one pass per image. Unfused, the CNN's
 * first block writes and rereads 12.8 MB of conv output, 12.8 MB of ReLU
 * output and their gradients per batch of 128, far more than the caches hold;
 * fused, one image's conv output (100 KB) is pooled while it is in L2 and the
 * backward pass rebuilds the conv output gradient from the pool's gradient,
 * its argmax and its output (ReLU'(z) at the argmax is pool output > 0). */
#include <omp.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "conv_impl.h"
#include "layer.h"

int rg_conv_block_fits(const rg_layer *conv, const rg_layer *relu, const rg_layer *pool)
{
    return strcmp(conv->ops->type, "conv") == 0 && strcmp(relu->ops->type, "relu") == 0 &&
           rg_maxpool_2x2_indices(pool) != NULL;
}

/* ReLU then the 2x2 max of one channel plane z [oh, ow] into y [ph, pw]. The
 * comparisons are those of the unfused pool (first maximum wins) on the same
 * ReLU outputs, so values and indices are identical; after the ReLU there is
 * no NaN left to propagate, so a plain > is the unfused test. */
static void relu_pool_plane(const float *z, int64_t ow, int64_t ph, int64_t pw, float *y,
                            int32_t *at)
{
    for (int64_t oy = 0; oy < ph; oy++) {
        const float *r0 = z + 2 * oy * ow, *r1 = r0 + ow;
        int32_t base = (int32_t)(2 * oy * ow);
        for (int64_t ox = 0; ox < pw; ox++) {
            float a = r0[2 * ox] > 0.0f ? r0[2 * ox] : 0.0f;
            float b = r0[2 * ox + 1] > 0.0f ? r0[2 * ox + 1] : 0.0f;
            float c = r1[2 * ox] > 0.0f ? r1[2 * ox] : 0.0f;
            float d = r1[2 * ox + 1] > 0.0f ? r1[2 * ox + 1] : 0.0f;
            int32_t i = base + (int32_t)(2 * ox);
            float best = a;
            i = b > best ? base + (int32_t)(2 * ox + 1) : i;
            best = b > best ? b : best;
            i = c > best ? base + (int32_t)(ow + 2 * ox) : i;
            best = c > best ? c : best;
            i = d > best ? base + (int32_t)(ow + 2 * ox + 1) : i;
            best = d > best ? d : best;
            y[oy * pw + ox] = best;
            at[oy * pw + ox] = i;
        }
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define RG_HAVE_AVX512_POOL 1

/* relu_pool_plane, 16 windows at a time: the same comparisons in the same order
 * (ties keep the earlier element), so values and indices equal the scalar
 * loop's. max(x, 0) returns its second operand for NaN and for -0, as the
 * scalar ReLU (x > 0 ? x : 0) does. */
__attribute__((target("avx512f"))) static void
relu_pool_plane512(const float *z, int64_t ow, int64_t ph, int64_t pw, float *y, int32_t *at)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t oy = 0; oy < ph; oy++) {
        const float *r0 = z + 2 * oy * ow, *r1 = r0 + ow;
        int32_t base = (int32_t)(2 * oy * ow);
        for (int64_t ox = 0; ox < pw; ox += 16) {
            int rem = (int)(pw - ox < 16 ? pw - ox : 16), nf = 2 * rem;
            __mmask16 mo = (__mmask16)(rem == 16 ? 0xffff : (1u << rem) - 1);
            __mmask16 mlo = (__mmask16)(nf >= 16 ? 0xffff : (1u << nf) - 1);
            __mmask16 mhi = (__mmask16)(nf >= 32 ? 0xffff : nf > 16 ? (1u << (nf - 16)) - 1 : 0);
            __m512 l0 = _mm512_maskz_loadu_ps(mlo, r0 + 2 * ox);
            __m512 h0 = _mm512_maskz_loadu_ps(mhi, r0 + 2 * ox + 16);
            __m512 l1 = _mm512_maskz_loadu_ps(mlo, r1 + 2 * ox);
            __m512 h1 = _mm512_maskz_loadu_ps(mhi, r1 + 2 * ox + 16);
            __m512 a = _mm512_max_ps(_mm512_permutex2var_ps(l0, even, h0), zero);
            __m512 b = _mm512_max_ps(_mm512_permutex2var_ps(l0, odd, h0), zero);
            __m512 c = _mm512_max_ps(_mm512_permutex2var_ps(l1, even, h1), zero);
            __m512 d = _mm512_max_ps(_mm512_permutex2var_ps(l1, odd, h1), zero);
            __m512i i0 = _mm512_add_epi32(_mm512_set1_epi32(base + (int32_t)(2 * ox)), even);
            __m512 best = a;
            __m512i i = i0;
            __mmask16 m = _mm512_cmp_ps_mask(b, best, _CMP_GT_OQ);
            i = _mm512_mask_mov_epi32(i, m, _mm512_add_epi32(i0, _mm512_set1_epi32(1)));
            best = _mm512_mask_mov_ps(best, m, b);
            m = _mm512_cmp_ps_mask(c, best, _CMP_GT_OQ);
            i = _mm512_mask_mov_epi32(i, m, _mm512_add_epi32(i0, _mm512_set1_epi32((int32_t)ow)));
            best = _mm512_mask_mov_ps(best, m, c);
            m = _mm512_cmp_ps_mask(d, best, _CMP_GT_OQ);
            i = _mm512_mask_mov_epi32(i, m,
                                      _mm512_add_epi32(i0, _mm512_set1_epi32((int32_t)ow + 1)));
            best = _mm512_mask_mov_ps(best, m, d);
            _mm512_mask_storeu_ps(y + oy * pw + ox, mo, best);
            _mm512_mask_storeu_epi32(at + oy * pw + ox, mo, i);
        }
    }
}
#endif

void rg_conv_block_forward(rg_layer *conv, rg_layer *pool, const float *x, float *y, int64_t n)
{
    rg_conv *cv = conv->impl;
    int32_t *argmax = rg_maxpool_2x2_indices(pool);
    const float *wt = conv->params[0].value, *b = conv->params[1].value;
    int64_t ckk = cv->c * cv->k * cv->k, hw = cv->oh * cv->ow;
    int64_t in_sz = cv->c * cv->h * cv->w, ph = pool->out.h, pw = pool->out.w;
    int64_t out_sz = cv->oc * ph * pw;
#pragma omp parallel for schedule(static) num_threads(cv->threads)
    for (int64_t i = 0; i < n; i++) {
        int t = omp_get_thread_num();
        float *col = cv->col + (size_t)t * (size_t)(ckk * hw);
        float *z = cv->yt + (size_t)t * (size_t)(2 * cv->oc * hw);
        rg_im2col(x + i * in_sz, cv->c, cv->h, cv->w, cv->k, cv->s, cv->p, cv->oh, cv->ow, col);
        rg_conv_gemm_forward(cv, wt, b, col, z);
        for (int64_t o = 0; o < cv->oc; o++) {
            float *yo = y + i * out_sz + o * ph * pw;
            int32_t *ao = argmax + i * out_sz + o * ph * pw;
#ifdef RG_HAVE_AVX512_POOL
            if (cv->fast) {
                relu_pool_plane512(z + o * hw, cv->ow, ph, pw, yo, ao);
                continue;
            }
#endif
            relu_pool_plane(z + o * hw, cv->ow, ph, pw, yo, ao);
        }
    }
}

void rg_conv_block_backward(rg_layer *conv, rg_layer *pool, const float *x, const float *y,
                            const float *dy, float *dx, int64_t n)
{
    rg_conv *cv = conv->impl;
    const int32_t *argmax = rg_maxpool_2x2_indices(pool);
    rg_param *wp = &conv->params[0], *bp = &conv->params[1];
    int64_t ckk = cv->c * cv->k * cv->k, hw = cv->oh * cv->ow;
    int64_t in_sz = cv->c * cv->h * cv->w, phw = pool->out.h * pool->out.w;
    int64_t out_sz = cv->oc * phw;
    int threads = cv->threads;
    memset(cv->dw, 0, (size_t)threads * (size_t)(cv->oc * ckk) * sizeof(float));
    memset(cv->db, 0, (size_t)threads * (size_t)cv->oc * sizeof(double));
    /* static schedule and thread-order reduction, as conv_backward: deterministic */
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num();
        float *col = cv->col + (size_t)t * (size_t)(ckk * hw);
        float *dz = cv->yt + (size_t)t * (size_t)(2 * cv->oc * hw);
        float *dw = cv->dw + (size_t)t * (size_t)(cv->oc * ckk);
        double *db = cv->db + (size_t)t * (size_t)cv->oc;
        float *dzt = dz + cv->oc * hw;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            /* pool backward then ReLU backward: the argmax of each window gets the
             * pool's gradient (0 + dy, as the unfused scatter-add) where the max was
             * positive; every other conv output gets 0 */
            memset(dz, 0, (size_t)(cv->oc * hw) * sizeof(float));
            const float *yi = y + i * out_sz, *dyi = dy + i * out_sz;
            const int32_t *ai = argmax + i * out_sz;
            for (int64_t o = 0; o < cv->oc; o++)
                for (int64_t j = 0; j < phw; j++)
                    if (yi[o * phw + j] > 0.0f)
                        dz[o * hw + ai[o * phw + j]] = 0.0f + dyi[o * phw + j];
            rg_conv_image_backward(cv, wp->value, x + i * in_sz, dz, col, dw, dzt, db,
                                   dx ? dx + i * in_sz : NULL);
        }
    }
    rg_conv_reduce_grads(cv, wp->grad, bp->grad);
}
