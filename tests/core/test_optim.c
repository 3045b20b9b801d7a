/* Optimizers against PyTorch's published update rules, unrolled by hand
 * in double:
 *   torch.optim.SGD (dampening 0, weight_decay 0):
 *     b_1 = g_1, b_t = mu * b_{t-1} + g_t;
 *     nesterov: w -= lr * (g_t + mu * b_t), else w -= lr * b_t;
 *     mu = 0: w -= lr * g_t.
 *   torch.optim.Adam (amsgrad False, weight_decay 0):
 *     m_t = b1 m_{t-1} + (1 - b1) g_t, v_t = b2 v_{t-1} + (1 - b2) g_t^2,
 *     m^ = m_t / (1 - b1^t), v^ = v_t / (1 - b2^t), w -= lr * m^ / (sqrt(v^) + eps).
 * (https://pytorch.org/docs/stable/generated/torch.optim.SGD.html and
 *  https://pytorch.org/docs/stable/generated/torch.optim.Adam.html) */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "optim/optim.h"

enum { N = 4, STEPS = 3 };

static const float W0[N] = {1.0f, -2.0f, 0.5f, 0.0f};
/* gradients of steps 1..3, varied in sign and size */
static const float G[STEPS][N] = {
    {0.5f, -1.0f, 0.25f, 2.0f},
    {-0.3f, 0.7f, 0.25f, -1.5f},
    {0.1f, 0.2f, -4.0f, 0.01f},
};

static rg_param make_param(const char *name)
{
    rg_param p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.kind = RG_TENSOR_WEIGHT;
    p.ndim = 1;
    p.shape[0] = N;
    p.numel = N;
    p.value = rg_alloc_floats(N);
    p.grad = rg_alloc_floats(N);
    cr_assert(p.value && p.grad);
    memcpy(p.value, W0, sizeof W0);
    return p;
}

static void free_param(rg_param *p)
{
    rg_free(p->value);
    rg_free(p->grad);
    rg_free(p->slot[0]);
    rg_free(p->slot[1]);
}

static void assert_close(const rg_param *p, const double *want, int step, const char *what)
{
    for (int i = 0; i < N; i++)
        cr_assert(fabs(p->value[i] - want[i]) <= 1e-6 + 1e-5 * fabs(want[i]),
                  "%s step %d w[%d] = %.9g, PyTorch rule gives %.9g", what, step, i,
                  p->value[i], want[i]);
}

static void run_sgd(double lr, double mu, int nesterov, const char *what)
{
    rg_param p = make_param("dense1.weight");
    rg_param *params[1] = {&p};
    rg_optim_config cfg;
    rg_optim_config_defaults(&cfg);
    cfg.kind = RG_OPTIM_SGD;
    cfg.lr = lr;
    cfg.momentum = mu;
    cfg.nesterov = nesterov;
    rg_optimizer opt;
    cr_assert_eq(rg_optim_init(&opt, &cfg, params, 1), RG_OK);

    double w[N], b[N];
    for (int i = 0; i < N; i++) {
        w[i] = W0[i];
        b[i] = 0.0;
    }
    for (int t = 0; t < STEPS; t++) {
        memcpy(p.grad, G[t], sizeof G[t]);
        rg_optim_step(&opt, params, 1, lr);
        for (int i = 0; i < N; i++) {
            double g = G[t][i];
            if (mu == 0.0) {
                w[i] -= lr * g;
                continue;
            }
            b[i] = t == 0 ? g : mu * b[i] + g;
            w[i] -= lr * (nesterov ? g + mu * b[i] : b[i]);
        }
        assert_close(&p, w, t + 1, what);
    }
    cr_assert_eq(opt.steps, STEPS);
    free_param(&p);
}

Test(sgd, plain_update_is_w_minus_lr_g)
{
    run_sgd(0.1, 0.0, 0, "sgd");
}

Test(sgd, plain_update_written_out)
{
    /* w = 1, g = 0.5 then -0.3 then 0.1, lr = 0.1: 1 - 0.05 + 0.03 - 0.01 = 0.97 */
    rg_param p = make_param("w");
    rg_param *params[1] = {&p};
    rg_optim_config cfg;
    rg_optim_config_defaults(&cfg);
    cfg.momentum = 0.0;
    rg_optimizer opt;
    cr_assert_eq(rg_optim_init(&opt, &cfg, params, 1), RG_OK);
    for (int t = 0; t < STEPS; t++) {
        memcpy(p.grad, G[t], sizeof G[t]);
        rg_optim_step(&opt, params, 1, 0.1);
    }
    cr_assert(fabsf(p.value[0] - 0.97f) < 1e-6f, "w[0] = %.9g, want 0.97", p.value[0]);
    free_param(&p);
}

