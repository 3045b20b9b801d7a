/* confidence_penalty: Pereyra et al. 2017 ("Regularizing Neural Networks by Penalizing
 * Confident Output Distributions", eq. 2) on the logits z [batch, classes]:
 *   penalty = -beta * (1 / batch) * sum_n H(softmax(z_n)),  H(p) = -sum_j p_j log p_j,
 *   gradient beta / batch * p_j (log p_j + H).
 * Expected values are computed here from those formulas (or by hand), never by the
 * plugin. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "model/model.h"
#include "plugin_test_util.h"
#include "threads.h"
#include "train/train.h"
#include "train/trainer.h"

#define R RG_PLUGIN_REGULARIZER

static void init_threads(void)
{
    rg_threads_init(2);
}

TestSuite(confidence_penalty, .init = init_threads);
TestSuite(confidence_penalty_train, .init = pt_load_data, .fini = pt_free_data,
          .timeout = 300);

/* the textbook softmax of a row (fine for the moderate logits it is used on) */
static void softmax(const float *z, int64_t k, double *p)
{
    double s = 0.0;
    for (int64_t j = 0; j < k; j++)
        s += exp((double)z[j]);
    for (int64_t j = 0; j < k; j++)
        p[j] = exp((double)z[j]) / s;
}

static double entropy_of(const float *z, int64_t k)
{
    double p[64], h = 0.0;
    cr_assert_leq(k, 64);
    softmax(z, k, p);
    for (int64_t j = 0; j < k; j++)
        h -= p[j] * log(p[j]);
    return h;
}

/* z = [[1, 2, 3], [0, 0, 0]]: H = 0.83239558183994 (worked by hand: p = e^z / (e + e^2 +
 * e^3) = [0.0900, 0.2447, 0.6652]) and log 3; beta 0.5, batch 2 */
static const float hand_z[6] = {1.0f, 2.0f, 3.0f, 0.0f, 0.0f, 0.0f};

Test(confidence_penalty, forward_keeps_the_logits_and_adds_minus_beta_times_mean_entropy)
{
    rg_plugin_instance *pi = pt_load("confidence_penalty:beta=0.5", R);
    float z[6];
    memcpy(z, hand_z, sizeof z);
    pt_site s;
    pt_site_init(&s, pi, 1, 2, 3);
    pt_forward(&s, RG_MODE_TRAIN, z, 2, 3);
    cr_assert(memcmp(z, hand_z, sizeof z) == 0, "logits changed");
    cr_assert_float_eq(entropy_of(hand_z, 3), 0.83239558183994, 1e-13);
    double want = -0.5 * (0.83239558183994 + log(3.0)) / 2.0;
    cr_assert(fabs(s.penalty - want) < 1e-12, "penalty %.17g, want %.17g", s.penalty, want);
    pt_site_free(&s);
    rg_plugin_instance_destroy(pi);
}

Test(confidence_penalty, backward_adds_beta_over_batch_times_p_log_p_plus_h)
{
    rg_plugin_instance *pi = pt_load("confidence_penalty:beta=0.5", R);
    float z[6], g[6] = {0.5f, 0.5f, 0.5f, -1.0f, -1.0f, -1.0f};
    memcpy(z, hand_z, sizeof z);
    double want[6];
    for (int r = 0; r < 2; r++) {
        double p[3], h = entropy_of(hand_z + 3 * r, 3);
        softmax(hand_z + 3 * r, 3, p);
        for (int j = 0; j < 3; j++)
            want[3 * r + j] = g[3 * r + j] + 0.5 / 2.0 * p[j] * (log(p[j]) + h);
    }
    /* a uniform row is at the entropy's maximum: its gradient is 0 */
    cr_assert_float_eq(want[3], -1.0, 1e-15);
    pt_site s;
    pt_site_init(&s, pi, 1, 2, 3);
    pt_forward(&s, RG_MODE_TRAIN, z, 2, 3);
    pt_backward(&s, z, g, 2, 3);
    for (int i = 0; i < 6; i++)
        cr_assert(fabs(g[i] - want[i]) < 1e-7, "element %d: %.9g, want %.9g", i, (double)g[i],
                  want[i]);
    pt_site_free(&s);
    rg_plugin_instance_destroy(pi);
}

