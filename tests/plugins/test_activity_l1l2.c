/* activity_l1l2: Keras activity_regularizer=L1L2(l1, l2) on a layer's output,
 * divided by the batch size as tf.keras base_layer does:
 *   penalty = (l1 * sum|a| + l2 * sum a^2) / batch,
 *   gradient (l1 * sign(a) + 2 * l2 * a) / batch.
 * Expected values are computed by hand from that formula. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "idx.h"
#include "model/model.h"
#include "plugin_test_util.h"
#include "threads.h"
#include "train/train.h"

#define R RG_PLUGIN_REGULARIZER


static void init_threads(void)
{
    rg_threads_init(2);
}

TestSuite(activity_l1l2, .init = init_threads);

/* a = [[1, -2, 0.5], [0, 3, -1]], batch 2, l1 = 0.01, l2 = 0.1:
 *   sum|a| = 7.5, sum a^2 = 15.25, penalty = (0.075 + 1.525) / 2 = 0.8 */
static const float hand_a[6] = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f, -1.0f};

Test(activity_l1l2, forward_keeps_activations_and_sets_the_hand_computed_penalty)
{
    rg_plugin_instance *pi = pt_load("activity_l1l2:l1=0.01,l2=0.1", R);
    float a[6];
    memcpy(a, hand_a, sizeof a);
    pt_site s;
    pt_site_init(&s, pi, 1, 2, 3);
    pt_forward(&s, RG_MODE_TRAIN, a, 2, 3);
    cr_assert(memcmp(a, hand_a, sizeof a) == 0, "activations changed");
    cr_assert(fabs(s.penalty - 0.8) < 1e-12, "penalty %.17g, want 0.8", s.penalty);
    pt_site_free(&s);
    rg_plugin_instance_destroy(pi);
}

Test(activity_l1l2, backward_adds_the_hand_computed_gradient)
{
    rg_plugin_instance *pi = pt_load("activity_l1l2:l1=0.01,l2=0.1", R);
    float a[6], g[6] = {0.5f, 0.5f, 0.5f, -1.0f, -1.0f, -1.0f};
    memcpy(a, hand_a, sizeof a);
    /* (0.01 * sign(a) + 0.2 * a) / 2 added to g */
    const double want[6] = {0.5 + 0.105, 0.5 - 0.205, 0.5 + 0.055, -1.0 + 0.0, -1.0 + 0.305,
                            -1.0 - 0.105};
    pt_site s;
    pt_site_init(&s, pi, 1, 2, 3);
    pt_forward(&s, RG_MODE_TRAIN, a, 2, 3);
    pt_backward(&s, a, g, 2, 3);
    for (int i = 0; i < 6; i++)
        cr_assert(fabs(g[i] - want[i]) < 1e-6, "element %d: %.9g, want %.9g", i, (double)g[i],
                  want[i]);
    pt_site_free(&s);
    rg_plugin_instance_destroy(pi);
}

Test(activity_l1l2, defaults_are_l1_0_and_l2_1e_5)
{
    rg_plugin_instance *pi = pt_load("activity_l1l2", R);
    float a[6];
    memcpy(a, hand_a, sizeof a);
    pt_site s;
    pt_site_init(&s, pi, 1, 2, 3);
    pt_forward(&s, RG_MODE_TRAIN, a, 2, 3);
    cr_assert(fabs(s.penalty - 1e-5 * 15.25 / 2.0) < 1e-15, "penalty %.17g", s.penalty);
    pt_site_free(&s);
    rg_plugin_instance_destroy(pi);
}

Test(activity_l1l2, eval_mode_adds_no_penalty_and_keeps_activations)
{
    rg_plugin_instance *pi = pt_load("activity_l1l2:l1=0.5,l2=0.5", R);
    float a[6];
    memcpy(a, hand_a, sizeof a);
    pt_site s;
    pt_site_init(&s, pi, 1, 2, 3);
    pt_forward(&s, RG_MODE_EVAL, a, 2, 3);
    cr_assert_eq(s.penalty, 0.0);
    cr_assert(memcmp(a, hand_a, sizeof a) == 0);
    pt_site_free(&s);
    rg_plugin_instance_destroy(pi);
}

static double penalty_of(pt_site *s, const float *a, float *scratch, int64_t n, int64_t f)
{
    memcpy(scratch, a, (size_t)(n * f) * sizeof(float));
    pt_forward(s, RG_MODE_TRAIN, scratch, n, f);
    return s->penalty;
}

Test(activity_l1l2, gradient_matches_finite_differences_of_the_penalty)
{
    rg_plugin_instance *pi = pt_load("activity_l1l2:l1=0.03,l2=0.2", R);
    int64_t n = 8, f = 50;
    float *a = pt_floats(n * f), *g = pt_floats(n * f), *tmp = pt_floats(n * f);
    pt_fill(a, n * f, 3, -2.0f, 2.0f);
    pt_site s;
    pt_site_init(&s, pi, 1, n, f);
    penalty_of(&s, a, tmp, n, f);
    memset(g, 0, (size_t)(n * f) * sizeof(float));
    pt_backward(&s, a, g, n, f);
    const float h = 1e-3f;
    int checked = 0;
    for (int64_t i = 0; i < n * f; i++) {
        if (fabsf(a[i]) < 2e-3f) /* |a| has a kink at 0 */
            continue;
        float keep = a[i];
        a[i] = keep + h;
        double up = penalty_of(&s, a, tmp, n, f);
        a[i] = keep - h;
        double down = penalty_of(&s, a, tmp, n, f);
        a[i] = keep;
        double fd = (up - down) / ((double)(keep + h) - (double)(keep - h));
        cr_assert(fabs(fd - g[i]) <= 1e-4 * fabs(fd) + 1e-7,
                  "element %lld: finite difference %.9g, backward %.9g", (long long)i, fd,
                  (double)g[i]);
        checked++;
    }
    cr_assert_gt(checked, 300);
    pt_site_free(&s);
    rg_free(a);
    rg_free(g);
    rg_free(tmp);
    rg_plugin_instance_destroy(pi);
}

