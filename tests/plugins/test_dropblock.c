/* dropblock against Ghiasi et al. 2018, Algorithm 1: square blocks of each
 * feature map are zeroed in training, the rest rescaled by
 * count(M)/count_ones(M); evaluation is the identity. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "plugin_test_util.h"

static void forward(rg_plugin_instance *pi, rg_mode mode, float *x, float *st, int64_t n,
                    int64_t c, int64_t h, int64_t w, uint64_t seed)
{
    int64_t shape[4] = {n, c, h, w};
    rg_tensor_view v = pt_view(x, RG_TENSOR_ACTIVATION, 4, shape);
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, 0, 6);
    rg_activation_ctx ctx = {sizeof ctx, mode, &s,    st, (size_t)v.numel * sizeof(float),
                             NULL,        0,    0, 0};
    cr_assert_eq(pi->plugin->reg.activation_forward(pi->inst, &ctx, &v), RG_OK);
}

Test(dropblock, eval_is_the_identity)
{
    rg_plugin_instance *pi = pt_load("dropblock:drop_prob=0.3,block_size=3", RG_PLUGIN_REGULARIZER);
    enum { E = 2 * 2 * 7 * 7 };
    float x[E], y[E], st[E];
    pt_fill(x, E, 1, -1, 1);
    memcpy(y, x, sizeof x);
    forward(pi, RG_MODE_EVAL, y, st, 2, 2, 7, 7, 1);
    cr_assert_eq(memcmp(x, y, sizeof x), 0);
    rg_plugin_instance_destroy(pi);
}

Test(dropblock, zeros_form_whole_blocks_and_the_rest_is_rescaled_by_the_kept_fraction)
{
    rg_plugin_instance *pi = pt_load("dropblock:drop_prob=0.2,block_size=3", RG_PLUGIN_REGULARIZER);
    enum { N = 4, C = 4, H = 12, W = 12, E = N * C * H * W };
    float *x = rg_alloc_floats(E), *st = rg_alloc_floats(E);
    for (int i = 0; i < E; i++)
        x[i] = 1.0f;
    forward(pi, RG_MODE_TRAIN, x, st, N, C, H, W, 2);
    int zeros = 0;
    float kept = -1.0f;
    for (int i = 0; i < E; i++) {
        if (x[i] == 0.0f) {
            zeros++;
            continue;
        }
        if (kept < 0)
            kept = x[i];
        cr_assert_eq(x[i], kept, "all kept units share one scale");
    }
    cr_assert_gt(zeros, 0);
    /* count(M) / count_ones(M), Algorithm 1 line 7 */
    cr_assert_float_eq(kept, (float)E / (float)(E - zeros), 1e-5);
    /* every zero lies in some all-zero 3x3 block of its map */
    for (int m = 0; m < N * C; m++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                if (x[(m * H + i) * W + j] != 0.0f)
                    continue;
                int covered = 0;
                for (int a = i - 2; a <= i && !covered; a++)
                    for (int b = j - 2; b <= j && !covered; b++) {
                        if (a < 0 || b < 0 || a + 3 > H || b + 3 > W)
                            continue;
                        int all = 1;
                        for (int p = 0; p < 3; p++)
                            for (int q = 0; q < 3; q++)
                                all &= x[(m * H + a + p) * W + b + q] == 0.0f;
                        covered = all;
                    }
                cr_assert(covered, "zero at map %d (%d,%d) is not inside a dropped block", m, i, j);
            }
    /* the dropped fraction is near drop_prob (eq. 1 targets it; overlaps lower it) */
    double frac = (double)zeros / E;
    cr_assert(frac > 0.1 && frac < 0.3, "dropped fraction %g", frac);
    rg_free(x);
    rg_free(st);
    rg_plugin_instance_destroy(pi);
}

Test(dropblock, block_larger_than_the_map_is_clipped_and_flat_input_acts_as_dropout)
{
    rg_plugin_instance *pi = pt_load("dropblock:drop_prob=0.5,block_size=7", RG_PLUGIN_REGULARIZER);
    enum { E = 64 * 50 };
    float *x = rg_alloc_floats(E), *st = rg_alloc_floats(E);
    for (int i = 0; i < E; i++)
        x[i] = 1.0f;
    int64_t shape[2] = {64, 50};
    rg_tensor_view v = pt_view(x, RG_TENSOR_ACTIVATION, 2, shape);
    rg_rng_stream s;
    rg_rng_stream_init(&s, 3, 0, 0, 6);
    rg_activation_ctx ctx = {sizeof ctx, RG_MODE_TRAIN, &s, st, E * sizeof(float), NULL,
                             0,           0,             0};
    cr_assert_eq(pi->plugin->reg.activation_forward(pi->inst, &ctx, &v), RG_OK);
    int zeros = 0;
    for (int i = 0; i < E; i++)
        zeros += x[i] == 0.0f;
    /* bs = 1, gamma = drop_prob: ~1600 of 3200, sd ~28 */
    cr_assert(zeros > 1600 - 120 && zeros < 1600 + 120, "%d zeros", zeros);
    rg_free(x);
    rg_free(st);
    rg_plugin_instance_destroy(pi);
}

Test(dropblock, schema_refuses_block_size_zero)
{
    cr_assert_str_eq(pt_load_fails("dropblock:block_size=0", RG_PLUGIN_REGULARIZER),
                     "dropblock: parameter block_size=0 is out of range [1, 64]");
}

/* Algorithm 1's scale counts the whole batch: a data-parallel process holding rows 3..7 of
 * 8 gets the bits one process gets (the cut is uneven on purpose) */
Test(dropblock, a_batch_cut_across_processes_gives_the_masks_and_scale_of_one_process)
{
    pt_split_matches_whole("dropblock:drop_prob=0.3,block_size=3", 8, 3, 9, 9, 3, 11);
}
