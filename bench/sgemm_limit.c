/* sgemm_limit: the time one training epoch of regula spends in cblas_sgemm alone.
 *
 * Replays exactly the row-major cblas_sgemm calls of one epoch (same shapes, same
 * transposes, same threading) with no im2col, bias, activation, loss or optimizer
 * work in between, so the result is a floor for regula's s/epoch on this machine:
 * bench/compare.sh reports regula's time as a percentage of it.
 *
 *   cc -O2 -fopenmp -o "$OUT/sgemm_limit" bench/sgemm_limit.c -lopenblas -lm
 *   sgemm_limit --work mlp|cnn --threads T --images N [--reps R]
 *
 * Prints {"work":..,"threads":T,"images":N,"seconds":S}, S the fastest of R epochs.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int); /* not declared by every cblas.h */

enum { BATCH = 128 };

static unsigned lcg_state = 12345u;

/* Small values in [-0.05, 0.05): no overflow from the beta = 1 accumulations over an
 * epoch, and no denormals (which would slow the kernels down) either. */
static float *buffer(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        perror("sgemm_limit: malloc");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        lcg_state = lcg_state * 1664525u + 1013904223u;
        p[i] = ((float)(lcg_state >> 8) / 16777216.0f - 0.5f) * 0.1f;
    }
    return p;
}

/* A dense layer's operands: W [out, in], dW, and its input x [B, in] / output y [B, out]
 * with their gradients (shared with the neighbouring layers, as regula's activations). */
typedef struct {
    int in, out;
    float *w, *dw;
} dense;

static void dense_forward(const dense *d, int b, const float *x, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, d->out, d->in, 1.0f, x, d->in,
                d->w, d->in, 0.0f, y, d->out);
}

/* dx == NULL for a first layer: nothing upstream needs its input gradient. */
static void dense_backward(const dense *d, int b, const float *x, const float *dy, float *dx)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d->out, d->in, b, 1.0f, dy, d->out, x,
                d->in, 0.0f, d->dw, d->in);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, d->in, d->out, 1.0f, dy,
                    d->out, d->w, d->in, 0.0f, dx, d->in);
}

/* A convolution lowered per image: y_i [oc, hw] = W [oc, ckk] x col [ckk, hw]; each
 * OpenMP thread owns one col buffer and one dW partial sum, as in core/layers/conv2d.c. */
typedef struct {
    int ckk, hw, oc, need_dx;
    float *w, *col, *dw, *y, *dy; /* col, dw: one per thread; y, dy: [BATCH][oc, hw] */
} conv;

static void conv_forward(const conv *c, int b)
{
    size_t out = (size_t)c->oc * c->hw;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < b; i++) {
        const float *col = c->col + (size_t)omp_get_thread_num() * c->ckk * c->hw;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->oc, c->hw, c->ckk, 1.0f, c->w,
                    c->ckk, col, c->hw, 1.0f, c->y + i * out, c->hw);
    }
}

static void conv_backward(const conv *c, int b)
{
    size_t out = (size_t)c->oc * c->hw;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < b; i++) {
        int t = omp_get_thread_num();
        float *col = c->col + (size_t)t * c->ckk * c->hw;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->oc, c->ckk, c->hw, 1.0f,
                    c->dy + i * out, c->hw, col, c->hw, 1.0f, c->dw + (size_t)t * c->oc * c->ckk,
                    c->ckk);
        /* regula writes dcol into the thread's col buffer, then scatters it (col2im) */
        if (c->need_dx)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c->ckk, c->hw, c->oc, 1.0f,
                        c->w, c->ckk, c->dy + i * out, c->hw, 0.0f, col, c->hw);
    }
}

static dense make_dense(int in, int out)
{
    return (dense){in, out, buffer((size_t)out * in), buffer((size_t)out * in)};
}

static conv make_conv(int ckk, int hw, int oc, int need_dx, int threads)
{
    size_t out = (size_t)oc * hw;
    return (conv){ckk, hw, oc, need_dx, buffer((size_t)oc * ckk),
                  buffer((size_t)threads * ckk * hw), buffer((size_t)threads * oc * ckk),
                  buffer(BATCH * out), buffer(BATCH * out)};
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Activations a[0..3] and their gradients g[1..3] of the 784-512-256-10 MLP; the GEMMs
 * are called from the main thread and OpenBLAS spreads each over its own threads. */
static double epoch_mlp(int images, int reps)
{
    static const int width[] = {784, 512, 256, 10};
    dense d[3];
    float *a[4], *g[4];
    for (int l = 0; l < 4; l++) {
        a[l] = buffer((size_t)BATCH * width[l]);
        g[l] = buffer((size_t)BATCH * width[l]);
    }
    for (int l = 0; l < 3; l++)
        d[l] = make_dense(width[l], width[l + 1]);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int done = 0; done < images; done += BATCH) {
            int b = images - done < BATCH ? images - done : BATCH;
            for (int l = 0; l < 3; l++)
                dense_forward(&d[l], b, a[l], a[l + 1]);
            for (int l = 2; l >= 0; l--)
                dense_backward(&d[l], b, a[l], g[l + 1], l > 0 ? g[l] : NULL);
        }
        double s = now() - t0;
        best = s < best ? s : best;
    }
    return best;
}

/* conv1 1->32 on 28x28 (ckk 9, hw 784), conv2 32->64 on 14x14 (ckk 288, hw 196), then
 * dense 3136->128->10; the first dense layer's input gradient feeds conv2, so both
 * dense layers compute dx, and so does conv2 (for conv1), but not conv1. */
static double epoch_cnn(int images, int reps, int threads)
{
    conv c1 = make_conv(9, 784, 32, 0, threads), c2 = make_conv(288, 196, 64, 1, threads);
    dense f1 = make_dense(3136, 128), f2 = make_dense(128, 10);
    float *x1 = buffer((size_t)BATCH * 3136), *dx1 = buffer((size_t)BATCH * 3136);
    float *h = buffer((size_t)BATCH * 128), *dh = buffer((size_t)BATCH * 128);
    float *z = buffer((size_t)BATCH * 10), *dz = buffer((size_t)BATCH * 10);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int done = 0; done < images; done += BATCH) {
            int b = images - done < BATCH ? images - done : BATCH;
            conv_forward(&c1, b);
            conv_forward(&c2, b);
            dense_forward(&f1, b, x1, h);
            dense_forward(&f2, b, h, z);
            dense_backward(&f2, b, h, dz, dh);
            dense_backward(&f1, b, x1, dh, dx1);
            conv_backward(&c2, b);
            conv_backward(&c1, b);
        }
        double s = now() - t0;
        best = s < best ? s : best;
    }
    return best;
}

static void usage(void)
{
    fprintf(stderr, "usage: sgemm_limit --work mlp|cnn --threads T --images N [--reps R]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *work = NULL;
    int threads = 0, images = 0, reps = 3;
    for (int i = 1; i < argc; i++) {
        if (i + 1 == argc)
            usage();
        if (!strcmp(argv[i], "--work"))
            work = argv[++i];
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--images"))
            images = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[++i]);
        else
            usage();
    }
    int mlp = work && !strcmp(work, "mlp");
    if (!work || (!mlp && strcmp(work, "cnn")) || threads < 1 || images < 1 || reps < 1)
        usage();
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    double s = mlp ? epoch_mlp(images, reps) : epoch_cnn(images, reps, threads);
    printf("{\"work\":\"%s\",\"threads\":%d,\"images\":%d,\"seconds\":%.6f}\n", work, threads,
           images, s);
    return 0;
}
