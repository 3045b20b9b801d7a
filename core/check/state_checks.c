/* The ABI 1.2 state hooks: what a plugin saves and loads back must make a second instance
 * behave exactly as the first (same penalty and gradient bits, same state afterwards), and
 * a truncated state must be refused, not read past its end (the child has no slack after
 * the buffer: ASan or a page boundary would show it; a crash is reported by name). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../rng.h"
#include "check_internal.h"

static const int64_t k_shape[2] = {12, 9};

/* One step of the plugin on a 12x9 weight tensor filled from `seed`: penalty() (loss and
 * gradient out) or, for a weight transform, weight_forward() in training at step `seed`
 * (the transformed tensor out in grad): what a saved state must reproduce. */
static int drive(rg_check_child *c, const rg_check_ctx *ctx, void *inst, uint64_t seed,
                 double *loss, float *grad, char *detail, size_t cap)
{
    const rg_plugin *p = ctx->plugin;
    float w[12 * 9];
    rg_chk_fill_normal(w, 12 * 9, seed, 1.0f);
    memset(grad, 0, 12 * 9 * sizeof(float));
    rg_tensor_view wv = rg_chk_view(w, RG_TENSOR_WEIGHT, 2, k_shape, "dense1.weight");
    rg_tensor_view gv = rg_chk_view(grad, p->reg.penalty ? RG_TENSOR_GRADIENT : RG_TENSOR_WEIGHT,
                                    2, k_shape, "dense1.weight");
    *loss = 0.0;
    rg_status st;
    const char *hook = p->reg.penalty ? "penalty()" : "weight_forward()";
    if (p->reg.penalty) {
        rg_check_stage(c, hook, "penalty() on the 12x9 weight tensor");
        st = p->reg.penalty(inst, &wv, loss, &gv);
    } else {
        rg_rng_stream rng;
        rg_rng_stream_init(&rng, 7, 0, seed, RG_SITE_WEIGHT);
        rg_param_ctx pc;
        memset(&pc, 0, sizeof pc);
        pc.struct_size = sizeof pc;
        pc.mode = RG_MODE_TRAIN;
        pc.rng = &rng;
        pc.step = (int64_t)seed;
        pc.lr = 0.1;
        rg_check_stage(c, hook, "weight_forward() on the 12x9 weight tensor at step %llu",
                       (unsigned long long)seed);
        st = p->reg.weight_forward(inst, &pc, &wv, &gv);
    }
    if (st != RG_OK) {
        char why[512];
        rg_chk_status_text(st, why, sizeof why);
        snprintf(detail, cap, "%s failed: %s", hook, why);
        return 0;
    }
    return 1;
}

/* state_size() + state_save() into a fresh exact-size buffer (freed by the caller). */
static unsigned char *save(rg_check_child *c, const rg_check_ctx *ctx, void *inst,
                           uint64_t *bytes, char *detail, size_t cap)
{
    const rg_plugin_desc *d = &ctx->plugin->desc;
    rg_check_stage(c, "state_size()", "state_size()");
    if (d->state_size(inst, bytes) != RG_OK) {
        snprintf(detail, cap, "state_size() failed: %s", rg_error_message());
        return NULL;
    }
    if (*bytes > ((uint64_t)1 << 30)) {
        snprintf(detail, cap, "state_size() says %llu bytes for a 12x9 tensor",
                 (unsigned long long)*bytes);
        return NULL;
    }
    rg_chk_buf b;
    if (!rg_chk_buf_alloc(&b, (int64_t)((*bytes + 3) / 4))) {
        snprintf(detail, cap, "checker out of memory");
        return NULL;
    }
    rg_check_stage(c, "state_save()", "state_save() of %llu bytes", (unsigned long long)*bytes);
    rg_status st = d->state_save(inst, b.data, *bytes);
    int intact = rg_chk_guards_intact(&b);
    unsigned char *out = malloc(*bytes ? *bytes : 1);
    if (out)
        memcpy(out, b.data, *bytes);
    rg_chk_buf_free(&b);
    if (st != RG_OK || !intact || !out) {
        snprintf(detail, cap, "%s", st != RG_OK ? "state_save() failed"
                                    : !intact  ? "state_save() wrote outside the buffer of "
                                                 "state_size() bytes"
                                               : "checker out of memory");
        free(out);
        return NULL;
    }
    return out;
}

