/* Counter-based randomness (Philox4x32-10, Salmon et al., "Parallel random
 * numbers: as easy as 1, 2, 3", SC 2011). A stream is a key plus a fixed
 * counter prefix; value i of a stream depends only on (stream, i), never on
 * how many threads drew values before it. That is what makes results
 * bit-identical across runs and lets plugins split draws across threads. */
#ifndef RG_CORE_RNG_H
#define RG_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "regula/plugin.h"

struct rg_rng_stream {
    uint32_t key[2];
    uint32_t prefix[2];
    /* added to every position drawn: a data-parallel rank's activation hooks see its rows
     * of the global batch, and draw where the whole batch's row lo would (0 otherwise) */
    uint64_t base;
};

/* Fixed call sites, so two uses of randomness never share a stream. */
enum {
    RG_SITE_INIT = 1,
    RG_SITE_SHUFFLE = 2,
    RG_SITE_SPLIT = 3,
    RG_SITE_AUGMENT = 100,   /* + augmenter index */
    RG_SITE_AUGMENT_PICK = 500, /* + first index of a one-of group */
    RG_SITE_ACTIVATION = 1000, /* + hook site index */
    RG_SITE_WEIGHT = 2000,     /* + target index: weight transforms (ABI 1.5) */
    RG_SITE_GRADIENT = 3000    /* + target index: gradient hooks (ABI 1.5) */
};

void rg_rng_stream_init(rg_rng_stream *s, uint64_t seed, uint64_t epoch, uint64_t step,
                        uint64_t site);
/* SplitMix64's finalizer (Steele et al. 2014): how keys and prefixes are mixed. */
uint64_t rg_rng_mix(uint64_t x);
/* Four raw 32-bit words of block `block`. */
void rg_rng_block(const rg_rng_stream *s, uint64_t block, uint32_t out[4]);
uint32_t rg_rng_u32(const rg_rng_stream *s, uint64_t offset);
void rg_rng_uniform(const rg_rng_stream *s, uint64_t offset, float *out, size_t n);
void rg_rng_normal(const rg_rng_stream *s, uint64_t offset, float *out, size_t n);
/* Uniform integer in [0, bound) drawn from position `offset` (Lemire's
 * multiply-shift; bias below 2^-32 * bound, negligible for shuffles). */
uint32_t rg_rng_below(const rg_rng_stream *s, uint64_t offset, uint32_t bound);
/* Fisher-Yates permutation of idx[0..n) using positions [0, n). */
void rg_rng_shuffle(const rg_rng_stream *s, int64_t *idx, int64_t n);

#endif
