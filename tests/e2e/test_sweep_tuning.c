/* regula sweep's tuning features as a user meets them: several seeds per
 * configuration (mean ± sd, recomputed here from the per-run files),
 * successive halving, --budget, parallel trials, an interrupted sweep that
 * resumes, set axes (reg=..., aug=...) with conditional plugin parameters,
 * the usage errors of the new options, and train's --stop-at-epoch. Every
 * expected number is computed here from what the runs left on disk, never by
 * the code under test. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLI_RUN_NAME "sweep-tuning"
#include "../cli_run.h"

/* Runs `regula ARGS` (through sh, so ARGS may quote), returns its exit code. */
static int run(const char *args)
{
    return run_regula(0, args);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void expect_usage_error(const char *args, const char *message)
{
    int code = run(args);
    cr_assert_eq(code, 2, "exit %d for '%s' (stdout: %s, stderr: %s)", code, args, out, err);
    cr_assert(strstr(err, message) != NULL, "'%s': stderr '%s' lacks '%s'", args, err, message);
    cr_assert(strncmp(err, "regula: ", 8) == 0, "stderr must start with 'regula: ': %s", err);
    cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "more than one line: %s", err);
}

/* ---- the synthetic data set --------------------------------------------------- */

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

/* TMPDIR/data with n_train training images and 200 test images. */
static char data[128];

static void make_data(int n_train)
{
    snprintf(data, sizeof data, "%s/data", tmpdir);
    cr_assert_eq(mkdir(data, 0755), 0);
    uint32_t rng = 12345;
    write_split(data, "train", n_train, 0, &rng);
    write_split(data, "t10k", 200, 0, &rng);
}

/* ---- reading what the runs left ------------------------------------------------- */

/* The text of the value of `key` at the top level of the JSON object in
 * `json` (a number, true/false or null; a string is not copied). 0 if the
 * object has no such key. Keys of nested objects (history, seeds) are not
 * matched. */
static int top_value(const char *json, const char *key, char *buf, size_t cap)
{
    int depth = 0;
    size_t klen = strlen(key);
    for (const char *p = json; *p; p++) {
        if (*p == '"') {
            const char *s = p + 1, *e = s;
            while (*e && *e != '"') {
                if (*e == '\\' && e[1])
                    e++;
                e++;
            }
            if (!*e)
                return 0;
            if (depth == 1 && (size_t)(e - s) == klen && !strncmp(s, key, klen)) {
                const char *q = e + 1;
                while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r')
                    q++;
                if (*q == ':') {
                    q++;
                    while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r')
                        q++;
                    size_t n = strcspn(q, ",}] \n\r\t");
                    snprintf(buf, cap, "%.*s", (int)n, q);
                    return 1;
                }
            }
            p = e;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']')
            depth--;
    }
    return 0;
}

/* The top-level number `key` of `json` (NaN for null); fails the test when missing. */
static double top_number(const char *json, const char *key, const char *what)
{
    char text[64];
    cr_assert(top_value(json, key, text, sizeof text), "%s: no top-level \"%s\" in\n%s", what,
              key, json);
    if (!strcmp(text, "null"))
        return NAN;
    char *end;
    double v = strtod(text, &end);
    cr_assert(end != text && *end == '\0', "%s: \"%s\" is '%s', not a number", what, key, text);
    return v;
}

/* The line of sweep.jsonl `jsonl` that belongs to trial n, into buf. */
static void jsonl_line(const char *jsonl, int n, char *buf, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "{\"trial\": %d, ", n);
    const char *p = jsonl;
    while (p && strncmp(p, key, strlen(key))) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
        if (p && !*p)
            p = NULL;
    }
    cr_assert_not_null(p, "trial %d has no line in\n%s", n, jsonl);
    snprintf(buf, cap, "%.*s", (int)strcspn(p, "\n"), p);
}

/* The part of a .params file after "train arguments:\n" (one argument a line). */
static const char *train_arguments(const char *params, const char *path)
{
    const char *p = strstr(params, "train arguments:\n");
    cr_assert_not_null(p, "%s has no 'train arguments:' line:\n%s", path, params);
    return p + strlen("train arguments:\n");
}

/* The value after the line "--seed" in a .params file; -1 if none. */
static long long params_seed(const char *path)
{
    static char params[1 << 14];
    slurp(path, params, sizeof params);
    cr_assert(params[0], "%s missing or empty", path);
    const char *args = train_arguments(params, path);
    const char *p = args;
    long long seed = -1;
    int seen = 0;
    while ((p = strstr(p, "--seed\n"))) {
        if (p == args || p[-1] == '\n') {
            seed = strtoll(p + strlen("--seed\n"), NULL, 10);
            seen++;
        }
        p += strlen("--seed\n");
    }
    cr_assert_leq(seen, 1, "%s gives --seed %d times:\n%s", path, seen, params);
    return seed;
}

