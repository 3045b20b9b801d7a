/* Shared helpers for the stock plugin tests: load a plugin from the build
 * tree, call its hooks the way the trainer does, check gradients against
 * central finite differences. */
#ifndef RG_TEST_PLUGIN_UTIL_H
#define RG_TEST_PLUGIN_UTIL_H

#include <stdint.h>

#include "plugin/instance.h"
#include "rng.h"

/* "name:params" -> the build tree's name.so created with params; fails the
 * test on error. */
rg_plugin_instance *pt_load(const char *spec, uint32_t kind);
/* Expect creation to fail with RG_ERR_INVALID; returns the message. */
const char *pt_load_fails(const char *spec, uint32_t kind);

rg_tensor_view pt_view(float *data, uint32_t kind, int ndim, const int64_t *shape);

/* penalty() on w (grad starts at zero): returns the penalty, grad receives
 * the gradient. */
double pt_penalty(rg_plugin_instance *pi, float *w, float *grad, int ndim, const int64_t *shape,
                  uint32_t kind);
/* project() on w in place, failing the test on an error. */
void pt_project(rg_plugin_instance *pi, float *w, int ndim, const int64_t *shape, uint32_t kind);
/* L2 norm of unit u (dimension-0 slice of `len` elements) of w, summed in double. */
double pt_unit_norm(const float *w, int64_t u, int64_t len);

/* Compares penalty()'s gradient with central differences of its value at
 * every element (numel <= 4096); fails the test on a mismatch beyond
 * rtol * |fd| + atol. Skips elements within `kink` of 0 (|x| subgradients). */
void pt_check_penalty_gradient(rg_plugin_instance *pi, float *w, int ndim, const int64_t *shape,
                               double h, double rtol, double atol, float kink);

/* One activation forward (and optionally backward) at a site, with a
 * stream keyed on seed and host-owned state, as the trainer calls them. */
typedef struct pt_site {
    rg_plugin_instance *pi;
    rg_rng_stream rng;
    void *state;
    size_t state_bytes;
    double penalty;
} pt_site;

void pt_site_init(pt_site *s, rg_plugin_instance *pi, uint64_t seed, int64_t n, int64_t f);
void pt_site_free(pt_site *s);
/* In place on x [n, f]. */
void pt_forward(pt_site *s, rg_mode mode, float *x, int64_t n, int64_t f);
/* In place on g [n, f]; out is what forward produced. */
void pt_backward(pt_site *s, float *out, float *g, int64_t n, int64_t f);

/* Activation forward on a whole [n, c, h, w] batch against the same batch cut in two at
 * row `cut`, each part called as a data-parallel process is (its rows' rng positions,
 * batch_row0 and batch_rows): fails the test unless both give the same bits. */
void pt_split_matches_whole(const char *spec, int64_t n, int64_t c, int64_t h, int64_t w,
                            int64_t cut, uint64_t seed);

/* Training on Fashion-MNIST subsets (Debian's dataset-fashion-mnist or
 * $REGULA_DATA), as tests/e2e/test_train.c: load_data/free_data are suite
 * init/fini hooks; a pt_run is one model + trainer. */
#include "dataset.h"
#include "model/model.h"
#include "train/train.h"

extern rg_dataset *pt_train_set, *pt_test_set;
void pt_load_data(void);
void pt_free_data(void);

typedef struct pt_run {
    rg_model *model;
    rg_trainer *trainer;
    rg_train_config cfg;
    rg_epoch_stats last;
} pt_run;

/* A fresh model (flat 784-pixel input, 10 classes) from `model`, trained on
 * the first `limit` training images with the regularizer "name:params"
 * (NULL: none); same seed, same initial weights and batches. */
void pt_start(pt_run *r, const char *model, uint64_t seed, int64_t limit, const char *spec);
/* `epochs` epochs, failing the test on an error. */
void pt_train(pt_run *r, int epochs);
/* Frees the trainer, model and the first regularizer (if any). */
void pt_finish(pt_run *r);

/* Trains `model` with `spec` for `epochs` epochs, then checks that a trainer without any
 * regularizer on the same model and split (same seed) reports bit-identical validation and
 * test metrics, so the eval-mode numbers never include the regularizer, and that the test
 * accuracy exceeds min_accuracy (the regularized model still learned). */
void pt_eval_ignores_the_regularizer(const char *model, uint64_t seed, int64_t limit,
                                     const char *spec, int epochs, double min_accuracy);

/* n aligned floats, failing the test if there is no memory. */
float *pt_floats(int64_t n);

/* Fills x with values from a seeded stream, uniform in [lo, hi). */
void pt_fill(float *x, int64_t n, uint64_t seed, float lo, float hi);

#endif
