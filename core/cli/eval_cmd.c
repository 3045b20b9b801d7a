/* regula eval CKPT [--data SRC]: the test-set metrics of a saved model.
 * regula export CKPT --npz OUT.npz: its parameters and buffers for NumPy and PyTorch.
 * regula predict CKPT IMAGE.png...: its class probabilities for images.
 * Both load the model with rg_model_load (the spec and data source it was trained with
 * come from the checkpoint). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "regula/regula.h"

static int fail(rg_status st, const char *msg)
{
    return rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "%s", msg);
}

/* A context logging to stderr, and the model saved in path with its info. On failure the
 * message is on *ctx, or in rg_last_error() when *ctx is NULL. */
static rg_status open_model(const char *path, rg_context **ctx, rg_model **m, rg_model_info *mi)
{
    rg_context_params cp = rg_context_default_params();
    cp.log = rg_cli_log;
    *m = NULL;
    rg_status st = rg_context_create(&cp, ctx);
    if (st == RG_OK)
        st = rg_model_load(*ctx, path, m);
    if (st == RG_OK)
        st = rg_model_get_info(*m, mi);
    return st;
}

static const char *message(const rg_context *ctx)
{
    return ctx ? rg_context_error(ctx) : rg_last_error();
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
    rg_context *ctx = NULL;
    rg_model *m = NULL;
    rg_dataset *test = NULL;
    rg_metrics ev = {.struct_size = sizeof ev};
    rg_model_info mi = {.struct_size = sizeof mi};
    rg_status st = open_model(argv[1], &ctx, &m, &mi);
    if (st == RG_OK)
        st = rg_dataset_open(ctx, data ? data : *mi.data ? mi.data : "fashion-mnist", "test",
                             NULL, &test);
    if (st == RG_OK)
        st = rg_model_evaluate(m, test, &ev);
    if (st == RG_OK)
        printf("test accuracy %.4f  loss %.4f  (%lld images)\n", ev.accuracy, ev.loss,
               (long long)ev.count);
    int code = st == RG_OK ? 0 : fail(st, message(ctx));
    rg_dataset_destroy(test);
    rg_model_destroy(m);
    rg_context_destroy(ctx);
    return code;
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
    rg_context *ctx = NULL;
    rg_model *m = NULL;
    rg_model_info mi = {.struct_size = sizeof mi};
    rg_status st = open_model(argv[1], &ctx, &m, &mi);
    int crop = 0, first = 2;
    if (argc > 2 && !strcmp(argv[2], "--center-crop")) {
        crop = 1;
        first = 3;
    }
    int64_t n = argc - first, px = mi.c * mi.h * mi.w, k = mi.num_classes;
    float *x = NULL, *probs = NULL;
    const char *msg = NULL;
    if (st == RG_OK && n < 1) {
        st = RG_ERR_INVALID;
        msg = "predict: no images given";
    }
    if (st == RG_OK) {
        x = malloc((size_t)(n * px) * sizeof *x);
        probs = malloc((size_t)(n * k) * sizeof *probs);
        if (!x || !probs) {
            st = RG_ERR_NOMEM;
            msg = "out of memory";
        }
    }
    for (int64_t i = 0; st == RG_OK && i < n; i++)
        st = rg_image_read_png(ctx, argv[first + i], mi.c, mi.h, mi.w, crop, x + i * px);
    if (st == RG_OK)
        st = rg_model_predict(m, x, n, px, probs);
    for (int64_t r = 0; st == RG_OK && r < n; r++) {
        const float *pr = probs + r * k;
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            if (pr[j] > pr[best])
                best = j;
        printf("%s\tclass %lld", argv[first + r], (long long)best);
        if (rg_cli_class_name(mi.data, best))
            printf(" (%s)", rg_cli_class_name(mi.data, best));
        printf("\tp=%.4f\n", pr[best]);
    }
    int code = st == RG_OK ? 0 : fail(st, msg ? msg : message(ctx));
    free(x);
    free(probs);
    rg_model_destroy(m);
    rg_context_destroy(ctx);
    return code;
}

int rg_cmd_export(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: regula export CKPT --npz OUT.npz\n\nWrites every parameter and buffer "
               "of the model saved in CKPT as float32 arrays named <layer>.weight, "
               "<layer>.bias, <layer>.running_mean, ... in PyTorch's layouts; numpy.load reads "
               "the file.\n");
        return 0;
    }
    if (argc != 4 || strcmp(argv[2], "--npz"))
        return rg_cli_fail(2, "export: usage: regula export CKPT --npz OUT.npz");
    rg_context *ctx = NULL;
    rg_model *m = NULL;
    rg_model_info mi = {.struct_size = sizeof mi};
    rg_status st = open_model(argv[1], &ctx, &m, &mi);
    if (st == RG_OK)
        st = rg_model_export_npz(m, argv[3]);
    if (st == RG_OK)
        printf("wrote %s\n", argv[3]);
    int code = st == RG_OK ? 0 : fail(st, message(ctx));
    rg_model_destroy(m);
    rg_context_destroy(ctx);
    return code;
}
