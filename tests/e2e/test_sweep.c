/* regula sweep as a user meets it: the values a VALUES text stands for, the
 * trials of a grid, a real sweep's outputs, resuming, and the rule that
 * trials are chosen on the validation split and only the winner sees the
 * test set. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLI_RUN_NAME "sweep"
#include "../cli_run.h"
#define TINY "--model mlp:16 --train-limit 600 --epochs 1 --reg l2"

/* Runs `regula ARGS` (through sh, so ARGS may quote), returns its exit code. */
static int run(const char *args)
{
    return run_regula(0, args);
}

static void expect_usage_error(const char *args, const char *message)
{
    int code = run(args);
    cr_assert_eq(code, 2, "exit %d for '%s' (stderr: %s)", code, args, err);
    cr_assert(strstr(err, message) != NULL, "stderr '%s' lacks '%s'", err, message);
    cr_assert(strncmp(err, "regula: ", 8) == 0, "stderr must start with 'regula: ': %s", err);
    cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "more than one line: %s", err);
}

/* The values of trials 1..n of a one-key dry run, in order. */
static void expect_values(const char *sweep_arg, const char *key, const char *const *want)
{
    char args[512];
    snprintf(args, sizeof args, "sweep --dry-run --sweep '%s' -- --reg l2", sweep_arg);
    cr_assert_eq(run(args), 0, "%s: %s", args, err);
    int n = 0;
    while (want[n])
        n++;
    char line[256];
    snprintf(line, sizeof line, "%d trials (grid)\n", n);
    cr_assert(strstr(out, line), "%s: expected '%s' in\n%s", sweep_arg, line, out);
    for (int i = 0; i < n; i++) {
        snprintf(line, sizeof line, "trial %d  %s=%s\n", i + 1, key, want[i]);
        cr_assert(strstr(out, line), "%s: expected '%s' in\n%s", sweep_arg, line, out);
    }
}

TestSuite(sweep, .init = setup, .fini = teardown, .timeout = 300);

Test(sweep, help_documents_the_syntax)
{
    cr_assert_eq(run("sweep --help"), 0);
    const char *words[] = {"--dir", "--grid", "--random", "--sweep", "--metric", "--seed",
                           "LO..HI:log:COUNT", "LO..HI:lin:COUNT", "l2.lambda", "--no-test",
                           "sweep.jsonl", NULL};
    for (int i = 0; words[i]; i++)
        cr_assert(strstr(out, words[i]), "sweep --help lacks %s", words[i]);
    cr_assert_eq(run("--help"), 0);
    cr_assert(strstr(out, "sweep"));
}

Test(sweep, list_values_are_read_as_given)
{
    expect_values("lr=0.5,.25,1e-3,2", "lr", (const char *const[]){"0.5", "0.25", "0.001", "2",
                                                                   NULL});
    expect_values("optimizer=sgd,adam", "optimizer", (const char *const[]){"sgd", "adam", NULL});
    /* ';' separates values that contain ',' */
    expect_values("model=mlp:64;mlp:128,64", "model",
                  (const char *const[]){"mlp:64", "mlp:128,64", NULL});
}

Test(sweep, lin_range_is_evenly_spaced_with_exact_ends)
{
    expect_values("lr=0.1..0.5:lin:5", "lr",
                  (const char *const[]){"0.1", "0.2", "0.3", "0.4", "0.5", NULL});
    expect_values("momentum=0..0.9:lin:4", "momentum",
                  (const char *const[]){"0", "0.3", "0.6", "0.9", NULL});
    /* -0.3 + (1/3) * 0.9 is 5.55e-17 in floating point */
    expect_values("lr=-0.3..0.6:lin:4", "lr",
                  (const char *const[]){"-0.3", "0", "0.3", "0.6", NULL});
}

Test(sweep, log_range_is_evenly_spaced_in_log)
{
    expect_values("l2.lambda=1e-5..1e-2:log:4", "l2.lambda",
                  (const char *const[]){"1e-05", "0.0001", "0.001", "0.01", NULL});
    expect_values("lr=1..100:log:5", "lr",
                  (const char *const[]){"1", "3.16228", "10", "31.6228", "100",
                                        NULL});
}

