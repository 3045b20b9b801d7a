/* What users expect around training (issue 14): the model table against the model's real
 * parameter count, regula info against a known checkpoint, byte-identical checkpoints from
 * two runs, checkpoint series (--save run-{epoch}.ckpt, --keep, --save-best). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "train/checkpoint.h"

#define CLI_RUN_NAME "ckpt"
#include "../cli_run.h"
#define SMALL "--train-limit 600 --threads 2 --seed 3 --no-test --quiet"

/* `regula ARGS` run in tmpdir; its exit code */
static int run(const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return run_regula(1, args);
}

static int exists(const char *name)
{
    char path[256];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return stat(path, &sb) == 0;
}

static void every_line_fits_80_columns(const char *text)
{
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        cr_assert_leq(len, 80, "a line of %zu columns: %.*s", len, (int)len, line);
        cr_assert(len == 0 || line[len - 1] != ' ', "trailing blank: '%.*s'", (int)len, line);
        line = nl ? nl + 1 : line + len;
    }
}

/* the params column of the table row of `layer` ("15,690" -> 15690); -1 if absent */
static long long row_params(const char *text, const char *layer)
{
    char key[40];
    snprintf(key, sizeof key, "\n%-9s ", layer);
    const char *p = strstr(text, key);
    if (!p)
        return -1;
    char row[128];
    sscanf(p + 1, "%127[^\n]", row);
    /* name type output params: the fourth word */
    char name[32], type[32], shape[32], params[32];
    if (sscanf(row, "%31s %31s %31s %31s", name, type, shape, params) != 4)
        return -1;
    long long v = 0;
    for (const char *c = params; *c; c++)
        if (*c != ',')
            v = v * 10 + (*c - '0');
    return v;
}

TestSuite(ckpt_tools, .init = setup, .fini = teardown, .timeout = 180);

Test(ckpt_tools, the_model_table_counts_what_the_layer_formulas_give)
{
    cr_assert_eq(run("info --model conv:8:3,relu,maxpool:2,conv:4:3,relu,flatten,dense:10 "
                     "--reg l2 --reg dropout:after=relu2 " SMALL),
                 0, "%s", err);
    /* conv: out*in*k*k + out; dense: in*out + out (flatten: 4 x 14 x 14) */
    long long conv1 = 8 * 1 * 9 + 8, conv2 = 4 * 8 * 9 + 4, dense1 = 4 * 14 * 14 * 10 + 10;
    cr_assert_eq(row_params(out, "conv1"), conv1, "%s", out);
    cr_assert_eq(row_params(out, "conv2"), conv2, "%s", out);
    cr_assert_eq(row_params(out, "dense1"), dense1, "%s", out);
    cr_assert_eq(row_params(out, "relu1"), 0, "%s", out);
    char total[96];
    snprintf(total, sizeof total, "total: %lld,%03lld trainable parameters in 7 layers",
             (conv1 + conv2 + dense1) / 1000, (conv1 + conv2 + dense1) % 1000);
    cr_assert(strstr(out, total), "'%s' missing:\n%s", total, out);
    cr_assert(strstr(out, "\nconv2     conv     4x14x14"), "%s", out);
    cr_assert(strstr(out, "\nrelu2     relu     4x14x14               0  dropout\n"), "%s", out);
    cr_assert(strstr(out, "\ndense1    dense    10                7,850  l2\n"), "%s", out);
    every_line_fits_80_columns(out);
    /* regula train prints the same table before the first epoch */
    cr_assert_eq(run("train --model conv:8:3,relu,maxpool:2,conv:4:3,relu,flatten,dense:10 "
                     "--epochs 1 --train-limit 300 --threads 2 --no-test"),
                 0, "%s", err);
    cr_assert(strstr(out, total), "'%s' missing:\n%s", total, out);
    every_line_fits_80_columns(out);
}