static double penalty_of(pt_site *s, const float *z, float *scratch, int64_t n, int64_t f)
{
    memcpy(scratch, z, (size_t)(n * f) * sizeof(float));
    pt_forward(s, RG_MODE_TRAIN, scratch, n, f);
    return s->penalty;
}

Test(confidence_penalty, gradient_matches_central_finite_differences_of_the_penalty)
{
    rg_plugin_instance *pi = pt_load("confidence_penalty:beta=0.7", R);
    int64_t n = 8, f = 10;
    float *z = pt_floats(n * f), *g = pt_floats(n * f), *tmp = pt_floats(n * f);
    pt_fill(z, n * f, 3, -3.0f, 3.0f);
    pt_site s;
    pt_site_init(&s, pi, 1, n, f);
    penalty_of(&s, z, tmp, n, f);
    memset(g, 0, (size_t)(n * f) * sizeof(float));
    pt_backward(&s, z, g, n, f);
    const float h = 1e-2f;
    double largest = 0.0;
    for (int64_t i = 0; i < n * f; i++) {
        float keep = z[i];
        z[i] = keep + h;
        double up = penalty_of(&s, z, tmp, n, f);
        z[i] = keep - h;
        double down = penalty_of(&s, z, tmp, n, f);
        z[i] = keep;
        double fd = (up - down) / ((double)(keep + h) - (double)(keep - h));
        cr_assert(fabs(fd - g[i]) <= 1e-3 * fabs(fd) + 2e-6,
                  "element %lld: finite difference %.9g, backward %.9g", (long long)i, fd,
                  (double)g[i]);
        largest = fmax(largest, fabs(fd));
    }
    cr_assert_gt(largest, 1e-3, "the gradient is too small for the comparison to mean much");
    pt_site_free(&s);
    rg_free(z);
    rg_free(g);
    rg_free(tmp);
    rg_plugin_instance_destroy(pi);
}

Test(confidence_penalty, huge_logits_stay_finite_a_certain_row_has_entropy_zero)
{
    rg_plugin_instance *pi = pt_load("confidence_penalty:beta=1", R);
    /* e^1000 overflows a double: a softmax without the max subtracted gives NaN */
    float z[6] = {1000.0f, 0.0f, -1000.0f, 500.0f, 500.0f, -80.0f};
    float z0[6], g[6] = {0};
    memcpy(z0, z, sizeof z);
    pt_site s;
    pt_site_init(&s, pi, 1, 2, 3);
    pt_forward(&s, RG_MODE_TRAIN, z, 2, 3);
    /* row 0: p = (1, 0, 0), H = 0; row 1: p = (1/2, 1/2, ~0), H = log 2 */
    double want = -1.0 * (0.0 + log(2.0)) / 2.0;
    cr_assert(isfinite(s.penalty));
    cr_assert(fabs(s.penalty - want) < 1e-12, "penalty %.17g, want %.17g", s.penalty, want);
    pt_backward(&s, z0, g, 2, 3);
    for (int i = 0; i < 6; i++)
        cr_assert(isfinite(g[i]) && fabs(g[i]) < 1e-6, "element %d: %.9g", i, (double)g[i]);
    pt_site_free(&s);
    rg_plugin_instance_destroy(pi);
}

Test(confidence_penalty, eval_mode_adds_no_penalty_and_keeps_the_logits)
{
    rg_plugin_instance *pi = pt_load("confidence_penalty:beta=2", R);
    float z[6];
    memcpy(z, hand_z, sizeof z);
    pt_site s;
    pt_site_init(&s, pi, 1, 2, 3);
    pt_forward(&s, RG_MODE_EVAL, z, 2, 3);
    cr_assert_eq(s.penalty, 0.0);
    cr_assert(memcmp(z, hand_z, sizeof z) == 0);
    pt_site_free(&s);
    rg_plugin_instance_destroy(pi);
}

