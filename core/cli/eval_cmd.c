/* regula eval CKPT [--data SRC]: the test-set metrics of a saved model.
 * regula predict CKPT IMAGE.png...: its class probabilities for images.
 * Both rebuild the model from the run record in the checkpoint (the
 * --model and --data it was trained with). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "../kernels/kernels.h"
#include "../threads.h"
#include "../train/checkpoint.h"
#include "../train/train.h"
#include "../train/trainer.h"
#include "cli.h"
#include "data.h"
#include "pngfolder.h"

/* The last value of `--flag` among the stored arguments, or NULL. */
static const char *stored_arg(const rg_checkpoint *c, const char *flag, char *buf, size_t cap)
{
    const char *found = NULL;
    int take = 0;
    for (const char *line = c->config; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 4 && !strncmp(line, "arg=", 4)) {
            if (take) {
                snprintf(buf, cap, "%.*s", (int)(len - 4), line + 4);
                found = buf;
            }
            take = len - 4 == strlen(flag) && !strncmp(line + 4, flag, len - 4);
        }
        line = end ? end + 1 : NULL;
    }
    return found;
}

typedef struct loaded {
    rg_checkpoint *ckpt;
    rg_model *model;
    int64_t c, h, w;
    int classes;
    char data[1024];
} loaded;

static rg_status load_model(const char *path, loaded *L)
{
    rg_status st = rg_checkpoint_read(path, &L->ckpt);
    if (st != RG_OK)
        return st;
    char spec_text[512], buf[128];
    rg_model_spec spec;
    if (!stored_arg(L->ckpt, "--model", spec_text, sizeof spec_text))
        snprintf(spec_text, sizeof spec_text, "mlp:512,256");
    if (!stored_arg(L->ckpt, "--data", L->data, sizeof L->data))
        snprintf(L->data, sizeof L->data, "fashion-mnist");
    long long c, h, w;
    if (!rg_checkpoint_config_get(L->ckpt, "model.input", buf, sizeof buf) ||
        sscanf(buf, "%lld,%lld,%lld", &c, &h, &w) != 3 ||
        !rg_checkpoint_config_get(L->ckpt, "model.classes", buf, sizeof buf))
        return rg_error_set(RG_ERR_FORMAT, "%s: holds no run record (save it with regula train "
                            "--save)", path);
    L->c = c;
    L->h = h;
    L->w = w;
    L->classes = atoi(buf);
    if ((st = rg_model_spec_parse(spec_text, &spec)) != RG_OK ||
        (st = rg_model_create(&spec, (rg_shape){c, h, w, 0}, L->classes, &L->model)) != RG_OK)
        return st;
    return rg_checkpoint_apply_model(L->ckpt, path, L->model);
}

static void unload(loaded *L)
{
    rg_model_destroy(L->model);
    rg_checkpoint_free(L->ckpt);
}

/* A trainer without plugins, used only for its eval-mode forward pass. */
static rg_status eval_trainer(rg_model *m, const rg_dataset *ds, rg_trainer **t)
{
    rg_train_config cfg;
    rg_train_config_defaults(&cfg);
    cfg.val_fraction = 0.0;
    cfg.epochs = 0;
    return rg_trainer_create(m, ds, &cfg, t);
}

