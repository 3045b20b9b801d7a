/* The regula command as a user meets it: every bad input gets one clear
 * line on stderr and a non-zero exit, never a crash. */
#include <ctype.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define CLI_RUN_NAME "cli"
#include "../cli_run.h"

/* Runs `regula ARGS`, returns its exit code (128+signal if it crashed). */
static int run(const char *args)
{
    return run_regula(0, args);
}

static void expect_failure(const char *args, const char *message)
{
    int code = run(args);
    cr_assert(code == 1 || code == 2, "exit %d for '%s' (stderr: %s)", code, args, err);
    cr_assert(strstr(err, message) != NULL, "stderr '%s' lacks '%s'", err, message);
    cr_assert(strncmp(err, "regula: ", 8) == 0, "stderr must start with 'regula: ': %s", err);
    cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "more than one line: %s", err);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

Test(cli, help_documents_every_train_flag)
{
    cr_assert_eq(run("train --help"), 0);
    const char *flags[] = {"--data", "--model", "--epochs", "--batch", "--optimizer", "--lr",
                           "--momentum", "--nesterov", "--seed", "--threads", "--val",
                           "--train-limit", "--reg", "--aug", "--summary", "--save", "--lr-schedule", NULL};
    for (int i = 0; flags[i]; i++)
        cr_assert(strstr(out, flags[i]) != NULL, "train --help lacks %s", flags[i]);
    cr_assert_eq(run("--help"), 0);
    cr_assert(strstr(out, "REGULA_THREADS") && strstr(out, "REGULA_PLUGIN_PATH") &&
              strstr(out, "REGULA_PLUGIN_DEBUG") && strstr(out, "train") &&
              strstr(out, "plugins"));
}

Test(cli, unknown_command_and_flag)
{
    expect_failure("frobnicate", "unknown command 'frobnicate'");
    expect_failure("train --bogus 3", "train: unknown option '--bogus'");
    expect_failure("train --epochs", "train: --epochs needs a value");
}

Test(cli, bad_numbers)
{
    expect_failure("train --epochs abc", "--epochs abc: expected an integer");
    expect_failure("train --lr 0.1x", "--lr 0.1x: expected a number");
    expect_failure("train --batch 0", "--batch 0: out of range [1, 65536]");
    expect_failure("train --val 1.5", "--val 1.5: out of range [0, 0.99]");
    expect_failure("train --optimizer rmsprop", "--optimizer rmsprop: expected sgd or adam");
    expect_failure("train --model mlp:12,x", "--model mlp:12,x: bad layer width at 'x'");
}

Test(cli, unknown_plugin_and_bad_plugin_parameters)
{
    expect_failure("train --reg nope", "unknown plugin 'nope'");
    expect_failure("train --reg l2:lambda=5", "l2: parameter lambda=5 is out of range [0, 1]");
    expect_failure("train --reg l2:gamma=1", "l2: unknown parameter 'gamma'");
    expect_failure("train --reg l2:lambda=abc", "l2: parameter lambda=abc is not a number");
    expect_failure("train --aug l2", "plugin l2 is a regularizer, not a augmenter");
    expect_failure("train --reg " REGULA_TEST_FIXTURES "/fixture_no_entry.so",
                   "not a regula plugin");
}

Test(cli, missing_data_directory_names_the_files)
{
    expect_failure("train --data idx:/nonexistent/fm", "/nonexistent/fm/train-images-idx3-ubyte");
    expect_failure("train --data mnist", "--data mnist: expected fashion-mnist, idx:DIR, png:DIR or csv:DIR");
}

static void write_idx(const char *path, const unsigned char *header, size_t hlen, size_t body)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite(header, 1, hlen, f);
    for (size_t i = 0; i < body; i++)
        fputc((int)(i % 10), f);
    fclose(f);
}

