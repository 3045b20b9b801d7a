/* Kernels against their definitions: sgemm against a naive triple loop,
 * softmax cross-entropy against -log softmax written out by hand
 * (torch.nn.CrossEntropyLoss docs: loss = -sum_c t_c log(exp(z_c) / sum_j exp(z_j)),
 * which also covers class-probability targets), ReLU as max(0, x)
 * (torch.nn.ReLU docs), and the row reductions behind dense layers. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kernels/kernels.h"

/* Small deterministic values in [-1, 1] (an LCG, independent of the code
 * under test). */
static uint32_t lcg_state;
static float lcg_unit(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)(lcg_state >> 8) / 8388608.0f - 1.0f;
}
static void fill(float *v, int64_t n, uint32_t seed)
{
    lcg_state = seed;
    for (int64_t i = 0; i < n; i++)
        v[i] = lcg_unit();
}

static int close_to(double got, double want, double rel, double abs_tol)
{
    return fabs(got - want) <= abs_tol + rel * fabs(want);
}

/* ---- rg_sgemm --------------------------------------------------------------- */

/* C = alpha * op(A) op(B) + beta * C with A stored [m,k] (or [k,m] when
 * transposed) and B stored [k,n] (or [n,k]). */
static void check_sgemm(int ta, int tb)
{
    const int64_t m = 5, n = 3, k = 7;
    float a[5 * 7], b[7 * 3], c[5 * 3], c0[5 * 3];
    fill(a, m * k, 11u + (uint32_t)ta);
    fill(b, k * n, 23u + (uint32_t)tb);
    fill(c0, m * n, 37u);
    memcpy(c, c0, sizeof c);
    int64_t lda = ta ? m : k, ldb = tb ? k : n;
    const float alpha = 0.75f, beta = -0.5f;
    rg_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t p = 0; p < k; p++) {
                double av = ta ? a[p * lda + i] : a[i * lda + p];
                double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                s += av * bv;
            }
            double want = alpha * s + beta * c0[i * n + j];
            cr_assert(close_to(c[i * n + j], want, 1e-5, 1e-5),
                      "trans_a=%d trans_b=%d C[%lld,%lld] = %.7g, naive loop gives %.7g", ta, tb,
                      (long long)i, (long long)j, c[i * n + j], want);
        }
}

Test(sgemm, matches_naive_loop_no_transpose) { check_sgemm(0, 0); }
Test(sgemm, matches_naive_loop_transposed_a) { check_sgemm(1, 0); }
Test(sgemm, matches_naive_loop_transposed_b) { check_sgemm(0, 1); }
Test(sgemm, matches_naive_loop_both_transposed) { check_sgemm(1, 1); }

Test(sgemm, respects_leading_dimension_wider_than_row)
{
    /* A is a 2x3 window inside a 2x5 buffer; C a 2x2 window inside 2x4. */
    float a[10] = {1, 2, 3, 99, 99, 4, 5, 6, 99, 99};
    float b[6] = {1, 0, 0, 1, 1, 1}; /* 3x2 */
    float c[8] = {-7, -7, -7, -7, -7, -7, -7, -7};
    rg_sgemm(0, 0, 2, 2, 3, 1.0f, a, 5, b, 2, 0.0f, c, 4);
    /* [1 2 3; 4 5 6] * [1 0; 0 1; 1 1] = [4 5; 10 11] */
    float want[8] = {4, 5, -7, -7, 10, 11, -7, -7};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(c[i], want[i], "c[%d] = %g, want %g", i, c[i], want[i]);
}

/* ---- rg_softmax_xent -------------------------------------------------------- */

Test(softmax_xent, one_hot_loss_is_log_sum_exp_minus_target_logit)
{
    float z[3] = {1, 2, 3}, t[3] = {0, 0, 1}, loss = 0;
    rg_softmax_xent(1, 3, z, t, 1.0f, &loss, NULL, NULL);
    double want = log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0; /* 0.40760596... */
    cr_assert(close_to(loss, want, 1e-6, 1e-7), "loss %.9g, want %.9g", loss, want);
}

