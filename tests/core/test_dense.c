/* Dense layers and small models against their definitions:
 *   torch.nn.Linear: y = x W^T + b with W stored [out_features, in_features];
 *   gradients against central finite differences of a scalar loss computed
 *   in double straight from the formula;
 *   He init (torch.nn.init.kaiming_normal_, fan_in, ReLU gain sqrt 2):
 *   N(0, 2 / fan_in); Xavier uniform (torch.nn.init.xavier_uniform_):
 *   U(-a, a), a = sqrt(6 / (fan_in + fan_out)). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "kernels/kernels.h"
#include "layers/layer.h"
#include "model/model.h"

static uint32_t lcg_state;
static double lcg_unit(void) /* [-1, 1) */
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (double)(lcg_state >> 8) / 8388608.0 - 1.0;
}
static void fill(float *v, int64_t n, uint32_t seed)
{
    lcg_state = seed;
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)lcg_unit();
}

static int close_to(double got, double want, double rel, double abs_tol)
{
    return fabs(got - want) <= abs_tol + rel * fabs(want);
}

static rg_shape flat(int64_t f) { return (rg_shape){f, 1, 1, 1}; }

/* ---- a single dense layer ----------------------------------------------------- */

Test(dense, init_names_and_shapes_follow_nn_linear)
{
    rg_layer l;
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_dense_init(&l, "dense7", flat(3), 2), RG_OK, "%s", rg_error_message());
    cr_assert_str_eq(l.name, "dense7");
    cr_assert_eq(l.num_params, 2);
    cr_assert_str_eq(l.params[0].name, "dense7.weight");
    cr_assert_str_eq(l.params[1].name, "dense7.bias");
    cr_assert_eq(l.params[0].kind, RG_TENSOR_WEIGHT);
    cr_assert_eq(l.params[1].kind, RG_TENSOR_BIAS);
    cr_assert_eq(l.params[0].ndim, 2);
    cr_assert_eq(l.params[0].shape[0], 2); /* [out, in] */
    cr_assert_eq(l.params[0].shape[1], 3);
    cr_assert_eq(l.params[0].numel, 6);
    cr_assert_eq(l.params[1].ndim, 1);
    cr_assert_eq(l.params[1].shape[0], 2);
    cr_assert_eq(l.params[1].numel, 2);
    cr_assert_eq(rg_shape_size(l.out), 2);
    rg_layer_release(&l);
}

Test(dense, forward_is_x_times_w_transposed_plus_b)
{
    rg_layer l;
    memset(&l, 0, sizeof l);
    cr_assert_eq(rg_dense_init(&l, "dense1", flat(3), 2), RG_OK, "%s", rg_error_message());
    /* W = [1 2 3; -1 0 0.5], b = [0.5 -1] */
    const float w[6] = {1, 2, 3, -1, 0, 0.5f}, b[2] = {0.5f, -1};
    memcpy(l.params[0].value, w, sizeof w);
    memcpy(l.params[1].value, b, sizeof b);
    /* x = [1 1 1; 2 -1 0] */
    const float x[6] = {1, 1, 1, 2, -1, 0};
    float y[4] = {99, 99, 99, 99};
    l.ops->forward(&l, x, y, 2);
    /* row 0: 1+2+3+0.5 = 6.5, -1+0+0.5-1 = -1.5
     * row 1: 2-2+0+0.5 = 0.5, -2+0+0-1 = -3 */
    const float want[4] = {6.5f, -1.5f, 0.5f, -3.0f};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(y[i], want[i], "y[%d] = %g, want %g", i, y[i], want[i]);
    rg_layer_release(&l);
}

enum { DF = 6, DU = 4, DN = 5 };

/* L = sum_{n,u} r[n,u] * (sum_f x[n,f] W[u,f] + b[u]), in double */
static double dense_loss(const double *x, const double *w, const double *b, const float *r)
{
    double total = 0.0;
    for (int n = 0; n < DN; n++)
        for (int u = 0; u < DU; u++) {
            double y = b[u];
            for (int f = 0; f < DF; f++)
                y += x[n * DF + f] * w[u * DF + f];
            total += r[n * DU + u] * y;
        }
    return total;
}

typedef struct dense_case {
    rg_layer l;
    float x[DN * DF], r[DN * DU], dx[DN * DF];
    double xd[DN * DF], wd[DU * DF], bd[DU];
} dense_case;

