/* label_smoothing: training targets t' = (1 - eps) * t + eps / K, as
 * torch.nn.CrossEntropyLoss(label_smoothing=eps), whose loss is
 * (1 - eps) * CE(t) + eps * mean_k(-log p_k). Expected values are computed
 * by hand from those formulas. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "idx.h"
#include "kernels/kernels.h"
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

TestSuite(label_smoothing, .init = init_threads);

static void smooth(rg_plugin_instance *pi, float *t, int64_t n, int64_t k)
{
    int64_t shape[2] = {n, k};
    rg_tensor_view v = pt_view(t, RG_TENSOR_ACTIVATION, 2, shape);
    rg_error_clear();
    cr_assert_eq(pi->plugin->reg.targets(pi->inst, &v), RG_OK, "%s", rg_error_message());
}

Test(label_smoothing, one_hot_rows_of_10_classes_at_eps_0_1_become_0_91_and_0_01)
{
    rg_plugin_instance *pi = pt_load("label_smoothing:epsilon=0.1", R);
    float t[3 * 10] = {0};
    const int label[3] = {0, 4, 9};
    for (int r = 0; r < 3; r++)
        t[r * 10 + label[r]] = 1.0f;
    smooth(pi, t, 3, 10);
    for (int r = 0; r < 3; r++) {
        double sum = 0.0;
        for (int k = 0; k < 10; k++) {
            double want = k == label[r] ? 0.9 * 1.0 + 0.1 / 10 : 0.1 / 10; /* 0.91, 0.01 */
            cr_assert(fabs(t[r * 10 + k] - want) < 1e-7, "row %d class %d: %.9g, want %.9g", r,
                      k, (double)t[r * 10 + k], want);
            sum += t[r * 10 + k];
        }
        cr_assert(fabs(sum - 1.0) < 1e-6, "row %d sums to %.9g", r, sum);
    }
    rg_plugin_instance_destroy(pi);
}

Test(label_smoothing, soft_rows_go_through_the_same_formula)
{
    rg_plugin_instance *pi = pt_load("label_smoothing:epsilon=0.2", R);
    /* a mixup-style row, K = 4: 0.8 * t + 0.05 */
    float t[4] = {0.5f, 0.3f, 0.2f, 0.0f};
    const double want[4] = {0.45, 0.29, 0.21, 0.05};
    smooth(pi, t, 1, 4);
    double sum = 0.0;
    for (int k = 0; k < 4; k++) {
        cr_assert(fabs(t[k] - want[k]) < 1e-7, "class %d: %.9g, want %.9g", k, (double)t[k],
                  want[k]);
        sum += t[k];
    }
    cr_assert(fabs(sum - 1.0) < 1e-6);
    rg_plugin_instance_destroy(pi);
}

Test(label_smoothing, eps_0_keeps_targets_and_eps_1_makes_them_uniform)
{
    rg_plugin_instance *zero = pt_load("label_smoothing:epsilon=0", R);
    rg_plugin_instance *one = pt_load("label_smoothing:epsilon=1", R);
    float a[5] = {0, 0, 1, 0, 0}, b[5] = {0, 0, 1, 0, 0};
    const float orig[5] = {0, 0, 1, 0, 0};
    smooth(zero, a, 1, 5);
    smooth(one, b, 1, 5);
    cr_assert(memcmp(a, orig, sizeof a) == 0);
    for (int k = 0; k < 5; k++)
        cr_assert(fabs(b[k] - 0.2) < 1e-7, "class %d: %.9g", k, (double)b[k]);
    rg_plugin_instance_destroy(zero);
    rg_plugin_instance_destroy(one);
}

/* -log softmax(z)_k in double */
static double nll(const float *z, int64_t k, int64_t cls)
{
    double mx = z[0];
    for (int64_t j = 1; j < k; j++)
        mx = z[j] > mx ? z[j] : mx;
    double s = 0.0;
    for (int64_t j = 0; j < k; j++)
        s += exp((double)z[j] - mx);
    return -((double)z[cls] - mx - log(s));
}

/* PyTorch: (1 - eps) * CE(one-hot) + eps * mean_k(-log p_k), per row */
static double torch_smoothed_ce(const float *z, int64_t k, int64_t label, double eps)
{
    double mean = 0.0;
    for (int64_t j = 0; j < k; j++)
        mean += nll(z, k, j);
    return (1.0 - eps) * nll(z, k, label) + eps * mean / (double)k;
}