Test(softmax_xent, one_hot_loss_for_each_row_of_a_batch)
{
    float z[6] = {1, 2, 3, 0.5f, -1, 2}, t[6] = {1, 0, 0, 0, 1, 0}, loss[2] = {0, 0};
    rg_softmax_xent(2, 3, z, t, 1.0f, loss, NULL, NULL);
    double want0 = log(exp(1.0) + exp(2.0) + exp(3.0)) - 1.0;
    double want1 = log(exp(0.5) + exp(-1.0) + exp(2.0)) + 1.0;
    cr_assert(close_to(loss[0], want0, 1e-6, 1e-7), "row 0: %.9g, want %.9g", loss[0], want0);
    cr_assert(close_to(loss[1], want1, 1e-6, 1e-7), "row 1: %.9g, want %.9g", loss[1], want1);
}

Test(softmax_xent, uniform_logits_give_log_k)
{
    float z[4] = {0.3f, 0.3f, 0.3f, 0.3f}, t[4] = {0, 1, 0, 0}, loss = 0;
    rg_softmax_xent(1, 4, z, t, 1.0f, &loss, NULL, NULL);
    cr_assert(close_to(loss, log(4.0), 1e-6, 1e-7), "loss %.9g, want log 4", loss);
}

Test(softmax_xent, huge_logits_give_finite_loss_and_gradient)
{
    /* exp(1e4) overflows float and double: only the max shift survives. */
    float z[3] = {1e4f, 1e4f - 2.0f, -1e4f}, t[3] = {0, 1, 0}, loss = 0, dz[3];
    rg_softmax_xent(1, 3, z, t, 1.0f, &loss, dz, NULL);
    /* log(e^0 + e^-2 + e^-2e4) - (-2) with the shift m = 1e4 */
    double want = log(1.0 + exp(-2.0)) + 2.0;
    cr_assert(isfinite(loss), "loss is %g", loss);
    cr_assert(close_to(loss, want, 1e-5, 1e-6), "loss %.9g, want %.9g", loss, want);
    for (int j = 0; j < 3; j++)
        cr_assert(isfinite(dz[j]), "dz[%d] = %g", j, dz[j]);
    double p0 = 1.0 / (1.0 + exp(-2.0));
    cr_assert(close_to(dz[0], p0, 1e-5, 1e-6), "dz[0] %.9g, want %.9g", dz[0], p0);
}

Test(softmax_xent, very_negative_logits_give_finite_loss)
{
    float z[2] = {-1e4f, -1e4f + 1.0f}, t[2] = {1, 0}, loss = 0;
    rg_softmax_xent(1, 2, z, t, 1.0f, &loss, NULL, NULL);
    double want = log(1.0 + exp(1.0)); /* log(e^-1e4 + e^(-1e4+1)) + 1e4 */
    cr_assert(isfinite(loss), "loss is %g", loss);
    cr_assert(close_to(loss, want, 1e-5, 1e-6), "loss %.9g, want %.9g", loss, want);
}

Test(softmax_xent, soft_targets_give_cross_entropy_with_distribution)
{
    float z[3] = {0.5f, -1.0f, 2.0f}, t[3] = {0.2f, 0.3f, 0.5f}, loss = 0;
    rg_softmax_xent(1, 3, z, t, 1.0f, &loss, NULL, NULL);
    double lse = log(exp(0.5) + exp(-1.0) + exp(2.0));
    double want = -((double)0.2f * (0.5 - lse) + (double)0.3f * (-1.0 - lse) +
                    (double)0.5f * (2.0 - lse));
    cr_assert(close_to(loss, want, 1e-6, 1e-7), "loss %.9g, want %.9g", loss, want);
}

Test(softmax_xent, loss_is_linear_in_the_targets)
{
    /* -sum_k t_k log softmax(z)_k holds for any t; half a one-hot row
     * (e.g. a masked sample) gives half the loss. */
    float z[3] = {1, 2, 3}, t[3] = {0.5f, 0, 0}, loss = 0;
    rg_softmax_xent(1, 3, z, t, 1.0f, &loss, NULL, NULL);
    double want = 0.5 * (log(exp(1.0) + exp(2.0) + exp(3.0)) - 1.0);
    cr_assert(close_to(loss, want, 1e-6, 1e-7), "loss %.9g, want %.9g", loss, want);
}