static void dense_case_run(dense_case *c)
{
    memset(c, 0, sizeof *c);
    cr_assert_eq(rg_dense_init(&c->l, "dense1", flat(DF), DU), RG_OK, "%s", rg_error_message());
    fill(c->l.params[0].value, DU * DF, 101u);
    fill(c->l.params[1].value, DU, 102u);
    fill(c->x, DN * DF, 103u);
    fill(c->r, DN * DU, 104u);
    float y[DN * DU];
    c->l.ops->forward(&c->l, c->x, y, DN);
    /* dL/dy = r */
    c->l.ops->backward(&c->l, c->x, y, c->r, c->dx, DN);
    for (int i = 0; i < DN * DF; i++)
        c->xd[i] = c->x[i];
    for (int i = 0; i < DU * DF; i++)
        c->wd[i] = c->l.params[0].value[i];
    for (int i = 0; i < DU; i++)
        c->bd[i] = c->l.params[1].value[i];
}

static double central_diff(dense_case *c, double *v)
{
    const double eps = 1e-3, keep = *v;
    *v = keep + eps;
    double lp = dense_loss(c->xd, c->wd, c->bd, c->r);
    *v = keep - eps;
    double lm = dense_loss(c->xd, c->wd, c->bd, c->r);
    *v = keep;
    return (lp - lm) / (2 * eps);
}

Test(dense, weight_gradient_matches_finite_differences)
{
    static dense_case c;
    dense_case_run(&c);
    for (int i = 0; i < DU * DF; i++) {
        double fd = central_diff(&c, &c.wd[i]);
        cr_assert(close_to(c.l.params[0].grad[i], fd, 1e-2, 1e-4), "dW[%d] = %.7g, fd %.7g", i,
                  c.l.params[0].grad[i], fd);
    }
    rg_layer_release(&c.l);
}

Test(dense, bias_gradient_matches_finite_differences)
{
    static dense_case c;
    dense_case_run(&c);
    for (int i = 0; i < DU; i++) {
        double fd = central_diff(&c, &c.bd[i]);
        cr_assert(close_to(c.l.params[1].grad[i], fd, 1e-2, 1e-4), "db[%d] = %.7g, fd %.7g", i,
                  c.l.params[1].grad[i], fd);
    }
    rg_layer_release(&c.l);
}

Test(dense, input_gradient_matches_finite_differences)
{
    static dense_case c;
    dense_case_run(&c);
    for (int i = 0; i < DN * DF; i++) {
        double fd = central_diff(&c, &c.xd[i]);
        cr_assert(close_to(c.dx[i], fd, 1e-2, 1e-4), "dx[%d] = %.7g, fd %.7g", i, c.dx[i], fd);
    }
    rg_layer_release(&c.l);
}

Test(dense, backward_overwrites_parameter_gradients)
{
    static dense_case c;
    dense_case_run(&c);
    float dw1[DU * DF], db1[DU];
    memcpy(dw1, c.l.params[0].grad, sizeof dw1);
    memcpy(db1, c.l.params[1].grad, sizeof db1);
    float y[DN * DU];
    c.l.ops->forward(&c.l, c.x, y, DN);
    c.l.ops->backward(&c.l, c.x, y, c.r, NULL, DN); /* second pass, no dx */
    for (int i = 0; i < DU * DF; i++)
        cr_assert_eq(c.l.params[0].grad[i], dw1[i], "dW[%d] accumulated", i);
    for (int i = 0; i < DU; i++)
        cr_assert_eq(c.l.params[1].grad[i], db1[i], "db[%d] accumulated", i);
    rg_layer_release(&c.l);
}

/* ---- model spec ------------------------------------------------------------------ */

Test(model_spec, mlp_expands_to_dense_relu_pairs_and_output)
{
    rg_model_spec s;
    cr_assert_eq(rg_model_spec_parse("mlp:5,4", &s), RG_OK, "%s", rg_error_message());
    cr_assert_str_eq(s.text, "mlp:5,4");
    cr_assert_eq(s.num_layers, 5);
    const rg_layer_type types[5] = {RG_LAYER_DENSE, RG_LAYER_RELU, RG_LAYER_DENSE, RG_LAYER_RELU,
                                    RG_LAYER_DENSE};
    const int64_t units[5] = {5, 0, 4, 0, 0};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(s.layers[i].type, types[i], "layer %d type", i);
        if (types[i] == RG_LAYER_DENSE)
            cr_assert_eq(s.layers[i].units, units[i], "layer %d units %lld", i,
                         (long long)s.layers[i].units);
    }
}