static double mean_of(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s / n;
}

static double sd_of(const double *v, int n)
{
    double m = mean_of(v, n), ss = 0;
    for (int i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    return sqrt(ss / (n - 1));
}

static void expect_close(double got, double want, const char *what)
{
    cr_assert(fabs(got - want) <= 1e-7 * fmax(1.0, fabs(want)), "%s: got %.12g, expected %.12g",
              what, got, want);
}

/* The numbers of the `plan:` line: its trial-epochs and (with --halving) the
 * count of every configuration to the end, else -1. */
static void plan_numbers(const char *text, long long *cost, long long *full)
{
    const char *p = strstr(text, "plan: ");
    cr_assert_not_null(p, "no plan: line in\n%s", text);
    const char *eol = strchr(p, '\n');
    cr_assert_not_null(eol);
    const char *q = strstr(p, " trial-epochs");
    cr_assert(q && q < eol, "plan line without trial-epochs: %.*s", (int)(eol - p), p);
    const char *d = q;
    while (d > p && d[-1] >= '0' && d[-1] <= '9')
        d--;
    cr_assert(d < q, "no number before trial-epochs: %.*s", (int)(eol - p), p);
    *cost = strtoll(d, NULL, 10);
    const char *f = strstr(p, "(every configuration to the end: ");
    *full = f && f < eol ? strtoll(f + strlen("(every configuration to the end: "), NULL, 10)
                         : -1;
}

/* Status word (last column) of trial n's row in the sweep table, into buf. */
static void table_status(const char *text, int n, char *buf, size_t cap)
{
    const char *p = strstr(text, "\ntrial  ");
    cr_assert_not_null(p, "no table in\n%s", text);
    p = strchr(p + 1, '\n') + 1;
    while (*p && *p != '\n') {
        int t;
        const char *eol = strchr(p, '\n');
        cr_assert_not_null(eol);
        if (sscanf(p, "%d", &t) == 1 && t == n) {
            const char *w = eol;
            while (w > p && w[-1] != ' ')
                w--;
            snprintf(buf, cap, "%.*s", (int)(eol - w), w);
            return;
        }
        p = eol + 1;
    }
    cr_assert_fail("trial %d has no row in the table of\n%s", n, text);
}

/* ---- seeds -------------------------------------------------------------------------- */

TestSuite(sweep_tuning, .init = setup, .fini = teardown, .timeout = 600);

#define SMALL "--model mlp:8 --batch 16 --val 0.25 --threads 1"

Test(sweep_tuning, seeds_mean_sd_and_winner_test_mean_match_the_per_run_files)
{
    make_data(400);
    enum { K = 3, N = 2 };
    char args[1024], path[256];
    snprintf(args, sizeof args, "sweep --dir %s/s --seeds %d --sweep lr=0.0001,0.002 -- "
             "--data idx:%s " SMALL " --epochs 2", tmpdir, K, data);
    cr_assert_eq(run(args), 0, "%s\n%s\n%s", args, out, err);
    static char sweep_out[sizeof out], jsonl[1 << 14], summary[1 << 16], line[4096];
    strcpy(sweep_out, out);
    snprintf(path, sizeof path, "%s/s/sweep.jsonl", tmpdir);
    slurp(path, jsonl, sizeof jsonl);
    cr_assert_eq(count(jsonl, "\n"), N, "%s", jsonl);

    double acc[N + 1][K], loss[N + 1][K], mean_acc[N + 1];
    for (int n = 1; n <= N; n++) {
        snprintf(path, sizeof path, "%s/s/trial-%d.json", tmpdir, n);
        cr_assert(!exists(path), "with --seeds the one-seed name %s must not be used", path);
        jsonl_line(jsonl, n, line, sizeof line);
        for (int k = 1; k <= K; k++) {
            /* the run's seed, from its params file: S..S+K-1 with S = 1 */
            snprintf(path, sizeof path, "%s/s/trial-%d-s%d.params", tmpdir, n, k);
            cr_assert_eq(params_seed(path), k, "%s: seed %lld, expected %d", path,
                         params_seed(path), k);
            snprintf(path, sizeof path, "%s/s/trial-%d-s%d.ckpt", tmpdir, n, k);
            cr_assert(exists(path), "%s missing", path);
            snprintf(path, sizeof path, "%s/s/trial-%d-s%d.json", tmpdir, n, k);
            slurp(path, summary, sizeof summary);
            cr_assert(summary[0], "%s missing", path);
            acc[n][k - 1] = top_number(summary, "val_accuracy", path);
            loss[n][k - 1] = top_number(summary, "val_loss", path);
            /* the seeds array of sweep.jsonl holds the same numbers */
            char want[64];
            snprintf(want, sizeof want, "{\"seed\": %d, \"val_accuracy\": ", k);
            const char *p = strstr(line, want);
            cr_assert_not_null(p, "trial %d: no '%s' in\n%s", n, want, line);
            char *end;
            expect_close(strtod(p + strlen(want), &end), acc[n][k - 1], "seeds[].val_accuracy");
            cr_assert(!strncmp(end, ", \"val_loss\": ", 14), "%s", p);
            expect_close(strtod(end + 14, NULL), loss[n][k - 1], "seeds[].val_loss");
        }
        /* the seeds trained differently, or the sd checks below prove little */
        cr_assert(loss[n][0] != loss[n][1] || loss[n][1] != loss[n][2],
                  "trial %d: the %d seeds gave the same val_loss %.9g", n, K, loss[n][0]);
        mean_acc[n] = mean_of(acc[n], K);
        double ma = mean_acc[n], sa = sd_of(acc[n], K);
        double ml = mean_of(loss[n], K), sl = sd_of(loss[n], K);
        char what[64];
        snprintf(what, sizeof what, "trial %d val_accuracy (mean)", n);
        expect_close(top_number(line, "val_accuracy", line), ma, what);
        snprintf(what, sizeof what, "trial %d val_loss (mean)", n);
        expect_close(top_number(line, "val_loss", line), ml, what);
        snprintf(what, sizeof what, "trial %d val_accuracy_sd (n-1)", n);
        expect_close(top_number(line, "val_accuracy_sd", line), sa, what);
        snprintf(what, sizeof what, "trial %d val_loss_sd (n-1)", n);
        expect_close(top_number(line, "val_loss_sd", line), sl, what);
        cr_assert(strstr(line, "\"status\": \"ok\""), "%s", line);
        /* the table shows mean ± sd */
        char cell[64];
        snprintf(cell, sizeof cell, "%.4f ± %.4f", ma, sa);
        cr_assert(strstr(sweep_out, cell), "trial %d: no '%s' (val_accuracy) in\n%s", n, cell,
                  sweep_out);
        snprintf(cell, sizeof cell, "%.4f ± %.4f", ml, sl);
        cr_assert(strstr(sweep_out, cell), "trial %d: no '%s' (val_loss) in\n%s", n, cell,
                  sweep_out);
    }

    /* the winner: the best mean val_accuracy, ties to the lower number */
    int w = mean_acc[2] > mean_acc[1] ? 2 : 1;
    char want[128];
    snprintf(want, sizeof want, "best on the mean val_accuracy: trial %d (", w);
    cr_assert(strstr(sweep_out, want), "expected '%s' in\n%s", want, sweep_out);
    snprintf(want, sizeof want, "{\"trial\": %d, ", w);
    cr_assert(!strncmp(jsonl, want, strlen(want)), "the winner is not first:\n%s", jsonl);

    /* every seed of the winner is evaluated on test; check each against an
     * eval of its checkpoint done here, then the mean ± sd */
    double test[K];
    for (int k = 1; k <= K; k++) {
        snprintf(want, sizeof want, "seed %d: test accuracy ", k);
        const char *p = strstr(sweep_out, want);
        cr_assert_not_null(p, "no '%s' in\n%s", want, sweep_out);
        char *end;
        test[k - 1] = strtod(p + strlen(want), &end);
        cr_assert(!strncmp(end, "  loss ", 7), "%.80s", p);
        const char *images = strstr(end, "  (200 images)\n");
        cr_assert(images && images < strchr(end, '\n'), "%.80s", p);
        char eval[512];
        snprintf(eval, sizeof eval, "eval %s/s/trial-%d-s%d.ckpt", tmpdir, w, k);
        cr_assert_eq(run(eval), 0, "%s: %s", eval, err);
        const char *q = strstr(out, "test accuracy ");
        cr_assert_not_null(q, "%s", out);
        char mine[32], theirs[32];
        snprintf(mine, sizeof mine, "%.4f", strtod(q + strlen("test accuracy "), NULL));
        snprintf(theirs, sizeof theirs, "%.4f", test[k - 1]);
        cr_assert_str_eq(theirs, mine, "seed %d: the sweep printed test accuracy %s, eval of "
                         "its checkpoint gives %s", k, theirs, mine);
    }
    snprintf(want, sizeof want, "test accuracy over %d seeds: %.4f ± %.4f (mean ± sd)\n", K,
             mean_of(test, K), sd_of(test, K));
    cr_assert(strstr(sweep_out, want), "expected '%s' in\n%s", want, sweep_out);
    cr_assert_eq(count(sweep_out, ": test accuracy "), K, "%s", sweep_out);
}

/* ---- successive halving --------------------------------------------------------- */

Test(sweep_tuning, halving_stops_what_cannot_learn_and_picks_the_grid_winner_for_less)
{
    make_data(400);
    char args[1024], path[256];
    static char h_out[sizeof out], h_jsonl[8192], g_jsonl[8192], metrics[8192];
    static char hl[2048], gl[2048];
    /* lr=0 cannot learn; lr=0.2 learns this data in one epoch */
    snprintf(args, sizeof args, "sweep --dir %s/h --halving --eta 3 --min-epochs 1 "
             "--sweep lr=0,0.0001,0.2 -- --data idx:%s " SMALL " --epochs 3", tmpdir, data);
    cr_assert_eq(run(args), 0, "%s\n%s\n%s", args, out, err);
    strcpy(h_out, out);
    snprintf(path, sizeof path, "%s/h/sweep.jsonl", tmpdir);
    slurp(path, h_jsonl, sizeof h_jsonl);
    cr_assert_eq(count(h_jsonl, "\n"), 3, "%s", h_jsonl);

    /* lr=0 stops at the first rung, after one epoch */
    jsonl_line(h_jsonl, 1, hl, sizeof hl);
    cr_assert(strstr(hl, "\"params\": {\"lr\": 0}"), "%s", hl);
    cr_assert(strstr(hl, "\"status\": \"stopped\""), "lr=0 was not stopped:\n%s", h_jsonl);
    char text[64];
    cr_assert(top_value(hl, "epochs", text, sizeof text), "no epochs: %s", hl);
    cr_assert_str_eq(text, "1", "%s", hl);
    char status[64];
    table_status(h_out, 1, status, sizeof status);
    cr_assert_str_eq(status, "stopped", "trial 1 in the table:\n%s", h_out);
    snprintf(path, sizeof path, "%s/h/trial-1.metrics.jsonl", tmpdir);
    slurp(path, metrics, sizeof metrics);
    /* the run record, then one epoch */
    cr_assert_eq(count(metrics, "\n"), 2, "%s has not one epoch line:\n%s", path, metrics);
    cr_assert_eq(count(metrics, "\"epoch\": "), 1, "%s", metrics);
    cr_assert(strstr(metrics, "\"epoch\": 1,"), "%s", metrics);
    /* floor(3/3) = 1 goes on: trial 2 stops too */
    jsonl_line(h_jsonl, 2, hl, sizeof hl);
    cr_assert(strstr(hl, "\"status\": \"stopped\""), "%s", h_jsonl);
    cr_assert(top_value(hl, "epochs", text, sizeof text) && !strcmp(text, "1"), "%s", hl);
    jsonl_line(h_jsonl, 3, hl, sizeof hl);
    cr_assert(strstr(hl, "\"status\": \"ok\""), "%s", h_jsonl);
    cr_assert(top_value(hl, "epochs", text, sizeof text) && !strcmp(text, "3"), "%s", hl);
    table_status(h_out, 3, status, sizeof status);
    cr_assert_str_eq(status, "ok", "trial 3 in the table:\n%s", h_out);
    cr_assert(!strncmp(h_jsonl, "{\"trial\": 3, ", 13), "the winner is not first:\n%s", h_jsonl);
    cr_assert(strstr(h_out, "best on val_accuracy: trial 3 ("), "%s", h_out);

    /* the plain grid, same train arguments */
    snprintf(args, sizeof args, "sweep --dir %s/g --sweep lr=0,0.0001,0.2 -- --data idx:%s "
             SMALL " --epochs 3", tmpdir, data);
    cr_assert_eq(run(args), 0, "%s\n%s\n%s", args, out, err);
    cr_assert(strstr(out, "best on val_accuracy: trial 3 ("), "%s", out);
    snprintf(path, sizeof path, "%s/g/sweep.jsonl", tmpdir);
    slurp(path, g_jsonl, sizeof g_jsonl);
    cr_assert(!strncmp(g_jsonl, "{\"trial\": 3, ", 13), "grid winner:\n%s", g_jsonl);
    cr_assert_null(strstr(g_jsonl, "\"epochs\""), "epochs is only for --halving:\n%s", g_jsonl);
    /* promoted from checkpoints to the end = trained straight through, bit for bit */
    jsonl_line(h_jsonl, 3, hl, sizeof hl);
    jsonl_line(g_jsonl, 3, gl, sizeof gl);
    char h_text[64], g_text[64];
    const char *keys[] = {"val_accuracy", "val_loss"};
    for (int i = 0; i < 2; i++) {
        cr_assert(top_value(hl, keys[i], h_text, sizeof h_text), "%s", hl);
        cr_assert(top_value(gl, keys[i], g_text, sizeof g_text), "%s", gl);
        cr_assert_str_eq(h_text, g_text, "trial 3 %s: halving %s, grid %s", keys[i], h_text,
                         g_text);
    }

    /* the plan: 3 configs x 1 epoch + 1 config x 2 more = 5; the grid 3 x 3 = 9 */
    long long h_cost, h_full, g_cost, g_full;
    plan_numbers(h_out, &h_cost, &h_full);
    plan_numbers(out, &g_cost, &g_full);
    cr_assert_lt(h_cost, g_cost, "halving plans %lld trial-epochs, the grid %lld", h_cost, g_cost);
    cr_assert_eq(h_cost, 5, "halving plan: %lld trial-epochs, expected 3*1 + 1*2 = 5", h_cost);
    cr_assert_eq(g_cost, 9, "grid plan: %lld trial-epochs, expected 3*3 = 9", g_cost);
    cr_assert_eq(h_full, g_cost, "halving says every configuration to the end is %lld, the "
                 "grid plans %lld", h_full, g_cost);

    /* the promoted configuration went on from its rung-1 checkpoint, as the plan
     * counted, rather than training again from epoch 0 */
    const char *rung2 = strstr(h_out, "rung 2/2: 1 configuration to epoch 3\n");
    cr_assert_not_null(rung2, "%s", h_out);
    const char *row = strstr(rung2, "trial 3/3  lr=0.2  ");
    cr_assert_not_null(row, "%s", h_out);
    static char log[1 << 14];
    snprintf(path, sizeof path, "%s/h/trial-3.log", tmpdir);
    slurp(path, log, sizeof log);
    cr_assert(strstr(row, " (resumed)\n") && strstr(row, " (resumed)\n") < strchr(row, '\n') + 1,
              "trial 3 was not resumed from its checkpoint at rung 2:\n%s\n%s:\n%s", h_out,
              path, log);
    cr_assert(strstr(log, "after epoch 1\n"), "%s does not resume after epoch 1:\n%s", path, log);
}

/* ---- --budget ---------------------------------------------------------------------- */

Test(sweep_tuning, budget_refuses_a_plan_that_needs_more_trial_epochs)
{
    make_data(400);
    char args[1024], dir[128];
    snprintf(dir, sizeof dir, "%s/b", tmpdir);
    /* 3 configurations x 3 epochs = 9 trial-epochs */
    snprintf(args, sizeof args, "sweep --dir %s --budget 8 --sweep lr=0,0.0001,0.2 -- "
             "--data idx:%s " SMALL " --epochs 3", dir, data);
    expect_usage_error(args, "more than --budget");
    cr_assert(!exists(dir), "a refused sweep must not create --dir");
    long long cost, full;
    plan_numbers(out, &cost, &full);
    cr_assert_eq(cost, 9, "%s", out);
    /* the same with --halving needs 5: 5 fits, 4 does not */
    snprintf(args, sizeof args, "sweep --dir %s --budget 4 --halving --sweep lr=0,0.0001,0.2 "
             "-- --data idx:%s " SMALL " --epochs 3", dir, data);
    expect_usage_error(args, "more than --budget");
    snprintf(args, sizeof args, "sweep --dry-run --budget 5 --halving --sweep lr=0,0.0001,0.2 "
             "-- --data idx:%s " SMALL " --epochs 3", data);
    cr_assert_eq(run(args), 0, "%s\n%s", out, err);
    /* a budget the plan fits in runs */
    snprintf(args, sizeof args, "sweep --dir %s --budget 9 --sweep lr=0,0.0001,0.2 -- "
             "--data idx:%s " SMALL " --epochs 3", dir, data);
    cr_assert_eq(run(args), 0, "%s\n%s", out, err);
    static char jsonl[8192];
    char path[256];
    snprintf(path, sizeof path, "%s/sweep.jsonl", dir);
    slurp(path, jsonl, sizeof jsonl);
    cr_assert_eq(count(jsonl, "\"status\": \"ok\""), 3, "%s", jsonl);
}

/* ---- --jobs ------------------------------------------------------------------------ */

Test(sweep_tuning, parallel_sweep_equals_sequential_with_seeds_and_halving)
{
    make_data(400);
    char args[1024], path[256];
    static char seq_jsonl[16384], par_jsonl[16384], seq_csv[8192], par_csv[8192];
    const char *dirs[2] = {"seq", "par"};
    for (int i = 0; i < 2; i++) {
        snprintf(args, sizeof args, "sweep --dir %s/%s --jobs %d --seeds 2 --halving --eta 2 "
                 "--sweep lr=0,0.0001,0.002,0.01 -- --data idx:%s " SMALL " --epochs 2",
                 tmpdir, dirs[i], i + 1, data);
        cr_assert_eq(run(args), 0, "%s\n%s\n%s", args, out, err);
        if (i == 1)
            cr_assert(strstr(out, ", 2 at once with 1 thread each\n"),
                      "the --jobs 2 sweep did not run 2 at once:\n%s", out);
        else
            cr_assert_null(strstr(out, " at once"), "%s", out);
    }
    snprintf(path, sizeof path, "%s/seq/sweep.jsonl", tmpdir);
    slurp(path, seq_jsonl, sizeof seq_jsonl);
    snprintf(path, sizeof path, "%s/par/sweep.jsonl", tmpdir);
    slurp(path, par_jsonl, sizeof par_jsonl);
    snprintf(path, sizeof path, "%s/seq/sweep.csv", tmpdir);
    slurp(path, seq_csv, sizeof seq_csv);
    snprintf(path, sizeof path, "%s/par/sweep.csv", tmpdir);
    slurp(path, par_csv, sizeof par_csv);
    /* the files name no directory, so they can be equal byte for byte */
    cr_assert_null(strstr(seq_jsonl, tmpdir), "sweep.jsonl names a path:\n%s", seq_jsonl);
    cr_assert_null(strstr(seq_csv, tmpdir), "sweep.csv names a path:\n%s", seq_csv);
    cr_assert_eq(count(seq_jsonl, "\n"), 4, "%s", seq_jsonl);
    cr_assert_eq(count(seq_jsonl, "\"status\": \"stopped\""), 2, "%s", seq_jsonl);
    cr_assert_eq(count(seq_jsonl, "\"seeds\": [{\"seed\": 1, "), 4, "%s", seq_jsonl);
    cr_assert_str_eq(par_jsonl, seq_jsonl, "--jobs 2 and --jobs 1 differ:\n%s\nvs\n%s",
                     par_jsonl, seq_jsonl);
    cr_assert_str_eq(par_csv, seq_csv, "--jobs 2 and --jobs 1 differ:\n%s\nvs\n%s", par_csv,
                     seq_csv);
}

/* ---- interrupt and resume -------------------------------------------------------- */

/* Starts `regula ARGS` (split on spaces) with stdout/stderr in files. */
static pid_t start(const char *args, const char *out_path, const char *err_path)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(126);
        static char buf[4096];
        char *argv[128];
        snprintf(buf, sizeof buf, "%s", args);
        int n = 0;
        argv[n++] = (char *)REGULA;
        for (char *tok = strtok(buf, " "); tok && n < 127; tok = strtok(NULL, " "))
            argv[n++] = tok;
        argv[n] = NULL;
        execv(REGULA, argv);
        _exit(127);
    }
    return pid;
}