Test(softmax_xent, gradient_is_scaled_softmax_minus_target)
{
    float z[3] = {1, 2, 3}, t[3] = {0, 0, 1}, loss = 0, dz[3];
    rg_softmax_xent(1, 3, z, t, 0.25f, &loss, dz, NULL);
    double s = exp(1.0) + exp(2.0) + exp(3.0);
    double want[3] = {0.25 * exp(1.0) / s, 0.25 * exp(2.0) / s, 0.25 * (exp(3.0) / s - 1.0)};
    for (int j = 0; j < 3; j++)
        cr_assert(close_to(dz[j], want[j], 1e-5, 1e-7), "dz[%d] = %.9g, want %.9g", j, dz[j],
                  want[j]);
}

/* sum_r loss_r(z) in double, straight from the definition, for finite
 * differences: -sum_k t_k log softmax(z)_k. */
static double xent_ref(int64_t rows, int64_t k, const double *z, const float *t)
{
    double total = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        double mx = z[r * k];
        for (int64_t j = 1; j < k; j++)
            mx = fmax(mx, z[r * k + j]);
        double s = 0.0;
        for (int64_t j = 0; j < k; j++)
            s += exp(z[r * k + j] - mx);
        double lse = mx + log(s);
        for (int64_t j = 0; j < k; j++)
            total -= (double)t[r * k + j] * (z[r * k + j] - lse);
    }
    return total;
}

Test(softmax_xent, gradient_matches_finite_differences_soft_targets)
{
    enum { R = 3, K = 5 };
    float z[R * K], t[R * K], loss[R], dz[R * K];
    fill(z, R * K, 5u);
    for (int i = 0; i < R * K; i++)
        z[i] *= 3.0f;
    /* soft targets: each row a distribution */
    fill(t, R * K, 9u);
    for (int r = 0; r < R; r++) {
        double s = 0.0;
        for (int j = 0; j < K; j++) {
            t[r * K + j] = fabsf(t[r * K + j]) + 0.05f;
            s += t[r * K + j];
        }
        for (int j = 0; j < K; j++)
            t[r * K + j] = (float)(t[r * K + j] / s);
    }
    const float scale = 1.0f / R;
    rg_softmax_xent(R, K, z, t, scale, loss, dz, NULL);
    double zd[R * K];
    for (int i = 0; i < R * K; i++)
        zd[i] = z[i];
    const double eps = 1e-3;
    for (int i = 0; i < R * K; i++) {
        double keep = zd[i];
        zd[i] = keep + eps;
        double lp = xent_ref(R, K, zd, t);
        zd[i] = keep - eps;
        double lm = xent_ref(R, K, zd, t);
        zd[i] = keep;
        double fd = scale * (lp - lm) / (2 * eps);
        cr_assert(close_to(dz[i], fd, 1e-2, 1e-5), "dz[%d] = %.7g, finite differences %.7g", i,
                  dz[i], fd);
    }
    /* and the reported losses are the reference row losses */
    for (int r = 0; r < R; r++) {
        double want = xent_ref(1, K, zd + r * K, t + r * K);
        cr_assert(close_to(loss[r], want, 1e-5, 1e-6), "row %d loss %.7g, want %.7g", r,
                  loss[r], want);
    }
}

Test(softmax_xent, correct_flags_argmax_matches)
{
    /* row 0: argmax z = 2, target 2 -> 1; row 1: argmax z = 0, target 1 -> 0;
     * row 2: argmax z = 1, soft target peaked at 1 -> 1 */
    float z[9] = {0, 1, 5, 3, 2, 1, -1, 4, 0};
    float t[9] = {0, 0, 1, 0, 1, 0, 0.1f, 0.8f, 0.1f};
    float loss[3];
    uint8_t correct[3] = {7, 7, 7};
    rg_softmax_xent(3, 3, z, t, 1.0f, loss, NULL, correct);
    cr_assert_eq(correct[0], 1);
    cr_assert_eq(correct[1], 0);
    cr_assert_eq(correct[2], 1);
}

Test(softmax_xent, large_batch_matches_reference_per_row)
{
    /* rows * k >= 32768 takes the parallel path */
    const int64_t R = 4000, K = 10;
    float *z = rg_alloc_floats((size_t)(R * K)), *t = rg_alloc_floats((size_t)(R * K));
    float *loss = rg_alloc_floats((size_t)R);
    cr_assert(z && t && loss);
    fill(z, R * K, 77u);
    for (int64_t r = 0; r < R; r++)
        t[r * K + r % K] = 1.0f;
    rg_softmax_xent(R, K, z, t, 1.0f, loss, NULL, NULL);
    double zd[10];
    for (int64_t r = 0; r < R; r++) {
        for (int j = 0; j < K; j++)
            zd[j] = z[r * K + j];
        double want = xent_ref(1, K, zd, t + r * K);
        cr_assert(close_to(loss[r], want, 1e-5, 1e-6), "row %lld: %.7g, want %.7g",
                  (long long)r, loss[r], want);
    }
    rg_free(z);
    rg_free(t);
    rg_free(loss);
}

