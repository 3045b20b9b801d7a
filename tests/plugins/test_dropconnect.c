/* dropconnect: Wan et al. 2013 with inverted scaling: in training W'_i = m_i W_i / (1 - p),
 * m_i ~ Bernoulli(1 - p) (kept when the stream's u_i >= p), dL/dW = m / (1 - p) * dL/dW';
 * evaluation uses W. Expected values are computed here from that definition. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "param_test_util.h"
#include "rng.h"
#include "threads.h"

#define R RG_PLUGIN_REGULARIZER

TestSuite(dropconnect, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

static rg_status forward(rg_plugin_instance *pi, const rg_param_ctx *c, float *w, float *out,
                         int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};
    rg_tensor_view v = pt_view(w, RG_TENSOR_WEIGHT, 2, shape), o = pt_view(out, RG_TENSOR_WEIGHT,
                                                                            2, shape);
    return pi->plugin->reg.weight_forward(pi->inst, c, &v, &o);
}

Test(dropconnect, kept_weights_are_scaled_by_1_over_1_minus_p_dropped_ones_are_zero)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = pt_load("dropconnect:rate=0.3", R);
    const int64_t rows = 200, cols = 300, n = rows * cols;
    float *w = pt_floats(n), *out = pt_floats(n), *u = pt_floats(n);
    pt_fill(w, n, 3, 0.5f, 1.5f); /* no zero weights: a zero output means dropped */
    rg_rng_stream rng;
    rg_param_ctx c = pt_param_ctx(&rng, 11, 4, 2000);
    cr_assert_eq(forward(pi, &c, w, out, rows, cols), RG_OK, "%s", rg_error_message());
    /* the mask the definition gives: u_i at position i of the stream, kept when u_i >= p */
    rg_rng_uniform(&rng, 0, u, (size_t)n);
    float scale = (float)(1.0 / (1.0 - 0.3));
    int64_t dropped = 0;
    for (int64_t i = 0; i < n; i++) {
        float want = u[i] >= 0.3f ? w[i] * scale : 0.0f;
        cr_assert_eq(out[i], want, "element %lld: %.9g, want %.9g", (long long)i,
                     (double)out[i], (double)want);
        dropped += out[i] == 0.0f;
    }
    /* Bernoulli(0.3) over 60000 weights: sd 0.0019 */
    double frac = (double)dropped / (double)n;
    cr_assert(fabs(frac - 0.3) < 0.01, "dropped fraction %.4f", frac);
    rg_free(w);
    rg_free(out);
    rg_free(u);
    rg_plugin_instance_destroy(pi);
}

Test(dropconnect, backward_applies_the_forward_mask_to_the_gradient)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = pt_load("dropconnect:rate=0.5", R);
    const int64_t rows = 64, cols = 100, n = rows * cols, shape[2] = {64, 100};
    float *w = pt_floats(n), *out = pt_floats(n), *g = pt_floats(n), *g0 = pt_floats(n);
    pt_fill(w, n, 5, 0.5f, 1.0f);
    pt_fill(g, n, 6, -1.0f, 1.0f);
    memcpy(g0, g, (size_t)n * sizeof(float));
    rg_rng_stream rng;
    rg_param_ctx c = pt_param_ctx(&rng, 2, 9, 2003);
    cr_assert_eq(forward(pi, &c, w, out, rows, cols), RG_OK);
    rg_tensor_view v = pt_view(w, RG_TENSOR_WEIGHT, 2, shape),
                   gv = pt_view(g, RG_TENSOR_GRADIENT, 2, shape);
    cr_assert_eq(pi->plugin->reg.weight_backward(pi->inst, &c, &v, &gv), RG_OK);
    for (int64_t i = 0; i < n; i++) {
        /* p = 0.5: the scale is exactly 2 */
        float want = out[i] == 0.0f ? 0.0f : g0[i] * 2.0f;
        cr_assert_eq(g[i], want, "element %lld", (long long)i);
    }
    rg_free(w);
    rg_free(out);
    rg_free(g);
    rg_free(g0);
    rg_plugin_instance_destroy(pi);
}