Test(sgd, momentum_matches_pytorch_rule)
{
    run_sgd(0.1, 0.9, 0, "sgd momentum");
}

Test(sgd, momentum_written_out)
{
    /* element 0, lr 0.1, mu 0.9, g = 0.5, -0.3, 0.1:
     * b1 = 0.5, w1 = 0.95; b2 = 0.45 - 0.3 = 0.15, w2 = 0.935;
     * b3 = 0.135 + 0.1 = 0.235, w3 = 0.9115 */
    rg_param p = make_param("w");
    rg_param *params[1] = {&p};
    rg_optim_config cfg;
    rg_optim_config_defaults(&cfg);
    cfg.momentum = 0.9;
    cfg.nesterov = 0;
    rg_optimizer opt;
    cr_assert_eq(rg_optim_init(&opt, &cfg, params, 1), RG_OK);
    const float want[STEPS] = {0.95f, 0.935f, 0.9115f};
    for (int t = 0; t < STEPS; t++) {
        memcpy(p.grad, G[t], sizeof G[t]);
        rg_optim_step(&opt, params, 1, 0.1);
        cr_assert(fabsf(p.value[0] - want[t]) < 1e-6f, "step %d: w = %.9g, want %.9g", t + 1,
                  p.value[0], want[t]);
    }
    free_param(&p);
}

Test(sgd, nesterov_matches_pytorch_rule)
{
    run_sgd(0.05, 0.9, 1, "sgd nesterov");
}

Test(sgd, nesterov_written_out)
{
    /* element 0, lr 0.1, mu 0.9, g = 0.5, -0.3, 0.1:
     * b1 = 0.5,   w1 = 1 - 0.1 (0.5 + 0.45)       = 0.905
     * b2 = 0.15,  w2 = 0.905 - 0.1 (-0.3 + 0.135) = 0.9215
     * b3 = 0.235, w3 = 0.9215 - 0.1 (0.1 + 0.2115) = 0.89035 */
    rg_param p = make_param("w");
    rg_param *params[1] = {&p};
    rg_optim_config cfg;
    rg_optim_config_defaults(&cfg);
    cfg.momentum = 0.9;
    cfg.nesterov = 1;
    rg_optimizer opt;
    cr_assert_eq(rg_optim_init(&opt, &cfg, params, 1), RG_OK);
    const float want[STEPS] = {0.905f, 0.9215f, 0.89035f};
    for (int t = 0; t < STEPS; t++) {
        memcpy(p.grad, G[t], sizeof G[t]);
        rg_optim_step(&opt, params, 1, 0.1);
        cr_assert(fabsf(p.value[0] - want[t]) < 1e-6f, "step %d: w = %.9g, want %.9g", t + 1,
                  p.value[0], want[t]);
    }
    free_param(&p);
}

Test(sgd, step_uses_the_lr_argument_not_the_config)
{
    rg_param p = make_param("w");
    rg_param *params[1] = {&p};
    rg_optim_config cfg;
    rg_optim_config_defaults(&cfg);
    cfg.lr = 100.0;
    cfg.momentum = 0.0;
    rg_optimizer opt;
    cr_assert_eq(rg_optim_init(&opt, &cfg, params, 1), RG_OK);
    memcpy(p.grad, G[0], sizeof G[0]);
    rg_optim_step(&opt, params, 1, 0.01);
    cr_assert(fabsf(p.value[0] - (1.0f - 0.01f * 0.5f)) < 1e-7f, "w = %.9g", p.value[0]);
    free_param(&p);
}

Test(sgd, each_parameter_keeps_its_own_momentum)
{
    rg_param a = make_param("a"), b = make_param("b");
    rg_param *params[2] = {&a, &b};
    rg_optim_config cfg;
    rg_optim_config_defaults(&cfg);
    cfg.momentum = 0.5;
    rg_optimizer opt;
    cr_assert_eq(rg_optim_init(&opt, &cfg, params, 2), RG_OK);
    cr_assert(a.slot[0] && b.slot[0] && a.slot[0] != b.slot[0]);
    /* a sees g = 1 twice, b sees g = -1 twice: b_a = 1.5, b_b = -1.5 at step 2 */
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < N; i++) {
            a.grad[i] = 1.0f;
            b.grad[i] = -1.0f;
        }
        rg_optim_step(&opt, params, 2, 0.1);
    }
    for (int i = 0; i < N; i++) {
        cr_assert(fabsf(a.value[i] - (W0[i] - 0.1f * 2.5f)) < 1e-6f, "a[%d] = %g", i, a.value[i]);
        cr_assert(fabsf(b.value[i] - (W0[i] + 0.1f * 2.5f)) < 1e-6f, "b[%d] = %g", i, b.value[i]);
    }
    free_param(&a);
    free_param(&b);
}

