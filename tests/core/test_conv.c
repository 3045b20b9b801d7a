/* Convolution, pooling, flatten and batchnorm: forward values worked by hand
 * and every gradient (inputs and parameters) against central finite
 * differences of L = sum(y * r) for a fixed random r. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "kernels/kernels.h"
#include "layers/layer.h"
#include "model/model.h"
#include "rng.h"
#include "threads.h"

static void fill(float *x, int64_t n, uint64_t seed, float lo, float hi)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, 0, 77);
    rg_rng_uniform(&s, 0, x, (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * x[i];
}

static double objective(rg_layer *l, const float *x, float *y, const float *r, int64_t n)
{
    l->ops->forward(l, x, y, n);
    double s = 0.0;
    int64_t m = n * rg_shape_size(l->out);
    for (int64_t i = 0; i < m; i++)
        s += (double)y[i] * r[i];
    return s;
}

/* Checks dx and every parameter gradient of layer l at input x (n samples). */
static void check_layer_gradients(rg_layer *l, float *x, int64_t n, double h, double tol)
{
    int64_t in = n * rg_shape_size(l->in), out = n * rg_shape_size(l->out);
    float *y = rg_alloc_floats((size_t)out), *r = rg_alloc_floats((size_t)out);
    float *dx = rg_alloc_floats((size_t)in);
    fill(r, out, 5, -1.0f, 1.0f);
    cr_assert_eq(l->ops->set_batch ? l->ops->set_batch(l, n) : RG_OK, RG_OK);
    l->training = 1;
    objective(l, x, y, r, n);
    l->ops->backward(l, x, y, r, dx, n);
    for (int64_t i = 0; i < in; i++) {
        float keep = x[i];
        x[i] = (float)(keep + h);
        double up = objective(l, x, y, r, n);
        x[i] = (float)(keep - h);
        double down = objective(l, x, y, r, n);
        x[i] = keep;
        double fd = (up - down) / (2 * h);
        cr_assert(fabs(fd - dx[i]) <= tol * (1.0 + fabs(fd)), "%s dx[%lld]: fd %.7g analytic %.7g",
                  l->name, (long long)i, fd, (double)dx[i]);
    }
    for (int p = 0; p < l->num_params; p++) {
        rg_param *prm = &l->params[p];
        float *g = rg_alloc_floats((size_t)prm->numel);
        objective(l, x, y, r, n);
        l->ops->backward(l, x, y, r, dx, n);
        memcpy(g, prm->grad, (size_t)prm->numel * sizeof(float));
        for (int64_t i = 0; i < prm->numel; i++) {
            float keep = prm->value[i];
            prm->value[i] = (float)(keep + h);
            double up = objective(l, x, y, r, n);
            prm->value[i] = (float)(keep - h);
            double down = objective(l, x, y, r, n);
            prm->value[i] = keep;
            double fd = (up - down) / (2 * h);
            cr_assert(fabs(fd - g[i]) <= tol * (1.0 + fabs(fd)), "%s: fd %.7g analytic %.7g at %lld",
                      prm->name, fd, (double)g[i], (long long)i);
        }
        rg_free(g);
    }
    rg_free(y);
    rg_free(r);
    rg_free(dx);
}

Test(conv2d, forward_matches_a_hand_computed_cross_correlation)
{
    rg_threads_init(2);
    rg_layer l;
    memset(&l, 0, sizeof l);
    /* 1 channel 3x3 input, one 2x2 filter, stride 1, no padding -> 2x2 */
    cr_assert_eq(rg_conv2d_init(&l, "conv1", (rg_shape){1, 3, 3, 0}, 1, 2, 1, 0), RG_OK);
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float w[4] = {1, 0, -1, 2};
    memcpy(l.params[0].value, w, sizeof w);
    l.params[1].value[0] = 0.5f;
    float y[4];
    l.ops->forward(&l, x, y, 1);
    /* y[0,0] = 1*1 + 0*2 - 1*4 + 2*5 + 0.5 = 7.5; y[0,1] = 2 - 5 + 12 + .5 = 9.5;
       y[1,0] = 4 - 7 + 16 + .5 = 13.5; y[1,1] = 5 - 8 + 18 + .5 = 15.5 */
    cr_assert_float_eq(y[0], 7.5f, 1e-6);
    cr_assert_float_eq(y[1], 9.5f, 1e-6);
    cr_assert_float_eq(y[2], 13.5f, 1e-6);
    cr_assert_float_eq(y[3], 15.5f, 1e-6);
    rg_layer_release(&l);
}

