/* dropout: inverted dropout as torch.nn.Dropout(p). Expected values come from
 * the published formula (y = 0 or x / (1 - p) in training, y = x in eval),
 * never from the plugin. */
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

TestSuite(dropout, .init = init_threads);


Test(dropout, eval_mode_is_the_identity_bitwise)
{
    rg_plugin_instance *pi = pt_load("dropout:rate=0.5", R);
    int64_t n = 16, f = 300;
    float *x = pt_floats(n * f), *y = pt_floats(n * f);
    pt_fill(x, n * f, 1, -2.0f, 2.0f);
    memcpy(y, x, (size_t)(n * f) * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 7, n, f);
    pt_forward(&s, RG_MODE_EVAL, y, n, f);
    cr_assert(memcmp(x, y, (size_t)(n * f) * sizeof(float)) == 0);
    cr_assert_eq(s.penalty, 0.0);
    pt_site_free(&s);
    rg_free(x);
    rg_free(y);
    rg_plugin_instance_destroy(pi);
}

Test(dropout, training_outputs_are_zero_or_x_over_keep_exactly)
{
    /* p = 0.5 and 0.75: 1/(1-p) is a power of two, so x / (1 - p) is exact
     * in float whichever way it is computed */
    const char *specs[] = {"dropout:rate=0.5", "dropout:rate=0.75"};
    const float keep[] = {0.5f, 0.25f};
    for (int c = 0; c < 2; c++) {
        rg_plugin_instance *pi = pt_load(specs[c], R);
        int64_t n = 32, f = 257;
        float *x = pt_floats(n * f), *y = pt_floats(n * f);
        pt_fill(x, n * f, 2, 0.1f, 3.0f); /* nonzero, so a kept element is never 0 */
        memcpy(y, x, (size_t)(n * f) * sizeof(float));
        pt_site s;
        pt_site_init(&s, pi, 3, n, f);
        pt_forward(&s, RG_MODE_TRAIN, y, n, f);
        int64_t zeros = 0;
        for (int64_t i = 0; i < n * f; i++) {
            cr_assert(y[i] == 0.0f || y[i] == x[i] / keep[c],
                      "%s element %lld: x %.9g -> %.9g", specs[c], (long long)i, (double)x[i],
                      (double)y[i]);
            zeros += y[i] == 0.0f;
        }
        cr_assert(zeros > 0 && zeros < n * f, "%s: %lld zeros", specs[c], (long long)zeros);
        pt_site_free(&s);
        rg_free(x);
        rg_free(y);
        rg_plugin_instance_destroy(pi);
    }
}

Test(dropout, kept_elements_at_rate_0_3_are_x_over_0_7_to_one_ulp)
{
    rg_plugin_instance *pi = pt_load("dropout:rate=0.3", R);
    int64_t n = 8, f = 500;
    float *x = pt_floats(n * f), *y = pt_floats(n * f);
    pt_fill(x, n * f, 4, 0.1f, 3.0f);
    memcpy(y, x, (size_t)(n * f) * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 5, n, f);
    pt_forward(&s, RG_MODE_TRAIN, y, n, f);
    for (int64_t i = 0; i < n * f; i++) {
        if (y[i] == 0.0f)
            continue;
        double want = (double)x[i] / (1.0 - 0.3);
        cr_assert(fabs(y[i] - want) <= 1.2e-7 * want, "element %lld: %.9g, want %.9g",
                  (long long)i, (double)y[i], want);
    }
    pt_site_free(&s);
    rg_free(x);
    rg_free(y);
    rg_plugin_instance_destroy(pi);
}

Test(dropout, kept_fraction_over_100k_elements_is_within_4_sigma_of_1_minus_p)
{
    rg_plugin_instance *pi = pt_load("dropout:rate=0.3", R);
    int64_t n = 100, f = 1000, total = n * f;
    float *x = pt_floats(total);
    for (int64_t i = 0; i < total; i++)
        x[i] = 1.0f;
    pt_site s;
    pt_site_init(&s, pi, 11, n, f);
    pt_forward(&s, RG_MODE_TRAIN, x, n, f);
    int64_t kept = 0;
    for (int64_t i = 0; i < total; i++)
        kept += x[i] != 0.0f;
    double mean = 0.7 * (double)total, sd = sqrt((double)total * 0.3 * 0.7); /* binomial */
    cr_assert(fabs((double)kept - mean) < 4.0 * sd, "kept %lld of %lld, expected %.0f +- %.0f",
              (long long)kept, (long long)total, mean, 4.0 * sd);
    pt_site_free(&s);
    rg_free(x);
    rg_plugin_instance_destroy(pi);
}

