/* regula sweep report: a sweep directory written by hand, whose curves were
 * made to overfit, underfit or neither, read back as the text's verdicts and
 * numbers (means over two seeds worked out here) and as the PNG's pixels. */
#include <criterion/criterion.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli/cli_error.h"
#include "plot/report.h"

#define REGULA REGULA_TEST_BIN "/regula"

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/regula-report-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    rg_plot_release_caches();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(report, .init = setup, .fini = teardown, .timeout = 60);

static void write_text(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* The curves of one trial: seed k (1, 2) is the mean curve shifted by -d and
 * +d, so the mean over the two seeds is the curve itself. */
typedef double (*curve)(int epoch);

static double over_train(int e) { return 1.0 / e; }
static double over_val(int e) { return e <= 4 ? 1.0 - 0.15 * e : 0.4 + (e - 4) / 30.0; }
static double win_train(int e) { return 0.3 + 0.7 / e; }
static double win_val(int e) { return 0.5 + 0.5 / e; }
static double under_train(int e) { return 1.2 + 0.1 / e; }
static double under_val(int e) { return 1.25 + 0.1 / e; }

static void write_curves(int trial, curve train, curve val, int epochs)
{
    for (int k = 1; k <= 2; k++) {
        static char text[8192];
        text[0] = '\0';
        double d = k == 1 ? -0.01 : 0.01;
        for (int e = 1; e <= epochs; e++) {
            char line[512];
            snprintf(line, sizeof line,
                     "{\"epoch\": %d, \"train_loss\": %.17g, \"train_accuracy\": 0.5, "
                     "\"penalty\": 0, \"val_loss\": %.17g, \"val_accuracy\": %.17g, "
                     "\"lr\": 0.05, \"seconds\": 1}\n",
                     e, train(e) + d, val(e) + d, 0.9 - val(e) / 2 + d);
            strcat(text, line);
        }
        char name[64];
        snprintf(name, sizeof name, "trial-%d-s%d.metrics.jsonl", trial, k);
        write_text(name, text);
    }
}

/* Best first, as regula sweep writes it. */
static void write_sweep(void)
{
    write_text("sweep.jsonl",
               "{\"trial\": 2, \"params\": {\"l2.lambda\": 0.001}, \"val_accuracy\": 0.85, "
               "\"val_loss\": 0.55, \"val_accuracy_sd\": 0.01, \"val_loss_sd\": 0.01, "
               "\"seeds\": [{\"seed\": 1}, {\"seed\": 2}], \"status\": \"ok\"}\n"
               "{\"trial\": 1, \"params\": {\"l2.lambda\": 0}, \"val_accuracy\": 0.8, "
               "\"val_loss\": 0.6, \"val_accuracy_sd\": 0.02, \"val_loss_sd\": 0.01, "
               "\"status\": \"ok\"}\n"
               "{\"trial\": 3, \"params\": {\"l2.lambda\": 0.1}, \"val_accuracy\": 0.6, "
               "\"val_loss\": 1.26, \"val_accuracy_sd\": 0.03, \"val_loss_sd\": 0.01, "
               "\"status\": \"ok\"}\n"
               "{\"trial\": 4, \"params\": {\"l2.lambda\": 0.01}, \"val_accuracy\": 0.7, "
               "\"val_loss\": 0.9, \"val_accuracy_sd\": 0.05, \"val_loss_sd\": 0.01, "
               "\"status\": \"stopped\"}\n");
    write_curves(1, over_train, over_val, 10);
    write_curves(2, win_train, win_val, 10);
    write_curves(3, under_train, under_val, 10);
    /* stopped by halving with curves that would read as underfit beside finished trials */
    write_curves(4, under_train, under_val, 5);
}

static rg_report *load(void)
{
    write_sweep();
    rg_report *rep = NULL;
    rg_cli_error_clear();
    cr_assert_eq(rg_report_load(tmpdir, NULL, &rep), RG_OK, "%s", rg_cli_error_message());
    return rep;
}

static void expect_line(const char *text, const char *want)
{
    cr_assert(strstr(text, want), "expected\n  %s\nin\n%s", want, text);
}

Test(report, verdicts_follow_the_curves_averaged_over_seeds)
{
    rg_report *rep = load();
    cr_assert_eq(rep->n, 4);
    cr_assert_eq(rep->winner, 0, "the first ok record is the winner");
    cr_assert_eq(rep->t[0].seeds, 2);
    cr_assert_eq(rep->t[0].n, 10);
    /* the mean of the two seeds is the curve itself */
    for (int e = 1; e <= 10; e++) {
        cr_assert_float_eq(rep->t[1].val_loss[e - 1], over_val(e), 1e-12);
        cr_assert_float_eq(rep->t[1].train_loss[e - 1], over_train(e), 1e-12);
    }
    cr_assert_eq(rep->t[0].verdict, RG_FIT_NEITHER);
    cr_assert_eq(rep->t[1].verdict, RG_FIT_OVERFIT);
    cr_assert_eq(rep->t[2].verdict, RG_FIT_UNDERFIT);
    cr_assert_eq(rep->t[3].verdict, RG_FIT_UNJUDGED, "a stopped trial is not judged");
    cr_assert_eq(rep->t[1].best, 3, "lowest validation loss at epoch 4");
    cr_assert_float_eq(rep->lowest_train_loss, 0.1, 1e-12);
    cr_assert_eq(rep->npaths, 1);
    cr_assert_str_eq(rep->paths[0], "l2.lambda");
    rg_report_destroy(rep);
}

Test(report, text_names_the_overfit_and_underfit_trials_with_their_numbers)
{
    rg_report *rep = load();
    char *text = rg_report_text(rep);
    cr_assert_not_null(text);
    expect_line(text, "4 trials (3 ok, 1 stopped by halving, 0 failed), 2 seeds each");
    expect_line(text, "winner: trial 2 (l2.lambda=0.001): val_accuracy 0.8500 ± 0.0100, fits");
    /* 0.6 = 0.4 + 6/30 at epoch 10; the lowest 0.4 at epoch 4; train 0.25 -> 0.1 */
    expect_line(text, "overfit (validation loss rising while the training loss falls): 1 trial\n"
                      "  trial 1 (l2.lambda=0): val_loss 0.6000 at epoch 10 is 50% above its "
                      "lowest 0.4000 (epoch 4) while train_loss fell 0.2500 -> 0.1000\n");
    /* 1.2 + 0.01 = 1.21, 12.1 times trial 1's 0.1 */
    expect_line(text, "  trial 3 (l2.lambda=0.1): train_loss 1.2100 at epoch 10 is 12.1x the "
                      "sweep's lowest (0.1000), val_loss 1.2600\n");
    expect_line(text, "not judged (stopped or failed, or fewer than 3 epochs of curves): 1 "
                      "trial\n  trial 4 (l2.lambda=0.01): stopped by successive halving after 5 "
                      "epochs\n");
    /* the path: stopped trials are not on it; the winner sits between an
     * overfitting weaker and an underfitting stronger value */
    expect_line(text, "  0            0.8000 ± 0.0200  trial 1, overfits\n"
                      "  0.001        0.8500 ± 0.0100  trial 2, fits  <- winner\n"
                      "  0.1          0.6000 ± 0.0300  trial 3, underfits\n");
    expect_line(text, "the winner is inside the range; below it 1 of 1 overfit, above it 1 of 1 "
                      "underfit (the U-shape");
    free(text);
    rg_report_destroy(rep);
}

/* ---- the PNG ------------------------------------------------------------------- */

typedef struct image {
    int w, h;
    unsigned char *rgb;
} image;

static image read_png(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s was not written", path);
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    image img = {0};
    if (setjmp(png_jmpbuf(p)))
        cr_assert_fail("libpng could not read %s", path);
    png_init_io(p, f);
    png_read_info(p, info);
    png_uint_32 w, h;
    int depth, type;
    png_get_IHDR(p, info, &w, &h, &depth, &type, NULL, NULL, NULL);
    cr_assert_eq(depth, 8);
    if (type == PNG_COLOR_TYPE_RGB_ALPHA)
        png_set_strip_alpha(p);
    png_read_update_info(p, info);
    img.w = (int)w;
    img.h = (int)h;
    img.rgb = malloc((size_t)w * h * 3);
    png_bytep *rows = malloc(h * sizeof *rows);
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = img.rgb + (size_t)y * w * 3;
    png_read_image(p, rows);
    png_destroy_read_struct(&p, &info, NULL);
    free(rows);
    fclose(f);
    return img;
}

static int count_color(const image *img, rg_plot_rect r, unsigned rgb)
{
    int n = 0;
    for (int y = (int)r.y0; y < (int)r.y1; y++)
        for (int x = (int)r.x0; x < (int)r.x1; x++) {
            const unsigned char *px = img->rgb + ((size_t)y * img->w + x) * 3;
            n += px[0] == ((rgb >> 16) & 255) && px[1] == ((rgb >> 8) & 255) &&
                 px[2] == (rgb & 255);
        }
    return n;
}

Test(report, png_has_the_path_with_the_winner_ringed_and_curves_coloured_by_verdict)
{
    rg_report *rep = load();
    char out[128];
    snprintf(out, sizeof out, "%s/report.png", tmpdir);
    rg_report_info info;
    cr_assert_eq(rg_report_draw(rep, out, 0, 0, &info), RG_OK, "%s", rg_cli_error_message());
    image img = read_png(out);
    cr_assert_eq(img.w, RG_REPORT_WIDTH);
    cr_assert_eq(img.h, RG_REPORT_HEIGHT);
    cr_assert_eq(info.npanels, 3);
    cr_assert_float_eq(info.winner_x[0], 0.001, 1e-15);
    cr_assert(info.x[0].log, "0.001 and 0.1 span a factor of 100: a log axis");
    rg_plot_rect path = info.area[0];
    /* the winner's ring: red pixels around its point */
    double bx = path.x0 + rg_plot_axis_frac(&info.x[0], 0.001) * (path.x1 - path.x0);
    double by = path.y1 - rg_plot_axis_frac(&info.y[0], 0.85) * (path.y1 - path.y0);
    rg_plot_rect near = {bx - 12, by - 12, bx + 12, by + 12};
    cr_assert_gt(count_color(&img, near, RG_PLOT_COLOR_BEST), 20);
    /* lambda = 0 cannot sit on a log axis: the dashed baseline stands for it */
    cr_assert_gt(count_color(&img, path, 0x7f7f7f), 100);
    cr_assert_gt(count_color(&img, path, RG_PLOT_COLOR_TRAIN), 200);
    for (int c = 0; c < 2; c++) {
        rg_plot_rect a = info.area[RG_REPORT_MAX_PATHS + c];
        cr_assert_gt(count_color(&img, a, RG_PLOT_COLOR_BEST), 100, "panel %d: winner", c);
        cr_assert_gt(count_color(&img, a, RG_REPORT_COLOR_OVERFIT), 50, "panel %d: overfit", c);
        cr_assert_gt(count_color(&img, a, RG_REPORT_COLOR_UNDERFIT), 50, "panel %d: underfit", c);
        cr_assert_gt(count_color(&img, a, RG_REPORT_COLOR_OTHER), 10, "panel %d: others", c);
    }
    cr_assert_eq(info.curves, 4);
    free(img.rgb);
    rg_report_destroy(rep);
}

/* ---- the command --------------------------------------------------------------- */

static char out_text[1 << 15], err_text[1 << 12];

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

static int run(const char *args)
{
    char cmd[1024], path[128];
    snprintf(cmd, sizeof cmd, "%s %s >%s/out.txt 2>%s/err.txt", REGULA, args, tmpdir, tmpdir);
    int st = system(cmd);
    snprintf(path, sizeof path, "%s/out.txt", tmpdir);
    slurp(path, out_text, sizeof out_text);
    snprintf(path, sizeof path, "%s/err.txt", tmpdir);
    slurp(path, err_text, sizeof err_text);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(report, command_prints_the_text_and_writes_the_png)
{
    write_sweep();
    char args[512];
    snprintf(args, sizeof args, "sweep report %s -o %s/r.png", tmpdir, tmpdir);
    cr_assert_eq(run(args), 0, "%s", err_text);
    expect_line(out_text, "  trial 1 (l2.lambda=0): val_loss 0.6000 at epoch 10 is 50% above");
    char want[256];
    snprintf(want, sizeof want, "wrote %s/r.png (1200x900): 1 path panel, curves of 4 trials",
             tmpdir);
    expect_line(out_text, want);
    snprintf(want, sizeof want, "%s/r.png", tmpdir);
    image img = read_png(want);
    free(img.rgb);

    snprintf(args, sizeof args, "sweep report %s/nothing -o %s/r.png", tmpdir, tmpdir);
    cr_assert_eq(run(args), 1);
    expect_line(err_text, "nothing/sweep.jsonl: No such file or directory (is ");
    snprintf(args, sizeof args, "sweep report %s", tmpdir);
    cr_assert_eq(run(args), 2);
    expect_line(err_text, "regula: sweep report: expected -o report.png\n");
    /* a metrics file that is not JSON Lines is named with its line */
    write_text("trial-3-s2.metrics.jsonl", "{\"epoch\": 1}\n{oops\n");
    snprintf(args, sizeof args, "sweep report %s -o %s/r.png", tmpdir, tmpdir);
    cr_assert_eq(run(args), 1);
    expect_line(err_text, "trial-3-s2.metrics.jsonl:2:");
}