Test(label_smoothing, cross_entropy_on_smoothed_targets_equals_the_pytorch_formula)
{
    rg_plugin_instance *pi = pt_load("label_smoothing:epsilon=0.1", R);
    enum { N = 4, K = 10 };
    float z[N * K], t[N * K] = {0}, row[N];
    uint8_t correct[N];
    const int label[N] = {3, 0, 9, 5};
    pt_fill(z, N * K, 77, -4.0f, 4.0f);
    for (int r = 0; r < N; r++)
        t[r * K + label[r]] = 1.0f;
    smooth(pi, t, N, K);
    rg_softmax_xent(N, K, z, t, 0.0f, row, NULL, correct);
    for (int r = 0; r < N; r++) {
        double want = torch_smoothed_ce(z + r * K, K, label[r], 0.1);
        cr_assert(fabs(row[r] - want) <= 1e-5 * want, "row %d: %.9g, want %.9g", r,
                  (double)row[r], want);
    }
    rg_plugin_instance_destroy(pi);
}

/* A tiny in-memory data set (20 examples, 4 features, 3 classes), one batch:
 * the trainer's training loss for that step equals the PyTorch formula on the
 * logits the model had before the step, and its evaluation loss uses the
 * true one-hot targets. */
Test(label_smoothing, trainer_loss_is_the_pytorch_smoothed_loss_and_eval_uses_true_targets)
{
    enum { N = 20, F = 4, K = 3 };
    const double eps = 0.2;
    rg_dataset *ds = calloc(1, sizeof *ds);
    cr_assert_not_null(ds);
    ds->n = N;
    ds->c = F;
    ds->h = ds->w = 1;
    ds->num_classes = K;
    ds->pixels = malloc(N * F);
    ds->labels = malloc(N);
    for (int i = 0; i < N * F; i++)
        ds->pixels[i] = (uint8_t)((i * 37 + 11) % 256);
    for (int i = 0; i < N; i++)
        ds->labels[i] = (uint8_t)(i % K);

    rg_train_config cfg;
    rg_train_config_defaults(&cfg);
    cfg.batch = N;
    cfg.val_fraction = 0.0;
    cfg.seed = 3;
    cfg.regs[0] = pt_load("label_smoothing:epsilon=0.2", R);
    cfg.num_regs = 1;
    rg_model_spec spec;
    cr_assert_eq(rg_model_spec_parse("mlp:8", &spec), RG_OK);
    rg_model *m = NULL;
    cr_assert_eq(rg_model_build(&spec, (rg_shape){F, 1, 1, 1}, K, &m), RG_OK);
    rg_model_init_params(m, 3);
    rg_trainer *t = NULL;
    cr_assert_eq(rg_trainer_create(m, ds, &cfg, &t), RG_OK, "%s", rg_error_message());

    /* logits before the step, and the losses they imply */
    int64_t idx[N];
    for (int i = 0; i < N; i++)
        idx[i] = i;
    cr_assert_eq(rg_step_fill_batch(t, ds, idx, N), RG_OK);
    cr_assert_eq(rg_step_forward(t, N, RG_MODE_EVAL), RG_OK);
    const float *z = t->post[m->num_layers - 1];
    double want_train = 0.0, want_eval = 0.0;
    for (int i = 0; i < N; i++) {
        want_train += torch_smoothed_ce(z + i * K, K, ds->labels[i], eps) / N;
        want_eval += nll(z + i * K, K, ds->labels[i]) / N;
    }
    rg_eval ev;
    cr_assert_eq(rg_trainer_evaluate_train(t, &ev), RG_OK);
    cr_assert(fabs(ev.loss - want_eval) <= 1e-5 * want_eval, "eval loss %.9g, want %.9g",
              ev.loss, want_eval);

    rg_epoch_stats st;
    cr_assert_eq(rg_trainer_run_epoch(t, &st), RG_OK, "%s", rg_error_message());
    cr_assert(fabs(st.train_loss - want_train) <= 1e-5 * want_train,
              "train loss %.9g, want %.9g (unsmoothed would be %.9g)", st.train_loss,
              want_train, want_eval);

    rg_trainer_destroy(t);
    rg_model_destroy(m);
    rg_plugin_instance_destroy(cfg.regs[0]);
    rg_dataset_destroy(ds);
}