Test(conv2d, same_padding_keeps_the_size_and_zero_pads)
{
    rg_threads_init(1);
    rg_layer l;
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_conv2d_init(&l, "conv1", (rg_shape){1, 2, 2, 0}, 1, 3, 1, 1), RG_OK);
    cr_assert_eq(l.out.h, 2);
    cr_assert_eq(l.out.w, 2);
    for (int i = 0; i < 9; i++)
        l.params[0].value[i] = 1.0f; /* box filter */
    float x[4] = {1, 2, 3, 4}, y[4];
    l.ops->forward(&l, x, y, 1);
    /* every 3x3 window around a pixel of a 2x2 image covers the whole image */
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(y[i], 10.0f, 1e-6);
    rg_layer_release(&l);
}

/* A 2-channel 5x6 input, 3 filters of 3x3 with the given stride and padding 1. */
static void check_conv_gradients(int64_t stride)
{
    rg_threads_init(2);
    rg_layer l;
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_conv2d_init(&l, "conv1", (rg_shape){2, 5, 6, 0}, 3, 3, stride, 1), RG_OK);
    fill(l.params[0].value, l.params[0].numel, 1, -0.5f, 0.5f);
    fill(l.params[1].value, l.params[1].numel, 2, -0.5f, 0.5f);
    int64_t n = 3;
    float *x = rg_alloc_floats((size_t)(n * 60));
    fill(x, n * 60, 3, -1.0f, 1.0f);
    check_layer_gradients(&l, x, n, 1e-2, 2e-3);
    rg_free(x);
    rg_layer_release(&l);
}

Test(conv2d, gradients_match_finite_differences_with_stride_and_padding)
{
    check_conv_gradients(2);
}

/* stride 1, padding 1: the "same" im2col path */
Test(conv2d, gradients_match_finite_differences_with_same_padding)
{
    check_conv_gradients(1);
}

Test(conv2d, weight_gradient_is_bit_identical_run_to_run)
{
    rg_threads_init(2);
    rg_layer l;
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_conv2d_init(&l, "conv1", (rg_shape){3, 8, 8, 0}, 4, 3, 1, 1), RG_OK);
    fill(l.params[0].value, l.params[0].numel, 1, -0.5f, 0.5f);
    int64_t n = 9, in = n * 192, out = n * 256;
    float *x = rg_alloc_floats((size_t)in), *y = rg_alloc_floats((size_t)out);
    float *r = rg_alloc_floats((size_t)out), *g1 = rg_alloc_floats(108);
    fill(x, in, 3, -1, 1);
    fill(r, out, 4, -1, 1);
    l.ops->forward(&l, x, y, n);
    l.ops->backward(&l, x, y, r, NULL, n);
    memcpy(g1, l.params[0].grad, 108 * sizeof(float));
    l.ops->backward(&l, x, y, r, NULL, n);
    cr_assert_eq(memcmp(g1, l.params[0].grad, 108 * sizeof(float)), 0);
    rg_free(x);
    rg_free(y);
    rg_free(r);
    rg_free(g1);
    rg_layer_release(&l);
}

Test(pooling, max_and_average_forward_by_hand)
{
    rg_layer mx, av;
    memset(&mx, 0, sizeof mx);
    memset(&av, 0, sizeof av);
    cr_assert_eq(rg_maxpool_init(&mx, "maxpool1", (rg_shape){1, 4, 4, 0}, 2, 2), RG_OK);
    cr_assert_eq(rg_avgpool_init(&av, "avgpool1", (rg_shape){1, 4, 4, 0}, 2, 2), RG_OK);
    float x[16] = {1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16}, y[4];
    mx.ops->forward(&mx, x, y, 1);
    cr_assert(y[0] == 4 && y[1] == 8 && y[2] == 12 && y[3] == 16);
    av.ops->forward(&av, x, y, 1);
    cr_assert(y[0] == 2.5f && y[1] == 6.5f && y[2] == 10.5f && y[3] == 14.5f);
    rg_layer_release(&mx);
    rg_layer_release(&av);
}

