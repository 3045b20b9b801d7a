/* The l2 plugin against its definition: PyTorch's weight_decay adds
 * lambda * w to the gradient (torch.optim.SGD docs), i.e. the gradient of
 * (lambda/2) * sum(w^2); Keras' L2 (tf.keras.regularizers.L2) is
 * lambda * sum(w^2) with gradient 2 * lambda * w. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "plugin/instance.h"
#include "threads.h"

#define L2 REGULA_TEST_PLUGINS "/l2.so"

static rg_plugin_instance *make(const char *params)
{
    char spec[256];
    snprintf(spec, sizeof spec, "%s%s%s", L2, *params ? ":" : "", params);
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(spec, RG_PLUGIN_REGULARIZER, NULL, &pi), RG_OK, "%s",
                 rg_error_message());
    return pi;
}

static rg_tensor_view view(float *data, int64_t rows, int64_t cols)
{
    rg_tensor_view v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.kind = RG_TENSOR_WEIGHT;
    v.ndim = 2;
    v.shape[0] = rows;
    v.shape[1] = cols;
    v.numel = rows * cols;
    v.data = data;
    v.name = "dense1.weight";
    return v;
}

static double penalty_of(rg_plugin_instance *pi, float *w, float *g, int64_t rows, int64_t cols)
{
    rg_tensor_view wv = view(w, rows, cols), gv = view(g, rows, cols);
    double loss = 0.0;
    cr_assert_eq(pi->plugin->reg.penalty(pi->inst, &wv, &loss, &gv), RG_OK, "%s",
                 rg_error_message());
    return loss;
}

Test(l2, torch_convention_value_and_gradient_by_hand)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = make("lambda=0.1");
    float w[4] = {1.0f, -2.0f, 3.0f, 0.5f}, g[4] = {10.0f, 10.0f, 10.0f, 10.0f};
    double loss = penalty_of(pi, w, g, 2, 2);
    /* 0.1/2 * (1 + 4 + 9 + 0.25) = 0.7125 */
    cr_assert_float_eq(loss, 0.7125, 1e-7);
    /* the gradient is added to what is there: 10 + 0.1 * w */
    cr_assert_float_eq(g[0], 10.1f, 1e-6);
    cr_assert_float_eq(g[1], 9.8f, 1e-6);
    cr_assert_float_eq(g[2], 10.3f, 1e-6);
    cr_assert_float_eq(g[3], 10.05f, 1e-6);
    rg_plugin_instance_destroy(pi);
}

Test(l2, keras_convention_value_and_gradient_by_hand)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = make("lambda=0.1,convention=keras");
    float w[4] = {1.0f, -2.0f, 3.0f, 0.5f}, g[4] = {0};
    double loss = penalty_of(pi, w, g, 2, 2);
    /* 0.1 * 14.25 = 1.425; gradient 0.2 * w */
    cr_assert_float_eq(loss, 1.425, 1e-7);
    cr_assert_float_eq(g[1], -0.4f, 1e-7);
    rg_plugin_instance_destroy(pi);
}

static void gradient_matches_finite_differences(const char *params)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = make(params);
    /* 40000 elements: several parallel chunks plus a tail */
    int64_t rows = 200, cols = 200, n = rows * cols;
    float *w = rg_alloc_floats((size_t)n), *g = rg_alloc_floats((size_t)n);
    float *scratch = rg_alloc_floats((size_t)n);
    for (int64_t i = 0; i < n; i++)
        w[i] = (float)sin(0.37 * (double)i) * 2.0f;
    penalty_of(pi, w, g, rows, cols);
    int64_t probes[] = {0, 1, 16383, 16384, 32767, 39999};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        int64_t i = probes[k];
        float keep = w[i], h = 1e-2f;
        w[i] = keep + h;
        double up = penalty_of(pi, w, scratch, rows, cols);
        w[i] = keep - h;
        double down = penalty_of(pi, w, scratch, rows, cols);
        w[i] = keep;
        double fd = (up - down) / (2.0 * h);
        cr_assert(fabs(fd - g[i]) <= 1e-3 * fabs(fd) + 1e-4, "elem %lld: fd %g analytic %g",
                  (long long)i, fd, (double)g[i]);
    }
    rg_free(w);
    rg_free(g);
    rg_free(scratch);
    rg_plugin_instance_destroy(pi);
}

Test(l2, gradient_matches_central_differences_torch)
{
    gradient_matches_finite_differences("lambda=0.3");
}

Test(l2, gradient_matches_central_differences_keras)
{
    gradient_matches_finite_differences("lambda=0.3,convention=keras");
}

Test(l2, penalty_is_bit_identical_at_one_and_two_threads)
{
    rg_plugin_instance *pi = make("lambda=0.01");
    int64_t n = 100000;
    float *w = rg_alloc_floats((size_t)n), *g = rg_alloc_floats((size_t)n);
    for (int64_t i = 0; i < n; i++)
        w[i] = (float)cos(0.11 * (double)i);
    rg_threads_init(1);
    double one = penalty_of(pi, w, g, 1000, 100);
    rg_threads_init(2);
    double two = penalty_of(pi, w, g, 1000, 100);
    cr_assert(memcmp(&one, &two, sizeof one) == 0, "%.17g vs %.17g", one, two);
    rg_free(w);
    rg_free(g);
    rg_plugin_instance_destroy(pi);
}

Test(l2, lambda_out_of_range_is_refused_by_the_host)
{
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(L2 ":lambda=2", RG_PLUGIN_REGULARIZER, NULL, &pi),
                 RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(), "l2: parameter lambda=2 is out of range [0, 1]");
}
