/* Checks of an augmenter's apply(): on a random MNIST-shaped batch the view
 * keeps its shape and bounds, images stay in [0, 1], label rows stay
 * distributions, the same seed reproduces bit for bit at any thread count,
 * and another seed changes the result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../plugin/compose.h"
#include "../rng.h"
#include "../threads.h"
#include "check_internal.h"

enum { N = 16, C = 1, H = 28, W = 28, CLASSES = 10 };
#define NPIX ((int64_t)N * C * H * W)
#define NLAB ((int64_t)N * CLASSES)

typedef struct aug_batch {
    rg_chk_buf data, labels;
    rg_batch_view view;
} aug_batch;

/* The same batch every time: uniform pixels, one-hot labels. */
static int batch_init(aug_batch *b, char *detail, size_t cap)
{
    if (!rg_chk_buf_alloc(&b->data, NPIX) || !rg_chk_buf_alloc(&b->labels, NLAB)) {
        snprintf(detail, cap, "checker out of memory");
        return 0;
    }
    rg_chk_fill_uniform(b->data.data, NPIX, 800, 0.0f, 1.0f);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 801, 0, 0, 0);
    memset(b->labels.data, 0, (size_t)NLAB * sizeof(float));
    for (int64_t i = 0; i < N; i++)
        b->labels.data[i * CLASSES + rg_rng_below(&s, (uint64_t)i, CLASSES)] = 1.0f;
    memset(&b->view, 0, sizeof b->view);
    b->view.struct_size = sizeof b->view;
    b->view.n = N;
    b->view.c = C;
    b->view.h = H;
    b->view.w = W;
    b->view.data = b->data.data;
    b->view.labels = b->labels.data;
    b->view.num_classes = CLASSES;
    return 1;
}

static void batch_free(aug_batch *b)
{
    rg_chk_buf_free(&b->data);
    rg_chk_buf_free(&b->labels);
}

static int apply(rg_check_child *c, const rg_check_ctx *ctx, void *inst, aug_batch *b,
                 uint64_t seed, char *detail, size_t cap)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, 0, RG_SITE_AUGMENT);
    rg_check_stage(c, "apply()", "apply() on a 16x1x28x28 batch with 10 classes");
    rg_error_clear();
    rg_status st = ctx->plugin->aug.apply(inst, &b->view, &s);
    if (st != RG_OK) {
        char why[RG_CHECK_DETAIL_CAP];
        rg_chk_status_text(st, why, sizeof why);
        snprintf(detail, cap, "apply() on a 16x1x28x28 batch returned %s", why);
        return 0;
    }
    return 1;
}

static int create(rg_check_child *c, const rg_check_ctx *ctx, void **inst, char *detail,
                  size_t cap)
{
    if (rg_chk_create(c, ctx, "", inst) == RG_OK)
        return 1;
    snprintf(detail, cap, "%s", rg_error_message());
    return 0;
}

static int view_unchanged(const aug_batch *b, char *detail, size_t cap)
{
    const rg_batch_view *v = &b->view;
    if (v->n == N && v->c == C && v->h == H && v->w == W && v->num_classes == CLASSES &&
        v->data == b->data.data && v->labels == b->labels.data &&
        v->struct_size == sizeof *v)
        return 1;
    snprintf(detail, cap,
             "apply() changed the batch view (now n=%lld c=%lld h=%lld w=%lld classes=%lld%s): "
             "augmenters transform the batch in place and keep its shape and buffers",
             (long long)v->n, (long long)v->c, (long long)v->h, (long long)v->w,
             (long long)v->num_classes,
             v->data != b->data.data || v->labels != b->labels.data ? ", other buffers" : "");
    return 0;
}

