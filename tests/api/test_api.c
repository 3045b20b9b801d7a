/* The embedding API as a host program sees it: only regula/regula.h, linked against
 * libregula.so (this file sees none of the library's internals). */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_data.h"
#include "regula/regula.h"

static rg_context *ctx;
static char dir[256];

static void setup(void)
{
    rg_context_params p = rg_context_default_params();
    p.threads = 1;
    cr_assert_eq(rg_context_create(&p, &ctx), RG_OK, "%s", rg_last_error());
    snprintf(dir, sizeof dir, "/tmp/regula-api-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    rg_context_destroy(ctx);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(api, .init = setup, .fini = teardown, .timeout = 120);

static rg_recipe *small_recipe(const char *epochs)
{
    rg_recipe *r = NULL;
    cr_assert_eq(rg_recipe_create(ctx, &r), RG_OK, "%s", rg_context_error(ctx));
    cr_assert_eq(rg_recipe_set(r, "model", "mlp:16"), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "epochs", epochs), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "batch", "32"), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "lr", "0.1"), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "val", "0.2"), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "data", "synthetic"), RG_OK);
    return r;
}

/* Probabilities of the model on fixed images: equal bits mean equal weights. */
static void probe(rg_model *m, float *out)
{
    float x[30 * API_PX];
    int32_t y[30];
    api_make_images(30, 99, x, y);
    cr_assert_eq(rg_model_predict(m, x, 30, API_PX, out), RG_OK, "%s", rg_context_error(ctx));
}

Test(api, version_and_defaults)
{
    cr_assert_str_eq(rg_version(), REGULA_VERSION_STRING);
    cr_assert_gt(rg_context_threads(ctx), 0);
    rg_context_params p = rg_context_default_params();
    cr_assert_eq(p.struct_size, sizeof p);
    cr_assert_eq(p.threads, 0);
    p.struct_size = 4;
    rg_context *c = NULL;
    cr_assert_eq(rg_context_create(&p, &c), RG_ERR_VERSION);
    cr_assert_null(c);
    cr_assert(strstr(rg_last_error(), "struct_size 4") != NULL, "%s", rg_last_error());
    rg_context_destroy(NULL);
}

Test(api, recipe_fields_parse_check_and_report_by_field_name)
{
    cr_assert_geq(rg_recipe_field_count(), 30);
    for (int i = 0; i < rg_recipe_field_count(); i++) {
        rg_field_info f = {.struct_size = sizeof f};
        cr_assert_eq(rg_recipe_field(i, &f), RG_OK);
        cr_assert(f.name && *f.name && f.doc && *f.doc, "field %d lacks a name or doc", i);
    }
    rg_recipe *r = NULL;
    cr_assert_eq(rg_recipe_create(ctx, &r), RG_OK);
    cr_assert_str_eq(rg_recipe_get(r, "epochs"), "10");
    cr_assert_str_eq(rg_recipe_get(r, "lr"), "0.05", "sgd's default rate");
    cr_assert_eq(rg_recipe_set(r, "optimizer", "adam"), RG_OK);
    cr_assert_str_eq(rg_recipe_get(r, "lr"), "0.001", "adam's default rate");
    cr_assert_eq(rg_recipe_is_set(r, "lr"), 0);
    cr_assert_eq(rg_recipe_set(r, "epochs", "abc"), RG_ERR_INVALID);
    cr_assert_str_eq(rg_context_error(ctx), "epochs abc: expected an integer");
    cr_assert_eq(rg_recipe_set(r, "batch", "0"), RG_ERR_INVALID);
    cr_assert_str_eq(rg_context_error(ctx), "batch 0: out of range [1, 65536]");
    cr_assert_eq(rg_recipe_set(r, "lr_schedule", "linear"), RG_ERR_INVALID);
    cr_assert_str_eq(rg_context_error(ctx), "lr_schedule linear: expected constant, cosine, "
                                            "step, multistep, exponential or plateau");
    cr_assert_eq(rg_recipe_set(r, "epochz", "3"), RG_ERR_INVALID);
    cr_assert_str_eq(rg_context_error(ctx), "no recipe field named 'epochz'");
    cr_assert_eq(rg_recipe_set(r, "aug_oneof", "hflip"), RG_ERR_INVALID);
    int k = -1;
    cr_assert_eq(rg_recipe_add_plugin(r, "reg", "l2", &k), RG_OK);
    cr_assert_eq(k, 0);
    cr_assert_eq(rg_recipe_set_plugin_param(r, "reg", 0, "lambda", "1e-3"), RG_OK);
    cr_assert_eq(rg_recipe_set_plugin_param(r, "reg", 0, "convention", "keras"), RG_OK);
    cr_assert_str_eq(rg_recipe_get(r, "reg"), "l2:lambda=1e-3,convention=keras");
    cr_assert_eq(rg_recipe_set_plugin_param(r, "reg", 1, "lambda", "1"), RG_ERR_INVALID);
    rg_recipe_destroy(r);
}