Test(sweep, integer_options_get_integer_values)
{
    expect_values("batch=16..128:log:4", "batch",
                  (const char *const[]){"16", "32", "64", "128", NULL});
    /* 1, 1.33, 1.67, 2 round to 1, 1, 2, 2: a value is tried once */
    expect_values("epochs=1..2:lin:4", "epochs", (const char *const[]){"1", "2", NULL});
    expect_usage_error("sweep --dry-run --sweep batch=32.5 -- ", "'32.5' is not an integer");
}

Test(sweep, keys_are_the_recipe_fields_in_either_spelling)
{
    /* lr_gamma and warmup-epochs come from the recipe's field table, as train's flags do */
    cr_assert_eq(run("sweep --dry-run --sweep lr_gamma=0.1,0.5 --sweep warmup-epochs=0,2 -- "
                     "--lr-schedule step"), 0, "%s", err);
    cr_assert(strstr(out, "4 trials (grid)\n"), "%s", out);
    cr_assert(strstr(out, "trial 4  lr_gamma=0.5 warmup-epochs=2\n"), "%s", out);
}

Test(sweep, grid_is_every_combination_first_key_slowest)
{
    cr_assert_eq(run("sweep --dry-run --sweep l2.lambda=0,1e-3,1e-2 --sweep lr=0.01,0.1 "
                     "--sweep batch=32,64 -- --reg l2"), 0, "%s", err);
    cr_assert(strstr(out, "12 trials (grid)\n"), "%s", out);
    cr_assert(strstr(out, "trial 1  l2.lambda=0 lr=0.01 batch=32\n"), "%s", out);
    cr_assert(strstr(out, "trial 2  l2.lambda=0 lr=0.01 batch=64\n"), "%s", out);
    cr_assert(strstr(out, "trial 3  l2.lambda=0 lr=0.1 batch=32\n"), "%s", out);
    cr_assert(strstr(out, "trial 12  l2.lambda=0.01 lr=0.1 batch=64\n"), "%s", out);
    cr_assert_null(strstr(out, "trial 13 "), "%s", out);
}

Test(sweep, random_draws_are_seeded_and_inside_the_range)
{
    const char *args = "sweep --dry-run --random 40 --seed 7 --sweep l2.lambda=1e-4..1e-1:log "
                       "--sweep dropout.rate=0.2,0.5 -- --reg l2 --reg dropout";
    cr_assert_eq(run(args), 0, "%s", err);
    cr_assert(strstr(out, "40 trials (random)\n"), "%s", out);
    char first[sizeof out];
    strcpy(first, out);
    int below = 0, rates[2] = {0, 0};
    for (int k = 1; k <= 40; k++) {
        char pat[64];
        snprintf(pat, sizeof pat, "trial %d  l2.lambda=", k);
        const char *p = strstr(out, pat);
        cr_assert_not_null(p, "%s missing in\n%s", pat, out);
        char *end;
        double v = strtod(p + strlen(pat), &end);
        cr_assert(v >= 1e-4 && v <= 1e-1, "trial %d: lambda %g outside [1e-4, 1e-1]", k, v);
        below += v < 1e-2; /* log-uniform: 2/3 of the draws below 1e-2, uniform: 1/10 */
        cr_assert(!strncmp(end, " dropout.rate=0.2\n", 18) || !strncmp(end, " dropout.rate=0.5\n", 18),
                  "trial %d: %.30s", k, end);
        rates[end[16] == '5']++;
    }
    cr_assert(below >= 15, "%d of 40 log-uniform draws below 1e-2", below);
    cr_assert(rates[0] > 0 && rates[1] > 0, "list draws never chose one value");
    cr_assert_eq(run(args), 0);
    cr_assert_str_eq(out, first, "the same seed drew differently");
    cr_assert_eq(run("sweep --dry-run --random 40 --seed 8 --sweep l2.lambda=1e-4..1e-1:log "
                     "--sweep dropout.rate=0.2,0.5 -- --reg l2 --reg dropout"), 0);
    cr_assert_str_neq(out, first, "another seed drew the same");
}