Test(pooling, gradients_match_finite_differences)
{
    rg_threads_init(2);
    int64_t n = 2;
    rg_shape in = {3, 6, 5, 0};
    float *x = rg_alloc_floats((size_t)(n * 90));
    /* distinct values so no max ties sit within the step h */
    for (int64_t i = 0; i < n * 90; i++)
        x[i] = (float)((i * 37) % 180) * 0.05f - 4.0f;
    rg_layer l;
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_maxpool_init(&l, "maxpool1", in, 2, 2), RG_OK);
    check_layer_gradients(&l, x, n, 1e-3, 2e-3);
    rg_layer_release(&l);
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_avgpool_init(&l, "avgpool1", in, 3, 1), RG_OK);
    check_layer_gradients(&l, x, n, 1e-2, 2e-3);
    rg_layer_release(&l);
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_global_avgpool_init(&l, "gap1", in), RG_OK);
    cr_assert(l.out.flat && l.out.c == 3);
    check_layer_gradients(&l, x, n, 1e-2, 2e-3);
    rg_layer_release(&l);
    rg_free(x);
}

Test(batchnorm, training_output_has_zero_mean_unit_variance_per_channel)
{
    rg_threads_init(2);
    rg_layer l;
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_batchnorm_init(&l, "batchnorm1", (rg_shape){2, 3, 3, 0}), RG_OK);
    int64_t n = 4, m = n * 18;
    float *x = rg_alloc_floats((size_t)m), *y = rg_alloc_floats((size_t)m);
    fill(x, m, 9, 2.0f, 6.0f);
    l.training = 1;
    l.ops->forward(&l, x, y, n);
    for (int c = 0; c < 2; c++) {
        double s = 0, ss = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < 9; j++) {
                double v = y[(i * 2 + c) * 9 + j];
                s += v;
                ss += v * v;
            }
        cr_assert(fabs(s / 36) < 1e-5, "mean %g", s / 36);
        /* biased variance of the normalized output: var/(var+eps) ~ 1 */
        cr_assert(fabs(ss / 36 - 1.0) < 1e-3, "var %g", ss / 36);
    }
    /* running stats moved 10% of the way from (0, 1) to the batch's (PyTorch momentum 0.1) */
    cr_assert(l.buffers[0].value[0] > 0.3f && l.buffers[0].value[0] < 0.5f, "%g",
              (double)l.buffers[0].value[0]);
    rg_free(x);
    rg_free(y);
    rg_layer_release(&l);
}

Test(batchnorm, eval_uses_running_statistics)
{
    rg_layer l;
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_batchnorm_init(&l, "batchnorm1", (rg_shape){2, 1, 1, 1}), RG_OK);
    l.buffers[0].value[0] = 1.0f;  /* running mean */
    l.buffers[1].value[0] = 4.0f;  /* running var */
    l.params[0].value[0] = 3.0f;   /* gamma */
    l.params[1].value[0] = 0.5f;   /* beta */
    float x[2] = {5.0f, 7.0f}, y[2];
    l.training = 0;
    l.ops->forward(&l, x, y, 1);
    /* 3 * (5 - 1) / sqrt(4 + 1e-5) + 0.5 */
    cr_assert_float_eq(y[0], (float)(3.0 * 4.0 / sqrt(4.00001) + 0.5), 1e-5);
    /* channel 1 keeps mean 0, var 1, gamma 1, beta 0 */
    cr_assert_float_eq(y[1], (float)(7.0 / sqrt(1.00001)), 1e-5);
    rg_layer_release(&l);
}

Test(batchnorm, gradients_match_finite_differences)
{
    rg_threads_init(2);
    int64_t n = 3;
    rg_layer l;
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_batchnorm_init(&l, "batchnorm1", (rg_shape){2, 2, 3, 0}), RG_OK);
    fill(l.params[0].value, 2, 11, 0.5f, 1.5f);
    fill(l.params[1].value, 2, 12, -0.5f, 0.5f);
    float *x = rg_alloc_floats((size_t)(n * 12));
    fill(x, n * 12, 13, -2.0f, 2.0f);
    check_layer_gradients(&l, x, n, 1e-2, 3e-3);
    rg_free(x);
    rg_layer_release(&l);
}

