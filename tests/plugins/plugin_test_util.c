#include "plugin_test_util.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "idx.h"
#include "threads.h"

static void path_of(const char *spec, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", REGULA_TEST_PLUGINS, spec);
    /* name:params -> dir/name.so:params */
    char *colon = strchr(buf + strlen(REGULA_TEST_PLUGINS) + 1, ':');
    char rest[512] = "";
    if (colon) {
        snprintf(rest, sizeof rest, "%s", colon);
        *colon = '\0';
    }
    strncat(buf, ".so", cap - strlen(buf) - 1);
    strncat(buf, rest, cap - strlen(buf) - 1);
}

rg_plugin_instance *pt_load(const char *spec, uint32_t kind)
{
    char path[1024];
    path_of(spec, path, sizeof path);
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(path, kind, NULL, &pi), RG_OK, "%s: %s", spec,
                 rg_error_message());
    return pi;
}

const char *pt_load_fails(const char *spec, uint32_t kind)
{
    char path[1024];
    path_of(spec, path, sizeof path);
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(path, kind, NULL, &pi), RG_ERR_INVALID,
                 "%s was accepted", spec);
    return rg_error_message();
}

rg_tensor_view pt_view(float *data, uint32_t kind, int ndim, const int64_t *shape)
{
    rg_tensor_view v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.kind = kind;
    v.ndim = (uint32_t)ndim;
    v.numel = 1;
    for (int i = 0; i < ndim; i++) {
        v.shape[i] = shape[i];
        v.numel *= shape[i];
    }
    v.data = data;
    v.name = kind == RG_TENSOR_BIAS ? "test.bias" : "test.weight";
    return v;
}

double pt_penalty(rg_plugin_instance *pi, float *w, float *grad, int ndim, const int64_t *shape,
                  uint32_t kind)
{
    rg_tensor_view wv = pt_view(w, kind, ndim, shape), gv = pt_view(grad, kind, ndim, shape);
    memset(grad, 0, (size_t)wv.numel * sizeof(float));
    double loss = 0.0;
    cr_assert_eq(pi->plugin->reg.penalty(pi->inst, &wv, &loss, &gv), RG_OK, "%s",
                 rg_error_message());
    return loss;
}

void pt_project(rg_plugin_instance *pi, float *w, int ndim, const int64_t *shape, uint32_t kind)
{
    rg_tensor_view v = pt_view(w, kind, ndim, shape);
    cr_assert_not_null(pi->plugin->reg.project);
    cr_assert_eq(pi->plugin->reg.project(pi->inst, &v), RG_OK, "%s", rg_error_message());
}

double pt_unit_norm(const float *w, int64_t u, int64_t len)
{
    double s = 0.0;
    for (int64_t i = 0; i < len; i++)
        s += (double)w[u * len + i] * (double)w[u * len + i];
    return sqrt(s);
}

void pt_check_penalty_gradient(rg_plugin_instance *pi, float *w, int ndim, const int64_t *shape,
                               double h, double rtol, double atol, float kink)
{
    rg_tensor_view v = pt_view(w, RG_TENSOR_WEIGHT, ndim, shape);
    cr_assert_leq(v.numel, 4096);
    float *g = rg_alloc_floats((size_t)v.numel), *scratch = rg_alloc_floats((size_t)v.numel);
    pt_penalty(pi, w, g, ndim, shape, RG_TENSOR_WEIGHT);
    int checked = 0;
    for (int64_t i = 0; i < v.numel; i++) {
        if (fabsf(w[i]) < kink)
            continue;
        float keep = w[i];
        w[i] = (float)(keep + h);
        double up = pt_penalty(pi, w, scratch, ndim, shape, RG_TENSOR_WEIGHT);
        w[i] = (float)(keep - h);
        double down = pt_penalty(pi, w, scratch, ndim, shape, RG_TENSOR_WEIGHT);
        w[i] = keep;
        double fd = (up - down) / (2.0 * h);
        cr_assert(fabs(fd - g[i]) <= rtol * fabs(fd) + atol,
                  "element %lld: finite difference %.9g, penalty() gradient %.9g",
                  (long long)i, fd, (double)g[i]);
        checked++;
    }
    cr_assert_gt(checked, 0, "no element was checked");
    rg_free(g);
    rg_free(scratch);
}