Test(sweep, usage_errors_are_one_line_and_exit_2)
{
    expect_usage_error("sweep --sweep lr=0.1 -- " TINY, "--dir DIR is required");
    expect_usage_error("sweep --dir x -- " TINY, "nothing to sweep");
    expect_usage_error("sweep --dir x --sweep dropout.rate=0.5 -- " TINY,
                       "plugin 'dropout' is not in the train arguments");
    expect_usage_error("sweep --dir x --sweep l2.lambda=0..1:cubic:3 -- " TINY,
                       "spacing 'cubic', expected lin or log");
    expect_usage_error("sweep --dir x --sweep l2.lambda=1e-5..1e-2:log -- " TINY,
                       "a range needs a COUNT for --grid");
    expect_usage_error("sweep --dir x --sweep l2.lambda=0..1e-2:log:3 -- " TINY,
                       "a log range needs LO > 0");
    expect_usage_error("sweep --dir x --sweep l2.lambda=1..0:lin:3 -- " TINY, "LO < HI");
    expect_usage_error("sweep --dir x --sweep l2.lambda=1..2:lin:1 -- " TINY, "COUNT must be");
    expect_usage_error("sweep --dir x --sweep lr=0.1,,0.2 -- " TINY, "empty value");
    expect_usage_error("sweep --dir x --sweep lr=fast -- " TINY, "'fast' is not a number");
    expect_usage_error("sweep --dir x --sweep lr -- " TINY, "expected KEY=VALUES");
    expect_usage_error("sweep --dir x --sweep warp=1,2 -- " TINY, "--sweep warp: unknown key");
    /* fields the sweep manages itself are not keys */
    expect_usage_error("sweep --dir x --sweep save=a,b -- " TINY, "--sweep save: unknown key");
    expect_usage_error("sweep --dir x --sweep l2.lambda=5 -- " TINY,
                       "l2: parameter lambda=5 is out of range [0, 1]");
    expect_usage_error("sweep --dir x --sweep l2.gamma=1 -- " TINY, "unknown parameter 'gamma'");
    expect_usage_error("sweep --dir x --sweep lr=0.1", "expected -- and the train arguments");
    expect_usage_error("sweep --dir x --sweep lr=0.1 --metric test_accuracy -- " TINY,
                       "--metric test_accuracy: expected val_accuracy or val_loss");
    char args[256], dir[128];
    snprintf(dir, sizeof dir, "%s/never", tmpdir);
    snprintf(args, sizeof args, "sweep --dir %s --sweep l2.lambda=5 -- " TINY, dir);
    expect_usage_error(args, "out of range");
    struct stat sb;
    cr_assert_neq(stat(dir, &sb), 0, "a usage error must not create --dir");
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The sweep's table rows (after the header), as trial numbers and accuracies. */
static int table_rows(int *trials, double *acc, int cap)
{
    const char *p = strstr(out, "  val_accuracy  val_loss  status\n");
    cr_assert_not_null(p, "no table in\n%s", out);
    p = strchr(p, '\n') + 1;
    int n = 0;
    while (n < cap) {
        int t;
        char a[64], b[64], c[64], d[64], status[64];
        if (sscanf(p, "%d %63s %63s %63s %63s %63s", &t, a, b, c, d, status) != 6)
            break;
        trials[n] = t;
        acc[n] = strtod(c, NULL);
        n++;
        p = strchr(p, '\n') + 1;
    }
    return n;
}

Test(sweep, tiny_sweep_writes_sorted_results_and_a_winner_that_runs)
{
    char args[1024];
    snprintf(args, sizeof args, "sweep --dir %s/s --sweep l2.lambda=0,1e-2 --sweep lr=0.01,0.1 "
             "-- " TINY, tmpdir);
    cr_assert_eq(run(args), 0, "%s\n%s", out, err);
    int trials[8];
    double acc[8];
    cr_assert_eq(table_rows(trials, acc, 8), 4, "%s", out);
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        seen |= 1 << trials[i];
        if (i)
            cr_assert(acc[i] <= acc[i - 1], "rows not best first:\n%s", out);
        char path[256];
        struct stat sb;
        snprintf(path, sizeof path, "%s/s/trial-%d.json", tmpdir, i + 1);
        cr_assert_eq(stat(path, &sb), 0, "%s missing", path);
        snprintf(path, sizeof path, "%s/s/trial-%d.log", tmpdir, i + 1);
        cr_assert_eq(stat(path, &sb), 0, "%s missing", path);
    }
    cr_assert_eq(seen, 0x1e, "trials 1-4 each once:\n%s", out);

    static char csv[8192], jsonl[8192];
    char path[256];
    snprintf(path, sizeof path, "%s/s/sweep.csv", tmpdir);
    slurp(path, csv, sizeof csv);
    cr_assert(!strncmp(csv, "trial,l2.lambda,lr,val_accuracy,val_loss,status", 47), "%s", csv);
    cr_assert_eq(count(csv, "\n"), 5, "%s", csv);
    cr_assert_eq(count(csv, ",ok,"), 4, "%s", csv);
    snprintf(path, sizeof path, "%s/s/sweep.jsonl", tmpdir);
    slurp(path, jsonl, sizeof jsonl);
    cr_assert_eq(count(jsonl, "\n"), 4, "%s", jsonl);
    cr_assert_eq(count(jsonl, "\"status\": \"ok\"}\n"), 4, "%s", jsonl);
    cr_assert(strstr(jsonl, "\"params\": {\"l2.lambda\": 0.01, \"lr\": 0.1}"), "%s", jsonl);
    cr_assert(strstr(jsonl, "\"params\": {\"l2.lambda\": 0, \"lr\": 0.01}"), "%s", jsonl);
    /* the first line is the table's first row */
    char first[64];
    snprintf(first, sizeof first, "{\"trial\": %d, \"params\"", trials[0]);
    cr_assert(!strncmp(jsonl, first, strlen(first)), "%s", jsonl);
    cr_assert_eq(count(jsonl, "\"val_accuracy\": "), 4);
    cr_assert_eq(count(jsonl, "\"val_loss\": "), 4);

    /* only the winner meets the test set */
    cr_assert_eq(count(out, "test accuracy "), 1, "%s", out);
    const char *cmd = strstr(out, "to train it again:\n");
    cr_assert_not_null(cmd, "%s", out);
    cmd += strlen("to train it again:\n");
    char line[2048];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(cmd, "\n"), cmd);
    cr_assert(strstr(line, " train ") && !strstr(line, "--no-test"), "%s", line);
    char want[64];
    snprintf(want, sizeof want, "trial %d (", trials[0]);
    cr_assert(strstr(out, want), "winner is not the best row:\n%s", out);
    char shell[4096];
    snprintf(shell, sizeof shell, "%s >%s/winner.out 2>&1", line, tmpdir);
    cr_assert_eq(system(shell), 0, "the winner's command failed: %s", line);
    snprintf(path, sizeof path, "%s/winner.out", tmpdir);
    slurp(path, out, sizeof out);
    cr_assert(strstr(out, "test accuracy "), "%s", out);
}