Test(cli, truncated_idx_file_reports_file_and_byte_offset)
{
    char p[256];
    /* 100 images of 28x28 promised, 1000 pixel bytes present */
    unsigned char img[16] = {0, 0, 8, 3, 0, 0, 0, 100, 0, 0, 0, 28, 0, 0, 0, 28};
    unsigned char lab[8] = {0, 0, 8, 1, 0, 0, 0, 100};
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", tmpdir);
    write_idx(p, img, 16, 1000);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", tmpdir);
    write_idx(p, lab, 8, 100);
    char args[256];
    snprintf(args, sizeof args, "train --data idx:%s", tmpdir);
    char msg[256];
    snprintf(msg, sizeof msg, "%s/train-images-idx3-ubyte: truncated at byte 1016", tmpdir);
    expect_failure(args, msg);
}

Test(cli, corrupt_idx_magic_reports_what_was_expected)
{
    char p[256];
    unsigned char img[16] = {0, 0, 8, 1, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28};
    unsigned char lab[8] = {0, 0, 8, 1, 0, 0, 0, 1};
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", tmpdir);
    write_idx(p, img, 16, 784);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", tmpdir);
    write_idx(p, lab, 8, 1);
    char args[256];
    snprintf(args, sizeof args, "train --data idx:%s", tmpdir);
    expect_failure(args, "byte 0: expected IDX magic 00 00 08 03");
}

Test(cli, plain_progress_lines_when_stdout_is_not_a_tty)
{
    /* on a pipe: the epoch line only, unless --log-every N asks for a line every N batches */
    cr_assert_eq(run("train --model mlp:16 --epochs 1 --train-limit 2000 --val 0.1 --threads 2"),
                 0, "%s", err);
    cr_assert(strstr(out, "epoch  train loss     acc   penalty  val loss     acc  seconds\n"
                          "    1  ") != NULL, "%s", out);
    cr_assert_null(strstr(out, "/1 batch "), "%s", out);
    cr_assert_null(strchr(out, '\r'), "no redraws on a pipe: %s", out);
    cr_assert_eq(run("train --model mlp:16 --epochs 1 --train-limit 2000 --val 0.1 --threads 2 "
                     "--log-every 5"),
                 0, "%s", err);
    /* 15 batches of 128: lines at 5 and 10 (after the 15th, the epoch row) */
    cr_assert(strstr(out, "  epoch 1/1 batch 5/15  loss "), "%s", out);
    cr_assert(strstr(out, "  epoch 1/1 batch 10/15  loss "), "%s", out);
    cr_assert_null(strstr(out, "batch 15/15"), "%s", out);
    cr_assert_null(strstr(out, "batch 4/15"), "%s", out);
    cr_assert(strstr(out, " img/s  ETA 0:"), "%s", out);
}

