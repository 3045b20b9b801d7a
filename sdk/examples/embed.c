/* Embedding regula in a C program: data generated in memory, a regularizer compiled into
 * this program (no .so), training with our own progress callback, save, reload, predict.
 *
 * Build against an installed regula:
 *   cmake -S . -B build -DCMAKE_PREFIX_PATH=/your/prefix && cmake --build build
 *   cc embed.c $(pkg-config --cflags --libs regula) -lm -o embed
 * Run: ./embed [CHECKPOINT]   (default embed.ckpt) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <regula/plugin.h>
#include <regula/regula.h>

/* ---- a regularizer in the host program: lambda/2 * sum(w^2) (PyTorch's L2 form) ---- */
typedef struct halfsq {
    const rg_host_api *host;
    double lambda;
} halfsq;

static const rg_param_desc halfsq_params[] = {
    RG_PARAM_FLOAT_DESC("lambda", 1e-3, 0.0, 1.0, RG_PARAM_LOG_SCALE, "strength"),
};

static rg_status halfsq_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    halfsq *h = host->alloc(sizeof *h);
    if (!h)
        return RG_ERR_NOMEM;
    h->host = host;
    h->lambda = params->values[0].number;
    *inst = h;
    return RG_OK;
}

static void halfsq_destroy(void *inst)
{
    halfsq *h = inst;
    h->host->free(h);
}

static rg_status halfsq_penalty(void *inst, const rg_tensor_view *w, double *loss,
                                rg_tensor_view *grad)
{
    halfsq *h = inst;
    double sum = 0.0;
    for (int64_t i = 0; i < w->numel; i++) {
        sum += (double)w->data[i] * w->data[i];
        grad->data[i] += (float)(h->lambda * w->data[i]);
    }
    *loss += 0.5 * h->lambda * sum;
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
    .version = "1.0.0",
    .doc = "lambda/2 * sum(w^2), compiled into embed.c",
    .params = halfsq_params,
    .create = halfsq_create,
    .destroy = halfsq_destroy,
    .regularizer = &halfsq_hooks,
};

RG_DEFINE_PLUGIN_AS(halfsq_entry, halfsq_desc)

/* ---- data: 8x8 images of four classes, class k a bright quadrant over noise ---- */
#define SIDE 8
#define PX (SIDE * SIDE)

static void make(int64_t n, unsigned seed, float *x, int32_t *y)
{
    srand(seed);
    for (int64_t i = 0; i < n; i++) {
        int k = (int)(i % 4);
        y[i] = k;
        for (int p = 0; p < PX; p++) {
            int r = p / SIDE, c = p % SIDE, q = (r >= SIDE / 2) * 2 + (c >= SIDE / 2);
            x[i * PX + p] = 0.5f * (float)rand() / (float)RAND_MAX + (q == k ? 0.4f : 0.0f);
        }
    }
}

static int on_epoch(void *user, const rg_epoch_info *e)
{
    (void)user;
    printf("epoch %lld  loss %.4f  penalty %.4f  val acc %.4f\n", (long long)e->epoch,
           e->train_loss, e->train_penalty, e->val_accuracy);
    return 0; /* nonzero would stop the fit cleanly */
}

static int check(rg_context *ctx, rg_status st, const char *what)
{
    if (st != RG_OK)
        fprintf(stderr, "embed: %s: %s\n", what, ctx ? rg_context_error(ctx) : rg_last_error());
    return st != RG_OK;
}

int main(int argc, char **argv)
{
    const char *ckpt = argc > 1 ? argv[1] : "embed.ckpt";
    enum { NTRAIN = 800, NTEST = 200 };
    static float xtr[NTRAIN * PX], xte[NTEST * PX];
    static int32_t ytr[NTRAIN], yte[NTEST];
    make(NTRAIN, 1, xtr, ytr);
    make(NTEST, 2, xte, yte);

    rg_context_params cp = rg_context_default_params();
    cp.threads = 2;
    rg_context *ctx = NULL;
    if (check(NULL, rg_context_create(&cp, &ctx), "context"))
        return 1;
    rg_dataset *train = NULL, *test = NULL;
    rg_recipe *recipe = NULL;
    rg_run *run = NULL;
    rg_model *model = NULL;
    int bad = check(ctx, rg_plugin_register(ctx, halfsq_entry), "register halfsq") ||
              /* borrowed: xtr and xte outlive the datasets */
              check(ctx, rg_dataset_from_memory(ctx, NTRAIN, 1, SIDE, SIDE, RG_PIXELS_F32, xtr,
                                                ytr, 4, RG_MEMORY_BORROW, &train), "train") ||
              check(ctx, rg_dataset_from_memory(ctx, NTEST, 1, SIDE, SIDE, RG_PIXELS_F32, xte,
                                                yte, 4, RG_MEMORY_BORROW, &test), "test") ||
              check(ctx, rg_recipe_create(ctx, &recipe), "recipe");
    int reg = 0;
    bad = bad || check(ctx, rg_recipe_set(recipe, "model", "mlp:32"), "model") ||
          check(ctx, rg_recipe_set(recipe, "epochs", "5"), "epochs") ||
          check(ctx, rg_recipe_set(recipe, "batch", "32"), "batch") ||
          check(ctx, rg_recipe_set(recipe, "lr", "0.1"), "lr") ||
          check(ctx, rg_recipe_set(recipe, "lr_schedule", "cosine"), "lr_schedule") ||
          check(ctx, rg_recipe_add_plugin(recipe, "reg", "halfsq", &reg), "reg") ||
          check(ctx, rg_recipe_set_plugin_param(recipe, "reg", reg, "lambda", "1e-3"), "lambda") ||
          check(ctx, rg_run_create_with_data(ctx, recipe, train, test, &run), "run");
    rg_callbacks cb = rg_default_callbacks();
    cb.on_epoch = on_epoch;
    bad = bad || check(ctx, rg_run_fit(run, &cb), "fit") || check(ctx, rg_run_save(run, ckpt),
                                                                 "save");
    rg_run_result res = {.struct_size = sizeof res};
    bad = bad || check(ctx, rg_run_get_result(run, &res), "result");
    if (!bad)
        printf("test accuracy %.4f on %lld images\n", res.test.accuracy,
               (long long)res.test.count);
    /* reload the saved model alone and predict the first test images */
    bad = bad || check(ctx, rg_model_load(ctx, ckpt, &model), "load");
    float probs[5 * 4];
    bad = bad || check(ctx, rg_model_predict(model, xte, 5, PX, probs), "predict");
    int agree = 0;
    for (int i = 0; !bad && i < 5; i++) {
        int best = 0;
        for (int k = 1; k < 4; k++)
            best = probs[i * 4 + k] > probs[i * 4 + best] ? k : best;
        printf("image %d: class %d (p=%.3f), label %d\n", i, best, probs[i * 4 + best], yte[i]);
        agree += best == yte[i];
    }
    rg_model_destroy(model);
    rg_run_destroy(run);
    rg_recipe_destroy(recipe);
    rg_dataset_destroy(train);
    rg_dataset_destroy(test);
    rg_context_destroy(ctx);
    if (!bad && (res.test.accuracy < 0.9 || agree < 4)) {
        fprintf(stderr, "embed: the model did not learn (accuracy %.4f)\n", res.test.accuracy);
        bad = 1;
    }
    return bad;
}