static long long mtime_ns(const char *path)
{
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "%s missing", path);
    return (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
}

Test(sweep, resume_skips_finished_trials)
{
    char args[1024], path[256];
    snprintf(args, sizeof args, "sweep --dir %s/s --sweep l2.lambda=0,1e-2 --sweep lr=0.01,0.1 "
             "-- " TINY, tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    long long before[5];
    for (int k = 1; k <= 4; k++) {
        snprintf(path, sizeof path, "%s/s/trial-%d.log", tmpdir, k);
        before[k] = mtime_ns(path);
    }
    /* an interrupted sweep: trial 3 never wrote its summary */
    snprintf(path, sizeof path, "%s/s/trial-3.json", tmpdir);
    cr_assert_eq(remove(path), 0);
    usleep(20000);
    cr_assert_eq(run(args), 0, "%s", err);
    cr_assert_eq(count(out, "skipped, already done"), 3, "%s", out);
    cr_assert(strstr(out, "trial 3/4  l2.lambda=0.01 lr=0.01  val_accuracy"), "%s", out);
    const char *t3 = strstr(out, "trial 3/4");
    cr_assert(strstr(t3, "skipped") > strchr(t3, '\n'), "trial 3 was not rerun:\n%s", out);
    for (int k = 1; k <= 4; k++) {
        snprintf(path, sizeof path, "%s/s/trial-%d.log", tmpdir, k);
        if (k == 3)
            cr_assert_neq(mtime_ns(path), before[k], "trial 3 was not run again");
        else
            cr_assert_eq(mtime_ns(path), before[k], "trial %d was run again", k);
    }
    snprintf(path, sizeof path, "%s/s/sweep.jsonl", tmpdir);
    slurp(path, err, sizeof err);
    cr_assert_eq(count(err, "\"status\": \"ok\""), 4, "%s", err);
    /* other train arguments are other trials */
    snprintf(args, sizeof args, "sweep --dir %s/s --sweep l2.lambda=0,1e-2 --sweep lr=0.01,0.1 "
             "-- " TINY " --seed 2", tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    cr_assert_eq(count(out, "skipped, already done"), 0, "%s", out);
}

Test(sweep, an_unreadable_summary_is_named_and_its_trial_runs_again)
{
    char args[1024], path[256];
    snprintf(args, sizeof args, "sweep --dir %s/s --sweep lr=0.1 -- " TINY, tmpdir);
    cr_assert_eq(run(args), 0, "%s", err);
    snprintf(path, sizeof path, "%s/s/trial-1.json", tmpdir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\n  \"val_accuracy\": 0.5,\n  oops\n}\n", f);
    fclose(f);
    cr_assert_eq(run(args), 0, "%s", err);
    char want[512];
    snprintf(want, sizeof want, "%s:3:6: string or '}' expected near 'oops'; running trial 1 "
             "again\ntrial 1/1  lr=0.1  val_accuracy ", path);
    cr_assert(strstr(out, want), "expected '%s' in\n%s", want, out);
    cr_assert_null(strstr(out, "skipped"), "%s", out);
    /* JSON, but not a summary */
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"history\": [{\"val_loss\": 1}], \"val_accuracy\": 0.5}\n", f);
    fclose(f);
    cr_assert_eq(run(args), 0, "%s", err);
    snprintf(want, sizeof want, "%s: no val_accuracy/val_loss; running trial 1 again\n", path);
    cr_assert(strstr(out, want), "expected '%s' in\n%s", want, out);
}

Test(sweep, failed_trial_is_recorded_and_the_sweep_goes_on)
{
    char args[1024], path[256];
    snprintf(args, sizeof args, "sweep --dir %s/s --sweep momentum=2,0.5 --metric val_loss -- "
             TINY, tmpdir);
    cr_assert_eq(run(args), 0, "%s\n%s", out, err);
    snprintf(path, sizeof path, "%s/s/sweep.jsonl", tmpdir);
    static char jsonl[4096];
    slurp(path, jsonl, sizeof jsonl);
    /* the failed trial sorts last, with its log's last line */
    cr_assert(strstr(jsonl, "{\"trial\": 2, \"params\": {\"momentum\": 0.5}"), "%s", jsonl);
    cr_assert(strstr(jsonl, "\n{\"trial\": 1, \"params\": {\"momentum\": 2}, \"val_accuracy\": "
                            "null, \"val_loss\": null, \"status\": \"failed\", \"error\": "
                            "\"regula: --momentum 2: out of range [0, 0.999999]\"}\n"),
              "%s", jsonl);
    cr_assert(strstr(out, "best on val_loss: trial 2 "), "%s", out);
}

/* ---- choosing on validation only ---------------------------------------------- */

static void write_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};
    fwrite(b, 1, 4, f);
}

