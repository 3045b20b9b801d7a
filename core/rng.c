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

void rg_rng_stream_init(rg_rng_stream *s, uint64_t seed, uint64_t epoch, uint64_t step,
                        uint64_t site)
{
    uint64_t k = splitmix64(seed);
    uint64_t p = splitmix64(splitmix64(splitmix64(site) ^ epoch) ^ step);
    s->key[0] = (uint32_t)k;
    s->key[1] = (uint32_t)(k >> 32);
    s->prefix[0] = (uint32_t)p;
    s->prefix[1] = (uint32_t)(p >> 32);
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

uint32_t rg_rng_u32(const rg_rng_stream *s, uint64_t offset)
{
    uint32_t b[4];
    rg_rng_block(s, offset >> 2, b);
    return b[offset & 3];
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
__attribute__((target("avx512f"))) static void
philox_lanes512(const rg_rng_stream *s, uint64_t first, uint32_t w[4][RG_LANES])
{
    philox_lanes_body(s, first, w);
}

static int have_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
}
#else
#define philox_lanes512 philox_lanes
static int have_avx512(void)
{
    return 0;
}
#endif

void rg_rng_uniform(const rg_rng_stream *s, uint64_t offset, float *out, size_t n)
{
    size_t i = 0;
    /* up to the first whole block, then 16 blocks (64 words) at a time, then the rest */
    while (i < n && ((offset + i) & 3) != 0) {
        out[i] = u32_to_unit(rg_rng_u32(s, offset + i));
        i++;
    }
    if (n - i >= 4 * RG_LANES) {
        int wide = have_avx512();
        uint32_t w[4][RG_LANES];
        for (; n - i >= 4 * RG_LANES; i += 4 * RG_LANES) {
            if (wide)
                philox_lanes512(s, (offset + i) >> 2, w);
            else
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