/* 1 if dir holds a file trial-*.ckpt */
static int has_checkpoint(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        found = !strncmp(e->d_name, "trial-", 6) && n > 5 && !strcmp(e->d_name + n - 5, ".ckpt");
    }
    closedir(d);
    return found;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

Test(sweep_tuning, interrupted_parallel_sweep_resumes_to_the_same_results)
{
    /* about 0.2 s an epoch, 5 epochs a trial: a signal lands while trials run */
    make_data(4000);
    char args[2048], dir[128], path[256], out_path[256], err_path[256];
    static char want[16384], got[16384], want_csv[8192], got_csv[8192];
    const char *tail = "--sweep lr=0.001,0.003,0.01 -- --model mlp:512,512 --batch 8 --val 0.25 "
                       "--threads 1 --epochs 5";

    /* uninterrupted */
    snprintf(args, sizeof args, "sweep --dir %s/whole --jobs 2 %s --data idx:%s", tmpdir, tail,
             data);
    cr_assert_eq(run(args), 0, "%s\n%s\n%s", args, out, err);
    snprintf(path, sizeof path, "%s/whole/sweep.jsonl", tmpdir);
    slurp(path, want, sizeof want);
    snprintf(path, sizeof path, "%s/whole/sweep.csv", tmpdir);
    slurp(path, want_csv, sizeof want_csv);
    cr_assert_eq(count(want, "\"status\": \"ok\""), 3, "%s", want);

    /* interrupted with SIGTERM once a trial has saved its first checkpoint */
    snprintf(dir, sizeof dir, "%s/cut", tmpdir);
    snprintf(args, sizeof args, "sweep --dir %s --jobs 2 %s --data idx:%s", dir, tail, data);
    snprintf(out_path, sizeof out_path, "%s/cut.out", tmpdir);
    snprintf(err_path, sizeof err_path, "%s/cut.err", tmpdir);
    pid_t pid = start(args, out_path, err_path);
    double t0 = now();
    int status, done = 0;
    while (!has_checkpoint(dir)) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            done = 1;
            break;
        }
        if (now() - t0 > 120) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("no trial-*.ckpt in %s after 120 s", dir);
        }
        usleep(5000);
    }
    if (!done) {
        cr_assert_eq(kill(pid, SIGTERM), 0);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
    }
    slurp(out_path, out, sizeof out);
    slurp(err_path, err, sizeof err);
    cr_assert(!done, "the sweep ended before a checkpoint was seen:\n%s\n%s", out, err);
    cr_assert(WIFEXITED(status), "the sweep died of signal %d:\n%s\n%s",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0, out, err);
    cr_assert_eq(WEXITSTATUS(status), 130, "exit %d after SIGTERM, expected 130:\n%s\n%s",
                 WEXITSTATUS(status), out, err);
    cr_assert(strstr(err, "run the same command again"), "stderr: %s", err);
    cr_assert(strstr(out, "interrupted, checkpoint kept"), "%s", out);
    cr_assert_null(strstr(out, "test accuracy"), "an interrupted sweep evaluated a winner:\n%s",
                   out);

    /* the same command again finishes it, resuming the interrupted trials */
    cr_assert_eq(run(args), 0, "%s\n%s\n%s", args, out, err);
    cr_assert_geq(count(out, "(resumed)"), 1, "no trial was resumed:\n%s", out);
    snprintf(path, sizeof path, "%s/sweep.jsonl", dir);
    slurp(path, got, sizeof got);
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    slurp(path, got_csv, sizeof got_csv);
    cr_assert_str_eq(got, want, "resumed sweep.jsonl differs from the uninterrupted one:\n%s\n"
                     "vs\n%s", got, want);
    cr_assert_str_eq(got_csv, want_csv, "resumed sweep.csv differs:\n%s\nvs\n%s", got_csv,
                     want_csv);
}