Test(dropout, backward_multiplies_by_the_forward_mask_over_keep)
{
    rg_plugin_instance *pi = pt_load("dropout:rate=0.5", R);
    int64_t n = 20, f = 333;
    float *x = pt_floats(n * f), *g = pt_floats(n * f), *g0 = pt_floats(n * f);
    pt_fill(x, n * f, 6, 0.1f, 2.0f);
    pt_fill(g0, n * f, 7, -1.0f, 1.0f);
    memcpy(g, g0, (size_t)(n * f) * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 13, n, f);
    pt_forward(&s, RG_MODE_TRAIN, x, n, f);
    pt_backward(&s, x, g, n, f);
    for (int64_t i = 0; i < n * f; i++) {
        float want = x[i] == 0.0f ? 0.0f : g0[i] / 0.5f;
        cr_assert(g[i] == want, "element %lld: grad %.9g, want %.9g", (long long)i,
                  (double)g[i], (double)want);
    }
    pt_site_free(&s);
    rg_free(x);
    rg_free(g);
    rg_free(g0);
    rg_plugin_instance_destroy(pi);
}

/* forward of ones on a stream keyed (seed, 0, step, 12345) -> mask in out */
static void mask_of(rg_plugin_instance *pi, uint64_t seed, uint64_t step, float *out, int64_t n,
                    int64_t f)
{
    pt_site s;
    pt_site_init(&s, pi, seed, n, f);
    rg_rng_stream_init(&s.rng, seed, 0, step, 12345);
    for (int64_t i = 0; i < n * f; i++)
        out[i] = 1.0f;
    pt_forward(&s, RG_MODE_TRAIN, out, n, f);
    pt_site_free(&s);
}

Test(dropout, same_stream_gives_the_same_mask_another_step_or_seed_a_different_one)
{
    rg_plugin_instance *pi = pt_load("dropout", R);
    int64_t n = 8, f = 128, bytes = n * f * (int64_t)sizeof(float);
    float *a = pt_floats(n * f), *b = pt_floats(n * f), *c = pt_floats(n * f), *d = pt_floats(n * f);
    mask_of(pi, 21, 0, a, n, f);
    mask_of(pi, 21, 0, b, n, f);
    mask_of(pi, 21, 1, c, n, f);
    mask_of(pi, 22, 0, d, n, f);
    cr_assert(memcmp(a, b, (size_t)bytes) == 0, "same stream, different masks");
    cr_assert(memcmp(a, c, (size_t)bytes) != 0, "another step gave the same mask");
    cr_assert(memcmp(a, d, (size_t)bytes) != 0, "another seed gave the same mask");
    rg_free(a);
    rg_free(b);
    rg_free(c);
    rg_free(d);
    rg_plugin_instance_destroy(pi);
}

Test(dropout, mask_does_not_depend_on_the_thread_count)
{
    rg_plugin_instance *pi = pt_load("dropout:rate=0.4", R);
    int64_t n = 128, f = 1000; /* many blocks, so two threads really split the work */
    float *a = pt_floats(n * f), *b = pt_floats(n * f);
    rg_threads_init(1);
    mask_of(pi, 5, 3, a, n, f);
    rg_threads_init(2);
    mask_of(pi, 5, 3, b, n, f);
    cr_assert(memcmp(a, b, (size_t)(n * f) * sizeof(float)) == 0);
    rg_free(a);
    rg_free(b);
    rg_plugin_instance_destroy(pi);
}

Test(dropout, rate_zero_is_the_identity_in_training_forward_and_backward)
{
    rg_plugin_instance *pi = pt_load("dropout:rate=0", R);
    int64_t n = 10, f = 99;
    float *x = pt_floats(n * f), *y = pt_floats(n * f), *g = pt_floats(n * f), *g0 = pt_floats(n * f);
    pt_fill(x, n * f, 8, -3.0f, 3.0f);
    pt_fill(g0, n * f, 9, -1.0f, 1.0f);
    memcpy(y, x, (size_t)(n * f) * sizeof(float));
    memcpy(g, g0, (size_t)(n * f) * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 1, n, f);
    pt_forward(&s, RG_MODE_TRAIN, y, n, f);
    pt_backward(&s, y, g, n, f);
    cr_assert(memcmp(x, y, (size_t)(n * f) * sizeof(float)) == 0);
    cr_assert(memcmp(g, g0, (size_t)(n * f) * sizeof(float)) == 0);
    pt_site_free(&s);
    rg_free(x);
    rg_free(y);
    rg_free(g);
    rg_free(g0);
    rg_plugin_instance_destroy(pi);
}