static int contents_valid(const aug_batch *b, char *detail, size_t cap)
{
    if (!rg_chk_guards_intact(&b->data)) {
        snprintf(detail, cap, "apply() wrote outside batch->data (n*c*h*w = %lld floats)",
                 (long long)NPIX);
        return 0;
    }
    if (!rg_chk_guards_intact(&b->labels)) {
        snprintf(detail, cap, "apply() wrote outside batch->labels (n*num_classes = %lld floats)",
                 (long long)NLAB);
        return 0;
    }
    for (int64_t i = 0; i < NPIX; i++) {
        float v = b->data.data[i];
        if (!(v >= 0.0f && v <= 1.0f)) {
            snprintf(detail, cap,
                     "apply() left pixel value %g at element %lld (image %lld) outside [0, 1]: "
                     "clamp after transforms that can overshoot",
                     v, (long long)i, (long long)(i / (C * H * W)));
            return 0;
        }
    }
    for (int64_t r = 0; r < N; r++) {
        double sum = 0.0;
        for (int64_t k = 0; k < CLASSES; k++) {
            float v = b->labels.data[r * CLASSES + k];
            if (!(v >= 0.0f) || !isfinite(v)) {
                snprintf(detail, cap,
                         "apply() left label %g at row %lld, class %lld: label rows must stay "
                         "distributions (entries >= 0, sum 1)",
                         v, (long long)r, (long long)k);
                return 0;
            }
            sum += v;
        }
        if (fabs(sum - 1.0) > 1e-5) {
            snprintf(detail, cap,
                     "label row %lld sums to %.7g after apply(), not 1 (within 1e-5): mix labels "
                     "with weights that sum to 1, or renormalize each row",
                     (long long)r, sum);
            return 0;
        }
    }
    return 1;
}

rg_check_verdict rg_check_aug_bounds(rg_check_child *c, const rg_check_ctx *ctx,
                                     const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    aug_batch b;
    if (!create(c, ctx, &inst, detail, cap) || !batch_init(&b, detail, cap))
        return RG_CHECK_FAIL;
    int ok = 1;
    /* Several seeds, so a rarely taken branch gets its chance. */
    for (uint64_t seed = 1; seed <= 4 && ok; seed++)
        ok = apply(c, ctx, inst, &b, seed, detail, cap) && view_unchanged(&b, detail, cap) &&
             contents_valid(&b, detail, cap);
    batch_free(&b);
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "on a 16x1x28x28 batch (4 seeds): shape kept, no write out of bounds, "
                          "pixels in [0, 1], label rows distributions");
    return RG_CHECK_PASS;
}

/* Applies with `seed` at `threads` threads to a fresh batch. */
static int run(rg_check_child *c, const rg_check_ctx *ctx, void *inst, aug_batch *b,
               uint64_t seed, int threads, char *detail, size_t cap)
{
    if (!batch_init(b, detail, cap))
        return 0;
    rg_threads_init(threads);
    return apply(c, ctx, inst, b, seed, detail, cap);
}

/* First difference between two batches, "pixel 17" or "label 3", or 0. */
static int batch_diff(const aug_batch *a, const aug_batch *b, char *where, size_t cap)
{
    int64_t at = 0;
    if (!rg_chk_bits_equal(a->data.data, b->data.data, NPIX, &at)) {
        snprintf(where, cap, "pixel %lld of image %lld: %.9g vs %.9g", (long long)at,
                 (long long)(at / (C * H * W)), a->data.data[at], b->data.data[at]);
        return 1;
    }
    if (!rg_chk_bits_equal(a->labels.data, b->labels.data, NLAB, &at)) {
        snprintf(where, cap, "label %lld of row %lld: %.9g vs %.9g", (long long)(at % CLASSES),
                 (long long)(at / CLASSES), a->labels.data[at], b->labels.data[at]);
        return 1;
    }
    return 0;
}