Test(api, recipe_json_round_trips_and_bad_json_names_line_and_column)
{
    rg_recipe *r = NULL, *back = NULL;
    cr_assert_eq(rg_recipe_create(ctx, &r), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "lr", "0.1"), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "aug", "hflip:p=0.5"), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "aug_oneof", "rotate;translate"), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "nesterov", "yes"), RG_OK);
    char *json = rg_recipe_to_json(r);
    cr_assert_not_null(json);
    cr_assert(strstr(json, "\"lr\": 0.1,") != NULL, "%s", json);
    cr_assert(strstr(json, "\"nesterov\": true") != NULL, "%s", json);
    cr_assert_eq(rg_recipe_create(ctx, &back), RG_OK);
    cr_assert_eq(rg_recipe_parse_json(back, json, "r.json"), RG_OK, "%s", rg_context_error(ctx));
    char *again = rg_recipe_to_json(back);
    cr_assert_str_eq(again, json);
    cr_assert_str_eq(rg_recipe_get(back, "aug"), "hflip:p=0.5\nrotate;translate");
    rg_free(json);
    rg_free(again);
    cr_assert_eq(rg_recipe_parse_json(back, "{\n  \"epochs\": 3,\n  \"lr\": }", "bad.json"),
                 RG_ERR_FORMAT);
    cr_assert(strncmp(rg_context_error(ctx), "bad.json:3:", 11) == 0, "%s",
              rg_context_error(ctx));
    cr_assert_eq(rg_recipe_parse_json(back, "{\"epoch\": 3}", "x.json"), RG_ERR_INVALID);
    cr_assert_str_eq(rg_context_error(ctx), "x.json: unknown recipe field 'epoch'");
    cr_assert_eq(rg_recipe_parse_json(back, "{\"epochs\": \"3\"}", "x.json"), RG_ERR_INVALID);
    cr_assert(strstr(rg_context_error(ctx), "field epochs: expected an integer") != NULL, "%s",
              rg_context_error(ctx));
    rg_recipe_destroy(r);
    rg_recipe_destroy(back);
}

Test(api, datasets_from_memory_refuse_bad_input_by_index)
{
    float x[4 * API_PX] = {0};
    int32_t y[4] = {0, 1, 2, 1};
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_from_memory(ctx, 4, 1, 6, 6, RG_PIXELS_F32, x, y, 2, 0, &ds),
                 RG_ERR_INVALID);
    cr_assert_str_eq(rg_context_error(ctx), "rg_dataset_from_memory: labels[2] = 2 is outside "
                                            "[0, 2)");
    cr_assert_null(ds);
    cr_assert_eq(rg_dataset_from_memory(ctx, 0, 1, 6, 6, RG_PIXELS_F32, x, y, 0, 0, &ds),
                 RG_ERR_INVALID);
    cr_assert_eq(rg_dataset_from_memory(ctx, 4, 1, 6, 6, RG_PIXELS_F32, NULL, y, 0, 0, &ds),
                 RG_ERR_INVALID);
    x[40] = NAN;
    cr_assert_eq(rg_dataset_from_memory(ctx, 4, 1, 6, 6, RG_PIXELS_F32, x, y, 0, 0, &ds),
                 RG_ERR_INVALID);
    cr_assert(strstr(rg_context_error(ctx), "pixel 40 (image 1) is not finite"), "%s",
              rg_context_error(ctx));
    x[40] = 0;
    cr_assert_eq(rg_dataset_from_memory(ctx, 4, 1, 6, 6, RG_PIXELS_F32, x, y, 0, 0, &ds), RG_OK);
    int64_t n, c, h, w;
    int32_t k;
    cr_assert_eq(rg_dataset_shape(ds, &n, &c, &h, &w, &k), RG_OK);
    cr_assert(n == 4 && c == 1 && h == 6 && w == 6 && k == 3);
    rg_dataset_destroy(ds);
    cr_assert_eq(rg_dataset_open(ctx, "mnist", "train", NULL, &ds), RG_ERR_INVALID);
    cr_assert(strstr(rg_context_error(ctx), "data mnist: expected fashion-mnist"), "%s",
              rg_context_error(ctx));
    cr_assert_eq(rg_dataset_open(ctx, "fashion-mnist", "validation", NULL, &ds), RG_ERR_INVALID);
}