/* ---- set axes --------------------------------------------------------------------- */

Test(sweep_tuning, set_axes_dry_run_lists_conditional_configurations_once)
{
    cr_assert_eq(run("sweep --dry-run --sweep reg=none,dropout --sweep dropout.rate=0.2,0.5 -- "
                     "--reg l2 --model mlp:8"), 0, "%s", err);
    cr_assert(strstr(out, "3 trials (grid)\n"), "%s", out);
    cr_assert(strstr(out, "trial 1  reg=none dropout.rate=-\n"), "%s", out);
    cr_assert(strstr(out, "trial 2  reg=dropout dropout.rate=0.2\n"), "%s", out);
    cr_assert(strstr(out, "trial 3  reg=dropout dropout.rate=0.5\n"), "%s", out);
    cr_assert_null(strstr(out, "trial 4 "), "%s", out);
    /* ';' separates values with ',' and '+' joins plugins */
    cr_assert_eq(run("sweep --dry-run --sweep 'reg=none;l2:lambda=0.001,convention=keras+dropout' "
                     "-- --model mlp:8"), 0, "%s", err);
    cr_assert(strstr(out, "2 trials (grid)\n"), "%s", out);
    cr_assert(strstr(out, "trial 2  reg=l2:lambda=0.001,convention=keras+dropout\n"), "%s", out);
}