int rg_cmd_eval(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        printf("usage: regula eval CKPT [--data SRC]\n\nTest-set loss and accuracy of the model "
               "saved in CKPT (regula train --save), on the data it was trained with or SRC.\n");
        return argc < 2 ? 2 : 0;
    }
    const char *data = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data = argv[++i];
        else
            return rg_cli_fail(2, "eval: unexpected argument '%s'", argv[i]);
    }
    rg_threads_init(0);
    loaded L = {0};
    rg_dataset *train = NULL, *test = NULL;
    rg_trainer *t = NULL;
    char where[4096];
    rg_eval ev = {0};
    rg_status st = load_model(argv[1], &L);
    if (st == RG_OK)
        st = rg_cli_open_data(data ? data : L.data, NULL, &train, &test, where, sizeof where);
    if (st == RG_OK && test->c * test->h * test->w != L.c * L.h * L.w)
        st = rg_error_set(RG_ERR_INVALID, "%s: the model takes %lldx%lldx%lld images, %s has "
                          "%lldx%lldx%lld", argv[1], (long long)L.c, (long long)L.h,
                          (long long)L.w, where, (long long)test->c, (long long)test->h,
                          (long long)test->w);
    if (st == RG_OK)
        st = eval_trainer(L.model, test, &t);
    if (st == RG_OK)
        st = rg_trainer_evaluate(t, test, &ev);
    if (st == RG_OK)
        printf("test accuracy %.4f  loss %.4f  (%lld images)\n", ev.accuracy, ev.loss,
               (long long)ev.count);
    rg_trainer_destroy(t);
    rg_dataset_destroy(train);
    rg_dataset_destroy(test);
    unload(&L);
    return st == RG_OK ? 0 : rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "%s", rg_error_message());
}

int rg_cmd_predict(int argc, char **argv)
{
    if (argc < 3 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        printf("usage: regula predict CKPT [--center-crop] IMAGE.png...\n\nPrints the most "
               "likely class and its probability for each image.\n");
        return argc < 3 && !(argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
                   ? 2
                   : 0;
    }
    rg_threads_init(0);
    loaded L = {0};
    rg_status st = load_model(argv[1], &L);
    int crop = 0, first = 2;
    if (argc > 2 && !strcmp(argv[2], "--center-crop")) {
        crop = 1;
        first = 3;
    }
    int64_t n = argc - first, px = L.c * L.h * L.w;
    rg_dataset ds = {0};
    rg_trainer *t = NULL;
    if (st == RG_OK && n < 1)
        st = rg_error_set(RG_ERR_INVALID, "predict: no images given");
    if (st == RG_OK) {
        ds = (rg_dataset){n, L.c, L.h, L.w, L.classes, calloc((size_t)(n * px), 1),
                          calloc((size_t)n, 1), NULL};
        if (!ds.pixels || !ds.labels)
            st = rg_error_set(RG_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; st == RG_OK && i < n; i++)
        st = rg_png_read_image(argv[first + i], L.c, L.h, L.w, crop, ds.pixels + i * px);
    if (st == RG_OK)
        st = eval_trainer(L.model, &ds, &t);
    /* forward in batches, then softmax of the logits */
    int64_t b = 128, k = L.classes;
    for (int64_t start = 0; st == RG_OK && start < n; start += b) {
        int64_t cnt = start + b <= n ? b : n - start;
        int64_t idx[128];
        for (int64_t r = 0; r < cnt; r++)
            idx[r] = start + r;
        st = rg_step_fill_batch(t, &ds, idx, cnt);
        if (st == RG_OK)
            st = rg_step_forward(t, cnt, RG_MODE_EVAL);
        const float *z = t->post[L.model->num_layers - 1];
        for (int64_t r = 0; st == RG_OK && r < cnt; r++) {
            const float *zr = z + r * k;
            int64_t best = 0;
            double mx = zr[0], sum = 0.0;
            for (int64_t j = 1; j < k; j++)
                mx = zr[j] > mx ? zr[j] : mx;
            for (int64_t j = 0; j < k; j++) {
                sum += exp((double)zr[j] - mx);
                if (zr[j] > zr[best])
                    best = j;
            }
            double p = exp((double)zr[best] - mx) / sum;
            printf("%s\tclass %lld", argv[first + start + r], (long long)best);
            if (strcmp(L.data, "fashion-mnist") == 0 && best < 10)
                printf(" (%s)", rg_fashion_mnist_classes[best]);
            printf("\tp=%.4f\n", p);
        }
    }
    rg_trainer_destroy(t);
    free(ds.pixels);
    free(ds.labels);
    unload(&L);
    return st == RG_OK ? 0 : rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "%s", rg_error_message());
}