Test(api, null_handles_and_wrong_shapes_are_errors_not_crashes)
{
    cr_assert_eq(rg_run_fit(NULL, NULL), RG_ERR_INVALID);
    cr_assert_eq(rg_run_save(NULL, "x"), RG_ERR_INVALID);
    cr_assert_eq(rg_recipe_set(NULL, "epochs", "1"), RG_ERR_INVALID);
    cr_assert_eq(rg_model_predict(NULL, NULL, 1, 1, NULL), RG_ERR_INVALID);
    cr_assert_eq(rg_dataset_open(NULL, "fashion-mnist", "train", NULL, NULL), RG_ERR_INVALID);
    cr_assert_eq(rg_run_create(ctx, NULL, NULL), RG_ERR_INVALID);
    rg_run_destroy(NULL);
    rg_recipe_destroy(NULL);
    rg_dataset_destroy(NULL);
    rg_model_destroy(NULL);

    rg_recipe *r = small_recipe("1");
    rg_dataset *train = api_dataset(ctx, 90, 1);
    rg_run *run = NULL;
    cr_assert_eq(rg_run_create_with_data(ctx, r, NULL, train, &run), RG_ERR_INVALID,
                 "a test set without a training set");
    /* a test set of another shape */
    float x[10 * 16] = {0};
    int32_t y[10] = {0};
    rg_dataset *odd = NULL;
    cr_assert_eq(rg_dataset_from_memory(ctx, 10, 1, 4, 4, RG_PIXELS_F32, x, y, 3, 0, &odd), RG_OK);
    cr_assert_eq(rg_run_create_with_data(ctx, r, train, odd, &run), RG_ERR_INVALID);
    cr_assert(strstr(rg_context_error(ctx), "must match"), "%s", rg_context_error(ctx));
    cr_assert_eq(rg_run_create_with_data(ctx, r, train, NULL, &run), RG_OK,
                 "%s", rg_context_error(ctx));
    rg_model *m = rg_run_model(run);
    float probs[3];
    cr_assert_eq(rg_model_predict(m, x, 1, 16, probs), RG_ERR_INVALID);
    cr_assert(strstr(rg_context_error(ctx), "16 values per image, the model takes 1x6x6 = 36"),
              "%s", rg_context_error(ctx));
    /* labels the model does not know */
    float x6[10 * API_PX] = {0};
    int32_t y6[10] = {0, 1, 2, 3, 4, 0, 0, 0, 0, 0};
    rg_dataset *more = NULL;
    cr_assert_eq(rg_dataset_from_memory(ctx, 10, 1, 6, 6, RG_PIXELS_F32, x6, y6, 0, 0, &more),
                 RG_OK);
    rg_metrics mt = {.struct_size = sizeof mt};
    cr_assert_eq(rg_model_evaluate(m, more, &mt), RG_ERR_INVALID);
    cr_assert(strstr(rg_context_error(ctx), "labels up to 4, the model knows 3 classes"), "%s",
              rg_context_error(ctx));
    rg_model_destroy(m); /* a run's model goes with the run: this must not free it */
    cr_assert_eq(rg_model_predict(m, x6, 1, API_PX, probs), RG_OK);
    rg_run_destroy(run);
    rg_dataset_destroy(more);
    rg_dataset_destroy(odd);
    rg_dataset_destroy(train);
    rg_recipe_destroy(r);
}

typedef struct counts {
    int batches, epochs, stop_at_batch;
    int64_t last_batches;
    double last_val;
} counts;

static int count_batch(void *user, const rg_batch_info *b)
{
    counts *c = user;
    c->batches++;
    c->last_batches = b->batches;
    return c->stop_at_batch && c->batches == c->stop_at_batch;
}

static int count_epoch(void *user, const rg_epoch_info *e)
{
    counts *c = user;
    c->epochs++;
    c->last_val = e->val_accuracy;
    return 0;
}