void pt_site_init(pt_site *s, rg_plugin_instance *pi, uint64_t seed, int64_t n, int64_t f)
{
    memset(s, 0, sizeof *s);
    s->pi = pi;
    rg_rng_stream_init(&s->rng, seed, 0, 0, 12345);
    if (pi->plugin->reg.activation_state_bytes) {
        int64_t shape[2] = {n, f};
        rg_tensor_view v = pt_view(NULL, RG_TENSOR_ACTIVATION, 2, shape);
        s->state_bytes = pi->plugin->reg.activation_state_bytes(pi->inst, &v);
        if (s->state_bytes)
            s->state = rg_alloc(s->state_bytes);
    }
}

void pt_site_free(pt_site *s)
{
    rg_free(s->state);
    s->state = NULL;
}

/* forward on rows [row0, row0 + rows) of x, a batch of `batch` rows of `per` elements */
static void forward_rows(rg_plugin_instance *pi, float *x, int64_t row0, int64_t rows,
                         int64_t batch, const int64_t *shape4, uint64_t seed)
{
    int64_t per = shape4[1] * shape4[2] * shape4[3];
    int64_t shape[4] = {rows, shape4[1], shape4[2], shape4[3]};
    rg_tensor_view v = pt_view(x + row0 * per, RG_TENSOR_ACTIVATION, 4, shape);
    size_t bytes = pi->plugin->reg.activation_state_bytes(pi->inst, &v);
    void *state = rg_alloc(bytes);
    cr_assert_not_null(state);
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, 0, 7);
    s.base = (uint64_t)(row0 * per); /* what the trainer does for a process's rows */
    rg_activation_ctx ctx = {.struct_size = sizeof ctx, .mode = RG_MODE_TRAIN, .rng = &s,
                             .state = state, .state_bytes = bytes, .batch_row0 = row0,
                             .batch_rows = batch};
    cr_assert_eq(pi->plugin->reg.activation_forward(pi->inst, &ctx, &v), RG_OK, "%s",
                 rg_error_message());
    rg_free(state);
}

void pt_split_matches_whole(const char *spec, int64_t n, int64_t c, int64_t h, int64_t w,
                            int64_t cut, uint64_t seed)
{
    rg_plugin_instance *pi = pt_load(spec, RG_PLUGIN_REGULARIZER);
    int64_t shape[4] = {n, c, h, w}, e = n * c * h * w;
    float *whole = pt_floats(e), *parts = pt_floats(e), *orig = pt_floats(e);
    pt_fill(orig, e, seed, 0.5f, 1.5f);
    memcpy(whole, orig, (size_t)e * sizeof(float));
    memcpy(parts, orig, (size_t)e * sizeof(float));
    forward_rows(pi, whole, 0, n, n, shape, seed);
    forward_rows(pi, parts, 0, cut, n, shape, seed);
    forward_rows(pi, parts, cut, n - cut, n, shape, seed);
    int64_t changed = 0;
    for (int64_t i = 0; i < e; i++) {
        cr_assert(memcmp(&whole[i], &parts[i], sizeof(float)) == 0,
                  "%s: element %lld is %.9g in one batch, %.9g cut at row %lld", spec,
                  (long long)i, (double)whole[i], (double)parts[i], (long long)cut);
        changed += whole[i] != orig[i];
    }
    cr_assert_gt(changed, e / 10, "%s changed %lld of %lld elements: the comparison proves little",
                 spec, (long long)changed, (long long)e);
    rg_free(orig);
    rg_free(whole);
    rg_free(parts);
    rg_plugin_instance_destroy(pi);
}

static rg_activation_ctx ctx_of(pt_site *s, rg_mode mode)
{
    rg_activation_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.mode = mode;
    c.rng = &s->rng;
    c.state = s->state;
    c.state_bytes = s->state_bytes;
    return c;
}

void pt_forward(pt_site *s, rg_mode mode, float *x, int64_t n, int64_t f)
{
    int64_t shape[2] = {n, f};
    rg_tensor_view v = pt_view(x, RG_TENSOR_ACTIVATION, 2, shape);
    rg_activation_ctx c = ctx_of(s, mode);
    cr_assert_eq(s->pi->plugin->reg.activation_forward(s->pi->inst, &c, &v), RG_OK, "%s",
                 rg_error_message());
    s->penalty = c.penalty;
}

