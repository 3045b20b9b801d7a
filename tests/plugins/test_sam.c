/* sam: Foret et al. 2021, Algorithm 1 (p = 2): with g the batch gradient at w,
 * e = rho g / (||g||_2 + 1e-12), the optimizer steps w with the gradient at w + e, and w is
 * put back exactly. Checked on a quadratic whose gradients are known, through a host whose
 * step services are this test's, then in training. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "param_test_util.h"
#include "plugin/host.h"
#include "rng.h"
#include "threads.h"

#define R RG_PLUGIN_REGULARIZER

TestSuite(sam, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);

/* L(w) = sum a_i (w_i - m_i)^2 / 2 over two tensors of 6 and 3 elements */
typedef struct quad {
    float w[2][6], g[2][6], a[2][6], m[2][6];
    int64_t n[2];
    int evaluations;
} quad;

static void quad_grad(quad *q)
{
    for (int t = 0; t < 2; t++)
        for (int64_t i = 0; i < q->n[t]; i++)
            q->g[t][i] = q->a[t][i] * (q->w[t][i] - q->m[t][i]);
}

static int64_t q_tensors(const rg_step_handle *h)
{
    (void)h;
    return 2;
}

static rg_status q_tensor(rg_step_handle *h, int64_t i, rg_tensor_view *value,
                          rg_tensor_view *grad)
{
    quad *q = (quad *)(void *)h;
    int64_t shape[1] = {q->n[i]};
    *value = pt_view(q->w[i], RG_TENSOR_WEIGHT, 1, shape);
    *grad = pt_view(q->g[i], RG_TENSOR_GRADIENT, 1, shape);
    return RG_OK;
}

static rg_status q_evaluate(rg_step_handle *h, double *loss)
{
    quad *q = (quad *)(void *)h;
    q->evaluations++;
    quad_grad(q);
    *loss = 0.0;
    return RG_OK;
}

static rg_host_api g_host;

Test(sam, the_gradient_is_taken_at_w_plus_rho_g_over_its_norm_and_w_is_restored)
{
    g_host = *rg_host_api_get();
    g_host.step_tensors = q_tensors;
    g_host.step_tensor = q_tensor;
    g_host.step_evaluate = q_evaluate;
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(REGULA_TEST_PLUGINS "/sam.so:rho=0.5", R, &g_host,
                                           &pi), RG_OK, "%s", rg_error_message());
    quad q;
    memset(&q, 0, sizeof q);
    q.n[0] = 6;
    q.n[1] = 3;
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < 6; i++) {
            q.w[t][i] = 0.3f * (float)(i + 1) - (float)t;
            q.a[t][i] = 1.0f + 0.5f * (float)i;
            q.m[t][i] = 0.1f * (float)(t + i);
        }
    quad_grad(&q);
    float w0[2][6], g0[2][6];
    memcpy(w0, q.w, sizeof w0);
    memcpy(g0, q.g, sizeof g0);
    double norm = 0.0;
    for (int t = 0; t < 2; t++)
        for (int64_t i = 0; i < q.n[t]; i++)
            norm += (double)g0[t][i] * g0[t][i];
    norm = sqrt(norm);
    rg_step_info info = {sizeof info, 0, 0, 3, 0.1};
    cr_assert_eq(pi->plugin->reg.step_wrap(pi->inst, &info, (rg_step_handle *)(void *)&q),
                 RG_OK, "%s", rg_error_message());
    cr_assert_eq(q.evaluations, 1);
    cr_assert(memcmp(w0, q.w, sizeof w0) == 0, "the weights were not put back bit for bit");
    for (int t = 0; t < 2; t++)
        for (int64_t i = 0; i < q.n[t]; i++) {
            double e = 0.5 * g0[t][i] / (norm + 1e-12);
            double want = q.a[t][i] * ((double)w0[t][i] + e - q.m[t][i]);
            cr_assert_float_eq(q.g[t][i], want, 1e-5, "tensor %d element %lld: %.9g, want %.9g",
                               t, (long long)i, (double)q.g[t][i], want);
        }
    rg_plugin_instance_destroy(pi);
}

Test(sam, rho_must_be_positive)
{
    cr_assert_str_eq(pt_load_fails("sam:rho=0", R), "sam: parameter rho=0 is out of range (0, 10]");
}

Test(sam, training_is_reproducible_and_differs_from_plain_sgd)
{
    rg_threads_init(2);
    pt_run a, b, plain;
    pt_start(&a, "mlp:64", 12, 3000, "sam:rho=0.05");
    pt_start(&b, "mlp:64", 12, 3000, "sam:rho=0.05");
    pt_start(&plain, "mlp:64", 12, 3000, NULL);
    pt_train(&a, 2);
    pt_train(&b, 2);
    pt_train(&plain, 2);
    cr_assert(pt_models_equal(a.model, b.model));
    cr_assert(!pt_models_equal(a.model, plain.model));
    cr_assert_gt(a.last.val_accuracy, 0.6, "val accuracy %.4f", a.last.val_accuracy);
    pt_finish(&a);
    pt_finish(&b);
    pt_finish(&plain);
}

/* the second evaluation at w + e with e -> 0 is the first one: a tiny rho must train to
 * nearly plain SGD's weights (an error in the host's re-evaluation, such as rewriting the
 * targets twice or keeping the transformed weights, would not) */
Test(sam, a_tiny_rho_trains_to_nearly_the_plain_weights)
{
    rg_threads_init(2);
    pt_run a, plain;
    pt_start(&a, "mlp:64", 13, 2000, "sam:rho=1e-5");
    pt_start(&plain, "mlp:64", 13, 2000, NULL);
    pt_train(&a, 1);
    pt_train(&plain, 1);
    double d = pt_models_max_diff(a.model, plain.model);
    cr_log_info("sam rho=1e-5: largest weight difference from plain SGD %.3g", d);
    cr_assert_lt(d, 1e-3, "largest weight difference %g", d);
    cr_assert_gt(d, 0.0);
    pt_finish(&a);
    pt_finish(&plain);
}
