/* regula info CKPT [--json]: what a checkpoint holds (its recipe, its plugins with versions
 * and parameters, its per-epoch history, each layer's weight norm and zeros).
 * regula info TRAIN-FLAGS: the model table of the run those flags describe, without
 * training it (Keras's model.summary() before fit). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_json.h"
#include "recipe_cli.h"
#include "regula/regula.h"
#include "summary.h"

static const char usage[] =
    "usage: regula info CKPT [--json]\n"
    "       regula info [train options]\n"
    "\n"
    "With a checkpoint (regula train --save): who wrote it, the recipe, the plugins with\n"
    "their versions, parameters and the tensors they act on, the per-epoch history, and a\n"
    "table of the layers with their output shapes, parameters, L2 norm, fraction of exact\n"
    "zeros and the regularizers touching them. --json prints the same as one JSON object.\n"
    "\n"
    "With train options (regula train --help): the layer table of that run, built but not\n"
    "trained, as regula train prints it before the first epoch.\n"
    "\n"
    "exit status: 0 done, 1 unreadable or corrupt checkpoint (or a run that cannot be set\n"
    "up), 2 usage\n";

static void print_value(const json_t *v)
{
    if (json_is_string(v)) {
        fputs(json_string_value(v), stdout);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) {
            if (i)
                fputs(", ", stdout);
            print_value(x);
        }
    } else {
        char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(9));
        fputs(t ? t : "?", stdout);
        free(t);
    }
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

static double number(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* the layer a plugin target names: "dense1.weight" -> dense1, "after:relu1" -> relu1 */
static int targets_layer(const char *target, const char *layer)
{
    const char *t = strncmp(target, "after:", 6) ? target : target + 6;
    size_t n = strlen(layer);
    return !strncmp(t, layer, n) && (t[n] == '\0' || t[n] == '.');
}

typedef struct ckpt_hooks {
    const json_t *plugins;
    const rg_model *model;
} ckpt_hooks;

static void hooks_from_targets(void *user, int layer, char *buf, size_t cap)
{
    const ckpt_hooks *h = user;
    rg_layer_info l = {.struct_size = sizeof l};
    if (rg_model_get_layer(h->model, layer, &l) != RG_OK)
        return;
    size_t len = 0, i;
    const json_t *p;
    json_array_foreach(h->plugins, i, p) {
        const json_t *targets = json_object_get(p, "targets"), *t;
        size_t k;
        int hit = 0;
        json_array_foreach(targets, k, t) hit |= targets_layer(json_string_value(t), l.name);
        if (!hit)
            continue;
        int w = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", str(p, "name"));
        if (w < 0 || (size_t)w >= cap - len)
            return;
        len += (size_t)w;
    }
}

static void print_history(const json_t *hist)
{
    if (!json_array_size(hist)) {
        printf("history: no epoch finished\n");
        return;
    }
    printf("history:\n  epoch  train_loss  train_acc    penalty   val_loss    val_acc\n");
    size_t i;
    const json_t *e;
    json_array_foreach(hist, i, e) {
        printf("  %5lld  %10.4f  %9.4f  %9.3g  %9.4f  %9.4f\n",
               (long long)json_integer_value(json_object_get(e, "epoch")),
               number(e, "train_loss"), number(e, "train_accuracy"), number(e, "train_penalty"),
               number(e, "val_loss"), number(e, "val_accuracy"));
    }
}

static void print_plugins(const json_t *plugins)
{
    if (!json_array_size(plugins)) {
        printf("plugins: none\n");
        return;
    }
    printf("plugins:\n");
    size_t i;
    const json_t *p;
    json_array_foreach(plugins, i, p) {
        printf("  %s %s %s (ABI %s)  %s\n", str(p, "role"), str(p, "name"), str(p, "version"),
               str(p, "abi"), str(p, "path"));
        const char *key;
        const json_t *v;
        int first = 1;
        json_object_foreach((json_t *)json_object_get(p, "params"), key, v) {
            printf("%s%s=", first ? "    params: " : ", ", key);
            print_value(v);
            first = 0;
        }
        if (!first)
            printf("\n");
        if (json_array_size(json_object_get(p, "targets"))) {
            printf("    on: ");
            print_value(json_object_get(p, "targets"));
            printf("\n");
        }
    }
}