static void expect_invalid(const char *text, const char *fragment)
{
    rg_model_spec s;
    rg_error_clear();
    rg_status st = rg_model_spec_parse(text, &s);
    cr_assert_eq(st, RG_ERR_INVALID, "'%s' gave %s, want RG_ERR_INVALID", text,
                 rg_status_name(st));
    const char *msg = rg_error_message();
    cr_assert(msg && strstr(msg, text), "message for '%s' does not quote it: %s", text,
              msg ? msg : "(null)");
    cr_assert(strstr(msg, fragment), "message for '%s' does not mention %s: %s", text, fragment,
              msg);
}

Test(model_spec, empty_mlp_width_list_is_invalid) { expect_invalid("mlp:", "mlp:"); }
Test(model_spec, empty_width_between_commas_is_invalid) { expect_invalid("mlp:5,,4", ",4"); }
Test(model_spec, zero_width_is_invalid) { expect_invalid("mlp:0", "'0'"); }
Test(model_spec, unknown_family_is_invalid) { expect_invalid("cnn:3", "'cnn'"); }
Test(model_spec, trailing_comma_is_invalid) { expect_invalid("mlp:5,", "trailing comma"); }
Test(model_spec, non_numeric_width_is_invalid) { expect_invalid("mlp:5x", "'5x'"); }

/* ---- models --------------------------------------------------------------------- */

static rg_model *make_model(const char *spec_text, int64_t in, int classes)
{
    rg_model_spec spec;
    cr_assert_eq(rg_model_spec_parse(spec_text, &spec), RG_OK, "%s", rg_error_message());
    rg_model *m = NULL;
    cr_assert_eq(rg_model_build(&spec, flat(in), classes, &m), RG_OK, "%s",
                 rg_error_message());
    return m;
}

static rg_param *find_param(rg_model *m, const char *name)
{
    for (int i = 0; i < m->num_params; i++)
        if (strcmp(m->params[i]->name, name) == 0)
            return m->params[i];
    cr_assert_fail("no parameter %s", name);
    return NULL;
}