Test(dropconnect, evaluation_uses_the_weights_unchanged)
{
    rg_plugin_instance *pi = pt_load("dropconnect:rate=0.5", R);
    float w[6] = {1, 2, 3, 4, 5, 6}, out[6] = {0};
    rg_param_ctx c = {.struct_size = sizeof c, .mode = RG_MODE_EVAL};
    cr_assert_eq(forward(pi, &c, w, out, 2, 3), RG_ERR_UNSUPPORTED);
    rg_plugin_instance_destroy(pi);
}

Test(dropconnect, another_step_draws_another_mask_and_threads_do_not_matter)
{
    rg_plugin_instance *pi = pt_load("dropconnect:rate=0.5", R);
    const int64_t rows = 300, cols = 200, n = rows * cols;
    float *w = pt_floats(n), *a = pt_floats(n), *b = pt_floats(n), *d = pt_floats(n);
    pt_fill(w, n, 8, 0.5f, 1.0f);
    rg_rng_stream r1, r2;
    rg_param_ctx c1 = pt_param_ctx(&r1, 1, 1, 2000), c2 = pt_param_ctx(&r2, 1, 2, 2000);
    rg_threads_init(1);
    cr_assert_eq(forward(pi, &c1, w, a, rows, cols), RG_OK);
    cr_assert_eq(forward(pi, &c2, w, d, rows, cols), RG_OK);
    rg_threads_init(2);
    cr_assert_eq(forward(pi, &c1, w, b, rows, cols), RG_OK);
    cr_assert(memcmp(a, b, (size_t)n * sizeof(float)) == 0, "1 and 2 threads differ");
    cr_assert(memcmp(a, d, (size_t)n * sizeof(float)) != 0, "steps 1 and 2 share a mask");
    rg_free(w);
    rg_free(a);
    rg_free(b);
    rg_free(d);
    rg_plugin_instance_destroy(pi);
}

Test(dropconnect, rate_out_of_range_is_refused_by_the_host)
{
    cr_assert_str_eq(pt_load_fails("dropconnect:rate=1", R),
                     "dropconnect: parameter rate=1 is out of range [0, 1)");
}

/* rate=0 keeps every weight at scale 1.0f: the trainer's swap of the transformed weights in
 * and out, and the gradient map, must then leave training bit for bit what it is without */
Test(dropconnect, rate_0_trains_bit_identically_to_no_plugin)
{
    rg_threads_init(2);
    pt_identity_setting_matches_plain("dropconnect:rate=0", 2);
}

/* The promised effect, regularization: on 2000 training images, where a 256-unit MLP
 * overfits within 20 epochs, dropping a tenth of the output layer's connections narrows the
 * gap between validation and training loss, and the network still learns. (One mask
 * per batch, see the plugin: at rate 0.5 on every layer it mostly slows training down.) */
Test(dropconnect, on_a_small_training_set_it_narrows_the_generalization_gap)
{
    rg_threads_init(2);
    pt_run plain, reg;
    pt_start(&plain, "mlp:256", 3, 2000, NULL);
    pt_start(&reg, "mlp:256", 3, 2000, "dropconnect:rate=0.1,layers=dense2");
    pt_train(&plain, 20);
    pt_train(&reg, 20);
    double gp = plain.last.val_loss - plain.last.train_loss,
           gr = reg.last.val_loss - reg.last.train_loss;
    cr_log_info("dropconnect rate=0.1 on dense2: val - train loss %.4f (val acc %.4f); without "
                "%.4f (val acc %.4f)", gr, reg.last.val_accuracy, gp, plain.last.val_accuracy);
    cr_assert_lt(gr, gp - 0.03, "gap %.4f with, %.4f without", gr, gp);
    cr_assert_gt(reg.last.val_accuracy, 0.7);
    pt_finish(&plain);
    pt_finish(&reg);
}
