/* gradient_noise: Neelakantan et al. 2015, eq. 1-2: g_t += N(0, sigma_t^2),
 * sigma_t^2 = eta / (1 + t)^gamma, t the 0-based global step. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "param_test_util.h"
#include "rng.h"
#include "threads.h"

#define R RG_PLUGIN_REGULARIZER

TestSuite(gradient_noise, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

static void noise_at(rg_plugin_instance *pi, int64_t step, float *g, int64_t n, uint64_t seed)
{
    int64_t shape[2] = {n / 100, 100};
    float *w = pt_floats(n);
    rg_tensor_view v = pt_view(w, RG_TENSOR_WEIGHT, 2, shape),
                   gv = pt_view(g, RG_TENSOR_GRADIENT, 2, shape);
    rg_rng_stream rng;
    rg_param_ctx c = pt_param_ctx(&rng, seed, step, 3000);
    cr_assert_eq(pi->plugin->reg.gradient(pi->inst, &c, &v, &gv), RG_OK, "%s",
                 rg_error_message());
    rg_free(w);
}

static double variance(const float *x, int64_t n)
{
    double s = 0.0, q = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s += x[i];
        q += (double)x[i] * x[i];
    }
    return q / (double)n - (s / (double)n) * (s / (double)n);
}

Test(gradient_noise, the_variance_anneals_as_eta_over_1_plus_t_to_the_gamma)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = pt_load("gradient_noise:eta=0.3,gamma=0.55", R);
    const int64_t n = 100000;
    float *g = pt_floats(n);
    const int64_t steps[3] = {0, 99, 9999};
    for (int k = 0; k < 3; k++) {
        memset(g, 0, (size_t)n * sizeof(float));
        noise_at(pi, steps[k], g, n, 1);
        double want = 0.3 / pow(1.0 + (double)steps[k], 0.55), got = variance(g, n);
        /* 100000 draws: the sample variance is within 1.5% (sd 0.45%) */
        cr_assert(fabs(got / want - 1.0) < 0.015, "step %lld: variance %g, want %g",
                  (long long)steps[k], got, want);
    }
    rg_free(g);
    rg_plugin_instance_destroy(pi);
}

Test(gradient_noise, it_adds_to_the_gradient_with_the_streams_normals)
{
    rg_plugin_instance *pi = pt_load("gradient_noise:eta=1,gamma=0", R);
    const int64_t n = 20000;
    float *g = pt_floats(n), *e = pt_floats(n);
    pt_fill(g, n, 3, -1.0f, 1.0f);
    float *g0 = pt_floats(n);
    memcpy(g0, g, (size_t)n * sizeof(float));
    noise_at(pi, 5, g, n, 2);
    rg_rng_stream rng;
    pt_param_ctx(&rng, 2, 5, 3000);
    rg_rng_normal(&rng, 0, e, (size_t)n);
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(g[i], g0[i] + 1.0f * e[i], "element %lld", (long long)i);
    rg_free(g);
    rg_free(g0);
    rg_free(e);
    rg_plugin_instance_destroy(pi);
}

Test(gradient_noise, eta_0_trains_bit_identically_to_no_plugin)
{
    rg_threads_init(2);
    pt_identity_setting_matches_plain("gradient_noise:eta=0", 2);
}

Test(gradient_noise, trains_and_is_reproducible)
{
    rg_threads_init(2);
    pt_run a, b;
    pt_start(&a, "mlp:64", 9, 3000, "gradient_noise:eta=0.01");
    pt_start(&b, "mlp:64", 9, 3000, "gradient_noise:eta=0.01");
    pt_train(&a, 2);
    pt_train(&b, 2);
    cr_assert(pt_models_equal(a.model, b.model));
    cr_assert_gt(a.last.val_accuracy, 0.6, "val accuracy %.4f", a.last.val_accuracy);
    pt_finish(&a);
    pt_finish(&b);
}