/* L(x) = sum_i r_i * f(x)_i for a fixed stream, in double */
static double weighted_forward(pt_site *s, const float *x, const float *r, float *scratch,
                               int64_t n, int64_t f)
{
    memcpy(scratch, x, (size_t)(n * f) * sizeof(float));
    pt_forward(s, RG_MODE_TRAIN, scratch, n, f);
    double sum = 0.0;
    for (int64_t i = 0; i < n * f; i++)
        sum += (double)r[i] * scratch[i];
    return sum;
}

Test(dropout, backward_matches_finite_differences_of_the_forward)
{
    rg_plugin_instance *pi = pt_load("dropout:rate=0.3", R);
    int64_t n = 6, f = 40;
    float *x = pt_floats(n * f), *r = pt_floats(n * f), *g = pt_floats(n * f), *tmp = pt_floats(n * f);
    pt_fill(x, n * f, 31, -2.0f, 2.0f);
    pt_fill(r, n * f, 32, -1.0f, 1.0f);
    pt_site s;
    pt_site_init(&s, pi, 17, n, f);
    memcpy(tmp, x, (size_t)(n * f) * sizeof(float));
    pt_forward(&s, RG_MODE_TRAIN, tmp, n, f);
    memcpy(g, r, (size_t)(n * f) * sizeof(float));
    pt_backward(&s, tmp, g, n, f);
    const float h = 1e-2f;
    for (int64_t i = 0; i < n * f; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double up = weighted_forward(&s, x, r, tmp, n, f);
        x[i] = keep - h;
        double down = weighted_forward(&s, x, r, tmp, n, f);
        x[i] = keep;
        double fd = (up - down) / ((double)(keep + h) - (double)(keep - h));
        cr_assert(fabs(fd - g[i]) <= 1e-3 * fabs(fd) + 1e-4,
                  "element %lld: finite difference %.9g, backward %.9g", (long long)i, fd,
                  (double)g[i]);
    }
    pt_site_free(&s);
    rg_free(x);
    rg_free(r);
    rg_free(g);
    rg_free(tmp);
    rg_plugin_instance_destroy(pi);
}

Test(dropout, a_4d_activation_is_masked_elementwise_like_its_flat_view)
{
    rg_plugin_instance *pi = pt_load("dropout:rate=0.5", R);
    int64_t shape4[4] = {2, 3, 4, 5}, numel = 120;
    float *x = pt_floats(numel), *y4 = pt_floats(numel), *y2 = pt_floats(numel);
    pt_fill(x, numel, 41, 0.5f, 1.5f);
    memcpy(y4, x, (size_t)numel * sizeof(float));
    memcpy(y2, x, (size_t)numel * sizeof(float));
    pt_site s;
    pt_site_init(&s, pi, 19, 2, 60);
    rg_tensor_view v = pt_view(y4, RG_TENSOR_ACTIVATION, 4, shape4);
    rg_activation_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.mode = RG_MODE_TRAIN;
    c.rng = &s.rng;
    c.state = s.state;
    c.state_bytes = s.state_bytes;
    cr_assert_eq(pi->plugin->reg.activation_forward(pi->inst, &c, &v), RG_OK, "%s",
                 rg_error_message());
    pt_forward(&s, RG_MODE_TRAIN, y2, 2, 60);
    cr_assert(memcmp(y4, y2, (size_t)numel * sizeof(float)) == 0);
    for (int64_t i = 0; i < numel; i++)
        cr_assert(y4[i] == 0.0f || y4[i] == 2.0f * x[i]);
    pt_site_free(&s);
    rg_free(x);
    rg_free(y4);
    rg_free(y2);
    rg_plugin_instance_destroy(pi);
}