static void run_adam(double lr, double b1, double b2, double eps)
{
    rg_param p = make_param("dense1.weight");
    rg_param *params[1] = {&p};
    rg_optim_config cfg;
    rg_optim_config_defaults(&cfg);
    cfg.kind = RG_OPTIM_ADAM;
    cfg.lr = lr;
    cfg.beta1 = b1;
    cfg.beta2 = b2;
    cfg.eps = eps;
    rg_optimizer opt;
    cr_assert_eq(rg_optim_init(&opt, &cfg, params, 1), RG_OK);
    double w[N], m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++)
        w[i] = W0[i];
    for (int t = 1; t <= STEPS; t++) {
        memcpy(p.grad, G[t - 1], sizeof G[t - 1]);
        rg_optim_step(&opt, params, 1, lr);
        for (int i = 0; i < N; i++) {
            double g = G[t - 1][i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
            w[i] -= lr * mh / (sqrt(vh) + eps);
        }
        assert_close(&p, w, t, "adam");
    }
    free_param(&p);
}

Test(adam, matches_pytorch_rule_default_betas)
{
    run_adam(0.01, 0.9, 0.999, 1e-8);
}

Test(adam, matches_pytorch_rule_other_betas_and_large_eps)
{
    /* eps comparable to sqrt(v^) so its placement (outside the sqrt) matters */
    run_adam(0.05, 0.5, 0.9, 0.1);
}

Test(adam, first_step_moves_each_weight_by_lr_against_gradient_sign)
{
    /* t = 1: m^ = g, v^ = g^2, so the step is lr * g / (|g| + eps) ~ lr * sign(g) */
    rg_param p = make_param("w");
    rg_param *params[1] = {&p};
    rg_optim_config cfg;
    rg_optim_config_defaults(&cfg);
    cfg.kind = RG_OPTIM_ADAM;
    rg_optimizer opt;
    cr_assert_eq(rg_optim_init(&opt, &cfg, params, 1), RG_OK);
    cr_assert(p.slot[0] && p.slot[1], "Adam needs two state slots");
    memcpy(p.grad, G[0], sizeof G[0]);
    rg_optim_step(&opt, params, 1, 0.001);
    const float want[N] = {1.0f - 0.001f, -2.0f + 0.001f, 0.5f - 0.001f, 0.0f - 0.001f};
    for (int i = 0; i < N; i++)
        cr_assert(fabsf(p.value[i] - want[i]) < 1e-6f, "w[%d] = %.9g, want %.9g", i, p.value[i],
                  want[i]);
    free_param(&p);
}

Test(optim, init_allocates_zeroed_state_only_when_needed)
{
    rg_param p = make_param("w");
    rg_param *params[1] = {&p};
    rg_optim_config cfg;
    rg_optimizer opt;

    rg_optim_config_defaults(&cfg);
    cfg.momentum = 0.0;
    cr_assert_eq(rg_optim_init(&opt, &cfg, params, 1), RG_OK);
    cr_assert_null(p.slot[0], "plain SGD keeps no state");

    rg_optim_config_defaults(&cfg);
    cfg.kind = RG_OPTIM_ADAM;
    cr_assert_eq(rg_optim_init(&opt, &cfg, params, 1), RG_OK);
    cr_assert(p.slot[0] && p.slot[1]);
    for (int i = 0; i < N; i++)
        cr_assert(p.slot[0][i] == 0.0f && p.slot[1][i] == 0.0f, "slot not zeroed at %d", i);
    cr_assert_eq(opt.steps, 0);
    free_param(&p);
}

/* ------------------------------------------------ a linear decay folded into the update */
enum { BIG = 100003 }; /* above the parallel threshold, and a ragged tail */

