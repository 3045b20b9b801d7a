#include "rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t rg_rng_mix(uint64_t x)
{
    return splitmix64(x);
}

void rg_rng_stream_init(rg_rng_stream *s, uint64_t seed, uint64_t epoch, uint64_t step,
                        uint64_t site)
{
    uint64_t k = splitmix64(seed);
    uint64_t p = splitmix64(splitmix64(splitmix64(site) ^ epoch) ^ step);
    s->key[0] = (uint32_t)k;
    s->key[1] = (uint32_t)(k >> 32);
    s->prefix[0] = (uint32_t)p;
    s->prefix[1] = (uint32_t)(p >> 32);
    s->base = 0;
}

void rg_rng_block(const rg_rng_stream *s, uint64_t block, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32);
    uint32_t c2 = s->prefix[0], c3 = s->prefix[1];
    uint32_t k0 = s->key[0], k1 = s->key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* The word at absolute position pos (the stream's base already added). */
static uint32_t word_at(const rg_rng_stream *s, uint64_t pos)
{
    uint32_t b[4];
    rg_rng_block(s, pos >> 2, b);
    return b[pos & 3];
}

uint32_t rg_rng_u32(const rg_rng_stream *s, uint64_t offset)
{
    return word_at(s, offset + s->base);
}

static float u32_to_unit(uint32_t x)
{
    /* 24 bits: every value exactly representable, result in [0, 1). */
    return (float)(x >> 8) * (1.0f / 16777216.0f);
}

/* Philox of 16 consecutive blocks side by side: the same rounds as
 * rg_rng_block, written lane by lane so the compiler turns each round into a
 * few vector multiplies (the scalar loop was most of a dropout step). The
 * AVX-512 copy is chosen at run time; the words are the same either way. */
#define RG_LANES 16
static inline __attribute__((always_inline)) void
philox_lanes_body(const rg_rng_stream *s, uint64_t first, uint32_t w[4][RG_LANES])
{
    uint32_t c0[RG_LANES], c1[RG_LANES], c2[RG_LANES], c3[RG_LANES];
    for (int l = 0; l < RG_LANES; l++) {
        uint64_t b = first + (uint64_t)l;
        c0[l] = (uint32_t)b;
        c1[l] = (uint32_t)(b >> 32);
        c2[l] = s->prefix[0];
        c3[l] = s->prefix[1];
    }
    uint32_t k0 = s->key[0], k1 = s->key[1];
    for (int r = 0; r < 10; r++) {
        for (int l = 0; l < RG_LANES; l++) {
            uint64_t p0 = (uint64_t)PHILOX_M0 * c0[l];
            uint64_t p1 = (uint64_t)PHILOX_M1 * c2[l];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
            c1[l] = (uint32_t)p1;
            c3[l] = (uint32_t)p0;
            c0[l] = n0;
            c2[l] = n2;
        }
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    for (int l = 0; l < RG_LANES; l++) {
        w[0][l] = c0[l];
        w[1][l] = c1[l];
        w[2][l] = c2[l];
        w[3][l] = c3[l];
    }
}

static void philox_lanes(const rg_rng_stream *s, uint64_t first, uint32_t w[4][RG_LANES])
{
    philox_lanes_body(s, first, w);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* 32x32 -> 64-bit products of 16 lanes by a constant: vpmuludq multiplies the even lanes,
 * a shifted copy the odd ones; the blends put each lane's high and low word back in it. */
__attribute__((target("avx512f"))) static inline void mulhilo16(__m512i a, __m512i m,
                                                                __m512i *hi, __m512i *lo)
{
    __m512i pe = _mm512_mul_epu32(a, m);
    __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    *lo = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
}

/* Blocks first..first+15 as 64 uniforms in position order, in AVX-512 registers: the
 * rounds of rg_rng_block, then a 4x16 transpose (word j of block l goes to out[4l + j])
 * and the conversion of u32_to_unit. Written with intrinsics because the compiler's
 * vectorization of philox_lanes_body, plus the scalar interleave, was most of a dropout
 * step. The words are the same (tests/core/test_rng.c compares them to rg_rng_block). */
__attribute__((target("avx512f"))) static void philox_uniform64_avx512(const rg_rng_stream *s,
                                                                       uint64_t first,
                                                                       float *out)
{
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i base = _mm512_set1_epi32((int)(uint32_t)first);
    __m512i c0 = _mm512_add_epi32(base, iota);
    /* a lane whose low word wrapped carries into the high word */
    __mmask16 carry = _mm512_cmplt_epu32_mask(c0, base);
    __m512i c1 = _mm512_set1_epi32((int)(uint32_t)(first >> 32));
    c1 = _mm512_mask_add_epi32(c1, carry, c1, _mm512_set1_epi32(1));
    __m512i c2 = _mm512_set1_epi32((int)s->prefix[0]);
    __m512i c3 = _mm512_set1_epi32((int)s->prefix[1]);
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    uint32_t k0 = s->key[0], k1 = s->key[1];
    for (int r = 0; r < 10; r++) {
        __m512i hi0, lo0, hi1, lo1;
        mulhilo16(c0, m0, &hi0, &lo0);
        mulhilo16(c2, m1, &hi1, &lo1);
        /* n0 = hi(p1) ^ c1 ^ k0, n2 = hi(p0) ^ c3 ^ k1: 0x96 is a ^ b ^ c */
        __m512i n0 = _mm512_ternarylogic_epi32(hi1, c1, _mm512_set1_epi32((int)k0), 0x96);
        __m512i n2 = _mm512_ternarylogic_epi32(hi0, c3, _mm512_set1_epi32((int)k1), 0x96);
        c1 = lo1;
        c3 = lo0;
        c0 = n0;
        c2 = n2;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    /* per 128-bit lane k: a01 = w0[4k] w1[4k] w0[4k+1] w1[4k+1], and so on */
    __m512i a01l = _mm512_unpacklo_epi32(c0, c1), a01h = _mm512_unpackhi_epi32(c0, c1);
    __m512i a23l = _mm512_unpacklo_epi32(c2, c3), a23h = _mm512_unpackhi_epi32(c2, c3);
    /* b[q] holds blocks q, q+4, q+8, q+12, one per 128-bit lane */
    __m512i b0 = _mm512_unpacklo_epi64(a01l, a23l), b1 = _mm512_unpackhi_epi64(a01l, a23l);
    __m512i b2 = _mm512_unpacklo_epi64(a01h, a23h), b3 = _mm512_unpackhi_epi64(a01h, a23h);
    __m512i t0 = _mm512_shuffle_i32x4(b0, b1, 0x44), t1 = _mm512_shuffle_i32x4(b2, b3, 0x44);
    __m512i t2 = _mm512_shuffle_i32x4(b0, b1, 0xEE), t3 = _mm512_shuffle_i32x4(b2, b3, 0xEE);
    __m512i o[4] = {_mm512_shuffle_i32x4(t0, t1, 0x88), _mm512_shuffle_i32x4(t0, t1, 0xDD),
                    _mm512_shuffle_i32x4(t2, t3, 0x88), _mm512_shuffle_i32x4(t2, t3, 0xDD)};
    const __m512 scale = _mm512_set1_ps(1.0f / 16777216.0f);
    for (int q = 0; q < 4; q++)
        _mm512_storeu_ps(out + 16 * q,
                         _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(o[q], 8)), scale));
}

static int have_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
}
#else
static void philox_uniform64_avx512(const rg_rng_stream *s, uint64_t first, float *out)
{
    (void)s, (void)first, (void)out; /* never called: have_avx512() is 0 */
}
static int have_avx512(void)
{
    return 0;
}
#endif

void rg_rng_uniform(const rg_rng_stream *s, uint64_t offset, float *out, size_t n)
{
    offset += s->base;
    size_t i = 0;
    /* up to the first whole block, then 16 blocks (64 words) at a time, then the rest */
    while (i < n && ((offset + i) & 3) != 0) {
        out[i] = u32_to_unit(word_at(s, offset + i));
        i++;
    }
    if (n - i >= 4 * RG_LANES) {
        int wide = have_avx512();
        uint32_t w[4][RG_LANES];
        for (; n - i >= 4 * RG_LANES; i += 4 * RG_LANES) {
            if (wide) {
                philox_uniform64_avx512(s, (offset + i) >> 2, out + i);
                continue;
            }
            philox_lanes(s, (offset + i) >> 2, w);
            for (int l = 0; l < RG_LANES; l++)
                for (int j = 0; j < 4; j++)
                    out[i + (size_t)(4 * l + j)] = u32_to_unit(w[j][l]);
        }
    }
    while (i < n) {
        uint64_t pos = offset + i;
        uint32_t b[4];
        rg_rng_block(s, pos >> 2, b);
        for (unsigned j = (unsigned)(pos & 3); j < 4 && i < n; j++, i++)
            out[i] = u32_to_unit(b[j]);
    }
}

/* Box-Muller on each block: words (0,1) give normals 0 and 1, words (2,3)
 * give 2 and 3, so normal i depends only on block i/4. */
static void block_normals(const rg_rng_stream *s, uint64_t block, float z[4])
{
    uint32_t b[4];
    rg_rng_block(s, block, b);
    for (int h = 0; h < 2; h++) {
        double u1 = ((double)(b[2 * h] >> 8) + 1.0) * (1.0 / 16777216.0); /* (0, 1] */
        double u2 = (double)(b[2 * h + 1] >> 8) * (1.0 / 16777216.0);
        double r = sqrt(-2.0 * log(u1));
        z[2 * h] = (float)(r * cos(2.0 * M_PI * u2));
        z[2 * h + 1] = (float)(r * sin(2.0 * M_PI * u2));
    }
}

void rg_rng_normal(const rg_rng_stream *s, uint64_t offset, float *out, size_t n)
{
    offset += s->base;
    size_t i = 0;
    while (i < n) {
        uint64_t pos = offset + i;
        float z[4];
        block_normals(s, pos >> 2, z);
        for (unsigned j = (unsigned)(pos & 3); j < 4 && i < n; j++, i++)
            out[i] = z[j];
    }
}

uint32_t rg_rng_below(const rg_rng_stream *s, uint64_t offset, uint32_t bound)
{
    return (uint32_t)(((uint64_t)rg_rng_u32(s, offset) * bound) >> 32);
}

void rg_rng_shuffle(const rg_rng_stream *s, int64_t *idx, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = rg_rng_below(s, (uint64_t)i, (uint32_t)(i + 1));
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