void pt_backward(pt_site *s, float *out, float *g, int64_t n, int64_t f)
{
    int64_t shape[2] = {n, f};
    rg_tensor_view ov = pt_view(out, RG_TENSOR_ACTIVATION, 2, shape);
    rg_tensor_view gv = pt_view(g, RG_TENSOR_GRADIENT, 2, shape);
    rg_activation_ctx c = ctx_of(s, RG_MODE_TRAIN);
    c.output = &ov;
    cr_assert_eq(s->pi->plugin->reg.activation_backward(s->pi->inst, &c, &gv), RG_OK, "%s",
                 rg_error_message());
}

void pt_fill(float *x, int64_t n, uint64_t seed, float lo, float hi)
{
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, 0, 999);
    rg_rng_uniform(&s, 0, x, (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * x[i];
}

rg_dataset *pt_train_set, *pt_test_set;

void pt_load_data(void)
{
    const char *dir = getenv("REGULA_DATA");
    if (!dir || !*dir)
        dir = "/usr/share/datasets/fashion-mnist";
    cr_assert_eq(rg_dataset_open_idx(dir, "train", &pt_train_set), RG_OK,
                 "%s (install dataset-fashion-mnist)", rg_error_message());
    cr_assert_eq(rg_dataset_open_idx(dir, "t10k", &pt_test_set), RG_OK, "%s", rg_error_message());
    rg_threads_init(2);
}

void pt_free_data(void)
{
    rg_dataset_destroy(pt_train_set);
    rg_dataset_destroy(pt_test_set);
}

void pt_train(pt_run *r, int epochs)
{
    for (int e = 0; e < epochs; e++)
        cr_assert_eq(rg_trainer_run_epoch(r->trainer, &r->last), RG_OK, "%s",
                     rg_error_message());
}

void pt_finish(pt_run *r)
{
    rg_trainer_destroy(r->trainer);
    rg_model_destroy(r->model);
    if (r->cfg.num_regs)
        rg_plugin_instance_destroy(r->cfg.regs[0]);
}

float *pt_floats(int64_t n)
{
    float *p = rg_alloc_floats((size_t)n);
    cr_assert_not_null(p);
    return p;
}

void pt_start(pt_run *r, const char *model, uint64_t seed, int64_t limit, const char *spec)
{
    memset(r, 0, sizeof *r);
    rg_train_config_defaults(&r->cfg);
    r->cfg.seed = seed;
    r->cfg.train_limit = limit;
    if (spec) {
        r->cfg.regs[0] = pt_load(spec, RG_PLUGIN_REGULARIZER);
        r->cfg.num_regs = 1;
    }
    rg_model_spec ms;
    cr_assert_eq(rg_model_spec_parse(model, &ms), RG_OK);
    cr_assert_eq(rg_model_build(&ms, (rg_shape){784, 1, 1, 1}, 10, &r->model), RG_OK);
    rg_model_init_params(r->model, seed);
    cr_assert_eq(rg_trainer_create(r->model, pt_train_set, &r->cfg, &r->trainer), RG_OK, "%s",
                 rg_error_message());
}

void pt_eval_ignores_the_regularizer(const char *model, uint64_t seed, int64_t limit,
                                     const char *spec, int epochs, double min_accuracy)
{
    pt_run reg;
    pt_start(&reg, model, seed, limit, spec);
    pt_train(&reg, epochs);
    rg_train_config cfg;
    rg_train_config_defaults(&cfg);
    cfg.seed = seed;
    cfg.train_limit = limit;
    rg_trainer *bare = NULL;
    cr_assert_eq(rg_trainer_create(reg.model, pt_train_set, &cfg, &bare), RG_OK, "%s",
                 rg_error_message());
    rg_eval with, without;
    cr_assert_eq(rg_trainer_evaluate_val(bare, &without), RG_OK);
    cr_assert(memcmp(&reg.last.val_loss, &without.loss, sizeof(double)) == 0,
              "%s: val loss %.17g during training, %.17g without the regularizer", spec,
              reg.last.val_loss, without.loss);
    cr_assert(memcmp(&reg.last.val_accuracy, &without.accuracy, sizeof(double)) == 0);
    cr_assert_eq(rg_trainer_evaluate(reg.trainer, pt_test_set, &with), RG_OK);
    cr_assert_eq(rg_trainer_evaluate(bare, pt_test_set, &without), RG_OK);
    cr_assert(memcmp(&with, &without, sizeof with) == 0, "%s: test loss %.17g vs %.17g", spec,
              with.loss, without.loss);
    cr_assert_gt(with.accuracy, min_accuracy, "%s: test accuracy %.4f", spec, with.accuracy);
    rg_trainer_destroy(bare);
    pt_finish(&reg);
}