Test(sweep_tuning, set_axes_replace_the_train_arguments_plugins)
{
    make_data(400);
    char args[1024], path[256];
    static char params[8192], jsonl[8192];
    snprintf(args, sizeof args, "sweep --dir %s/s --sweep reg=none,dropout "
             "--sweep dropout.rate=0.2,0.5 -- --reg l2 --data idx:%s " SMALL " --epochs 1",
             tmpdir, data);
    cr_assert_eq(run(args), 0, "%s\n%s\n%s", args, out, err);
    const char *rates[4] = {NULL, NULL, "dropout:rate=0.2", "dropout:rate=0.5"};
    for (int n = 1; n <= 3; n++) {
        snprintf(path, sizeof path, "%s/s/trial-%d.params", tmpdir, n);
        slurp(path, params, sizeof params);
        cr_assert(params[0], "%s missing", path);
        const char *targs = train_arguments(params, path);
        cr_assert_null(strstr(targs, "l2"), "%s still has the train arguments' l2:\n%s", path,
                       params);
        if (n == 1) {
            cr_assert_null(strstr(targs, "--reg\n"), "reg=none has a --reg:\n%s", params);
        } else {
            char want[64];
            snprintf(want, sizeof want, "--reg\n%s\n", rates[n]);
            cr_assert(strstr(targs, want), "%s lacks '%s':\n%s", path, want, params);
            cr_assert_eq(count(targs, "--reg\n"), 1, "%s", params);
        }
    }
    snprintf(path, sizeof path, "%s/s/trial-4.params", tmpdir);
    cr_assert(!exists(path), "a dropped duplicate configuration ran");
    snprintf(path, sizeof path, "%s/s/sweep.jsonl", tmpdir);
    slurp(path, jsonl, sizeof jsonl);
    cr_assert_eq(count(jsonl, "\n"), 3, "%s", jsonl);
    cr_assert_eq(count(jsonl, "\"status\": \"ok\""), 3, "%s", jsonl);
    static char line[2048];
    jsonl_line(jsonl, 1, line, sizeof line);
    cr_assert(strstr(line, "\"params\": {\"reg\": \"none\", \"dropout.rate\": null}"), "%s", line);
    jsonl_line(jsonl, 3, line, sizeof line);
    cr_assert(strstr(line, "\"params\": {\"reg\": \"dropout\", \"dropout.rate\": 0.5}"), "%s",
              line);
}