/* n 8x8 images, class 0 bright on the left half, class 1 on the right, with
 * noise; flip writes the other class as the label. */
static void write_split(const char *dir, const char *split, int n, int flip, uint32_t *rng)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, split);
    FILE *img = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, split);
    FILE *lab = fopen(path, "wb");
    cr_assert(img && lab);
    write_be32(img, 0x803);
    write_be32(img, (uint32_t)n);
    write_be32(img, 8);
    write_be32(img, 8);
    write_be32(lab, 0x801);
    write_be32(lab, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        int cls = i % 2;
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                *rng = *rng * 1664525u + 1013904223u;
                int noise = (int)(*rng >> 25); /* 0..127 */
                int bright = (x < 4) == (cls == 0);
                fputc(bright ? 128 + noise : noise, img);
            }
        fputc(flip ? 1 - cls : cls, lab);
    }
    fclose(img);
    fclose(lab);
}

static double eval_accuracy(const char *ckpt)
{
    char args[512];
    snprintf(args, sizeof args, "eval %s", ckpt);
    cr_assert_eq(run(args), 0, "%s", err);
    const char *p = strstr(out, "test accuracy ");
    cr_assert_not_null(p, "%s", out);
    return strtod(p + strlen("test accuracy "), NULL);
}

Test(sweep, the_winner_is_chosen_on_validation_and_only_it_sees_the_test_set)
{
    /* The test labels are flipped: the better a model learned the training
     * distribution (and so its validation split), the worse its test score.
     * A sweep that peeked at the test set would pick the other trial. */
    char data[128], args[1024], path[256];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    cr_assert_eq(mkdir(data, 0755), 0);
    uint32_t rng = 12345;
    write_split(data, "train", 400, 0, &rng);
    write_split(data, "t10k", 200, 1, &rng);
    snprintf(args, sizeof args, "sweep --dir %s/s --sweep lr=0,0.2 -- --data idx:%s "
             "--model mlp:8 --epochs 3 --batch 16 --val 0.25 --reg l2:lambda=0", tmpdir, data);
    cr_assert_eq(run(args), 0, "%s\n%s", out, err);
    static char sweep_out[sizeof out];
    strcpy(sweep_out, out);

    double val[3], test[3];
    static char jsonl[4096];
    snprintf(path, sizeof path, "%s/s/sweep.jsonl", tmpdir);
    slurp(path, jsonl, sizeof jsonl);
    for (int k = 1; k <= 2; k++) {
        char key[64];
        snprintf(key, sizeof key, "{\"trial\": %d, ", k);
        const char *p = strstr(jsonl, key);
        cr_assert_not_null(p, "%s", jsonl);
        p = strstr(p, "\"val_accuracy\": ");
        val[k] = strtod(p + strlen("\"val_accuracy\": "), NULL);
        /* no trial looked at the test set */
        static char log[1 << 14];
        snprintf(path, sizeof path, "%s/s/trial-%d.log", tmpdir, k);
        slurp(path, log, sizeof log);
        cr_assert(strstr(log, "test set not evaluated"), "trial %d:\n%s", k, log);
        cr_assert_null(strstr(log, "test accuracy"), "trial %d:\n%s", k, log);
        snprintf(path, sizeof path, "%s/s/trial-%d.ckpt", tmpdir, k);
        test[k] = eval_accuracy(path);
    }
    int best_val = val[2] > val[1] ? 2 : 1, best_test = test[2] > test[1] ? 2 : 1;
    cr_assert_neq(best_val, best_test, "the fixture does not separate validation from test: "
                  "val %.3f %.3f, test %.3f %.3f", val[1], val[2], test[1], test[2]);
    char want[64];
    snprintf(want, sizeof want, "best on val_accuracy: trial %d (", best_val);
    cr_assert(strstr(sweep_out, want), "expected '%s' in\n%s", want, sweep_out);
    /* the one test evaluation printed is the winner's */
    cr_assert_eq(count(sweep_out, "test accuracy "), 1, "%s", sweep_out);
    char acc[64];
    snprintf(acc, sizeof acc, "test accuracy %.4f ", test[best_val]);
    cr_assert(strstr(sweep_out, acc), "expected '%s' in\n%s", acc, sweep_out);
}