/* 128 x 1000 spans several summation chunks: the penalty equals the hand
 * sum in double to rounding, and is bit-identical on 1 and 2 threads. */
Test(activity_l1l2, large_penalty_matches_the_hand_sum_on_any_thread_count)
{
    rg_plugin_instance *pi = pt_load("activity_l1l2:l1=1e-3,l2=1e-2", R);
    int64_t n = 128, f = 1000, total = n * f;
    float *a = pt_floats(total), *tmp = pt_floats(total);
    pt_fill(a, total, 8, -1.0f, 3.0f);
    double sa = 0.0, sq = 0.0;
    for (int64_t i = 0; i < total; i++) {
        sa += fabs((double)a[i]);
        sq += (double)a[i] * a[i];
    }
    double want = (1e-3 * sa + 1e-2 * sq) / 128.0;
    pt_site s;
    pt_site_init(&s, pi, 1, n, f);
    rg_threads_init(1);
    double p1 = penalty_of(&s, a, tmp, n, f);
    rg_threads_init(2);
    double p2 = penalty_of(&s, a, tmp, n, f);
    cr_assert(fabs(p1 - want) <= 1e-12 * want, "penalty %.17g, want %.17g", p1, want);
    cr_assert(memcmp(&p1, &p2, sizeof p1) == 0, "1 thread %.17g, 2 threads %.17g", p1, p2);
    pt_site_free(&s);
    rg_free(a);
    rg_free(tmp);
    rg_plugin_instance_destroy(pi);
}

Test(activity_l1l2, backward_without_the_forward_output_is_refused_with_a_message)
{
    rg_plugin_instance *pi = pt_load("activity_l1l2", R);
    float g[6] = {0};
    int64_t shape[2] = {2, 3};
    rg_tensor_view gv = pt_view(g, RG_TENSOR_GRADIENT, 2, shape);
    rg_rng_stream rng;
    rg_rng_stream_init(&rng, 1, 0, 0, 1);
    rg_activation_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.mode = RG_MODE_TRAIN;
    c.rng = &rng;
    rg_error_clear();
    cr_assert_eq(pi->plugin->reg.activation_backward(pi->inst, &c, &gv), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(),
                     "activity_l1l2: activation_backward needs ctx->output with 6 elements");
    rg_plugin_instance_destroy(pi);
}

Test(activity_l1l2, strengths_outside_0_to_1_are_refused_with_the_host_message)
{
    cr_assert_str_eq(pt_load_fails("activity_l1l2:l2=2", R),
                     "activity_l1l2: parameter l2=2 is out of range [0, 1]");
    cr_assert_str_eq(pt_load_fails("activity_l1l2:l1=-1e-3", R),
                     "activity_l1l2: parameter l1=-1e-3 is out of range [0, 1]");
}

/* ---- training on a Fashion-MNIST subset ---------------------------------- */




TestSuite(activity_l1l2_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);




Test(activity_l1l2_train, after_relu1_attaches_to_one_site_and_reports_a_penalty)
{
    pt_run r;
    pt_start(&r, "mlp:128,64", 1, 2000, "activity_l1l2:l2=1e-4,after=relu1");
    cr_assert_str_eq(rg_trainer_targets(r.trainer, 0), "after:relu1");
    pt_train(&r, 3);
    cr_assert_gt(r.last.train_penalty, 0.0);
    rg_eval te;
    cr_assert_eq(rg_trainer_evaluate(r.trainer, pt_test_set, &te), RG_OK);
    cr_assert_gt(te.accuracy, 0.70, "test accuracy %.4f", te.accuracy);
    pt_finish(&r);
}

/* With l1 = 0, train_penalty / l2 is the mean per-sample sum of a^2 over the
 * epoch at relu1. l2 = 1e-3 must shrink it well below what a negligible
 * l2 = 1e-6 leaves (measured, mlp:128, 5 epochs, seeds 1-2: ~51 against
 * ~90, i.e. -44%), at a sane accuracy. */
Test(activity_l1l2_train, a_strong_l2_shrinks_the_penalized_activations)
{
    pt_run weak, strong;
    pt_start(&weak, "mlp:128", 1, 2000, "activity_l1l2:l1=0,l2=1e-6");
    pt_start(&strong, "mlp:128", 1, 2000, "activity_l1l2:l1=0,l2=1e-3");
    pt_train(&weak, 5);
    pt_train(&strong, 5);
    double sq_weak = weak.last.train_penalty / 1e-6, sq_strong = strong.last.train_penalty / 1e-3;
    cr_log_info("mean per-sample sum a^2 at relu1: l2=1e-6 %.2f, l2=1e-3 %.2f", sq_weak,
                sq_strong);
    cr_assert_lt(sq_strong, 0.75 * sq_weak, "sum a^2: strong %.3f, weak %.3f", sq_strong,
                 sq_weak);
    rg_eval te;
    cr_assert_eq(rg_trainer_evaluate(strong.trainer, pt_test_set, &te), RG_OK);
    cr_assert_gt(te.accuracy, 0.70, "test accuracy %.4f", te.accuracy);
    pt_finish(&weak);
    pt_finish(&strong);
}