Test(confidence_penalty, default_beta_is_0_1)
{
    rg_plugin_instance *pi = pt_load("confidence_penalty", R);
    float z[6];
    memcpy(z, hand_z, sizeof z);
    pt_site s;
    pt_site_init(&s, pi, 1, 2, 3);
    pt_forward(&s, RG_MODE_TRAIN, z, 2, 3);
    double want = -0.1 * (0.83239558183994 + log(3.0)) / 2.0;
    cr_assert(fabs(s.penalty - want) < 1e-12, "penalty %.17g, want %.17g", s.penalty, want);
    pt_site_free(&s);
    rg_plugin_instance_destroy(pi);
}

/* forward on rows [row0, row0 + rows) of z [batch, f] as a data-parallel process holds them */
static double slice_penalty(rg_plugin_instance *pi, float *z, int64_t row0, int64_t rows,
                            int64_t batch, int64_t f)
{
    int64_t shape[2] = {rows, f};
    rg_tensor_view v = pt_view(z + row0 * f, RG_TENSOR_ACTIVATION, 2, shape);
    size_t bytes = pi->plugin->reg.activation_state_bytes(pi->inst, &v);
    void *state = rg_alloc(bytes);
    cr_assert_not_null(state);
    rg_rng_stream rng;
    rg_rng_stream_init(&rng, 1, 0, 0, 7);
    rg_activation_ctx ctx = {.struct_size = sizeof ctx, .mode = RG_MODE_TRAIN, .rng = &rng,
                             .state = state, .state_bytes = bytes, .batch_row0 = row0,
                             .batch_rows = batch};
    cr_assert_eq(pi->plugin->reg.activation_forward(pi->inst, &ctx, &v), RG_OK, "%s",
                 rg_error_message());
    rg_free(state);
    return ctx.penalty;
}

Test(confidence_penalty, a_batch_cut_across_processes_sums_to_the_whole_batch_penalty)
{
    rg_plugin_instance *pi = pt_load("confidence_penalty:beta=0.3", R);
    int64_t n = 12, f = 10;
    float *z = pt_floats(n * f);
    pt_fill(z, n * f, 9, -4.0f, 4.0f);
    double sum = 0.0;
    for (int64_t r = 0; r < n; r++)
        sum += entropy_of(z + r * f, f);
    double want = -0.3 * sum / (double)n;
    double whole = slice_penalty(pi, z, 0, n, n, f);
    double parts = slice_penalty(pi, z, 0, 5, n, f) + slice_penalty(pi, z, 5, n - 5, n, f);
    cr_assert(fabs(whole - want) <= 1e-12 * fabs(want), "whole %.17g, want %.17g", whole, want);
    cr_assert(fabs(parts - want) <= 1e-12 * fabs(want), "parts %.17g, want %.17g", parts, want);
    rg_free(z);
    rg_plugin_instance_destroy(pi);
}

/* 256 rows of 1000: many parallel_for chunks. The penalty matches the formula's sum and
 * both penalty and gradient are bit-identical at 1 and 2 threads. */
Test(confidence_penalty, penalty_and_gradient_are_bit_identical_at_one_and_two_threads)
{
    rg_plugin_instance *pi = pt_load("confidence_penalty:beta=0.2", R);
    int64_t n = 256, f = 1000, total = n * f;
    float *z = pt_floats(total), *tmp = pt_floats(total), *g1 = pt_floats(total),
          *g2 = pt_floats(total);
    pt_fill(z, total, 8, -5.0f, 5.0f);
    pt_fill(g1, total, 10, -1.0f, 1.0f);
    memcpy(g2, g1, (size_t)total * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 1, n, f);
    rg_threads_init(1);
    double p1 = penalty_of(&s, z, tmp, n, f);
    pt_backward(&s, z, g1, n, f);
    rg_threads_init(2);
    double p2 = penalty_of(&s, z, tmp, n, f);
    pt_backward(&s, z, g2, n, f);
    double sum = 0.0;
    for (int64_t r = 0; r < n; r++) {
        double m = z[r * f], se = 0.0, h = 0.0; /* shifted: e^5 * 1000 is fine, but be safe */
        for (int64_t j = 1; j < f; j++)
            m = fmax(m, z[r * f + j]);
        for (int64_t j = 0; j < f; j++)
            se += exp(z[r * f + j] - m);
        for (int64_t j = 0; j < f; j++) {
            double q = exp(z[r * f + j] - m) / se;
            h -= q * log(q);
        }
        sum += h;
    }
    double want = -0.2 * sum / (double)n;
    cr_assert(fabs(p1 - want) <= 1e-12 * fabs(want), "penalty %.17g, want %.17g", p1, want);
    cr_assert(memcmp(&p1, &p2, sizeof p1) == 0, "1 thread %.17g, 2 threads %.17g", p1, p2);
    cr_assert(memcmp(g1, g2, (size_t)total * sizeof(float)) == 0);
    pt_site_free(&s);
    rg_free(z);
    rg_free(tmp);
    rg_free(g1);
    rg_free(g2);
    rg_plugin_instance_destroy(pi);
}

