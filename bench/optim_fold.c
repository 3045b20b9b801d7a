/* What L2 costs per optimizer step, the optimizer alone, on the MLP 784-512-256-10's
 * weight tensors: the plain SGD-with-momentum update; the same after a separate pass
 * that adds lambda*w to the gradient and sums w^2 (what the l2 plugin's penalty() does,
 * its loop reproduced here); and the update with the decay folded in (what the host
 * does for a plugin declaring linear_decay, ABI 1.3). Prints the median microseconds
 * per step of each, interleaved over rounds, and checks the folded weights equal the
 * two-pass ones bit for bit.
 *
 *   cc -O3 -ffp-contract=off -fopenmp -Icore -Isdk/include -o optim_fold bench/optim_fold.c \
 *      core/optim/optim.c core/alloc.c core/error.c -lm && OMP_NUM_THREADS=2 ./optim_fold */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "optim/optim.h"

#define NP 3
#define STEPS 400
#define ROUNDS 7

static const int64_t k_numel[NP] = {512 * 784, 256 * 512, 10 * 256};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the l2 plugin's penalty() loop (plugins/l2/l2.c): 16 double lanes per 16384-chunk */
static double l2_pass(const float *w, float *g, float coef, int64_t n)
{
    int64_t chunks = (n + 16383) / 16384;
    double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t lo = c * 16384, hi = lo + 16384 < n ? lo + 16384 : n, i = lo;
        double lanes[16] = {0};
        for (; i + 16 <= hi; i += 16)
            for (int k = 0; k < 16; k++) {
                lanes[k] += (double)w[i + k] * (double)w[i + k];
                g[i + k] += coef * w[i + k];
            }
        for (; i < hi; i++) {
            lanes[0] += (double)w[i] * (double)w[i];
            g[i] += coef * w[i];
        }
        for (int k = 0; k < 16; k++)
            total += lanes[k];
    }
    return total;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    rg_param p[NP], q[NP];
    rg_param *pp[NP], *qq[NP];
    float *g0[NP];
    for (int i = 0; i < NP; i++) {
        rg_param *both[2] = {&p[i], &q[i]};
        for (int s = 0; s < 2; s++) {
            memset(both[s], 0, sizeof p[i]);
            both[s]->numel = k_numel[i];
            both[s]->value = rg_alloc_floats((size_t)k_numel[i]);
            both[s]->grad = rg_alloc_floats((size_t)k_numel[i]);
        }
        g0[i] = rg_alloc_floats((size_t)k_numel[i]);
        srand(1 + i);
        for (int64_t j = 0; j < k_numel[i]; j++) {
            p[i].value[j] = q[i].value[j] = (float)rand() / RAND_MAX - 0.5f;
            g0[i][j] = 1e-3f * ((float)rand() / RAND_MAX - 0.5f);
        }
        pp[i] = &p[i];
        qq[i] = &q[i];
    }
    rg_optim_config cfg;
    rg_optim_config_defaults(&cfg);
    rg_optimizer a, b;
    if (rg_optim_init(&a, &cfg, pp, NP) != RG_OK || rg_optim_init(&b, &cfg, qq, NP) != RG_OK)
        return 1;
    const float lambda = 5e-4f;
    uint8_t fold[NP] = {1, 1, 1};
    float coef[NP] = {lambda, lambda, lambda};
    double ss[NP];
    double t_plain[ROUNDS], t_pass[ROUNDS], t_fold[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now();
        for (int s = 0; s < STEPS; s++) {
            for (int i = 0; i < NP; i++)
                memcpy(p[i].grad, g0[i], (size_t)k_numel[i] * 4);
            rg_optim_step(&a, pp, NP, 0.01);
        }
        double t1 = now();
        for (int s = 0; s < STEPS; s++) {
            for (int i = 0; i < NP; i++) {
                memcpy(p[i].grad, g0[i], (size_t)k_numel[i] * 4);
                ss[i] = l2_pass(p[i].value, p[i].grad, lambda, k_numel[i]);
            }
            rg_optim_step(&a, pp, NP, 0.01);
        }
        double t2 = now();
        for (int s = 0; s < STEPS; s++) {
            for (int i = 0; i < NP; i++)
                memcpy(q[i].grad, g0[i], (size_t)k_numel[i] * 4);
            rg_optim_step_decay(&b, qq, NP, 0.01, fold, coef, ss);
        }
        double t3 = now();
        t_plain[r] = (t1 - t0) / STEPS * 1e6;
        t_pass[r] = (t2 - t1) / STEPS * 1e6;
        t_fold[r] = (t3 - t2) / STEPS * 1e6;
    }
    /* the same sequence of updates, two-pass and folded: the weights must agree */
    for (int i = 0; i < NP; i++) {
        memcpy(p[i].value, q[i].value, (size_t)k_numel[i] * 4);
        memset(p[i].slot[0], 0, (size_t)k_numel[i] * 4);
        memset(q[i].slot[0], 0, (size_t)k_numel[i] * 4);
    }
    for (int s = 0; s < 20; s++) {
        for (int i = 0; i < NP; i++) {
            memcpy(p[i].grad, g0[i], (size_t)k_numel[i] * 4);
            memcpy(q[i].grad, g0[i], (size_t)k_numel[i] * 4);
            l2_pass(p[i].value, p[i].grad, lambda, k_numel[i]);
        }
        rg_optim_step(&a, pp, NP, 0.01);
        rg_optim_step_decay(&b, qq, NP, 0.01, fold, coef, ss);
    }
    int same = 1;
    for (int i = 0; i < NP; i++)
        same &= memcmp(p[i].value, q[i].value, (size_t)k_numel[i] * 4) == 0;
    qsort(t_plain, ROUNDS, sizeof(double), cmp);
    qsort(t_pass, ROUNDS, sizeof(double), cmp);
    qsort(t_fold, ROUNDS, sizeof(double), cmp);
    printf("threads %d, %d steps x %d rounds, median us/step (min)\n", omp_get_max_threads(),
           STEPS, ROUNDS);
    printf("plain update              %8.1f (%.1f)\n", t_plain[ROUNDS / 2], t_plain[0]);
    printf("l2 pass + plain update    %8.1f (%.1f)  +%.1f\n", t_pass[ROUNDS / 2], t_pass[0],
           t_pass[ROUNDS / 2] - t_plain[ROUNDS / 2]);
    printf("folded update             %8.1f (%.1f)  +%.1f\n", t_fold[ROUNDS / 2], t_fold[0],
           t_fold[ROUNDS / 2] - t_plain[ROUNDS / 2]);
    printf("folded weights %s the two-pass ones\n", same ? "equal" : "DIFFER from");
    return same ? 0 : 1;
}