Test(model, layer_list_builds_the_cnn_with_the_right_shapes)
{
    rg_model_spec spec;
    cr_assert_eq(rg_model_spec_parse("conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,"
                                     "dense:128,relu,dense:10",
                                     &spec),
                 RG_OK);
    rg_model *m = NULL;
    cr_assert_eq(rg_model_build(&spec, (rg_shape){1, 28, 28, 0}, 10, &m), RG_OK);
    cr_assert_eq(m->num_layers, 10);
    cr_assert_str_eq(m->layers[0].name, "conv1");
    cr_assert_str_eq(m->layers[5].name, "maxpool2");
    cr_assert_eq(m->layers[5].out.c, 64);
    cr_assert_eq(m->layers[5].out.h, 7);
    cr_assert_eq(m->layers[6].out.c, 64 * 7 * 7);
    /* 32*9+32 + 64*32*9+64 + 3136*128+128 + 128*10+10 */
    cr_assert_eq(rg_model_param_count(m), 320 + 18496 + 401536 + 1290);
    rg_model_destroy(m);
}

Test(model, bad_layer_lists_are_refused_with_the_layer_named)
{
    const char *bad[] = {"conv:32,relu,dense:10", "conv:32:3:0,dense:10", "pool:2,dense:10",
                         "relu,,dense:10", "maxpool:x,dense:10", "dense:10,"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rg_model_spec spec;
        rg_status st = rg_model_spec_parse(bad[i], &spec);
        cr_assert_eq(st, RG_ERR_INVALID, "'%s' accepted", bad[i]);
    }
    rg_model_spec spec;
    cr_assert_eq(rg_model_spec_parse("conv:8:3,dense:10", &spec), RG_OK);
    rg_model *m = NULL;
    /* a convolution on flat input is refused when the model is built */
    cr_assert_eq(rg_model_build(&spec, (rg_shape){784, 1, 1, 1}, 10, &m), RG_ERR_INVALID);
}

/* col[(ci*k + ki)*k + kj][oy*ow + ox] = x[ci][oy*s - p + ki][ox*s - p + kj], 0 outside:
 * the definition in kernels.h, element by element, for the shapes the stride-1 "same"
 * fast path takes (odd k, p = (k-1)/2, non-square images) and for ones it does not. */
Test(im2col, matches_its_definition_on_same_and_other_paddings)
{
    const int64_t shapes[][5] = {{2, 5, 7, 3, 1}, {3, 6, 4, 5, 2}, {1, 4, 4, 1, 0},
                                 {2, 5, 6, 3, 0}, {1, 7, 5, 3, 2}};
    for (size_t q = 0; q < sizeof shapes / sizeof shapes[0]; q++) {
        int64_t c = shapes[q][0], h = shapes[q][1], w = shapes[q][2], k = shapes[q][3];
        int64_t p = shapes[q][4], oh = h + 2 * p - k + 1, ow = w + 2 * p - k + 1;
        float *x = rg_alloc_floats((size_t)(c * h * w));
        float *col = rg_alloc_floats((size_t)(c * k * k * oh * ow));
        fill(x, c * h * w, 11 + q, 0.5f, 1.5f); /* never 0, so a missed copy shows */
        rg_im2col(x, c, h, w, k, 1, p, oh, ow, col);
        for (int64_t ci = 0; ci < c; ci++)
            for (int64_t ki = 0; ki < k; ki++)
                for (int64_t kj = 0; kj < k; kj++)
                    for (int64_t oy = 0; oy < oh; oy++)
                        for (int64_t ox = 0; ox < ow; ox++) {
                            int64_t iy = oy - p + ki, ix = ox - p + kj;
                            float want = iy >= 0 && iy < h && ix >= 0 && ix < w
                                             ? x[(ci * h + iy) * w + ix]
                                             : 0.0f;
                            float got = col[((ci * k + ki) * k + kj) * oh * ow + oy * ow + ox];
                            cr_assert_eq(got, want, "shape %zu: row (%lld,%lld,%lld) at (%lld,%lld)",
                                         q, (long long)ci, (long long)ki, (long long)kj,
                                         (long long)oy, (long long)ox);
                        }
        cr_assert_eq(rg_guard_check(col, (size_t)(c * k * k * oh * ow)), 0);
        rg_free(x);
        rg_free(col);
    }
}



/* The fused conv -> relu -> 2x2 max pool against the three layers run one after another:
 * every output, index and gradient bit for bit (the fused pass is only a reordering of
 * the same floating-point operations), on an even plane and an odd one (7x7: the pool
 * drops the last row and column), with ties from the ReLU's zeros. */
