/* Counter-based RNG: Philox4x32-10 against the Random123 known-answer
 * vectors (Random123 distribution, examples/kat_vectors, "philox4x32 10"
 * lines; Salmon et al., SC 2011), then the properties the trainer relies
 * on: ranges, moments, counter addressability, stream separation, and
 * shuffles that are permutations. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "rng.h"

static void check_kat(const uint32_t ctr[4], const uint32_t key[2], const uint32_t want[4])
{
    rg_rng_stream s;
    s.key[0] = key[0];
    s.key[1] = key[1];
    s.prefix[0] = ctr[2];
    s.prefix[1] = ctr[3];
    uint64_t block = (uint64_t)ctr[0] | (uint64_t)ctr[1] << 32;
    uint32_t out[4];
    rg_rng_block(&s, block, out);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(out[i], want[i], "word %d: got 0x%08x, want 0x%08x", i, out[i], want[i]);
}

Test(philox, known_answer_zero_counter_zero_key)
{
    const uint32_t ctr[4] = {0, 0, 0, 0}, key[2] = {0, 0};
    const uint32_t want[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
    check_kat(ctr, key, want);
}

Test(philox, known_answer_all_ones)
{
    const uint32_t ctr[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    const uint32_t key[2] = {0xffffffffu, 0xffffffffu};
    const uint32_t want[4] = {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
    check_kat(ctr, key, want);
}

Test(philox, known_answer_pi_digits)
{
    const uint32_t ctr[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
    const uint32_t key[2] = {0xa4093822u, 0x299f31d0u};
    const uint32_t want[4] = {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u};
    check_kat(ctr, key, want);
}

Test(rng, u32_at_offset_is_word_of_its_block)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, 42, 1, 2, RG_SITE_SHUFFLE);
    for (uint64_t blk = 0; blk < 5; blk++) {
        uint32_t b[4];
        rg_rng_block(&s, blk, b);
        for (int j = 0; j < 4; j++)
            cr_assert_eq(rg_rng_u32(&s, blk * 4 + (uint64_t)j), b[j], "offset %llu",
                         (unsigned long long)(blk * 4 + (uint64_t)j));
    }
}

Test(rng, uniform_values_in_unit_interval)
{
    const size_t n = 1000000;
    float *u = rg_alloc_floats(n);
    cr_assert(u);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 1, 0, 0, RG_SITE_INIT);
    rg_rng_uniform(&s, 0, u, n);
    for (size_t i = 0; i < n; i++)
        cr_assert(u[i] >= 0.0f && u[i] < 1.0f, "u[%zu] = %.9g outside [0, 1)", i, u[i]);
    rg_free(u);
}

Test(rng, uniform_follows_its_raw_word)
{
    /* value i is the word at position i scaled to [0, 1) */
    rg_rng_stream s;
    rg_rng_stream_init(&s, 5, 0, 0, RG_SITE_INIT);
    float u[64];
    rg_rng_uniform(&s, 3, u, 64);
    for (int i = 0; i < 64; i++) {
        double want = (double)rg_rng_u32(&s, 3 + (uint64_t)i) / 4294967296.0;
        cr_assert(fabs(u[i] - want) <= 1.0 / 16777216.0, "u[%d] = %.9g, word/2^32 = %.9g", i,
                  u[i], want);
    }
}

Test(rng, uniform_mean_near_half_and_variance_near_one_twelfth)
{
    const size_t n = 1000000;
    float *u = rg_alloc_floats(n);
    cr_assert(u);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 2, 0, 0, RG_SITE_INIT);
    rg_rng_uniform(&s, 0, u, n);
    double sum = 0.0, sq = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += u[i];
        sq += (double)u[i] * u[i];
    }
    double mean = sum / (double)n, var = sq / (double)n - mean * mean;
    /* sd of the mean is 0.289/1000: these are > 10 sigma wide */
    cr_assert(fabs(mean - 0.5) < 0.003, "mean %.6f", mean);
    cr_assert(fabs(var - 1.0 / 12.0) < 0.002, "variance %.6f, want 1/12", var);
    rg_free(u);
}