static double json_number_after(const char *text, const char *anchor, const char *key)
{
    const char *a = strstr(text, anchor);
    cr_assert_not_null(a, "'%s' not in %s", anchor, text);
    const char *k = strstr(a, key);
    cr_assert_not_null(k, "'%s' after '%s' not in %s", key, anchor, text);
    return strtod(k + strlen(key), NULL);
}

Test(ckpt_tools, info_describes_a_known_checkpoint)
{
    cr_assert_eq(run("train --model mlp:16 --epochs 2 --reg l2:lambda=1e-3 --reg dropout:rate=0.25 "
                     "--save run.ckpt " SMALL),
                 0, "%s", err);
    cr_assert_eq(run("info run.ckpt"), 0, "%s", err);
    const char *want[] = {"run.ckpt: written by regula ", " after epoch 2 of 2 (step 10)",
                          "model mlp:16 on fashion-mnist, 12730 parameters, seed 3, 2 threads",
                          "  reg: l2:lambda=1e-3, dropout:rate=0.25\n",
                          "  reg l2 1.1.0 (ABI 1.6)", "    params: lambda=0.001, convention=torch",
                          "    on: dense1.weight, dense2.weight", "  reg dropout 1.0.0",
                          "    on: after:relu1", "\n      1  ", "\n      2  ",
                          "\ndense1    dense    16               12,560", NULL};
    for (int i = 0; want[i]; i++)
        cr_assert(strstr(out, want[i]), "'%s' missing:\n%s", want[i], out);
    cr_assert_null(strstr(out, "\n      3  "), "two epochs only:\n%s", out);
    every_line_fits_80_columns(strstr(out, "layers:"));
    /* the L2 norm and zeros of dense1 against the tensors read from the file */
    char path[128];
    snprintf(path, sizeof path, "%s/run.ckpt", tmpdir);
    rg_checkpoint *c = NULL;
    cr_assert_eq(rg_checkpoint_read(path, &c), RG_OK);
    double ss = 0.0;
    int64_t n = 0, zeros = 0;
    const char *names[] = {"dense1.weight", "dense1.bias"};
    for (int k = 0; k < 2; k++) {
        const rg_ckpt_tensor *t = rg_checkpoint_find(c, names[k]);
        cr_assert_not_null(t, "%s", names[k]);
        for (int64_t i = 0; i < t->numel; i++) {
            float v; /* the file image is not aligned */
            memcpy(&v, (const char *)t->data + i * (int64_t)sizeof v, sizeof v);
            ss += (double)v * v;
            zeros += v == 0.0f;
        }
        n += t->numel;
    }
    rg_checkpoint_free(c);
    cr_assert_eq(run("info run.ckpt --json"), 0, "%s", err);
    double norm = json_number_after(out, "\"name\": \"dense1\"", "\"weight_norm\": ");
    double z = json_number_after(out, "\"name\": \"dense1\"", "\"zeros\": ");
    cr_assert(fabs(norm - sqrt(ss)) <= 1e-6 * sqrt(ss), "norm %.9g, from the file %.9g", norm,
              sqrt(ss));
    cr_assert_float_eq(z, (double)zeros / (double)n, 1e-12);
    cr_assert(strstr(out, "\"history\": [") && strstr(out, "\"val_accuracy\": "), "%s", out);
    /* not a checkpoint */
    cr_assert_eq(run("info out"), 1);
    cr_assert(strstr(err, "regula: ") == err, "%s", err);
    cr_assert_eq(run("info nothing.ckpt"), 1);
    cr_assert(strstr(err, "nothing.ckpt: no such checkpoint file"), "%s", err);
}

static int same_file(const char *a, const char *b)
{
    static char x[1 << 20], y[1 << 20];
    char pa[128], pb[128];
    snprintf(pa, sizeof pa, "%s/%s", tmpdir, a);
    snprintf(pb, sizeof pb, "%s/%s", tmpdir, b);
    FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
    cr_assert(fa && fb);
    size_t na = fread(x, 1, sizeof x, fa), nb = fread(y, 1, sizeof y, fb);
    fclose(fa);
    fclose(fb);
    cr_assert_lt(na, sizeof x);
    return na == nb && memcmp(x, y, na) == 0;
}