static rg_param big_param(const char *name, uint32_t seed)
{
    rg_param p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.kind = RG_TENSOR_WEIGHT;
    p.ndim = 1;
    p.shape[0] = BIG;
    p.numel = BIG;
    p.value = rg_alloc_floats(BIG);
    p.grad = rg_alloc_floats(BIG);
    cr_assert(p.value && p.grad);
    uint32_t x = seed;
    for (int64_t i = 0; i < BIG; i++) {
        x = x * 1664525u + 1013904223u;
        p.value[i] = (float)((int32_t)x >> 8) / 8388608.0f; /* [-1, 1) */
    }
    return p;
}

static void fill_grad(rg_param *p, int step)
{
    uint32_t x = 99u + (uint32_t)step;
    for (int64_t i = 0; i < BIG; i++) {
        x = x * 1664525u + 1013904223u;
        p->grad[i] = (float)((int32_t)x >> 8) / 83886080.0f;
    }
}

/* The folded step must leave the weights the two-pass way leaves them (grad += c * w in
 * float, then the plain step), bit for bit, and report sum w^2 of the weights before it. */
static void fold_equals_two_passes(rg_optim_kind kind, double momentum, int nesterov)
{
    rg_param a = big_param("a", 5), b = big_param("b", 5);
    rg_param *pa[1] = {&a}, *pb[1] = {&b};
    rg_optim_config cfg;
    rg_optim_config_defaults(&cfg);
    cfg.kind = kind;
    cfg.momentum = momentum;
    cfg.nesterov = nesterov;
    rg_optimizer oa, ob;
    cr_assert_eq(rg_optim_init(&oa, &cfg, pa, 1), RG_OK);
    cr_assert_eq(rg_optim_init(&ob, &cfg, pb, 1), RG_OK);
    const float c = 3e-3f;
    uint8_t fold[1] = {1};
    float coef[1] = {c};
    for (int t = 0; t < 4; t++) {
        double want = 0.0;
        for (int64_t i = 0; i < BIG; i++)
            want += (double)b.value[i] * (double)b.value[i];
        fill_grad(&a, t);
        fill_grad(&b, t);
        for (int64_t i = 0; i < BIG; i++)
            a.grad[i] += c * a.value[i];
        cr_assert_eq(rg_optim_step(&oa, pa, 1, 0.05), -1);
        double ss = -1.0;
        cr_assert_eq(rg_optim_step_decay(&ob, pb, 1, 0.05, fold, coef, &ss), -1);
        cr_assert(fabs(ss - want) <= 1e-12 * want, "step %d: sum w^2 %.17g, want %.17g", t, ss,
                  want);
        for (int64_t i = 0; i < BIG; i++)
            cr_assert(memcmp(&a.value[i], &b.value[i], sizeof(float)) == 0,
                      "kind %d momentum %g nesterov %d step %d: w[%lld] %.9g two-pass, %.9g "
                      "folded",
                      (int)kind, momentum, nesterov, t, (long long)i, (double)a.value[i],
                      (double)b.value[i]);
    }
    free_param(&a);
    free_param(&b);
}

Test(fold, sgd_plain_momentum_nesterov_and_adam_match_two_passes)
{
    fold_equals_two_passes(RG_OPTIM_SGD, 0.0, 0);
    fold_equals_two_passes(RG_OPTIM_SGD, 0.9, 0);
    fold_equals_two_passes(RG_OPTIM_SGD, 0.9, 1);
    fold_equals_two_passes(RG_OPTIM_ADAM, 0.0, 0);
}

/* The finite check rides in the vectorized loop: a NaN or an inf anywhere, in the body or
 * in the tail, folded or not, is reported. */
Test(fold, a_non_finite_gradient_anywhere_is_reported)
{
    const int64_t where[] = {0, 17, 65536, BIG - 1};
    for (int f = 0; f < 2; f++)
        for (int k = 0; k < 4; k++) {
            rg_param a = big_param("a", 3), z = big_param("z", 4);
            rg_param *pa[2] = {&z, &a};
            rg_optim_config cfg;
            rg_optim_config_defaults(&cfg);
            rg_optimizer o;
            cr_assert_eq(rg_optim_init(&o, &cfg, pa, 2), RG_OK);
            fill_grad(&a, 0);
            fill_grad(&z, 0);
            a.grad[where[k]] = k % 2 ? INFINITY : NAN;
            uint8_t fold[2] = {(uint8_t)f, (uint8_t)f};
            float coef[2] = {1e-3f, 1e-3f};
            double ss[2];
            cr_assert_eq(rg_optim_step_decay(&o, pa, 2, 0.1, fold, coef, ss), 1,
                         "fold %d: the bad gradient at %lld went unnoticed", f,
                         (long long)where[k]);
            free_param(&a);
            free_param(&z);
        }
}