/* ---- usage errors ---------------------------------------------------------------- */

Test(sweep_tuning, new_options_usage_errors_are_one_line_and_exit_2)
{
    char dir[128], args[1024];
    snprintf(dir, sizeof dir, "%s/never", tmpdir);
    const char *train = "--model mlp:8 --epochs 2";
    snprintf(args, sizeof args, "sweep --dir %s --seeds 2 --sweep seed=1,2 -- %s", dir, train);
    expect_usage_error(args, "exclude each other");
    snprintf(args, sizeof args, "sweep --dir %s --halving --sweep lr=0.1,0.2 -- --model mlp:8",
             dir);
    expect_usage_error(args, "--halving needs --epochs");
    snprintf(args, sizeof args, "sweep --dir %s --eta 2 --sweep lr=0.1,0.2 -- %s", dir, train);
    expect_usage_error(args, "--eta");
    snprintf(args, sizeof args, "sweep --dir %s --sweep lr=0.1,0.2 -- %s --stop-after 1", dir,
             train);
    expect_usage_error(args, "--stop-after");
    snprintf(args, sizeof args, "sweep --dir %s --sweep lr=0.1,0.2 -- %s --stop-at-epoch 1", dir,
             train);
    expect_usage_error(args, "--stop-at-epoch");
    snprintf(args, sizeof args, "sweep --dir %s --sweep reg=l2++dropout -- %s", dir, train);
    expect_usage_error(args, "l2++dropout");
    cr_assert(!exists(dir), "a usage error must not create --dir");
}