Test(api, fit_on_memory_learns_and_reports_through_callbacks)
{
    rg_recipe *r = small_recipe("4");
    rg_dataset *train = api_dataset(ctx, 300, 1), *test = api_dataset(ctx, 150, 2);
    rg_run *run = NULL;
    cr_assert_eq(rg_run_create_with_data(ctx, r, train, test, &run), RG_OK, "%s",
                 rg_context_error(ctx));
    counts c = {0};
    rg_callbacks cb = rg_default_callbacks();
    cb.on_batch = count_batch;
    cb.on_epoch = count_epoch;
    cb.user = &c;
    cr_assert_eq(rg_run_fit(run, &cb), RG_OK, "%s", rg_context_error(ctx));
    /* 240 training images (val 0.2) in batches of 32: 8 per epoch */
    cr_assert_eq(c.last_batches, 8);
    cr_assert_eq(c.batches, 32);
    cr_assert_eq(c.epochs, 4);
    rg_run_result res = {.struct_size = sizeof res};
    cr_assert_eq(rg_run_get_result(run, &res), RG_OK);
    cr_assert_eq(res.state, RG_RUN_COMPLETE);
    cr_assert_eq(res.epochs_done, 4);
    cr_assert_eq(res.train_examples, 240);
    cr_assert_eq(res.val_examples, 60);
    cr_assert_eq(res.test.count, 150);
    cr_assert_gt(res.test.accuracy, 0.9, "test accuracy %g", res.test.accuracy);
    rg_epoch_info e = {.struct_size = sizeof e};
    cr_assert_eq(rg_run_get_epoch(run, 4, &e), RG_OK);
    cr_assert_eq(e.val_accuracy, c.last_val);
    cr_assert_eq(rg_run_get_epoch(run, 5, &e), RG_ERR_INVALID);
    /* the same metrics from rg_run_evaluate */
    rg_metrics mt = {.struct_size = sizeof mt};
    cr_assert_eq(rg_run_evaluate(run, test, &mt), RG_OK);
    cr_assert_eq(mt.accuracy, res.test.accuracy);
    cr_assert_eq(mt.loss, res.test.loss);
    rg_run_destroy(run);
    rg_dataset_destroy(train);
    rg_dataset_destroy(test);
    rg_recipe_destroy(r);
}

Test(api, a_stop_request_ends_the_fit_cleanly_and_the_run_goes_on_mid_epoch)
{
    rg_recipe *r = small_recipe("3");
    rg_dataset *train = api_dataset(ctx, 300, 1);
    float whole[30 * 3], stopped[30 * 3], resumed[30 * 3];
    rg_run *run = NULL;
    cr_assert_eq(rg_run_create_with_data(ctx, r, train, NULL, &run), RG_OK);
    cr_assert_eq(rg_run_fit(run, NULL), RG_OK, "%s", rg_context_error(ctx));
    probe(rg_run_model(run), whole);
    rg_run_destroy(run);

    cr_assert_eq(rg_run_create_with_data(ctx, r, train, NULL, &run), RG_OK);
    counts c = {.stop_at_batch = 11};
    rg_callbacks cb = rg_default_callbacks();
    cb.on_batch = count_batch;
    cb.on_epoch = count_epoch;
    cb.user = &c;
    cr_assert_eq(rg_run_fit(run, &cb), RG_OK, "%s", rg_context_error(ctx));
    cr_assert_eq(c.batches, 11, "no batch after the one that asked to stop");
    rg_run_result res = {.struct_size = sizeof res};
    rg_run_get_result(run, &res);
    cr_assert_eq(res.state, RG_RUN_PAUSED);
    cr_assert_eq(res.epochs_done, 1, "the stopped second epoch is not counted yet");
    /* a checkpoint of the stopped run resumes mid-epoch ... */
    char path[300];
    snprintf(path, sizeof path, "%s/x.ckpt", dir);
    cr_assert_eq(rg_run_save(run, path), RG_OK, "%s", rg_context_error(ctx));
    /* ... and the run itself goes on from the next batch: both end as the whole run */
    c.stop_at_batch = 0;
    cr_assert_eq(rg_run_fit(run, &cb), RG_OK, "%s", rg_context_error(ctx));
    rg_run_get_result(run, &res);
    cr_assert_eq(res.state, RG_RUN_COMPLETE);
    cr_assert_eq(res.epochs_done, 3);
    probe(rg_run_model(run), stopped);
    cr_assert_eq(memcmp(whole, stopped, sizeof whole), 0, "the stopped and continued run differs");
    rg_run_destroy(run);
    rg_recipe *none = NULL;
    cr_assert_eq(rg_recipe_create(ctx, &none), RG_OK);
    cr_assert_eq(rg_run_resume_with_data(ctx, path, none, train, NULL, &run), RG_OK, "%s",
                 rg_context_error(ctx));
    cr_assert_eq(rg_run_fit(run, NULL), RG_OK, "%s", rg_context_error(ctx));
    probe(rg_run_model(run), resumed);
    cr_assert_eq(memcmp(whole, resumed, sizeof whole), 0, "the mid-epoch resume differs");
    rg_run_destroy(run);
    rg_recipe_destroy(none);
    rg_dataset_destroy(train);
    rg_recipe_destroy(r);
}

