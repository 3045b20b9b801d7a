/* spatial_dropout against torch.nn.Dropout2d: whole channels are zeroed or
 * scaled by 1/(1-p) in training; evaluation is the identity. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "plugin_test_util.h"
#include "threads.h"

static rg_tensor_view view4(float *d, int64_t n, int64_t c, int64_t h, int64_t w)
{
    int64_t shape[4] = {n, c, h, w};
    return pt_view(d, RG_TENSOR_ACTIVATION, 4, shape);
}

static void run(rg_plugin_instance *pi, rg_mode mode, float *x, float *state, size_t bytes,
                int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, 0, 5);
    rg_tensor_view v = view4(x, n, c, h, w);
    rg_activation_ctx ctx = {sizeof ctx, mode, &s, state, bytes, NULL, 0.0, 0, 0};
    cr_assert_eq(pi->plugin->reg.activation_forward(pi->inst, &ctx, &v), RG_OK);
}

Test(spatial_dropout, eval_is_the_identity)
{
    rg_plugin_instance *pi = pt_load("spatial_dropout:rate=0.5", RG_PLUGIN_REGULARIZER);
    float x[2 * 3 * 4 * 4], y[2 * 3 * 4 * 4], st[96];
    pt_fill(x, 96, 1, -1, 1);
    memcpy(y, x, sizeof x);
    run(pi, RG_MODE_EVAL, y, st, sizeof st, 2, 3, 4, 4, 1);
    cr_assert_eq(memcmp(x, y, sizeof x), 0);
    rg_plugin_instance_destroy(pi);
}

Test(spatial_dropout, training_zeroes_or_scales_whole_channels)
{
    rg_plugin_instance *pi = pt_load("spatial_dropout:rate=0.5", RG_PLUGIN_REGULARIZER);
    enum { N = 8, C = 16, H = 3, W = 3, E = N * C * H * W };
    float *x = rg_alloc_floats(E), *y = rg_alloc_floats(E), *st = rg_alloc_floats(E);
    pt_fill(x, E, 2, 0.5f, 1.5f); /* no zeros in the input */
    memcpy(y, x, E * sizeof(float));
    run(pi, RG_MODE_TRAIN, y, st, E * sizeof(float), N, C, H, W, 3);
    int dropped = 0;
    for (int m = 0; m < N * C; m++) {
        int zeros = 0;
        for (int j = 0; j < H * W; j++) {
            float a = x[m * H * W + j], b = y[m * H * W + j];
            cr_assert(b == 0.0f || b == a * 2.0f, "channel %d element %d: %g from %g", m, j,
                      (double)b, (double)a);
            zeros += b == 0.0f;
        }
        cr_assert(zeros == 0 || zeros == H * W, "channel %d partly dropped", m);
        dropped += zeros == H * W;
    }
    /* 128 channels at p = 0.5: within 4 standard deviations (sd 5.7) of 64 */
    cr_assert(dropped > 64 - 23 && dropped < 64 + 23, "%d of 128 dropped", dropped);
    rg_free(x);
    rg_free(y);
    rg_free(st);
    rg_plugin_instance_destroy(pi);
}

Test(spatial_dropout, backward_applies_the_forward_channel_mask)
{
    rg_plugin_instance *pi = pt_load("spatial_dropout:rate=0.3", RG_PLUGIN_REGULARIZER);
    enum { E = 4 * 5 * 2 * 2 };
    float x[E], g[E], st[E];
    pt_fill(x, E, 4, 0.5f, 1.0f);
    float x0[E];
    memcpy(x0, x, sizeof x);
    run(pi, RG_MODE_TRAIN, x, st, sizeof st, 4, 5, 2, 2, 9);
    for (int i = 0; i < E; i++)
        g[i] = 1.0f;
    rg_tensor_view gv = view4(g, 4, 5, 2, 2), ov = view4(x, 4, 5, 2, 2);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 9, 0, 0, 5);
    rg_activation_ctx ctx = {sizeof ctx, RG_MODE_TRAIN, &s, st, sizeof st, &ov, 0.0, 0, 0};
    cr_assert_eq(pi->plugin->reg.activation_backward(pi->inst, &ctx, &gv), RG_OK);
    for (int i = 0; i < E; i++)
        cr_assert_float_eq(g[i], x[i] / x0[i], 1e-6, "element %d", i);
    rg_plugin_instance_destroy(pi);
}

Test(spatial_dropout, rate_one_is_refused_by_the_schema)
{
    cr_assert_str_eq(pt_load_fails("spatial_dropout:rate=1", RG_PLUGIN_REGULARIZER),
                     "spatial_dropout: parameter rate=1 is out of range [0, 1)");
}

Test(spatial_dropout, a_batch_cut_across_processes_gives_the_masks_of_one_process)
{
    pt_split_matches_whole("spatial_dropout:rate=0.4", 8, 16, 3, 3, 5, 12);
}