/* ---- ReLU ------------------------------------------------------------------- */

Test(relu, forward_is_max_of_zero_and_x)
{
    float x[6] = {-2.0f, -0.0f, 0.0f, 1e-30f, 3.5f, -1e-30f}, y[6];
    rg_relu_forward(6, x, y);
    float want[6] = {0, 0, 0, 1e-30f, 3.5f, 0};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(y[i], want[i], "relu(%g) = %g, want %g", x[i], y[i], want[i]);
}

Test(relu, forward_in_place)
{
    float x[4] = {-1, 2, -3, 4};
    rg_relu_forward(4, x, x);
    float want[4] = {0, 2, 0, 4};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(x[i], want[i], "x[%d] = %g", i, x[i]);
}

Test(relu, backward_passes_gradient_only_where_output_positive)
{
    float y[5] = {0.0f, 2.0f, 0.0f, 0.5f, 1e-20f};
    float dy[5] = {1.0f, -3.0f, 7.0f, 0.25f, 9.0f};
    float dx[5] = {42, 42, 42, 42, 42};
    rg_relu_backward(5, y, dy, dx);
    float want[5] = {0.0f, -3.0f, 0.0f, 0.25f, 9.0f};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(dx[i], want[i], "dx[%d] = %g, want %g", i, dx[i], want[i]);
}

Test(relu, large_arrays_match_elementwise_definition)
{
    const int64_t n = 100000; /* parallel path */
    float *x = rg_alloc_floats((size_t)n), *y = rg_alloc_floats((size_t)n);
    float *dy = rg_alloc_floats((size_t)n), *dx = rg_alloc_floats((size_t)n);
    cr_assert(x && y && dy && dx);
    fill(x, n, 3u);
    fill(dy, n, 4u);
    rg_relu_forward(n, x, y);
    rg_relu_backward(n, y, dy, dx);
    for (int64_t i = 0; i < n; i++) {
        cr_assert_eq(y[i], x[i] > 0 ? x[i] : 0.0f, "y[%lld]", (long long)i);
        cr_assert_eq(dx[i], x[i] > 0 ? dy[i] : 0.0f, "dx[%lld]", (long long)i);
    }
    rg_free(x);
    rg_free(y);
    rg_free(dy);
    rg_free(dx);
}

/* ---- row reductions ----------------------------------------------------------- */

Test(sum_rows, sums_each_column_over_rows)
{
    /* 3 x 2: [1 2; 3 4; 5 6] -> [9 12] */
    float dy[6] = {1, 2, 3, 4, 5, 6}, db[2] = {-1, -1};
    rg_sum_rows(3, 2, dy, db);
    cr_assert_eq(db[0], 9.0f, "db[0] = %g", db[0]);
    cr_assert_eq(db[1], 12.0f, "db[1] = %g", db[1]);
}

Test(sum_rows, large_matrix_matches_double_sum)
{
    const int64_t R = 300, C = 200; /* >= 32768 elements: parallel path */
    float *dy = rg_alloc_floats((size_t)(R * C)), *db = rg_alloc_floats((size_t)C);
    cr_assert(dy && db);
    fill(dy, R * C, 8u);
    rg_sum_rows(R, C, dy, db);
    for (int64_t j = 0; j < C; j++) {
        double s = 0.0;
        for (int64_t r = 0; r < R; r++)
            s += dy[r * C + j];
        cr_assert(close_to(db[j], s, 1e-5, 1e-4), "db[%lld] = %.7g, want %.7g", (long long)j,
                  db[j], s);
    }
    rg_free(dy);
    rg_free(db);
}

Test(add_bias_rows, adds_bias_to_every_row)
{
    float y[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30};
    rg_add_bias_rows(2, 3, b, y);
    float want[6] = {11, 22, 33, 14, 25, 36};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(y[i], want[i], "y[%d] = %g, want %g", i, y[i], want[i]);
}

