/* What every check needs: guarded buffers, seeded random tensors from the
 * host's RNG, and creating an instance from "name=value" text exactly as the
 * CLI does (rg_params_parse, then create()). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../plugin/compose.h"
#include "../plugin/instance.h"
#include "../rng.h"
#include "check_internal.h"

/* A signalling-NaN bit pattern no plugin computes by accident. */
#define GUARD_BITS 0x7fa5c3e1u

static void fill_guard(float *p)
{
    for (int i = 0; i < RG_CHK_GUARD; i++)
        memcpy(&p[i], &(uint32_t){GUARD_BITS}, sizeof(float));
}

static int guard_ok(const float *p)
{
    for (int i = 0; i < RG_CHK_GUARD; i++) {
        uint32_t bits;
        memcpy(&bits, &p[i], sizeof bits);
        if (bits != GUARD_BITS)
            return 0;
    }
    return 1;
}

int rg_chk_buf_alloc(rg_chk_buf *b, int64_t n)
{
    size_t bytes = (size_t)(n + 2 * RG_CHK_GUARD) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    b->base = aligned_alloc(64, bytes);
    if (!b->base)
        return 0;
    memset(b->base, 0, bytes);
    /* 16 floats = 64 bytes, so data keeps the ABI's 64-byte alignment. */
    b->data = b->base + RG_CHK_GUARD;
    b->n = n;
    fill_guard(b->base);
    fill_guard(b->data + n);
    return 1;
}

void rg_chk_buf_free(rg_chk_buf *b)
{
    free(b->base);
    b->base = b->data = NULL;
}

int rg_chk_guards_intact(const rg_chk_buf *b)
{
    return guard_ok(b->base) && guard_ok(b->data + b->n);
}

void rg_chk_fill_normal(float *x, int64_t n, uint64_t seed, float scale)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, 0, 0xC0FFEE);
    rg_rng_normal(&s, 0, x, (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] *= scale;
}

void rg_chk_fill_uniform(float *x, int64_t n, uint64_t seed, float lo, float hi)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, 0, 0xC0FFEE);
    rg_rng_uniform(&s, 0, x, (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * x[i];
}

void rg_chk_fill_away_from_zero(float *x, int64_t n, uint64_t seed, float lo, float hi)
{
    rg_chk_fill_uniform(x, n, seed, lo, hi);
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 1, 0, 0xC0FFEE);
    for (int64_t i = 0; i < n; i++)
        if (rg_rng_u32(&s, (uint64_t)i) & 1u)
            x[i] = -x[i];
}

rg_tensor_view rg_chk_view(float *data, uint32_t kind, uint32_t ndim, const int64_t *shape,
                           const char *name)
{
    rg_tensor_view v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.kind = kind;
    v.ndim = ndim;
    v.numel = 1;
    for (uint32_t d = 0; d < ndim; d++) {
        v.shape[d] = shape[d];
        v.numel *= shape[d];
    }
    v.data = data;
    v.name = name;
    return v;
}

void rg_chk_describe(const rg_tensor_view *v, char *buf, size_t cap)
{
    static const char *const kinds[] = {"", "weight", "bias", "activation", "gradient"};
    char dims[96] = "";
    for (uint32_t d = 0; d < v->ndim; d++) {
        size_t used = strlen(dims);
        snprintf(dims + used, sizeof dims - used, "%s%lld", d ? "x" : "", (long long)v->shape[d]);
    }
    snprintf(buf, cap, "%s%s%s %s tensor", v->ndim == 1 ? "[" : "", dims,
             v->ndim == 1 ? "]" : "", v->kind <= 4 ? kinds[v->kind] : "unknown");
}

void rg_chk_status_text(rg_status st, char *buf, size_t cap)
{
    snprintf(buf, cap, "'%s': %s", rg_status_name(st), rg_error_message());
}

rg_status rg_chk_parse(const rg_check_ctx *ctx, const char *text, rg_param_value *values,
                       char *storage, size_t cap)
{
    rg_selection sel;
    return rg_params_parse(ctx->plugin, text, values, storage, cap, &sel);
}

rg_status rg_chk_create(rg_check_child *c, const rg_check_ctx *ctx, const char *text,
                        void **inst)
{
    rg_param_value values[RG_PLUGIN_MAX_PARAMS];
    char storage[512];
    *inst = NULL;
    rg_status st = rg_chk_parse(ctx, text, values, storage, sizeof storage);
    if (st != RG_OK)
        return st;
    rg_params prm = {sizeof prm, ctx->plugin->num_params, values};
    rg_check_stage(c, "create()", "create() with %s", *text ? text : "default parameters");
    rg_error_clear();
    rg_compose_mark mark;
    rg_compose_begin(&mark, ctx->plugin->desc.name, ctx->plugin->desc.kind, &ctx->host);
    st = ctx->plugin->desc.create(&ctx->host, &prm, inst);
    rg_compose_end(&mark, st == RG_OK ? *inst : NULL);
    if (st == RG_OK && *inst == NULL)
        return rg_error_set(RG_ERR_PLUGIN, "create() returned RG_OK but no instance");
    if (st == RG_OK)
        return RG_OK;
    /* INVALID is reserved for the schema's refusal, so map create()'s. */
    char why[RG_CHECK_DETAIL_CAP];
    rg_chk_status_text(st, why, sizeof why);
    return rg_error_set(RG_ERR_PLUGIN, "create() returned %s", why);
}

void rg_chk_destroy(rg_check_child *c, const rg_check_ctx *ctx, void *inst)
{
    if (!inst)
        return;
    rg_check_stage(c, "destroy()", "destroy()");
    ctx->plugin->desc.destroy(inst);
    rg_compose_release(inst);
}

int rg_chk_sample(int64_t n, int64_t *idx, int max)
{
    if (n <= max) {
        for (int64_t i = 0; i < n; i++)
            idx[i] = i;
        return (int)n;
    }
    for (int k = 0; k < max; k++)
        idx[k] = (int64_t)(((double)k + 0.5) * (double)n / max);
    return max;
}

int rg_chk_bits_equal(const float *a, const float *b, int64_t n, int64_t *first_diff)
{
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            if (first_diff)
                *first_diff = i;
            return 0;
        }
    return 1;
}

double rg_chk_fd_noise(double a, double b, double h)
{
    return 4.0 * FLT_EPSILON * fmax(fabs(a), fabs(b)) / h;
}