Test(label_smoothing, targets_that_are_not_batch_by_classes_are_refused)
{
    rg_plugin_instance *pi = pt_load("label_smoothing", R);
    float t[8] = {0};
    int64_t shape[1] = {8};
    rg_tensor_view v = pt_view(t, RG_TENSOR_ACTIVATION, 1, shape);
    rg_error_clear();
    cr_assert_eq(pi->plugin->reg.targets(pi->inst, &v), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(),
                     "label_smoothing: targets must be [batch, classes], got 1 dims");
    rg_plugin_instance_destroy(pi);
}

Test(label_smoothing, epsilon_outside_0_to_1_is_refused_with_the_host_message)
{
    cr_assert_str_eq(pt_load_fails("label_smoothing:epsilon=1.5", R),
                     "label_smoothing: parameter epsilon=1.5 is out of range [0, 1]");
    cr_assert_str_eq(pt_load_fails("label_smoothing:epsilon=-0.1", R),
                     "label_smoothing: parameter epsilon=-0.1 is out of range [0, 1]");
}

/* ---- training on a Fashion-MNIST subset ---------------------------------- */




TestSuite(label_smoothing_train, .init = pt_load_data, .fini = pt_free_data, .timeout = 300);




/* Mean max-softmax probability of the model over a data set, eval mode. */
static double mean_confidence(pt_run *r, const rg_dataset *ds)
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
            double best = 1e300;
            for (int64_t j = 0; j < k; j++) {
                double v = nll(z + i * k, k, j);
                best = v < best ? v : best;
            }
            sum += exp(-best);
        }
    }
    free(idx);
    return sum / (double)ds->n;
}

/* 1800 images, mlp:256, 20 epochs, seed 1: the mean max-softmax probability
 * on the 10k test images drops from 0.865 without smoothing to 0.651 with
 * eps = 0.2 (the smoothed optimum is 0.82 for the true class), while test
 * accuracy stays (0.79 / 0.81). */
Test(label_smoothing_train, smoothing_lowers_confidence_and_keeps_accuracy)
{
    pt_run plain, ls;
    pt_start(&plain, "mlp:256", 1, 2000, NULL);
    pt_start(&ls, "mlp:256", 1, 2000, "label_smoothing:epsilon=0.2");
    cr_assert_str_eq(rg_trainer_targets(ls.trainer, 0), "");
    pt_train(&plain, 20);
    pt_train(&ls, 20);
    rg_eval pte, lte;
    cr_assert_eq(rg_trainer_evaluate(plain.trainer, pt_test_set, &pte), RG_OK);
    cr_assert_eq(rg_trainer_evaluate(ls.trainer, pt_test_set, &lte), RG_OK);
    double cp = mean_confidence(&plain, pt_test_set), cl = mean_confidence(&ls, pt_test_set);
    cr_log_info("test confidence: none %.4f, eps 0.2 %.4f; accuracy %.4f / %.4f", cp, cl,
                pte.accuracy, lte.accuracy);
    cr_assert_lt(cl, cp - 0.1, "mean confidence with smoothing %.4f, without %.4f", cl, cp);
    cr_assert_gt(lte.accuracy, 0.70, "test accuracy with smoothing %.4f", lte.accuracy);
    pt_finish(&plain);
    pt_finish(&ls);
}

Test(label_smoothing_train, after_is_refused_because_there_is_no_activation_hook)
{
    rg_train_config cfg;
    rg_train_config_defaults(&cfg);
    cfg.train_limit = 500;
    char path[1024];
    snprintf(path, sizeof path, "%s/label_smoothing.so:after=relu1", REGULA_TEST_PLUGINS);
    cr_assert_eq(rg_plugin_instance_create(path, R, NULL, &cfg.regs[0]), RG_OK, "%s",
                 rg_error_message());
    cfg.num_regs = 1;
    rg_model_spec spec;
    cr_assert_eq(rg_model_spec_parse("mlp:16", &spec), RG_OK);
    rg_model *m = NULL;
    cr_assert_eq(rg_model_build(&spec, (rg_shape){784, 1, 1, 1}, 10, &m), RG_OK);
    rg_trainer *t = NULL;
    cr_assert_eq(rg_trainer_create(m, pt_train_set, &cfg, &t), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(), "label_smoothing: after= selects activation sites, "
                                         "but this plugin has no activation hooks (use layers=)");
    rg_model_destroy(m);
    rg_plugin_instance_destroy(cfg.regs[0]);
}
