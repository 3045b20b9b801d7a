/* Kernels: pointers and sizes in, no knowledge of layers, models or plugins.
 * Row-major throughout. */
#ifndef RG_CORE_KERNELS_H
#define RG_CORE_KERNELS_H

#include <stdint.h>

/* C = alpha * op(A) op(B) + beta * C through cblas_sgemm; trans != 0
 * transposes. m x n result, k the inner dimension. */
void rg_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc);
/* C [m x n] = A' B (+ C when accumulate), A'(i, k) = a[i*rsa + k*csa] (any
 * strides: A, its transpose, ...), B and C row-major with leading dimensions
 * ldb, ldc; bias, when not NULL, adds bias[i] to row i. Single-threaded, own
 * AVX-512 kernel (gemm_avx512.c): call only when rg_gemm_strided_available(). */
int rg_gemm_strided_available(void);
void rg_gemm_strided(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa, int64_t csa,
                     const float *b, int64_t ldb, const float *bias, int accumulate, float *c,
                     int64_t ldc);
/* The same without bias or accumulation, its 32-column panels spread over the
 * OpenMP threads (call outside a parallel region). */
void rg_gemm_strided_parallel(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa,
                              int64_t csa, const float *b, int64_t ldb, float *c, int64_t ldc);
/* C [m x n] = A B^T with A [m x k] and bt = B^T [n x k] row-major, on at most
 * `threads` threads: each packs its 32-column panels of B into its k x 32 part
 * of scratch (threads x k x 32 floats) for the kernel. */
void rg_gemm_nt_parallel(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                         const float *bt, int64_t ldbt, float *c, int64_t ldc, float *scratch,
                         int threads);
void rg_saxpy(int64_t n, float alpha, const float *x, float *y);

/* y[r, :] += bias for each of `rows` rows of width `cols`. */
void rg_add_bias_rows(int64_t rows, int64_t cols, const float *bias, float *y);
/* db[j] = sum_r dy[r, j] (summed in row order: deterministic). */
void rg_sum_rows(int64_t rows, int64_t cols, const float *dy, float *db);

void rg_relu_forward(int64_t n, const float *x, float *y);
/* dx = dy where y > 0 else 0; y is the forward output. */
void rg_relu_backward(int64_t n, const float *y, const float *dy, float *dx);

/* Softmax cross-entropy against soft targets (rows are distributions):
 * loss_r = -sum_k t_rk * log softmax(z_r)_k, computed as
 * -(sum_k t_rk * (z_rk - max_r)) + (sum_k t_rk) * log sum_k exp(z_rk - max_r)
 * so no exp overflows (the usual log-sum-exp shift).
 * Writes row losses to row_loss[rows], dz = grad_scale * (softmax(z) - t) when
 * dz != NULL, and correct[r] = argmax z_r == argmax t_r. */
void rg_softmax_xent(int64_t rows, int64_t k, const float *z, const float *t, float grad_scale,
                     float *row_loss, float *dz, uint8_t *correct);

/* Number of rows whose first largest logit is at the true label. */
int64_t rg_count_correct(int64_t rows, int64_t k, const float *z, const int32_t *labels);

/* Convolution lowering for one image [c, h, w] and a square k x k kernel
 * with stride s and zero padding p: col is [c*k*k, oh*ow], row
 * (ci*k + ki)*k + kj, column oy*ow + ox, holding x[ci, oy*s-p+ki, ox*s-p+kj]
 * (0 outside the image). col2im adds col back into x (x must be zeroed). */
void rg_im2col(const float *x, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s, int64_t p,
               int64_t oh, int64_t ow, float *col);
void rg_col2im(const float *col, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s,
               int64_t p, int64_t oh, int64_t ow, float *x);

#endif
