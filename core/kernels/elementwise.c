#include <string.h>

#include "kernels.h"

/* Below this many elements a parallel region costs more than it saves. */
#define RG_PAR_MIN 32768

void rg_add_bias_rows(int64_t rows, int64_t cols, const float *bias, float *y)
{
#pragma omp parallel for schedule(static) if (rows * cols >= RG_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        float *yr = y + r * cols;
        for (int64_t j = 0; j < cols; j++)
            yr[j] += bias[j];
    }
}

void rg_sum_rows(int64_t rows, int64_t cols, const float *dy, float *db)
{
    /* Parallel over columns, sequential over rows: the sum order is fixed. */
#pragma omp parallel for schedule(static) if (rows * cols >= RG_PAR_MIN)
    for (int64_t j = 0; j < cols; j++) {
        float s = 0.0f;
        for (int64_t r = 0; r < rows; r++)
            s += dy[r * cols + j];
        db[j] = s;
    }
}

void rg_relu_forward(int64_t n, const float *x, float *y)
{
#pragma omp parallel for schedule(static) if (n >= RG_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void rg_relu_backward(int64_t n, const float *y, const float *dy, float *dx)
{
    /* dy or +0 through a bit mask: gcc compiles the plain ternary into a branch per
     * element, which mispredicts on ReLU's mix of zero and positive outputs */
#pragma omp parallel for schedule(static) if (n >= RG_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits, keep = 0u - (uint32_t)(y[i] > 0.0f);
        memcpy(&bits, &dy[i], sizeof bits);
        bits &= keep;
        memcpy(&dx[i], &bits, sizeof bits);
    }
}