Test(rng, normal_mean_near_zero_variance_near_one)
{
    const size_t n = 1000000;
    float *z = rg_alloc_floats(n);
    cr_assert(z);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 3, 0, 0, RG_SITE_INIT);
    rg_rng_normal(&s, 0, z, n);
    double sum = 0.0, sq = 0.0;
    size_t beyond2 = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(isfinite(z[i]), "z[%zu] = %g", i, z[i]);
        sum += z[i];
        sq += (double)z[i] * z[i];
        beyond2 += fabsf(z[i]) > 2.0f;
    }
    double mean = sum / (double)n, var = sq / (double)n - mean * mean;
    cr_assert(fabs(mean) < 0.01, "mean %.6f", mean);
    cr_assert(fabs(var - 1.0) < 0.02, "variance %.6f", var);
    /* P(|Z| > 2) = erfc(2 / sqrt 2) = 0.0455 */
    double frac = (double)beyond2 / (double)n, want = erfc(2.0 / sqrt(2.0));
    cr_assert(fabs(frac - want) < 0.003, "P(|z| > 2) = %.5f, want %.5f", frac, want);
    rg_free(z);
}

Test(rng, normal_is_finite_where_the_raw_word_is_zero)
{
    /* Box-Muller takes log(u1): the rare word whose top 24 bits are all 0
     * must not become log(0). Find one (about 1 in 2^24 words) and draw the
     * normal built from it. */
    rg_rng_stream s;
    rg_rng_stream_init(&s, 6, 0, 0, RG_SITE_INIT);
    uint64_t found = UINT64_MAX;
    for (uint64_t blk = 0; blk < (1ull << 28) && found == UINT64_MAX; blk++) {
        uint32_t b[4];
        rg_rng_block(&s, blk, b);
        if ((b[0] >> 8) == 0)
            found = blk * 4;
        else if ((b[2] >> 8) == 0)
            found = blk * 4 + 2;
    }
    cr_assert_neq(found, UINT64_MAX, "no zero word found");
    float z[2];
    rg_rng_normal(&s, found, z, 2);
    cr_assert(isfinite(z[0]) && isfinite(z[1]), "normals at offset %llu: %g %g",
              (unsigned long long)found, z[0], z[1]);
}

Test(rng, uniform_is_counter_addressable)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, 9, 4, 7, RG_SITE_AUGMENT);
    float all[100], part[100];
    rg_rng_uniform(&s, 0, all, 100);
    rg_rng_uniform(&s, 0, part, 37);
    rg_rng_uniform(&s, 37, part + 37, 63);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(all[i], part[i], "value %d: %.9g vs %.9g", i, all[i], part[i]);
}

Test(rng, normal_is_counter_addressable)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, 9, 4, 7, RG_SITE_AUGMENT);
    float all[100], part[100];
    rg_rng_normal(&s, 0, all, 100);
    rg_rng_normal(&s, 0, part, 37);
    rg_rng_normal(&s, 37, part + 37, 63);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(all[i], part[i], "value %d: %.9g vs %.9g", i, all[i], part[i]);
    /* and single values drawn one at a time at odd offsets */
    for (int i = 0; i < 100; i += 13) {
        float one;
        rg_rng_normal(&s, (uint64_t)i, &one, 1);
        cr_assert_eq(one, all[i], "value %d alone: %.9g vs %.9g", i, one, all[i]);
    }
}

static int same_words(const rg_rng_stream *a, const rg_rng_stream *b)
{
    for (uint64_t i = 0; i < 8; i++)
        if (rg_rng_u32(a, i) != rg_rng_u32(b, i))
            return 0;
    return 1;
}

Test(rng, same_arguments_give_same_stream)
{
    rg_rng_stream a, b;
    rg_rng_stream_init(&a, 77, 3, 5, RG_SITE_SPLIT);
    rg_rng_stream_init(&b, 77, 3, 5, RG_SITE_SPLIT);
    cr_assert(same_words(&a, &b));
}

Test(rng, different_seeds_sites_epochs_steps_give_different_streams)
{
    enum { N = 5 };
    rg_rng_stream s[N];
    rg_rng_stream_init(&s[0], 77, 3, 5, RG_SITE_SPLIT);
    rg_rng_stream_init(&s[1], 78, 3, 5, RG_SITE_SPLIT);   /* seed */
    rg_rng_stream_init(&s[2], 77, 4, 5, RG_SITE_SPLIT);   /* epoch */
    rg_rng_stream_init(&s[3], 77, 3, 6, RG_SITE_SPLIT);   /* step */
    rg_rng_stream_init(&s[4], 77, 3, 5, RG_SITE_SHUFFLE); /* site */
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            cr_assert(!same_words(&s[i], &s[j]), "streams %d and %d coincide", i, j);
}

Test(rng, swapped_epoch_and_step_give_different_streams)
{
    rg_rng_stream a, b;
    rg_rng_stream_init(&a, 1, 2, 3, RG_SITE_ACTIVATION);
    rg_rng_stream_init(&b, 1, 3, 2, RG_SITE_ACTIVATION);
    cr_assert(!same_words(&a, &b));
}