Test(dropout, training_without_activation_state_is_refused_with_a_message)
{
    rg_plugin_instance *pi = pt_load("dropout", R);
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t shape[2] = {2, 4};
    rg_tensor_view v = pt_view(x, RG_TENSOR_ACTIVATION, 2, shape);
    rg_rng_stream rng;
    rg_rng_stream_init(&rng, 1, 0, 0, 1);
    rg_activation_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.mode = RG_MODE_TRAIN;
    c.rng = &rng;
    rg_error_clear();
    cr_assert_eq(pi->plugin->reg.activation_forward(pi->inst, &c, &v), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(),
                     "dropout: activation_forward needs 8 bytes of activation state, got 0");
    rg_plugin_instance_destroy(pi);
}

Test(dropout, rate_outside_0_to_1_is_refused_with_the_host_message)
{
    cr_assert_str_eq(pt_load_fails("dropout:rate=1", R),
                     "dropout: parameter rate=1 is out of range [0, 1)");
    cr_assert_str_eq(pt_load_fails("dropout:rate=-0.1", R),
                     "dropout: parameter rate=-0.1 is out of range [0, 1)");
}

/* ---- training on a Fashion-MNIST subset ---------------------------------- */




TestSuite(dropout_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);




Test(dropout_train, attaches_after_every_hidden_relu_or_only_where_after_selects)
{
    pt_run all, one;
    pt_start(&all, "mlp:32,16", 1, 500, "dropout");
    pt_start(&one, "mlp:32,16", 1, 500, "dropout:after=relu1");
    cr_assert_str_eq(rg_trainer_targets(all.trainer, 0), "after:relu1 after:relu2");
    cr_assert_str_eq(rg_trainer_targets(one.trainer, 0), "after:relu1");
    pt_finish(&all);
    pt_finish(&one);
}

/* 1800 training images, 2 x 256 hidden units, 20 epochs: without dropout the
 * net overfits (eval-mode train accuracy ~0.92, test ~0.81; measured gap
 * 0.10-0.12 over seeds 1-6); dropout 0.5 after both ReLUs holds the gap near
 * 0.07 and the loss gap (test loss - train loss) drops from ~0.4 to ~0.2. */
Test(dropout_train, dropout_narrows_the_train_test_gap_at_the_same_seed)
{
    pt_run plain, drop;
    pt_start(&plain, "mlp:256,256", 1, 2000, NULL);
    pt_start(&drop, "mlp:256,256", 1, 2000, "dropout:rate=0.5");
    pt_train(&plain, 20);
    pt_train(&drop, 20);
    rg_eval ptr, pte, dtr, dte;
    cr_assert_eq(rg_trainer_evaluate_train(plain.trainer, &ptr), RG_OK);
    cr_assert_eq(rg_trainer_evaluate(plain.trainer, pt_test_set, &pte), RG_OK);
    cr_assert_eq(rg_trainer_evaluate_train(drop.trainer, &dtr), RG_OK);
    cr_assert_eq(rg_trainer_evaluate(drop.trainer, pt_test_set, &dte), RG_OK);
    double gap_plain = ptr.accuracy - pte.accuracy, gap_drop = dtr.accuracy - dte.accuracy;
    double lgap_plain = pte.loss - ptr.loss, lgap_drop = dte.loss - dtr.loss;
    cr_log_info("no dropout: train %.4f test %.4f (loss %.4f/%.4f); dropout 0.5: train %.4f "
                "test %.4f (loss %.4f/%.4f)", ptr.accuracy, pte.accuracy, ptr.loss, pte.loss,
                dtr.accuracy, dte.accuracy, dtr.loss, dte.loss);
    cr_assert_lt(gap_drop, gap_plain - 0.02, "accuracy gap with dropout %.4f, without %.4f",
                 gap_drop, gap_plain);
    cr_assert_lt(lgap_drop, 0.75 * lgap_plain, "loss gap with dropout %.4f, without %.4f",
                 lgap_drop, lgap_plain);
    cr_assert_gt(dte.accuracy, 0.70, "test accuracy with dropout %.4f", dte.accuracy);
    pt_finish(&plain);
    pt_finish(&drop);
}

/* element-wise masks at their flat index: a data-parallel process's rows (the host offsets
 * their positions) draw what one process draws for them */
Test(dropout, a_batch_cut_across_processes_gives_the_masks_of_one_process)
{
    pt_split_matches_whole("dropout:rate=0.5", 6, 4, 5, 5, 4, 13);
}