Test(cli, log_every_adds_step_records_with_a_timestamp_to_the_metrics)
{
    char args[512];
    snprintf(args, sizeof args,
             "train --model mlp:16 --epochs 2 --train-limit 2000 --val 0.1 --threads 2 "
             "--log-every 4 --metrics %s/m.jsonl --reg l2 --quiet",
             tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    char path[128], text[1 << 15];
    snprintf(path, sizeof path, "%s/m.jsonl", tmpdir);
    slurp(path, text, sizeof text);
    /* the run record; 15 steps an epoch: step records at 4, 8, 12 and 16, 20, 24, 28; epoch
     * lines at 15, 30 */
    int steps = 0, epochs = 0;
    for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
        static const char head[] = "{\"record\": \"step\", \"step\": ";
        if (l == text) { /* the run record opens the file */
            cr_assert(!strncmp(l, "{\"record\": \"run\", \"model\": \"mlp:16\"", 35) &&
                          strstr(l, "\"regularizers\": \"l2\""),
                      "%.300s", l);
        } else if (!strncmp(l, head, strlen(head))) {
            long long s = strtoll(l + strlen(head), NULL, 10);
            cr_assert_eq(s % 4, 0, "%.100s", l);
            cr_assert(strstr(l, "\"loss\": ") && strstr(l, "\"lr\": 0.05") &&
                          strstr(l, "\"penalty\": "),
                      "%.200s", l);
            steps++;
        } else {
            epochs++;
            cr_assert(strstr(l, epochs == 1 ? "\"step\": 15, \"time\": \"20"
                                            : "\"step\": 30, \"time\": \"20"),
                      "%.300s", l);
        }
        cr_assert(strstr(l, "\"time\": \"20") && strstr(l, "Z\"}"), "%.300s", l);
        if (!strchr(l, '\n'))
            break;
    }
    cr_assert_eq(steps, 7, "%s", text);
    cr_assert_eq(epochs, 2, "%s", text);
    /* the learning-curve plot reads the epoch records and leaves the step records out */
    snprintf(args, sizeof args, "plot %s/m.jsonl -o %s/m.png", tmpdir, tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    cr_assert(strstr(out, ": 2 epochs"), "%s", out);
}

Test(cli, plugins_lists_l2_with_its_schema)
{
    cr_assert_eq(run("plugins"), 0, "%s", err);
    cr_assert(strstr(out, "l2  regularizer 1.1.0  (ABI 1.6)") != NULL, "%s", out);
    cr_assert(strstr(out, "lambda") && strstr(out, "convention") && strstr(out, "[0, 1]"), "%s",
              out);
    cr_assert_eq(run("plugins --json"), 0);
    cr_assert(strstr(out, "\"name\": \"l2\"") != NULL, "%s", out);
}

Test(cli, plugin_debug_traces_discovery_and_negotiation)
{
    setenv("REGULA_PLUGIN_DEBUG", "1", 1);
    int code = run("plugins");
    unsetenv("REGULA_PLUGIN_DEBUG");
    cr_assert_eq(code, 0, "%s", err);
    cr_assert(strstr(err, "plugin search dir") != NULL, "%s", err);
    cr_assert(strstr(err, "host offers ABI 1.6, plugin answers 1.6") != NULL, "%s", err);
}

Test(cli, small_training_run_writes_summary_and_checkpoint)
{
    char args[512];
    snprintf(args, sizeof args,
             "train --model mlp:32 --epochs 1 --train-limit 600 --val 0.2 --threads 2 --quiet "
             "--reg l2:lambda=1e-4 --summary %s/s.json --save %s/m.ckpt",
             tmpdir, tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    cr_assert(strstr(out, "test accuracy") != NULL, "%s", out);
    /* the epoch row under its heads: 1, train loss and accuracy, l2's penalty, the
     * validation loss and accuracy, seconds */
    const char *row = strstr(out, "  seconds\n");
    cr_assert_not_null(row, "%s", out);
    int epoch = 0;
    double tl, ta, pen, vl, va, sec;
    cr_assert_eq(sscanf(row + 10, "%d %lf %lf %lf %lf %lf %lf", &epoch, &tl, &ta, &pen, &vl,
                        &va, &sec), 7, "%s", out);
    cr_assert(epoch == 1 && tl > 0 && ta > 0 && ta <= 1 && pen > 0 && vl > 0 && va > 0 &&
              va <= 1 && sec >= 0, "%s", out);
    cr_assert_eq(strstr(out, "\r"), NULL, "no carriage returns when stdout is not a TTY");
    char path[128], json[1 << 15];
    snprintf(path, sizeof path, "%s/s.json", tmpdir);
    slurp(path, json, sizeof json);
    const char *keys[] = {"\"test_accuracy\"", "\"test_loss\"", "\"train_accuracy\"",
                          "\"train_loss\"", "\"val_accuracy\"", "\"epochs\": 1",
                          "\"seconds_per_epoch\"", "\"plugins\"", "\"name\": \"l2\"",
                          "\"version\": \"1.1.0\"", "\"lambda\": 0.0001", "\"abi\": \"1.6\"",
                          "\"train_examples\": 480", "\"val_examples\": 120", NULL};
    for (int i = 0; keys[i]; i++)
        cr_assert(strstr(json, keys[i]) != NULL, "summary lacks %s:\n%s", keys[i], json);
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; json.load(open(sys.argv[1]))' %s/s.json", tmpdir);
    cr_assert_eq(system(cmd), 0, "summary is not valid JSON");
    snprintf(path, sizeof path, "%s/m.ckpt", tmpdir);
    cr_assert_eq(access(path, R_OK), 0, "checkpoint missing");
    /* the checkpoint records which plugins (and versions, parameters) made it */
    char ckpt[1 << 14];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    size_t n = fread(ckpt, 1, sizeof ckpt - 1, f);
    fclose(f);
    ckpt[n] = '\0';
    cr_assert_eq(memcmp(ckpt, "RGCKPT02", 8), 0);
    const char *meta = ckpt + 12;
    cr_assert(strstr(meta, "\"name\": \"l2\"") && strstr(meta, "\"version\": \"1.1.0\"") &&
                  strstr(meta, "\"abi\": \"1.6\"") && strstr(meta, "\"lambda\": 0.0001"),
              "checkpoint metadata lacks the plugin identity: %s", meta);
}

Test(cli, exported_fashion_mnist_png_folders_train_end_to_end)
{
    char args[512], path[512];
    snprintf(args, sizeof args, "dataset export fashion-mnist --png %s/fm --limit 300", tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    cr_assert(strstr(out, "wrote 300 training and 300 test images") != NULL, "%s", out);
    /* the first training image of Fashion-MNIST is an ankle boot (label 9) */
    snprintf(path, sizeof path, "%s/fm/train/09_ankle_boot/00000.png", tmpdir);
    cr_assert_eq(access(path, R_OK), 0, "missing %s", path);
    snprintf(args, sizeof args,
             "train --data png:%s/fm --model mlp:32 --epochs 1 --threads 2 --quiet", tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    cr_assert(strstr(out, "(300 images)") != NULL, "%s", out);
    snprintf(args, sizeof args, "dataset export fashion-mnist --png %s/fm --limit 300", tmpdir);
    cr_assert_eq(run(args), 1);
    cr_assert(strstr(err, "exists and is not empty") != NULL, "%s", err);
}

Test(cli, csv_folder_trains_and_bad_rows_name_row_and_column)
{
    char path[256], args[512];
    for (int part = 0; part < 2; part++) {
        snprintf(path, sizeof path, "%s/%s.csv", tmpdir, part ? "test" : "train");
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fprintf(f, "label,p0,p1,p2,p3\n");
        for (int i = 0; i < 40; i++)
            fprintf(f, "%d,%d,%d,%d,%d\n", i % 2, (i % 2) * 200, 10, 255 - (i % 2) * 200, 7);
        fclose(f);
    }
    snprintf(args, sizeof args, "train --data csv:%s --model mlp:4 --epochs 3 --quiet", tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    cr_assert(strstr(out, "(40 images)") != NULL, "%s", out);
    snprintf(path, sizeof path, "%s/train.csv", tmpdir);
    FILE *f = fopen(path, "a");
    fprintf(f, "1,2,x,4,5\n");
    fclose(f);
    expect_failure(args, "row 42, column 3");
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

Test(cli, augment_preview_writes_a_png_grid_of_the_expected_size)
{
    char args[512], path[256];
    snprintf(path, sizeof path, "%s/grid.png", tmpdir);
    snprintf(args, sizeof args,
             "augment --aug " REGULA_TEST_FIXTURES "/../check-fixtures/hflip.so --images 3 "
             "--draws 4 --zoom 2 --preview %s",
             path);
    cr_assert_eq(run(args), 0, "%s", err);
    unsigned char head[24];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    cr_assert_eq(memcmp(head, "\x89PNG\r\n\x1a\n", 8), 0);
    /* 5 columns and 3 rows of 28x28 cells at zoom 2, 2-pixel gaps, with the row labels
     * to the left, the column titles above (22 pixels) and the caption below (26) */
    cr_assert_gt(be32(head + 16), 2 + 5 * (56 + 2));
    cr_assert_eq(be32(head + 20), 22 + 2 + 3 * (56 + 2) + 26);
    cr_assert(strstr(out, "grid of 292x176 pixels"), "%s", out);
    expect_failure("augment --aug l2 --preview x.png", "plugin l2 is a regularizer, not a augmenter");
}

Test(cli, aug_oneof_group_trains_and_needs_two_members)
{
    char args[1024];
    snprintf(args, sizeof args,
             "train --model mlp:16 --epochs 1 --train-limit 500 --quiet --aug-oneof \""
             REGULA_TEST_FIXTURES "/../check-fixtures/hflip.so;" REGULA_TEST_FIXTURES
             "/../check-fixtures/hflip.so:p=1\"");
    cr_assert_eq(run(args), 0, "%s", err);
    /* the header wraps long plugin paths: compare with runs of white space as one */
    char flat[sizeof out];
    size_t n = 0;
    for (const char *p = out; *p; p++)
        if (!isspace((unsigned char)*p) || (n && flat[n - 1] != ' '))
            flat[n++] = isspace((unsigned char)*p) ? ' ' : *p;
    flat[n] = 0;
    cr_assert(strstr(flat, "[one of group]") != NULL, "%s", out);
    expect_failure("train --aug-oneof " REGULA_TEST_FIXTURES "/../check-fixtures/hflip.so",
                   "expected two or more non-empty specs separated by ';'");
}

Test(cli, eval_reproduces_the_training_runs_test_metrics_and_predict_classifies_pngs)
{
    char args[1024], line[256];
    snprintf(args, sizeof args,
             "train --model mlp:32 --train-limit 2000 --epochs 1 --threads 2 --quiet --save %s/m.ckpt",
             tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    const char *p = strstr(out, "test accuracy");
    cr_assert_not_null(p);
    snprintf(line, sizeof line, "%.*s", (int)(strstr(p, "(10000 images)") - p) + 14, p);
    snprintf(args, sizeof args, "eval %s/m.ckpt --threads 2", tmpdir);
    cr_assert_eq(run(args), 2, "eval takes no --threads");
    snprintf(args, sizeof args, "eval %s/m.ckpt", tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    cr_assert(strstr(out, line) != NULL, "eval printed '%s', train printed '%s'", out, line);
    /* predict on exported test images: one line each, with a class name */
    snprintf(args, sizeof args, "dataset export fashion-mnist --png %s/fm --limit 300", tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    snprintf(args, sizeof args,
             "predict %s/m.ckpt %s/fm/test/09_ankle_boot/00000.png %s/fm/test/02_pullover/00001.png",
             tmpdir, tmpdir, tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    cr_assert(strstr(out, "00000.png\tclass ") && strstr(out, "00001.png\tclass ") &&
                  (strstr(out, "p=0.") || strstr(out, "p=1.")),
              "%s", out);
    snprintf(args, sizeof args, "predict %s/m.ckpt %s/m.ckpt", tmpdir, tmpdir);
    expect_failure(args, "not a PNG file (bad signature)");
}

Test(cli, every_command_has_help_and_version_and_regula_help_cmd)
{
    const char *cmds[] = {"train", "info", "sweep", "plugins", "plugin check", "eval", "predict",
                          "export", "plot", "augment", "dataset", "sweep report", NULL};
    static char help[1 << 16];
    for (int i = 0; cmds[i]; i++) {
        char args[128];
        snprintf(args, sizeof args, "%s --help", cmds[i]);
        cr_assert_eq(run(args), 0, "%s: %s", args, err);
        cr_assert(strstr(out, "usage: regula "), "%s: %s", args, out);
        snprintf(help, sizeof help, "%s", out);
        snprintf(args, sizeof args, "%s -h", cmds[i]);
        cr_assert_eq(run(args), 0, "%s: %s", args, err);
        cr_assert_str_eq(out, help, "%s differs from --help", args);
        snprintf(args, sizeof args, "help %s", cmds[i]);
        cr_assert_eq(run(args), 0, "%s: %s", args, err);
        cr_assert_str_eq(out, help, "regula %s differs from --help", args);
        snprintf(args, sizeof args, "%s --version", cmds[i]);
        cr_assert_eq(run(args), 0, "%s: %s", args, err);
        cr_assert(!strncmp(out, "regula 0.", 9) && strstr(out, "(plugin ABI 1."), "%s: %s", args,
                  out);
    }
    cr_assert_eq(run("--help"), 0);
    cr_assert(strstr(out, "exit status (the same for every command):") &&
                  strstr(out, "  2    a usage error") && strstr(out, "  3    a plugin crashed"),
              "%s", out);
}