Test(confidence_penalty, backward_without_the_forward_output_is_refused_with_a_message)
{
    rg_plugin_instance *pi = pt_load("confidence_penalty", R);
    float g[6] = {0};
    int64_t shape[2] = {2, 3};
    rg_tensor_view gv = pt_view(g, RG_TENSOR_GRADIENT, 2, shape);
    rg_activation_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.mode = RG_MODE_TRAIN;
    rg_error_clear();
    cr_assert_eq(pi->plugin->reg.activation_backward(pi->inst, &c, &gv), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(),
                     "confidence_penalty: activation_backward needs ctx->output with 6 elements");
    rg_plugin_instance_destroy(pi);
}

Test(confidence_penalty, training_without_activation_state_is_refused_with_a_message)
{
    rg_plugin_instance *pi = pt_load("confidence_penalty", R);
    float z[6];
    memcpy(z, hand_z, sizeof z);
    int64_t shape[2] = {2, 3};
    rg_tensor_view v = pt_view(z, RG_TENSOR_ACTIVATION, 2, shape);
    rg_activation_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.mode = RG_MODE_TRAIN;
    rg_error_clear();
    cr_assert_eq(pi->plugin->reg.activation_forward(pi->inst, &c, &v), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(), "confidence_penalty: activation_forward needs 16 bytes "
                                         "of activation state, got 0");
    rg_plugin_instance_destroy(pi);
}

Test(confidence_penalty, beta_outside_0_to_10_is_refused_with_the_host_message)
{
    cr_assert_str_eq(pt_load_fails("confidence_penalty:beta=11", R),
                     "confidence_penalty: parameter beta=11 is out of range [0, 10]");
    cr_assert_str_eq(pt_load_fails("confidence_penalty:beta=-0.1", R),
                     "confidence_penalty: parameter beta=-0.1 is out of range [0, 10]");
}

/* ---- training on a Fashion-MNIST subset ---------------------------------- */

/* after= may name the output layer (its logits feed the loss): the hook then sits between
 * them and the loss, with or without an identity layer after them; a name that matches no
 * layer is refused. */
Test(confidence_penalty_train, after_names_the_output_layer_whose_logits_it_penalizes)
{
    pt_run r;
    pt_start(&r, "mlp:64", 1, 500, "confidence_penalty:after=dense2");
    cr_assert_str_eq(rg_trainer_targets(r.trainer, 0), "after:dense2");
    pt_train(&r, 1);
    cr_assert_gt(r.last.train_penalty, -10.0);
    cr_assert_lt(r.last.train_penalty, 0.0, "the penalty -beta H is negative: %g",
                 r.last.train_penalty);
    pt_finish(&r);
    pt_start(&r, "dense:64,relu,dense:10,flatten", 1, 500, "confidence_penalty:after=dense2");
    cr_assert_str_eq(rg_trainer_targets(r.trainer, 0), "after:dense2");
    pt_finish(&r);

    rg_train_config cfg;
    rg_train_config_defaults(&cfg);
    cfg.regs[0] = pt_load("confidence_penalty:after=dense9", R);
    cfg.num_regs = 1;
    rg_model_spec ms;
    cr_assert_eq(rg_model_spec_parse("mlp:64", &ms), RG_OK);
    rg_model *m = NULL;
    cr_assert_eq(rg_model_build(&ms, (rg_shape){784, 1, 1, 1}, 10, &m), RG_OK);
    rg_trainer *t = NULL;
    cr_assert_eq(rg_trainer_create(m, pt_train_set, &cfg, &t), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(),
                     "confidence_penalty: after=dense9 matches no layer of --model mlp:64");
    rg_model_destroy(m);
    rg_plugin_instance_destroy(cfg.regs[0]);
}

