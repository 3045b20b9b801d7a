/* Shared by the files of the spectral_norm plugin (spectral_norm.c has the definition):
 * the instance, its table of per-tensor power-iteration state, the linear algebra and the
 * checkpoint format. The plugin is built with hidden visibility, so none of these names
 * leaves the shared object; only the entry point is exported. */
#ifndef SN_H
#define SN_H

#include <stddef.h>
#include <stdint.h>

#include <regula/plugin.h>

/* Longest tensor name a saved state may hold (the host's names are far shorter); it bounds
 * what state_load allocates for a name read from a file. */
#define SN_NAME_MAX 1024

/* One weight tensor, viewed as the matrix [rows, cols] = [shape[0], numel / shape[0]]. */
typedef struct sn_entry {
    char *name;
    int64_t rows, cols;
    int64_t step;  /* training step of the last power iteration */
    float *u;      /* [rows], the left singular vector estimate */
    float *v;      /* [cols], the right one; u and v share one allocation */
} sn_entry;

/* Grown (by doubling) as tensors appear; the order is the order of first sight, which the
 * host keeps the same in every run of one recipe, so saved states compare bytewise. */
typedef struct sn_table {
    sn_entry *e;
    int64_t count, cap;
} sn_table;

typedef struct sn_plugin {
    const rg_host_api *host;
    int iterations;   /* n_power_iterations */
    double eps;       /* of N(x) = x / max(||x||, eps) */
    sn_table table;
    double *scratch;  /* sums of the matrix-vector products, see sn_reserve */
    int64_t scratch_n;
} sn_plugin;

/* ---- sn_table.c ---- */
sn_entry *sn_table_find(const sn_table *t, const char *name);
/* A new entry (u = v = 0, step = -1) for a name not yet in t; NULL after set_error. */
sn_entry *sn_table_add(const rg_host_api *h, sn_table *t, const char *name, int64_t rows,
                       int64_t cols);
/* Removes the newest entry: a tensor whose first iteration failed leaves no trace. */
void sn_table_drop_last(const rg_host_api *h, sn_table *t);
void sn_table_clear(const rg_host_api *h, sn_table *t);

/* ---- sn_power.c ---- */
/* Scratch for a [rows, cols] matrix; RG_ERR_NOMEM after set_error. */
rg_status sn_reserve(sn_plugin *s, int64_t rows, int64_t cols);
/* x <- N(x), the norm summed in double. */
void sn_normalize(float *x, int64_t n, double eps);
/* The start of an evaluation before any training: u_i from a fixed hash of i, normalized. */
void sn_start_vector(float *u, int64_t n, double eps);
/* `iterations` times v = N(W^T u), u = N(W v); then *sigma = u^T W v. */
rg_status sn_iterate(sn_plugin *s, const float *w, int64_t rows, int64_t cols, float *u,
                     float *v, int iterations, double *sigma);
/* out = W / sigma */
rg_status sn_scale(sn_plugin *s, const float *w, int64_t rows, int64_t cols, double sigma,
                   float *out);
/* g <- g / sigma - (<g, W> / sigma^2) u v^T with sigma = u^T W v, which *sigma receives. */
rg_status sn_map_gradient(sn_plugin *s, const float *w, int64_t rows, int64_t cols,
                          const float *u, const float *v, float *g, double *sigma);

/* ---- sn_state.c: the ABI 1.2 state hooks ---- */
rg_status sn_state_size(void *inst, uint64_t *bytes);
rg_status sn_state_save(void *inst, void *buf, uint64_t bytes);
rg_status sn_state_load(void *inst, const void *buf, uint64_t bytes);

#endif