Test(api, save_then_resume_gives_the_uninterrupted_runs_bits)
{
    rg_dataset *train = api_dataset(ctx, 300, 1), *test = api_dataset(ctx, 90, 2);
    float whole[30 * 3], resumed[30 * 3];
    /* uninterrupted, with Adam so optimizer moments must survive the save */
    rg_recipe *r = small_recipe("4");
    cr_assert_eq(rg_recipe_set(r, "optimizer", "adam"), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "lr", "0.01"), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "lr_schedule", "cosine"), RG_OK);
    rg_run *run = NULL;
    cr_assert_eq(rg_run_create_with_data(ctx, r, train, test, &run), RG_OK);
    cr_assert_eq(rg_run_fit(run, NULL), RG_OK, "%s", rg_context_error(ctx));
    probe(rg_run_model(run), whole);
    rg_run_destroy(run);
    /* two epochs, save, destroy; resume in a new run and finish */
    char path[300];
    snprintf(path, sizeof path, "%s/half.ckpt", dir);
    cr_assert_eq(rg_recipe_set(r, "stop_after", "2"), RG_OK);
    cr_assert_eq(rg_recipe_set(r, "save", path), RG_OK);
    cr_assert_eq(rg_run_create_with_data(ctx, r, train, test, &run), RG_OK);
    cr_assert_eq(rg_run_fit(run, NULL), RG_OK, "%s", rg_context_error(ctx));
    rg_run_result res = {.struct_size = sizeof res};
    rg_run_get_result(run, &res);
    cr_assert_eq(res.state, RG_RUN_PAUSED);
    cr_assert_eq(res.epochs_done, 2);
    rg_run_destroy(run);
    rg_recipe *more = NULL;
    cr_assert_eq(rg_recipe_create(ctx, &more), RG_OK);
    cr_assert_eq(rg_recipe_set(more, "stop_after", "0"), RG_OK);
    cr_assert_eq(rg_run_resume_with_data(ctx, path, more, train, test, &run), RG_OK, "%s",
                 rg_context_error(ctx));
    cr_assert_str_eq(rg_recipe_get(rg_run_recipe(run), "optimizer"), "adam",
                     "unset fields come from the checkpoint");
    cr_assert_eq(rg_run_fit(run, NULL), RG_OK, "%s", rg_context_error(ctx));
    probe(rg_run_model(run), resumed);
    cr_assert_eq(memcmp(whole, resumed, sizeof whole), 0, "resumed run differs");
    rg_run_destroy(run);
    /* a field that may not change is refused with both values */
    cr_assert_eq(rg_recipe_set(more, "batch", "64"), RG_OK);
    cr_assert_eq(rg_run_resume_with_data(ctx, path, more, train, test, &run), RG_ERR_INVALID);
    cr_assert(strstr(rg_context_error(ctx), "batch cannot change in a resumed run") &&
                  strstr(rg_context_error(ctx), "holds '32', the recipe gives '64'"),
              "%s", rg_context_error(ctx));
    cr_assert_null(run);
    /* the model alone, for evaluation */
    rg_model *m = NULL;
    cr_assert_eq(rg_model_load(ctx, path, &m), RG_OK, "%s", rg_context_error(ctx));
    rg_model_info mi = {.struct_size = sizeof mi};
    cr_assert_eq(rg_model_get_info(m, &mi), RG_OK);
    cr_assert(mi.c == 1 && mi.h == 6 && mi.w == 6 && mi.num_classes == 3);
    cr_assert_str_eq(mi.spec, "mlp:16");
    cr_assert_eq(mi.parameters, 36 * 16 + 16 + 16 * 3 + 3);
    rg_model_destroy(m);
    rg_recipe_destroy(more);
    rg_recipe_destroy(r);
    rg_dataset_destroy(train);
    rg_dataset_destroy(test);
}

