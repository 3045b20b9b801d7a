#include <math.h>

#include "kernels.h"

static int64_t argmax(const float *v, int64_t k)
{
    int64_t best = 0;
    for (int64_t j = 1; j < k; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

void rg_softmax_xent(int64_t rows, int64_t k, const float *z, const float *t, float grad_scale,
                     float *row_loss, float *dz, uint8_t *correct)
{
#pragma omp parallel for schedule(static) if (rows * k >= 32768)
    for (int64_t r = 0; r < rows; r++) {
        const float *zr = z + r * k;
        const float *tr = t + r * k;
        float mx = zr[0];
        for (int64_t j = 1; j < k; j++)
            mx = zr[j] > mx ? zr[j] : mx;
        double sum_exp = 0.0, tz = 0.0, tsum = 0.0;
        for (int64_t j = 0; j < k; j++) {
            sum_exp += exp((double)(zr[j] - mx));
            tz += (double)tr[j] * (double)(zr[j] - mx);
            tsum += tr[j];
        }
        double lse = log(sum_exp);
        row_loss[r] = (float)(tsum * lse - tz);
        if (dz) {
            float *dr = dz + r * k;
            for (int64_t j = 0; j < k; j++) {
                double p = exp((double)(zr[j] - mx) - lse);
                dr[j] = grad_scale * (float)(p - tr[j]);
            }
        }
        if (correct)
            correct[r] = argmax(zr, k) == argmax(tr, k);
    }
}

int64_t rg_count_correct(int64_t rows, int64_t k, const float *z, const int32_t *labels)
{
    int64_t hits = 0;
    for (int64_t r = 0; r < rows; r++)
        hits += argmax(z + r * k, k) == labels[r];
    return hits;
}