/* ---- train --stop-at-epoch ------------------------------------------------------ */

Test(sweep_tuning, stop_at_epoch_then_resume_equals_a_straight_run)
{
    make_data(400);
    char common[1024], args[2048], ckpt[256], s1[256], s2[256];
    static char j1[1 << 16], j2[1 << 16];
    /* a cosine schedule: the resumed run must follow --epochs 4, not the stop */
    snprintf(common, sizeof common, "train --data idx:%s " SMALL " --epochs 4 --lr 0.05 "
             "--lr-schedule cosine --no-test --quiet", data);
    snprintf(ckpt, sizeof ckpt, "%s/run.ckpt", tmpdir);
    snprintf(s1, sizeof s1, "%s/straight.json", tmpdir);
    snprintf(s2, sizeof s2, "%s/resumed.json", tmpdir);

    snprintf(args, sizeof args, "%s --stop-at-epoch 2 --save %s", common, ckpt);
    cr_assert_eq(run(args), 0, "%s\n%s\n%s", args, out, err);
    cr_assert(strstr(out, "stopped at epoch 2 as asked (--stop-at-epoch)"), "%s", out);
    cr_assert(exists(ckpt), "no checkpoint at %s", ckpt);
    snprintf(args, sizeof args, "%s --save %s --resume %s --summary %s", common, ckpt, ckpt, s2);
    cr_assert_eq(run(args), 0, "%s\n%s\n%s", args, out, err);
    cr_assert_null(strstr(out, "stopped at epoch"), "%s", out);
    snprintf(args, sizeof args, "%s --summary %s", common, s1);
    cr_assert_eq(run(args), 0, "%s\n%s\n%s", args, out, err);

    slurp(s1, j1, sizeof j1);
    slurp(s2, j2, sizeof j2);
    char a[64], b[64];
    cr_assert(top_value(j2, "epochs", a, sizeof a), "%s", j2);
    cr_assert_str_eq(a, "4", "the resumed run trained %s epochs", a);
    const char *keys[] = {"val_loss", "val_accuracy", "train_loss"};
    for (int i = 0; i < 3; i++) {
        cr_assert(top_value(j1, keys[i], a, sizeof a), "%s: no %s", s1, keys[i]);
        cr_assert(top_value(j2, keys[i], b, sizeof b), "%s: no %s", s2, keys[i]);
        cr_assert_str_eq(b, a, "%s: resumed %s, straight %s", keys[i], b, a);
    }
}