Test(api, a_borrowed_dataset_reads_the_callers_memory_a_copied_one_does_not)
{
    float x[90 * API_PX];
    int32_t y[90];
    api_make_images(90, 5, x, y);
    rg_dataset *copied = NULL, *borrowed = NULL;
    cr_assert_eq(rg_dataset_from_memory(ctx, 90, 1, 6, 6, RG_PIXELS_F32, x, y, 3, RG_MEMORY_COPY,
                                        &copied), RG_OK);
    cr_assert_eq(rg_dataset_from_memory(ctx, 90, 1, 6, 6, RG_PIXELS_F32, x, y, 3,
                                        RG_MEMORY_BORROW, &borrowed), RG_OK);
    rg_recipe *r = small_recipe("3");
    rg_dataset *train = api_dataset(ctx, 300, 1);
    rg_run *run = NULL;
    cr_assert_eq(rg_run_create_with_data(ctx, r, train, NULL, &run), RG_OK);
    cr_assert_eq(rg_run_fit(run, NULL), RG_OK);
    rg_metrics a = {.struct_size = sizeof a}, b = a, c = a, d = a;
    cr_assert_eq(rg_run_evaluate(run, copied, &a), RG_OK);
    cr_assert_eq(rg_run_evaluate(run, borrowed, &b), RG_OK);
    cr_assert_eq(a.loss, b.loss);
    for (int i = 0; i < 90 * API_PX; i++)
        x[i] = 1.0f - x[i];
    cr_assert_eq(rg_run_evaluate(run, copied, &c), RG_OK);
    cr_assert_eq(rg_run_evaluate(run, borrowed, &d), RG_OK);
    cr_assert_eq(c.loss, a.loss, "the copy must not see the caller's change");
    cr_assert_neq(d.loss, b.loss, "the borrowed set must see the caller's change");
    rg_run_destroy(run);
    rg_recipe_destroy(r);
    rg_dataset_destroy(train);
    rg_dataset_destroy(copied);
    rg_dataset_destroy(borrowed);
}

/* ---- an in-process regularizer: lambda/2 * sum(w^2), compiled into this test ---- */
typedef struct halfsq {
    const rg_host_api *host;
    double lambda;
} halfsq;

static const rg_param_desc halfsq_params[] = {
    RG_PARAM_FLOAT_DESC("lambda", 0.01, 0.0, 10.0, 0, "strength"),
};

static int halfsq_created;

static rg_status halfsq_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    halfsq *h = host->alloc(sizeof *h);
    if (!h)
        return RG_ERR_NOMEM;
    h->host = host;
    h->lambda = params->values[0].number;
    halfsq_created++;
    *inst = h;
    return RG_OK;
}

static void halfsq_destroy(void *inst)
{
    halfsq *h = inst;
    h->host->free(h);
}

static rg_status halfsq_penalty(void *inst, const rg_tensor_view *p, double *loss,
                                rg_tensor_view *g)
{
    halfsq *h = inst;
    double s = 0.0;
    for (int64_t i = 0; i < p->numel; i++) {
        s += (double)p->data[i] * p->data[i];
        g->data[i] += (float)(h->lambda * p->data[i]);
    }
    *loss += 0.5 * h->lambda * s;
    return RG_OK;
}

static const rg_regularizer_hooks halfsq_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .penalty = halfsq_penalty,
};

static const rg_plugin_desc halfsq_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_PENALTY_NONNEG,
    .num_params = 1,
    .name = "halfsq",
    .version = "1.2.3",
    .doc = "lambda/2 * sum(w^2)",
    .params = halfsq_params,
    .create = halfsq_create,
    .destroy = halfsq_destroy,
    .regularizer = &halfsq_hooks,
};

RG_DEFINE_PLUGIN_AS(halfsq_entry, halfsq_desc)

static const rg_plugin_desc tiny_desc = {.struct_size = 8, .name = "tiny"};
RG_DEFINE_PLUGIN_AS(tiny_entry, tiny_desc)

Test(api, an_in_process_plugin_registers_validates_and_trains)
{
    cr_assert_eq(rg_plugin_register(ctx, tiny_entry), RG_ERR_PLUGIN);
    cr_assert_eq(rg_plugin_register(ctx, halfsq_entry), RG_OK, "%s", rg_context_error(ctx));
    cr_assert_eq(rg_plugin_register(ctx, halfsq_entry), RG_ERR_INVALID);
    cr_assert(strstr(rg_context_error(ctx), "halfsq is already registered"), "%s",
              rg_context_error(ctx));
    rg_recipe *r = small_recipe("2");
    cr_assert_eq(rg_recipe_set(r, "reg", "halfsq:lambda=20"), RG_OK);
    rg_dataset *train = api_dataset(ctx, 300, 1);
    rg_run *run = NULL;
    cr_assert_eq(rg_run_create_with_data(ctx, r, train, NULL, &run), RG_ERR_INVALID,
                 "the schema's range is enforced");
    cr_assert(strstr(rg_context_error(ctx), "halfsq: parameter lambda=20 is out of range"),
              "%s", rg_context_error(ctx));
    cr_assert_eq(rg_recipe_reset(r, "reg"), RG_OK);
    int k;
    cr_assert_eq(rg_recipe_add_plugin(r, "reg", "halfsq", &k), RG_OK);
    cr_assert_eq(rg_recipe_set_plugin_param(r, "reg", k, "lambda", "0.5"), RG_OK);
    halfsq_created = 0;
    cr_assert_eq(rg_run_create_with_data(ctx, r, train, NULL, &run), RG_OK, "%s",
                 rg_context_error(ctx));
    cr_assert_eq(halfsq_created, 1);
    cr_assert(strstr(rg_run_describe_plugins(run), "reg halfsq 1.2.3 (halfsq:lambda=0.5) on "
                                                   "dense1.weight dense2.weight"),
              "%s", rg_run_describe_plugins(run));
    cr_assert_eq(rg_run_fit(run, NULL), RG_OK, "%s", rg_context_error(ctx));
    rg_epoch_info e = {.struct_size = sizeof e};
    cr_assert_eq(rg_run_get_epoch(run, 2, &e), RG_OK);
    cr_assert_gt(e.train_penalty, 0.0, "the in-process penalty reached the loss");
    rg_run_destroy(run);
    rg_recipe_destroy(r);
    rg_dataset_destroy(train);
}

