/* The l2sp plugin against its definition (Li, Grandvalet, Davoine, ICML 2018, eq. 3):
 * Omega(w) = alpha/2 * ||w - w0||^2 with w0 the starting point, gradient alpha*(w - w0);
 * and its ABI 1.2 state: the anchor survives a save/load round trip, a corrupt state is
 * refused with its byte offset. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "plugin/instance.h"
#include "threads.h"

#define L2SP REGULA_TEST_PLUGINS "/l2sp.so"

static rg_plugin_instance *make(const char *params)
{
    char spec[256];
    snprintf(spec, sizeof spec, "%s:%s", L2SP, params);
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(spec, RG_PLUGIN_REGULARIZER, NULL, &pi), RG_OK, "%s",
                 rg_error_message());
    return pi;
}

static rg_tensor_view view(float *data, int64_t n, const char *name)
{
    rg_tensor_view v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.kind = RG_TENSOR_WEIGHT;
    v.ndim = 1;
    v.shape[0] = n;
    v.numel = n;
    v.data = data;
    v.name = name;
    return v;
}

static double penalty(rg_plugin_instance *pi, float *w, float *g, int64_t n, const char *name)
{
    rg_tensor_view wv = view(w, n, name), gv = view(g, n, name);
    double loss = 0.0;
    cr_assert_eq(pi->plugin->reg.penalty(pi->inst, &wv, &loss, &gv), RG_OK, "%s",
                 rg_error_message());
    return loss;
}

Test(l2sp, the_first_call_sets_the_anchor_and_later_ones_pull_toward_it)
{
    rg_threads_init(1);
    rg_plugin_instance *pi = make("alpha=0.5");
    cr_assert(pi->plugin->desc.caps & RG_CAP_STATEFUL);
    float w[3] = {1.0f, -2.0f, 4.0f}, g[3] = {0};
    /* (Criterion's float macros evaluate their arguments twice: call first) */
    double first = penalty(pi, w, g, 3, "dense1.weight");
    cr_assert_float_eq(first, 0.0, 1e-12);
    cr_assert_float_eq(g[0], 0.0f, 0);
    float w1[3] = {2.0f, -2.0f, 1.0f}, g1[3] = {1.0f, 1.0f, 1.0f};
    /* 0.5/2 * ((2-1)^2 + 0 + (1-4)^2) = 0.25 * 10 = 2.5 */
    double second = penalty(pi, w1, g1, 3, "dense1.weight");
    cr_assert_float_eq(second, 2.5, 1e-9);
    /* added to what is there: 1 + 0.5 * (w - w0) */
    cr_assert_float_eq(g1[0], 1.5f, 1e-6);
    cr_assert_float_eq(g1[1], 1.0f, 1e-6);
    cr_assert_float_eq(g1[2], -0.5f, 1e-6);
    rg_plugin_instance_destroy(pi);
}

Test(l2sp, gradient_matches_finite_differences)
{
    rg_threads_init(1);
    rg_plugin_instance *pi = make("alpha=0.3");
    enum { N = 17 };
    float w0[N], w[N], g[N] = {0}, dummy[N] = {0};
    for (int i = 0; i < N; i++) {
        w0[i] = 0.1f * (float)(i - 8);
        w[i] = w0[i] + 0.05f * (float)((i * 7) % 5 - 2);
    }
    penalty(pi, w0, dummy, N, "t");
    penalty(pi, w, g, N, "t");
    for (int i = 0; i < N; i++) {
        const float h = 1e-2f;
        float save = w[i], gp[N] = {0}, gm[N] = {0};
        w[i] = save + h;
        double up = penalty(pi, w, gp, N, "t");
        w[i] = save - h;
        double dn = penalty(pi, w, gm, N, "t");
        w[i] = save;
        double fd = (up - dn) / (2.0 * h);
        cr_assert(fabs(fd - g[i]) < 1e-4, "element %d: analytic %g, finite difference %g", i,
                  (double)g[i], fd);
    }
    rg_plugin_instance_destroy(pi);
}

static void *save_state(rg_plugin_instance *pi, uint64_t *bytes)
{
    const rg_plugin_desc *d = &pi->plugin->desc;
    cr_assert_eq(d->state_size(pi->inst, bytes), RG_OK);
    void *buf = malloc(*bytes);
    cr_assert_eq(d->state_save(pi->inst, buf, *bytes), RG_OK, "%s", rg_error_message());
    return buf;
}

Test(l2sp, the_anchor_survives_a_state_round_trip)
{
    rg_threads_init(1);
    rg_plugin_instance *a = make("alpha=1"), *b = make("alpha=1");
    float w0[4] = {1, 2, 3, 4}, v0[2] = {-1, 1}, g[4] = {0};
    penalty(a, w0, g, 4, "dense1.weight");
    penalty(a, v0, g, 2, "dense1.bias");
    uint64_t n = 0;
    void *st = save_state(a, &n);
    cr_assert_eq(n, 12 + (4 + 13 + 8 + 16) + (4 + 11 + 8 + 8));
    cr_assert_eq(b->plugin->desc.state_load(b->inst, st, n), RG_OK, "%s", rg_error_message());
    /* b now pulls toward a's anchors, not toward the weights it sees first */
    float w[4] = {2, 2, 3, 4}, ga[4] = {0}, gb[4] = {0};
    double la = penalty(a, w, ga, 4, "dense1.weight"), lb = penalty(b, w, gb, 4, "dense1.weight");
    cr_assert_float_eq(lb, 0.5, 1e-12);
    cr_assert_eq(la, lb);
    cr_assert_eq(memcmp(ga, gb, sizeof ga), 0);
    uint64_t n2 = 0;
    void *st2 = save_state(b, &n2);
    cr_assert_eq(n2, n);
    cr_assert_eq(memcmp(st, st2, n), 0);
    free(st);
    free(st2);
    rg_plugin_instance_destroy(a);
    rg_plugin_instance_destroy(b);
}

Test(l2sp, a_corrupt_state_is_refused_with_its_offset)
{
    rg_threads_init(1);
    rg_plugin_instance *a = make("alpha=1");
    float w0[4] = {1, 2, 3, 4}, g[4] = {0};
    penalty(a, w0, g, 4, "dense1.weight");
    uint64_t n = 0;
    unsigned char *st = save_state(a, &n);
    const rg_plugin_desc *d = &a->plugin->desc;
    /* every truncation is refused (ASan sees any read past the end) */
    for (uint64_t k = 0; k < n; k++) {
        unsigned char *cut = malloc(k ? k : 1);
        memcpy(cut, st, k);
        cr_assert_eq(d->state_load(a->inst, cut, k), RG_ERR_FORMAT, "%llu bytes",
                     (unsigned long long)k);
        free(cut);
    }
    st[12] = 200; /* the name length */
    cr_assert_eq(d->state_load(a->inst, st, n), RG_ERR_FORMAT);
    cr_assert(strstr(rg_error_message(), "bad name at byte 12") != NULL, "%s",
              rg_error_message());
    free(st);
    rg_plugin_instance_destroy(a);
}