static int describe(const char *path, int as_json)
{
    rg_context_params cp = rg_context_default_params();
    cp.log = rg_cli_log;
    rg_context *ctx = NULL;
    rg_model *m = NULL;
    char *text = NULL;
    rg_status st = rg_context_create(&cp, &ctx);
    if (st == RG_OK)
        st = rg_checkpoint_describe(ctx, path, &text);
    if (st == RG_OK)
        st = rg_model_load(ctx, path, &m);
    if (st != RG_OK) {
        int code = rg_cli_fail(1, "%s", ctx ? rg_context_error(ctx) : rg_last_error());
        rg_free(text);
        rg_context_destroy(ctx);
        return code;
    }
    json_t *o = json_loads(text, 0, NULL);
    rg_free(text);
    int code = 0;
    if (!o) {
        code = rg_cli_fail(1, "%s: unreadable description", path);
    } else if (as_json) {
        json_t *layers = json_array();
        for (int i = 0; i < rg_model_layer_count(m); i++) {
            rg_layer_info l = {.struct_size = sizeof l};
            rg_model_get_layer(m, i, &l);
            json_array_append_new(
                layers, json_pack("{s:s, s:s, s:[I,I,I], s:I, s:f, s:o}", "name", l.name, "type",
                                  l.type, "output", (json_int_t)l.out_c, (json_int_t)l.out_h,
                                  (json_int_t)l.out_w, "parameters", (json_int_t)l.parameters,
                                  "weight_norm", l.weight_norm, "zeros",
                                  isfinite(l.zeros) ? json_real(l.zeros) : json_null()));
        }
        json_object_set_new(o, "layers", layers);
        code = rg_cli_json_print(stdout, o) ? rg_cli_fail(1, "write error") : 0;
    } else {
        const json_t *state = json_object_get(o, "state");
        const json_t *recipe = json_object_get(o, "recipe");
        const json_t *epochs = json_object_get(recipe, "epochs");
        printf("%s: written by regula %s after epoch %lld of %.0f (step %lld)\n", path,
               str(o, "regula_version"),
               (long long)json_integer_value(json_object_get(o, "epochs_done")),
               json_is_number(epochs)   ? json_number_value(epochs)
               : json_is_string(epochs) ? atof(json_string_value(epochs))
                                        : NAN,
               (long long)json_integer_value(json_object_get(state, "step")));
        printf("model %s on %s, %lld parameters, seed %lld, %lld threads\n", str(o, "model"),
               str(o, "data"), (long long)json_integer_value(json_object_get(o, "parameters")),
               (long long)json_integer_value(json_object_get(o, "seed")),
               (long long)json_integer_value(json_object_get(o, "threads")));
        printf("recipe:\n");
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)recipe, key, v) {
            printf("  %s: ", key);
            print_value(v);
            printf("\n");
        }
        const json_t *plugins = json_object_get(o, "plugins");
        print_plugins(plugins);
        print_history(json_object_get(o, "history"));
        printf("layers:\n");
        ckpt_hooks h = {plugins, m};
        rg_cli_model_table(stdout, m, 1, hooks_from_targets, &h);
    }
    json_decref(o);
    rg_model_destroy(m);
    rg_context_destroy(ctx);
    return code;
}

static void run_hooks(void *user, int layer, char *buf, size_t cap)
{
    if (rg_run_layer_hooks(user, layer, buf, cap) != RG_OK)
        snprintf(buf, cap, "?");
}

/* the table of the run the train options describe, built (data, plugins) but not trained */
static int table_of_run(int argc, char **argv)
{
    rg_context_params cp = rg_context_default_params();
    cp.log = rg_cli_log;
    rg_context *ctx = NULL;
    rg_recipe *r = NULL;
    rg_run *run = NULL;
    rg_cli_train_extra x;
    char err[4096] = "";
    rg_status st = rg_context_create(&cp, &ctx);
    if (st == RG_OK)
        st = rg_recipe_create(ctx, &r);
    if (st == RG_OK && rg_cli_recipe_parse(argc, argv, "info", r, &x, err, sizeof err) != RG_OK) {
        rg_recipe_destroy(r);
        rg_context_destroy(ctx);
        return rg_cli_fail(2, "%s", err);
    }
    if (st == RG_OK)
        st = rg_run_create(ctx, r, &run);
    int code = 0;
    if (st != RG_OK) {
        code = rg_cli_fail(1, "%s", ctx ? rg_context_error(ctx) : rg_last_error());
    } else {
        char line[4096];
        snprintf(line, sizeof line, "%s on %s (not trained)", rg_recipe_get(r, "model"),
                 rg_recipe_get(r, "data"));
        rg_cli_print_wrapped(stdout, line, 4);
        rg_cli_print_plugins(stdout, rg_run_describe_plugins(run));
        rg_cli_model_table(stdout, rg_run_model(run), 0, run_hooks, run);
    }
    rg_run_destroy(run);
    rg_recipe_destroy(r);
    rg_context_destroy(ctx);
    return code;
}

int rg_cmd_info(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(usage, stdout);
        return 0;
    }
    struct stat sb;
    if (argc >= 2 && argv[1][0] != '-' && stat(argv[1], &sb) == 0 && S_ISREG(sb.st_mode)) {
        int as_json = 0;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--json"))
                return rg_cli_fail(2, "info: unexpected argument '%s' after the checkpoint "
                                   "(see regula info --help)", argv[i]);
            as_json = 1;
        }
        return describe(argv[1], as_json);
    }
    if (argc >= 2 && argv[1][0] != '-')
        return rg_cli_fail(1, "info: %s: no such checkpoint file", argv[1]);
    return table_of_run(argc, argv);
}