/* ---- two contexts on two threads, each bit-identical to its run alone ---- */
typedef struct job {
    uint32_t seed;
    float probs[30 * 3];
    rg_status st;
} job;

static void *train_alone(void *arg)
{
    job *j = arg;
    rg_context_params p = rg_context_default_params();
    p.threads = 1;
    rg_context *c = NULL;
    if ((j->st = rg_context_create(&p, &c)) != RG_OK)
        return NULL;
    rg_recipe *r = NULL;
    rg_recipe_create(c, &r);
    char seed[16];
    snprintf(seed, sizeof seed, "%u", j->seed);
    rg_recipe_set(r, "model", "mlp:32");
    rg_recipe_set(r, "epochs", "3");
    rg_recipe_set(r, "batch", "16");
    rg_recipe_set(r, "seed", seed);
    rg_recipe_set(r, "aug", "pixel_noise:stddev=0.05");
    rg_dataset *train = api_dataset(c, 600, j->seed);
    rg_run *run = NULL;
    j->st = rg_run_create_with_data(c, r, train, NULL, &run);
    if (j->st == RG_OK)
        j->st = rg_run_fit(run, NULL);
    if (j->st == RG_OK) {
        float x[30 * API_PX];
        int32_t y[30];
        api_make_images(30, 99, x, y);
        j->st = rg_model_predict(rg_run_model(run), x, 30, API_PX, j->probs);
    }
    if (j->st != RG_OK)
        fprintf(stderr, "seed %u: %s\n", j->seed, rg_context_error(c));
    rg_run_destroy(run);
    rg_dataset_destroy(train);
    rg_recipe_destroy(r);
    rg_context_destroy(c);
    return NULL;
}

Test(api, two_contexts_train_concurrently_each_as_alone)
{
    job alone[2] = {{.seed = 3}, {.seed = 4}}, both[2] = {{.seed = 3}, {.seed = 4}};
    for (int i = 0; i < 2; i++) {
        train_alone(&alone[i]);
        cr_assert_eq(alone[i].st, RG_OK);
    }
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, train_alone, &both[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(both[i].st, RG_OK);
        cr_assert_eq(memcmp(alone[i].probs, both[i].probs, sizeof alone[i].probs), 0,
                     "seed %u differs when trained next to another context", alone[i].seed);
    }
    cr_assert_neq(memcmp(alone[0].probs, alone[1].probs, sizeof alone[0].probs), 0);
}

Test(api, export_npz_writes_a_zip_of_npy_arrays)
{
    rg_recipe *r = small_recipe("1");
    rg_dataset *train = api_dataset(ctx, 90, 1);
    rg_run *run = NULL;
    cr_assert_eq(rg_run_create_with_data(ctx, r, train, NULL, &run), RG_OK);
    char path[300];
    snprintf(path, sizeof path, "%s/w.npz", dir);
    cr_assert_eq(rg_model_export_npz(rg_run_model(run), path), RG_OK, "%s",
                 rg_context_error(ctx));
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_eq(memcmp(buf, "PK\003\004", 4), 0);
    cr_assert_eq(memcmp(buf + 30, "dense1.weight.npy\x93NUMPY\x01\x00", 25), 0);
    const char *dict = (const char *)buf + 30 + 17 + 10;
    cr_assert_eq(strncmp(dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (16, 36), }",
                         60), 0, "%.70s", dict);
    /* the data of a .npy starts at a multiple of 64 bytes */
    cr_assert_eq((buf[30 + 17 + 8] | buf[30 + 17 + 9] << 8) % 64, 54);
    cr_assert_gt(n, 36u * 16u * 4u);
    rg_run_destroy(run);
    rg_dataset_destroy(train);
    rg_recipe_destroy(r);
}