Test(add_bias_rows, large_matrix_adds_bias_everywhere)
{
    const int64_t R = 300, C = 200;
    float *y = rg_alloc_floats((size_t)(R * C)), *b = rg_alloc_floats((size_t)C);
    float *y0 = rg_alloc_floats((size_t)(R * C));
    cr_assert(y && b && y0);
    fill(y0, R * C, 12u);
    fill(b, C, 13u);
    memcpy(y, y0, (size_t)(R * C) * sizeof(float));
    rg_add_bias_rows(R, C, b, y);
    for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < C; j++)
            cr_assert_eq(y[r * C + j], y0[r * C + j] + b[j], "y[%lld,%lld]", (long long)r,
                         (long long)j);
    rg_free(y);
    rg_free(b);
    rg_free(y0);
}

/* rg_gemm_strided against the definition C[i][j] (+)= bias[i] + sum_k A'(i,k) B[k][j], with
 * A'(i,k) = a[i*rsa + k*csa], for the three ways the convolutions address A (W, W^T, col),
 * row and column counts that leave partial 8 x 32 blocks, wider leading dimensions, bias
 * and accumulation; and the guard words after C untouched (masked stores stay inside). */
static void check_strided(int64_t m, int64_t n, int64_t k, int transposed, int accumulate,
                          int with_bias)
{
    int64_t lda = transposed ? m + 3 : k + 2, ldb = n + 5, ldc = n + 7;
    int64_t rsa = transposed ? 1 : lda, csa = transposed ? lda : 1;
    int64_t na = transposed ? k * lda : m * lda;
    float *a = rg_alloc_floats((size_t)na), *b = rg_alloc_floats((size_t)(k * ldb));
    float *c = rg_alloc_floats((size_t)(m * ldc)), *bias = rg_alloc_floats((size_t)m);
    double *want = malloc((size_t)(m * ldc) * sizeof(double));
    for (int64_t i = 0; i < na; i++)
        a[i] = (float)((i * 37 % 101) - 50) / 50.0f;
    for (int64_t i = 0; i < k * ldb; i++)
        b[i] = (float)((i * 53 % 97) - 48) / 48.0f;
    for (int64_t i = 0; i < m; i++)
        bias[i] = (float)i / 7.0f - 1.0f;
    for (int64_t i = 0; i < m * ldc; i++) {
        c[i] = (float)((i * 29 % 89) - 44) / 44.0f;
        want[i] = c[i];
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = with_bias ? bias[i] : 0.0;
            for (int64_t q = 0; q < k; q++)
                s += (double)a[i * rsa + q * csa] * b[q * ldb + j];
            want[i * ldc + j] = (accumulate ? want[i * ldc + j] : 0.0) + s;
        }
    rg_gemm_strided(m, n, k, a, rsa, csa, b, ldb, with_bias ? bias : NULL, accumulate, c, ldc);
    for (int64_t i = 0; i < m * ldc; i++)
        cr_assert(fabs(c[i] - want[i]) <= 1e-5 * (double)(k + 1) * (1.0 + fabs(want[i])),
                  "%lldx%lldx%lld (transposed %d, accumulate %d, bias %d): C[%lld][%lld] = %.7g, "
                  "expected %.7g", (long long)m, (long long)n, (long long)k, transposed,
                  accumulate, with_bias, (long long)(i / ldc), (long long)(i % ldc),
                  (double)c[i], want[i]);
    cr_assert_eq(rg_guard_check(c, (size_t)(m * ldc)), 0, "wrote past the end of C");
    rg_free(a);
    rg_free(b);
    rg_free(c);
    rg_free(bias);
    free(want);
}

Test(gemm_strided, matches_the_definition_on_full_and_partial_blocks)
{
    if (!rg_gemm_strided_available())
        cr_skip_test("no AVX-512F on this processor (or REGULA_KERNELS=blas): the convolutions "
                     "use OpenBLAS, covered by the sgemm tests");
    const int64_t shapes[][3] = {{64, 196, 288}, {32, 784, 9}, {288, 196, 64}, {288, 64, 196},
                                 {9, 32, 784},   {1, 1, 1},    {7, 17, 3},    {13, 47, 5}};
    for (size_t q = 0; q < sizeof shapes / sizeof shapes[0]; q++)
        for (int v = 0; v < 8; v++)
            check_strided(shapes[q][0], shapes[q][1], shapes[q][2], v & 1, (v >> 1) & 1,
                          (v >> 2) & 1);
}