Test(ckpt_tools, two_runs_with_the_same_seed_and_threads_write_the_same_bytes)
{
    const char *args = "train --model mlp:32 --epochs 2 --reg l2 --reg dropout --aug hflip "
                       "--save run.ckpt " SMALL;
    cr_assert_eq(run("%s --metrics a.jsonl", args), 0, "%s", err);
    cr_assert_eq(system("true"), 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "mv %s/run.ckpt %s/first.ckpt", tmpdir, tmpdir);
    cr_assert_eq(system(cmd), 0);
    usleep(20000); /* another wall-clock time for every epoch */
    cr_assert_eq(run("%s --metrics a.jsonl", args), 0, "%s", err);
    cr_assert(same_file("first.ckpt", "run.ckpt"), "two runs wrote different checkpoints");
    /* and the comparison can fail: another seed writes other bytes */
    cr_assert_eq(run("train --model mlp:32 --epochs 2 --reg l2 --reg dropout --aug hflip "
                     "--save run.ckpt --metrics a.jsonl --train-limit 600 --threads 2 --seed 4 "
                     "--no-test --quiet"),
                 0, "%s", err);
    cr_assert(!same_file("first.ckpt", "run.ckpt"));
}

Test(ckpt_tools, a_series_keeps_the_last_n_and_the_best_epoch)
{
    cr_assert_eq(run("train --model mlp:16 --epochs 5 --lr 0.3 --save 'run-{epoch:02d}.ckpt' "
                     "--keep 2 --save-best --metrics m.jsonl " SMALL),
                 0, "%s", err);
    cr_assert(!exists("run-01.ckpt") && !exists("run-02.ckpt") && !exists("run-03.ckpt"));
    cr_assert(exists("run-04.ckpt") && exists("run-05.ckpt") && exists("run-best.ckpt"));
    /* the best file holds the epoch of the lowest validation loss in the metrics */
    char path[128], text[1 << 14];
    snprintf(path, sizeof path, "%s/m.jsonl", tmpdir);
    slurp(path, text, sizeof text);
    int best = 0, e = 0;
    double best_loss = INFINITY;
    for (const char *l = text; (l = strstr(l, "\"val_loss\": ")); l++) {
        double v = strtod(l + 12, NULL);
        e++;
        if (v < best_loss)
            best_loss = v, best = e;
    }
    cr_assert_eq(e, 5, "%s", text);
    cr_assert_eq(run("info run-best.ckpt"), 0, "%s", err);
    char want[64];
    snprintf(want, sizeof want, "after epoch %d of 5", best);
    cr_assert(strstr(out, want), "'%s' missing (losses %s):\n%s", want, text, out);
    /* without a series: FILE.best beside FILE */
    cr_assert_eq(run("train --model mlp:16 --epochs 2 --save run.ckpt --save-best " SMALL), 0,
                 "%s", err);
    cr_assert(exists("run.ckpt") && exists("run.best.ckpt"));
}

Test(ckpt_tools, series_flags_that_cannot_work_are_refused_before_training)
{
    cr_assert_eq(run("train --epochs 1 --save run.ckpt --keep 2 " SMALL), 2);
    cr_assert(strstr(err, "--keep 2: needs a series of checkpoints, a file name with {epoch}"), "%s", err);
    cr_assert_eq(run("train --epochs 1 --save 'r-{epoch:x}.ckpt' " SMALL), 2);
    cr_assert(strstr(err, "write {epoch} or {epoch:0Nd}"), "%s", err);
    cr_assert_eq(run("train --epochs 1 --save run.ckpt --save-best --val 0 " SMALL), 2);
    cr_assert(strstr(err, "--save-best needs a validation split"), "%s", err);
    cr_assert(!exists("run.ckpt"));
}