typedef struct seen {
    int l2, failed;
    uint32_t l2_params;
} seen;

static int visit_plugin(void *user, const rg_plugin_info *p)
{
    seen *s = user;
    if (p->status != RG_OK)
        s->failed++;
    else if (!strcmp(p->name, "l2") && !p->shadowed) {
        s->l2++;
        s->l2_params = p->num_params;
        cr_assert_str_eq(p->kind_name, "regularizer");
        cr_assert_str_eq(p->params[0].name, "lambda");
        char buf[64];
        rg_param_value_text(&p->params[0], NULL, buf, sizeof buf);
        cr_assert_str_eq(buf, "0.0005", "l2's default lambda as a user types it");
    }
    return 0;
}

Test(api, plugins_are_listed_and_validated_by_spec)
{
    seen s = {0};
    cr_assert_eq(rg_plugins_list(ctx, visit_plugin, &s), RG_OK);
    cr_assert_eq(s.l2, 1, "l2 listed once (found next to libregula)");
    cr_assert_eq(s.l2_params, 2);
    cr_assert_eq(s.failed, 0);
    cr_assert_eq(rg_plugin_validate(ctx, "reg", "l2:lambda=1e-3"), RG_OK);
    cr_assert_eq(rg_plugin_validate(ctx, "reg", "l2:lambda=5"), RG_ERR_INVALID);
    cr_assert(strstr(rg_context_error(ctx), "l2: parameter lambda=5 is out of range [0, 1]"),
              "%s", rg_context_error(ctx));
    cr_assert_eq(rg_plugin_validate(ctx, "aug", "l2"), RG_ERR_INVALID);
    cr_assert(strstr(rg_context_error(ctx), "is a regularizer, not a augmenter"), "%s",
              rg_context_error(ctx));
}

Test(api, dataset_read_returns_what_went_in_and_augment_draws_as_training_does)
{
    float x[12 * API_PX], back[2 * API_PX];
    int32_t y[12], lab[2];
    api_make_images(12, 7, x, y);
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_from_memory(ctx, 12, 1, 6, 6, RG_PIXELS_F32, x, y, 3, 0, &ds), RG_OK);
    cr_assert_eq(rg_dataset_read(ds, 10, 2, back, lab), RG_OK);
    cr_assert_eq(memcmp(back, x + 10 * API_PX, sizeof back), 0);
    cr_assert(lab[0] == y[10] && lab[1] == y[11]);
    cr_assert_eq(rg_dataset_read(ds, 11, 2, back, lab), RG_ERR_INVALID);
    rg_recipe *r = small_recipe("1");
    cr_assert_eq(rg_recipe_set(r, "aug", "pixel_noise:stddev=0.1"), RG_OK);
    rg_run *run = NULL;
    cr_assert_eq(rg_run_create_with_data(ctx, r, ds, NULL, &run), RG_OK, "%s",
                 rg_context_error(ctx));
    float a[4 * API_PX], b[4 * API_PX], t[4 * 3] = {0};
    for (int i = 0; i < 4; i++)
        t[i * 3 + y[i]] = 1.0f;
    float none[4 * 3] = {0};
    memcpy(a, x, sizeof a);
    cr_assert_eq(rg_run_augment(run, a, none, 4, 0), RG_ERR_PLUGIN, "all-zero target rows");
    cr_assert(strstr(rg_context_error(ctx), "target row 0 summing to 0"), "%s",
              rg_context_error(ctx));
    memcpy(a, x, sizeof a);
    memcpy(b, x, sizeof b);
    cr_assert_eq(rg_run_augment(run, a, t, 4, 0), RG_OK, "%s", rg_context_error(ctx));
    cr_assert_eq(rg_run_augment(run, b, t, 4, 0), RG_OK);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "the same step draws the same noise");
    cr_assert_neq(memcmp(a, x, sizeof a), 0, "noise was added");
    memcpy(b, x, sizeof b);
    cr_assert_eq(rg_run_augment(run, b, t, 4, 1), RG_OK);
    cr_assert_neq(memcmp(a, b, sizeof a), 0, "another step draws other noise");
    cr_assert_eq(rg_run_augment(run, b, t, 33, 0), RG_ERR_INVALID, "more than a batch");
    rg_run_destroy(run);
    rg_recipe_destroy(r);
    rg_dataset_destroy(ds);
}