/* Mean entropy of the model's output distribution over a data set, eval mode. */
static double mean_entropy(pt_run *r, const rg_dataset *ds)
{
    rg_trainer *t = r->trainer;
    int64_t k = r->model->num_classes, b = r->cfg.batch;
    int64_t *idx = malloc((size_t)b * sizeof *idx);
    cr_assert_not_null(idx);
    double sum = 0.0;
    for (int64_t start = 0; start < ds->n; start += b) {
        int64_t cnt = start + b <= ds->n ? b : ds->n - start;
        for (int64_t i = 0; i < cnt; i++)
            idx[i] = start + i;
        cr_assert_eq(rg_step_fill_batch(t, ds, idx, cnt), RG_OK);
        cr_assert_eq(rg_step_forward(t, cnt, RG_MODE_EVAL), RG_OK);
        const float *z = t->post[r->model->num_layers - 1];
        for (int64_t i = 0; i < cnt; i++) {
            double m = z[i * k], se = 0.0, h = 0.0;
            for (int64_t j = 1; j < k; j++)
                m = fmax(m, z[i * k + j]);
            for (int64_t j = 0; j < k; j++)
                se += exp(z[i * k + j] - m);
            for (int64_t j = 0; j < k; j++) {
                double lq = z[i * k + j] - m - log(se);
                h -= exp(lq) * lq;
            }
            sum += h;
        }
    }
    free(idx);
    return sum / (double)ds->n;
}

/* 2000 images, dense:128 then the logits, 15 epochs, seed 1: beta = 0.5 raises the mean
 * entropy of the test-set output distributions from 0.41 to 1.42 nats (log 10 = 2.30 is
 * uniform) at the same test accuracy (measured: 0.789 against 0.793); the reported penalty
 * is negative. (beta = 0.1 moved it only from 0.41 to 0.44 here.) */
Test(confidence_penalty_train, the_penalty_raises_the_mean_output_entropy)
{
    const char *model = "dense:128,relu,dense:10";
    pt_run plain, pen;
    pt_start(&plain, model, 1, 2000, NULL);
    pt_start(&pen, model, 1, 2000, "confidence_penalty:beta=0.5,after=dense2");
    pt_train(&plain, 15);
    pt_train(&pen, 15);
    double h_plain = mean_entropy(&plain, pt_test_set), h_pen = mean_entropy(&pen, pt_test_set);
    rg_eval tp, tq;
    cr_assert_eq(rg_trainer_evaluate(plain.trainer, pt_test_set, &tp), RG_OK);
    cr_assert_eq(rg_trainer_evaluate(pen.trainer, pt_test_set, &tq), RG_OK);
    cr_log_info("confidence_penalty beta=0.5: mean test entropy %.4f (%.4f without), test acc "
                "%.4f (%.4f without), last epoch's penalty %.4f", h_pen, h_plain, tq.accuracy,
                tp.accuracy, pen.last.train_penalty);
    cr_assert_gt(h_pen, h_plain + 0.1, "mean entropy %.4f with the penalty, %.4f without",
                 h_pen, h_plain);
    cr_assert_lt(pen.last.train_penalty, 0.0);
    cr_assert_gt(tq.accuracy, tp.accuracy - 0.03, "test accuracy %.4f, %.4f without",
                 tq.accuracy, tp.accuracy);
    pt_finish(&plain);
    pt_finish(&pen);
}

Test(confidence_penalty_train, eval_metrics_do_not_include_the_regularizer)
{
    pt_eval_ignores_the_regularizer("dense:64,relu,dense:10", 11, 3000,
                                    "confidence_penalty:beta=0.5,after=dense2", 1, 0.4);
}