static void check_block(int64_t c, int64_t h, int64_t w, int64_t oc, int64_t n, int with_dx)
{
    rg_threads_init(2);
    rg_layer cv[2], relu, pool[2];
    memset(cv, 0, sizeof cv);
    memset(&relu, 0, sizeof relu);
    memset(pool, 0, sizeof pool);
    rg_shape in = {c, h, w, 0};
    for (int v = 0; v < 2; v++) {
        cr_assert_eq(rg_conv2d_init(&cv[v], "conv1", in, oc, 3, 1, 1), RG_OK);
        cr_assert_eq(cv[v].ops->set_batch(&cv[v], n), RG_OK);
        fill(cv[v].params[0].value, cv[v].params[0].numel, 1, -0.5f, 0.5f);
        fill(cv[v].params[1].value, cv[v].params[1].numel, 2, -0.2f, 0.2f);
        cr_assert_eq(rg_maxpool_init(&pool[v], "pool1", cv[v].out, 2, 2), RG_OK);
        cr_assert_eq(pool[v].ops->set_batch(&pool[v], n), RG_OK);
    }
    rg_relu_init(&relu, "relu1", cv[0].out);
    cr_assert(rg_conv_block_fits(&cv[0], &relu, &pool[0]));
    cr_assert(!rg_conv_block_fits(&cv[0], &pool[0], &relu));
    int64_t nin = n * c * h * w, nz = n * rg_shape_size(cv[0].out);
    int64_t ny = n * rg_shape_size(pool[0].out);
    float *x = rg_alloc_floats((size_t)nin), *z = rg_alloc_floats((size_t)nz);
    float *a = rg_alloc_floats((size_t)nz), *y0 = rg_alloc_floats((size_t)ny);
    float *y1 = rg_alloc_floats((size_t)ny), *dy = rg_alloc_floats((size_t)ny);
    float *da = rg_alloc_floats((size_t)nz), *dz = rg_alloc_floats((size_t)nz);
    float *dx0 = rg_alloc_floats((size_t)nin), *dx1 = rg_alloc_floats((size_t)nin);
    fill(x, nin, 3, -1.0f, 1.0f);
    fill(dy, ny, 4, -1.0f, 1.0f);
    /* unfused */
    cv[0].ops->forward(&cv[0], x, z, n);
    relu.ops->forward(&relu, z, a, n);
    pool[0].ops->forward(&pool[0], a, y0, n);
    pool[0].ops->backward(&pool[0], a, y0, dy, da, n);
    relu.ops->backward(&relu, z, a, da, dz, n);
    cv[0].ops->backward(&cv[0], x, z, dz, with_dx ? dx0 : NULL, n);
    /* fused */
    rg_conv_block_forward(&cv[1], &pool[1], x, y1, n);
    rg_conv_block_backward(&cv[1], &pool[1], x, y1, dy, with_dx ? dx1 : NULL, n);
    int zeros = 0;
    for (int64_t i = 0; i < ny; i++)
        zeros += y0[i] == 0.0f;
    cr_assert(zeros > 0, "the input should make some pooled ReLU outputs 0 (ties)");
    cr_assert_eq(memcmp(y0, y1, (size_t)ny * sizeof(float)), 0, "pooled outputs differ");
    cr_assert_eq(memcmp(rg_maxpool_2x2_indices(&pool[0]), rg_maxpool_2x2_indices(&pool[1]),
                        (size_t)ny * sizeof(int32_t)), 0, "argmax indices differ");
    for (int p = 0; p < 2; p++)
        cr_assert_eq(memcmp(cv[0].params[p].grad, cv[1].params[p].grad,
                            (size_t)cv[0].params[p].numel * sizeof(float)), 0,
                     "%s gradient differs", cv[0].params[p].name);
    if (with_dx)
        cr_assert_eq(memcmp(dx0, dx1, (size_t)nin * sizeof(float)), 0, "input gradient differs");
    float *bufs[] = {x, z, a, y0, y1, dy, da, dz, dx0, dx1};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rg_free(bufs[i]);
    for (int v = 0; v < 2; v++) {
        rg_layer_release(&cv[v]);
        rg_layer_release(&pool[v]);
    }
}

Test(conv_block, matches_conv_relu_maxpool_bit_for_bit)
{
    check_block(3, 8, 8, 5, 7, 1);
    check_block(2, 7, 7, 4, 3, 1);
    check_block(1, 6, 10, 6, 5, 0);
    /* 20 windows per row: one full 16-wide vector step and a masked tail */
    check_block(2, 4, 40, 3, 2, 1);
}