rg_check_verdict rg_check_aug_determinism(rg_check_child *c, const rg_check_ctx *ctx,
                                          const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (!create(c, ctx, &inst, detail, cap))
        return RG_CHECK_FAIL;
    aug_batch b[3];
    memset(b, 0, sizeof b);
    int ok = run(c, ctx, inst, &b[0], 7, 1, detail, cap) &&
             run(c, ctx, inst, &b[1], 7, 1, detail, cap) &&
             run(c, ctx, inst, &b[2], 7, 2, detail, cap);
    char where[160];
    if (ok && batch_diff(&b[0], &b[1], where, sizeof where)) {
        snprintf(detail, cap,
                 "apply() with the same seed gives different output on two runs (%s): use only "
                 "the rng stream it is given (no rand(), clock or static counter)",
                 where);
        ok = 0;
    } else if (ok && batch_diff(&b[0], &b[2], where, sizeof where)) {
        snprintf(detail, cap,
                 "apply() with the same seed gives different output at 1 and 2 threads (%s): "
                 "take random numbers at stream offsets fixed per image, not per thread",
                 where);
        ok = 0;
    }
    for (int k = 0; k < 3; k++)
        batch_free(&b[k]);
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "the same seed gives bitwise identical batches, twice at 1 thread and "
                          "at 2 threads");
    return RG_CHECK_PASS;
}

rg_check_verdict rg_check_aug_seed(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                   char *detail, size_t cap)
{
    (void)arg;
    void *inst = NULL;
    if (!create(c, ctx, &inst, detail, cap))
        return RG_CHECK_FAIL;
    aug_batch b[2];
    memset(b, 0, sizeof b);
    int ok = run(c, ctx, inst, &b[0], 7, 1, detail, cap) &&
             run(c, ctx, inst, &b[1], 8, 1, detail, cap);
    char where[160];
    if (ok && !batch_diff(&b[0], &b[1], where, sizeof where)) {
        snprintf(detail, cap,
                 "apply() gives bitwise identical batches for seeds 7 and 8: it ignores its rng "
                 "stream; draw randomness with host->rng_uniform/rng_normal on the stream passed "
                 "to apply(), not from a seed of its own");
        ok = 0;
    }
    for (int k = 0; k < 2; k++)
        batch_free(&b[k]);
    rg_chk_destroy(c, ctx, inst);
    if (!ok)
        return RG_CHECK_FAIL;
    snprintf(detail, cap, "seeds 7 and 8 give different batches");
    return RG_CHECK_PASS;
}

/* ABI 1.6: what the augmenter composed in create() (NA when nothing). Two instances of one
 * spec must compose the same augmenters: a composition that depends on anything but the
 * parameters would change from run to run. */
rg_check_verdict rg_check_aug_compose(rg_check_child *c, const rg_check_ctx *ctx,
                                      const void *arg, char *detail, size_t cap)
{
    (void)arg;
    void *a = NULL, *b = NULL;
    if (!create(c, ctx, &a, detail, cap))
        return RG_CHECK_FAIL;
    char first[RG_CHECK_DETAIL_CAP], second[RG_CHECK_DETAIL_CAP];
    int64_t n = rg_compose_owned(a, first, sizeof first);
    if (n == 0) {
        rg_chk_destroy(c, ctx, a);
        snprintf(detail, cap, "composes no other augmenter");
        return RG_CHECK_NA;
    }
    if (!create(c, ctx, &b, detail, cap)) {
        rg_chk_destroy(c, ctx, a);
        return RG_CHECK_FAIL;
    }
    int64_t m = rg_compose_owned(b, second, sizeof second);
    rg_chk_destroy(c, ctx, a);
    rg_chk_destroy(c, ctx, b);
    if (m != n || strcmp(first, second) != 0) {
        snprintf(detail, cap,
                 "two instances with the same parameters composed different augmenters (%lld, "
                 "then %lld): compose from the parameters only",
                 (long long)n, (long long)m);
        return RG_CHECK_FAIL;
    }
    snprintf(detail, cap, "composes %lld augmenters through the host, the same for two "
                          "instances: %.700s%s",
             (long long)n, first, strlen(first) > 700 ? "..." : "");
    return RG_CHECK_PASS;
}