rg_check_verdict rg_check_state(rg_check_child *c, const rg_check_ctx *ctx, const void *arg,
                                char *detail, size_t cap)
{
    (void)arg;
    const rg_plugin_desc *d = &ctx->plugin->desc;
    void *a = NULL, *b = NULL;
    float ga[12 * 9], gb[12 * 9];
    double la = 0, lb = 0;
    unsigned char *sa = NULL, *sb = NULL;
    uint64_t na = 0, nb = 0;
    rg_check_verdict v = RG_CHECK_FAIL;
    int drives = ctx->plugin->reg.penalty != NULL || ctx->plugin->reg.weight_forward != NULL;
    const char *what = ctx->plugin->reg.penalty ? "penalty and gradient bits"
                                                : "transformed weight bits";
    if (rg_chk_create(c, ctx, "", &a) != RG_OK || rg_chk_create(c, ctx, "", &b) != RG_OK) {
        snprintf(detail, cap, "%s", rg_error_message());
        goto out;
    }
    /* some history in a: two steps on different weights */
    if (drives && (!drive(c, ctx, a, 11, &la, ga, detail, cap) ||
                   !drive(c, ctx, a, 12, &la, ga, detail, cap)))
        goto out;
    if (!(sa = save(c, ctx, a, &na, detail, cap)))
        goto out;
    rg_check_stage(c, "state_load()", "state_load() of the %llu saved bytes",
                   (unsigned long long)na);
    if (d->state_load(b, sa, na) != RG_OK) {
        snprintf(detail, cap, "state_load() refused what state_save() wrote (%llu bytes): %s",
                 (unsigned long long)na, rg_error_message());
        goto out;
    }
    if (drives) {
        if (!drive(c, ctx, a, 13, &la, ga, detail, cap) ||
            !drive(c, ctx, b, 13, &lb, gb, detail, cap))
            goto out;
        int64_t at = 0;
        if (la != lb || !rg_chk_bits_equal(ga, gb, 12 * 9, &at)) {
            snprintf(detail, cap, "after state_save() and state_load(), the loaded instance "
                     "computes a different %s (penalty %.9g vs %.9g, element %lld): the saved "
                     "state is incomplete", ctx->plugin->reg.penalty ? "penalty or gradient"
                     : "transformed weight", la, lb, (long long)at);
            goto out;
        }
    }
    free(sa);
    sa = NULL;
    if (!(sa = save(c, ctx, a, &na, detail, cap)) || !(sb = save(c, ctx, b, &nb, detail, cap)))
        goto out;
    if (na != nb || memcmp(sa, sb, na) != 0) {
        snprintf(detail, cap, "the loaded instance's state (%llu bytes) differs from the "
                 "original's (%llu bytes) after the same step",
                 (unsigned long long)nb, (unsigned long long)na);
        goto out;
    }
    /* truncations: exact-size copies, so a read past the end is a read past the buffer */
    const uint64_t cuts[] = {0, 1, na / 2, na ? na - 1 : 0};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        if (cuts[k] >= na)
            continue;
        unsigned char *cut = malloc(cuts[k] ? cuts[k] : 1);
        if (!cut) {
            snprintf(detail, cap, "checker out of memory");
            goto out;
        }
        memcpy(cut, sa, cuts[k]);
        rg_check_stage(c, "state_load()", "state_load() of the first %llu of %llu bytes",
                       (unsigned long long)cuts[k], (unsigned long long)na);
        void *fresh = NULL;
        rg_status st = rg_chk_create(c, ctx, "", &fresh);
        if (st == RG_OK)
            st = d->state_load(fresh, cut, cuts[k]);
        rg_chk_destroy(c, ctx, fresh);
        free(cut);
        if (st == RG_OK) {
            snprintf(detail, cap, "state_load() accepted the first %llu of %llu bytes of a "
                     "saved state: check the lengths you read (the bytes come from a file)",
                     (unsigned long long)cuts[k], (unsigned long long)na);
            goto out;
        }
    }
    snprintf(detail, cap, "%llu-byte state: saved, loaded into a new instance, same %s and "
             "same state after a step; truncated states refused",
             (unsigned long long)na, drives ? what : "bytes");
    v = RG_CHECK_PASS;
out:
    free(sa);
    free(sb);
    rg_chk_destroy(c, ctx, a);
    rg_chk_destroy(c, ctx, b);
    return v;
}