Test(rng, below_stays_below_bound)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, 4, 0, 0, RG_SITE_SHUFFLE);
    uint32_t bounds[4] = {1, 2, 7, 1000};
    for (int b = 0; b < 4; b++)
        for (uint64_t i = 0; i < 10000; i++) {
            uint32_t v = rg_rng_below(&s, i, bounds[b]);
            cr_assert(v < bounds[b], "below(%u) gave %u", bounds[b], v);
        }
}

static void identity(int64_t *idx, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        idx[i] = i;
}

Test(shuffle, gives_a_permutation)
{
    enum { N = 1000 };
    int64_t idx[N];
    uint8_t seen[N] = {0};
    identity(idx, N);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 11, 0, 0, RG_SITE_SHUFFLE);
    rg_rng_shuffle(&s, idx, N);
    int64_t fixed = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(idx[i] >= 0 && idx[i] < N, "idx[%d] = %lld", i, (long long)idx[i]);
        cr_assert(!seen[idx[i]], "%lld appears twice", (long long)idx[i]);
        seen[idx[i]] = 1;
        fixed += idx[i] == i;
    }
    /* a uniform permutation has ~1 fixed point; the identity has N */
    cr_assert(fixed < 10, "%lld fixed points: not shuffled", (long long)fixed);
}

Test(shuffle, deterministic_per_stream)
{
    enum { N = 500 };
    int64_t a[N], b[N], c[N];
    identity(a, N);
    identity(b, N);
    identity(c, N);
    rg_rng_stream s, t;
    rg_rng_stream_init(&s, 11, 2, 0, RG_SITE_SHUFFLE);
    rg_rng_stream_init(&t, 11, 3, 0, RG_SITE_SHUFFLE);
    rg_rng_shuffle(&s, a, N);
    rg_rng_shuffle(&s, b, N);
    rg_rng_shuffle(&t, c, N);
    cr_assert(memcmp(a, b, sizeof a) == 0, "same stream, different permutations");
    cr_assert(memcmp(a, c, sizeof a) != 0, "different epochs, same permutation");
}

Test(shuffle, all_permutations_of_three_equally_likely)
{
    /* Fisher-Yates gives each of the 3! orders probability 1/6; an
     * off-by-one bound (Sattolo's cycles, or j < i) gives some none. */
    enum { TRIALS = 6000 };
    int counts[27] = {0};
    for (int k = 0; k < TRIALS; k++) {
        rg_rng_stream s;
        rg_rng_stream_init(&s, 123, 0, (uint64_t)k, RG_SITE_SHUFFLE);
        int64_t idx[3] = {0, 1, 2};
        rg_rng_shuffle(&s, idx, 3);
        counts[idx[0] * 9 + idx[1] * 3 + idx[2]]++;
    }
    const int perms[6] = {0 * 9 + 1 * 3 + 2, 0 * 9 + 2 * 3 + 1, 1 * 9 + 0 * 3 + 2,
                          1 * 9 + 2 * 3 + 0, 2 * 9 + 0 * 3 + 1, 2 * 9 + 1 * 3 + 0};
    int total = 0;
    for (int p = 0; p < 6; p++) {
        /* expected 1000, sd 28.9: +-150 is over 5 sigma */
        cr_assert(abs(counts[perms[p]] - 1000) < 150, "order %d seen %d times of %d", perms[p],
                  counts[perms[p]], TRIALS);
        total += counts[perms[p]];
    }
    cr_assert_eq(total, TRIALS);
}

/* Long draws take the 16-block (64-word) lane path: every value must be exactly its word's top
 * 24 bits over 2^24, whatever the start offset within a block and the length past the last
 * whole group of 64. */
Test(rng, long_uniform_draws_equal_their_words_exactly)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, 12, 3, 99, RG_SITE_ACTIVATION);
    static float u[1000];
    /* the last: 16 blocks whose counter's low word wraps, carrying into the high word */
    const uint64_t offsets[] = {0, 1, 5, (1ull << 32) - 7, ((1ull << 32) - 10) * 4};
    for (size_t q = 0; q < sizeof offsets / sizeof offsets[0]; q++) {
        rg_rng_uniform(&s, offsets[q], u, 1000);
        for (int i = 0; i < 1000; i++) {
            float want = (float)(rg_rng_u32(&s, offsets[q] + (uint64_t)i) >> 8) *
                         (1.0f / 16777216.0f);
            cr_assert_eq(u[i], want, "offset %llu, value %d: %.9g, expected %.9g",
                         (unsigned long long)offsets[q], i, (double)u[i], (double)want);
        }
    }
}