Test(model, mlp_layers_are_named_and_shaped)
{
    rg_model *m = make_model("mlp:5,4", 7, 3);
    const char *names[5] = {"dense1", "relu1", "dense2", "relu2", "dense3"};
    const int64_t outs[5] = {5, 5, 4, 4, 3};
    cr_assert_eq(m->num_layers, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_str_eq(m->layers[i].name, names[i]);
        cr_assert_eq(rg_shape_size(m->layers[i].out), outs[i], "layer %d", i);
        cr_assert_eq(rg_model_find_layer(m, names[i]), i);
    }
    cr_assert_eq(m->num_params, 6);
    cr_assert_eq(rg_model_param_count(m), 7 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
    cr_assert_eq(find_param(m, "dense1.weight")->shape[1], 7);
    cr_assert_eq(find_param(m, "dense3.weight")->shape[0], 3);
    rg_model_destroy(m);
}

/* The mlp:5,4 network on 7 inputs and 3 classes, in double:
 * mean over rows of -log softmax(W3 relu(W2 relu(W1 x + b1) + b2) + b3)[label].
 * p[6] holds W1, b1, W2, b2, W3, b3. min_pre gets the smallest |hidden
 * pre-activation| (finite differences are only valid away from the kinks). */
enum { GN = 6, GIN = 7, GK = 3 };
static const int g_sizes[4] = {GIN, 5, 4, GK};

static double mlp_loss(double *const p[6], const float *x, const int *label, double *min_pre)
{
    double total = 0.0, mp = INFINITY;
    for (int r = 0; r < GN; r++) {
        double h[8], o[8];
        for (int f = 0; f < GIN; f++)
            h[f] = x[r * GIN + f];
        for (int L = 0; L < 3; L++) {
            int fi = g_sizes[L], fo = g_sizes[L + 1];
            const double *w = p[2 * L], *b = p[2 * L + 1];
            for (int u = 0; u < fo; u++) {
                double s = b[u];
                for (int f = 0; f < fi; f++)
                    s += w[u * fi + f] * h[f];
                o[u] = s;
            }
            for (int u = 0; u < fo; u++) {
                if (L < 2) {
                    mp = fmin(mp, fabs(o[u]));
                    h[u] = o[u] > 0 ? o[u] : 0.0;
                } else {
                    h[u] = o[u];
                }
            }
        }
        double mx = h[0];
        for (int k = 1; k < GK; k++)
            mx = fmax(mx, h[k]);
        double s = 0.0;
        for (int k = 0; k < GK; k++)
            s += exp(h[k] - mx);
        total += mx + log(s) - h[label[r]];
    }
    if (min_pre)
        *min_pre = mp;
    return total / GN;
}

Test(model, gradient_matches_finite_differences)
{
    rg_model *m = make_model("mlp:5,4", GIN, GK);
    cr_assert_eq(rg_model_set_batch(m, GN), RG_OK);
    rg_model_init_params(m, 2024);
    /* nonzero biases, so their gradients flow through every path */
    for (int i = 0; i < m->num_params; i++)
        if (m->params[i]->kind == RG_TENSOR_BIAS)
            for (int64_t j = 0; j < m->params[i]->numel; j++)
                m->params[i]->value[j] = 0.1f * (float)((j % 3) - 1);

    float x[GN * GIN], t[GN * GK] = {0}, row_loss[GN];
    int label[GN];
    fill(x, GN * GIN, 555u);
    for (int r = 0; r < GN; r++) {
        label[r] = (r * 2 + 1) % GK;
        t[r * GK + label[r]] = 1.0f;
    }

    /* forward, loss, backward as core/train/step.c does */
    const float *in = x;
    for (int i = 0; i < m->num_layers; i++) {
        m->layers[i].ops->forward(&m->layers[i], in, m->out[i], GN);
        in = m->out[i];
    }
    int last = m->num_layers - 1;
    rg_softmax_xent(GN, GK, m->out[last], t, 1.0f / GN, row_loss, m->grad[last], NULL);
    for (int i = last; i >= 0; i--) {
        const float *xi = i > 0 ? m->out[i - 1] : x;
        m->layers[i].ops->backward(&m->layers[i], xi, m->out[i], m->grad[i],
                                   i > 0 ? m->grad[i - 1] : NULL, GN);
    }

    /* the same parameters in double, in the reference's order */
    const char *names[6] = {"dense1.weight", "dense1.bias", "dense2.weight",
                            "dense2.bias",   "dense3.weight", "dense3.bias"};
    rg_param *ps[6];
    double *pd[6];
    for (int k = 0; k < 6; k++) {
        ps[k] = find_param(m, names[k]);
        pd[k] = malloc((size_t)ps[k]->numel * sizeof(double));
        for (int64_t j = 0; j < ps[k]->numel; j++)
            pd[k][j] = ps[k]->value[j];
    }
    double min_pre;
    double ref = mlp_loss(pd, x, label, &min_pre);
    cr_assert(min_pre > 0.02, "test data sits on a ReLU kink (|pre| = %g): pick another seed",
              min_pre);
    double lib = 0.0;
    for (int r = 0; r < GN; r++)
        lib += row_loss[r];
    lib /= GN;
    cr_assert(close_to(lib, ref, 1e-5, 1e-6), "model loss %.7g, reference %.7g", lib, ref);

    const double eps = 1e-3;
    int checked = 0;
    for (int k = 0; k < 6; k++)
        for (int64_t j = 0; j < ps[k]->numel; j++) {
            double keep = pd[k][j];
            pd[k][j] = keep + eps;
            double lp = mlp_loss(pd, x, label, NULL);
            pd[k][j] = keep - eps;
            double lm = mlp_loss(pd, x, label, NULL);
            pd[k][j] = keep;
            double fd = (lp - lm) / (2 * eps);
            cr_assert(close_to(ps[k]->grad[j], fd, 1e-2, 1e-5), "%s[%lld]: grad %.7g, fd %.7g",
                      names[k], (long long)j, ps[k]->grad[j], fd);
            checked++;
        }
    cr_assert_eq(checked, 79);
    for (int k = 0; k < 6; k++)
        free(pd[k]);
    rg_model_destroy(m);
}

Test(model, he_init_has_variance_two_over_fan_in_and_zero_biases)
{
    rg_model *m = make_model("mlp:512", 784, 10);
    /* poison the biases so "zero" is something init_params must do */
    for (int i = 0; i < m->num_params; i++)
        if (m->params[i]->kind == RG_TENSOR_BIAS)
            for (int64_t j = 0; j < m->params[i]->numel; j++)
                m->params[i]->value[j] = 1.0f;
    rg_model_init_params(m, 7);
    rg_param *w = find_param(m, "dense1.weight");
    cr_assert_eq(w->numel, 512 * 784);
    double sum = 0.0, sq = 0.0;
    for (int64_t j = 0; j < w->numel; j++) {
        sum += w->value[j];
        sq += (double)w->value[j] * w->value[j];
    }
    double mean = sum / (double)w->numel, var = sq / (double)w->numel - mean * mean;
    double want = 2.0 / 784.0;
    cr_assert(fabs(var - want) < 0.1 * want, "var %.6g, He wants %.6g", var, want);
    cr_assert(fabs(mean) < 0.05 * sqrt(want), "mean %.6g", mean);
    const char *biases[2] = {"dense1.bias", "dense2.bias"};
    for (int k = 0; k < 2; k++) {
        rg_param *b = find_param(m, biases[k]);
        for (int64_t j = 0; j < b->numel; j++)
            cr_assert_eq(b->value[j], 0.0f, "%s[%lld] = %g", biases[k], (long long)j,
                         b->value[j]);
    }
    rg_model_destroy(m);
}

Test(model, output_layer_gets_xavier_uniform)
{
    rg_model *m = make_model("mlp:512", 784, 10);
    rg_model_init_params(m, 7);
    rg_param *w = find_param(m, "dense2.weight"); /* [10, 512] */
    double a = sqrt(6.0 / (512.0 + 10.0)), sq = 0.0;
    for (int64_t j = 0; j < w->numel; j++) {
        cr_assert(fabs(w->value[j]) <= a, "w[%lld] = %g outside [-%g, %g]", (long long)j,
                  w->value[j], a, a);
        sq += (double)w->value[j] * w->value[j];
    }
    double var = sq / (double)w->numel, want = a * a / 3.0; /* variance of U(-a, a) */
    cr_assert(fabs(var - want) < 0.1 * want, "var %.6g, Xavier wants %.6g", var, want);
    rg_model_destroy(m);
}

Test(model, same_seed_gives_identical_params)
{
    rg_model *a = make_model("mlp:16,8", 20, 4), *b = make_model("mlp:16,8", 20, 4);
    rg_model_init_params(a, 99);
    rg_model_init_params(b, 99);
    for (int i = 0; i < a->num_params; i++)
        cr_assert(memcmp(a->params[i]->value, b->params[i]->value,
                         (size_t)a->params[i]->numel * sizeof(float)) == 0,
                  "%s differs", a->params[i]->name);
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(model, different_seeds_give_different_weights)
{
    rg_model *a = make_model("mlp:16,8", 20, 4), *b = make_model("mlp:16,8", 20, 4);
    rg_model_init_params(a, 99);
    rg_model_init_params(b, 100);
    for (int i = 0; i < a->num_params; i++) {
        if (a->params[i]->kind != RG_TENSOR_WEIGHT)
            continue;
        cr_assert(memcmp(a->params[i]->value, b->params[i]->value,
                         (size_t)a->params[i]->numel * sizeof(float)) != 0,
                  "%s is the same under seeds 99 and 100", a->params[i]->name);
    }
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(model, layers_of_equal_shape_get_different_draws)
{
    /* dense1 and dense2 are both 6x6 He layers: shared offsets would make
     * them equal */
    rg_model *m = make_model("mlp:6,6", 6, 3);
    rg_model_init_params(m, 5);
    rg_param *w1 = find_param(m, "dense1.weight"), *w2 = find_param(m, "dense2.weight");
    cr_assert(memcmp(w1->value, w2->value, 36 * sizeof(float)) != 0);
    rg_model_destroy(m);
}

Test(model, last_layer_width_must_match_classes)
{
    rg_model_spec spec;
    cr_assert_eq(rg_model_spec_parse("mlp:5", &spec), RG_OK);
    /* an explicit output width that disagrees with the class count */
    spec.layers[spec.num_layers - 1].units = 4;
    rg_model *m = NULL;
    cr_assert_eq(rg_model_build(&spec, flat(7), 3, &m), RG_ERR_INVALID);
    cr_assert(strstr(rg_error_message(), "4 outputs"), "%s", rg_error_message());
}
