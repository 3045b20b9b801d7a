/* weight_noise: in training W' = W + e, e_i ~ N(0, stddev^2) at position i of the tensor's
 * stream, gradient unchanged (no weight_backward); evaluation uses W. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "param_test_util.h"
#include "rng.h"
#include "threads.h"

#define R RG_PLUGIN_REGULARIZER

TestSuite(weight_noise, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

static rg_status forward(rg_plugin_instance *pi, const rg_param_ctx *c, float *w, float *out,
                         int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};
    rg_tensor_view v = pt_view(w, RG_TENSOR_WEIGHT, 2, shape),
                   o = pt_view(out, RG_TENSOR_WEIGHT, 2, shape);
    return pi->plugin->reg.weight_forward(pi->inst, c, &v, &o);
}

Test(weight_noise, adds_the_streams_normals_times_stddev)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = pt_load("weight_noise:stddev=0.25", R);
    const int64_t rows = 300, cols = 200, n = rows * cols;
    float *w = pt_floats(n), *out = pt_floats(n), *e = pt_floats(n);
    pt_fill(w, n, 1, -1.0f, 1.0f);
    rg_rng_stream rng;
    rg_param_ctx c = pt_param_ctx(&rng, 4, 7, 2000);
    cr_assert_eq(forward(pi, &c, w, out, rows, cols), RG_OK, "%s", rg_error_message());
    rg_rng_normal(&rng, 0, e, (size_t)n);
    double sum = 0.0, sq = 0.0;
    for (int64_t i = 0; i < n; i++) {
        cr_assert_eq(out[i], w[i] + 0.25f * e[i], "element %lld", (long long)i);
        double d = (double)out[i] - w[i];
        sum += d;
        sq += d * d;
    }
    /* 60000 draws: the sample variance of N(0, 0.0625) is within 2% (sd 0.58%) */
    double mean = sum / (double)n, var = sq / (double)n - mean * mean;
    cr_assert(fabs(mean) < 0.005 && fabs(var / 0.0625 - 1.0) < 0.02, "mean %g var %g", mean,
              var);
    rg_free(w);
    rg_free(out);
    rg_free(e);
    rg_plugin_instance_destroy(pi);
}

Test(weight_noise, the_gradient_passes_unchanged_and_evaluation_uses_w)
{
    rg_plugin_instance *pi = pt_load("weight_noise", R);
    cr_assert_null(pi->plugin->reg.weight_backward);
    cr_assert_null(pi->plugin->reg.penalty);
    float w[4] = {1, 2, 3, 4}, out[4];
    rg_param_ctx c = {.struct_size = sizeof c, .mode = RG_MODE_EVAL};
    cr_assert_eq(forward(pi, &c, w, out, 2, 2), RG_ERR_UNSUPPORTED);
    rg_plugin_instance_destroy(pi);
}

Test(weight_noise, stddev_0_trains_bit_identically_to_no_plugin)
{
    rg_threads_init(2);
    pt_identity_setting_matches_plain("weight_noise:stddev=0", 2);
}

Test(weight_noise, trains_and_changes_the_weights)
{
    rg_threads_init(2);
    pt_run plain, reg;
    pt_start(&plain, "mlp:64", 8, 3000, NULL);
    pt_start(&reg, "mlp:64", 8, 3000, "weight_noise:stddev=0.01");
    pt_train(&plain, 2);
    pt_train(&reg, 2);
    cr_assert(!pt_models_equal(plain.model, reg.model));
    cr_assert_gt(reg.last.val_accuracy, 0.6, "val accuracy %.4f", reg.last.val_accuracy);
    pt_finish(&plain);
    pt_finish(&reg);
}
