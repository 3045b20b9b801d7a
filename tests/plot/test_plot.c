/* regula plot: the JSON Lines reader, the axes, the two plots read back as
 * PNG pixels, and the command's errors as a user meets them. */
#include <criterion/criterion.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli/cli_error.h"
#include "plot/plot.h"

#define REGULA REGULA_TEST_BIN "/regula"

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/regula-plot-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

/* cairo's font caches live as long as the process; freed so ASan's leak
 * check sees only our allocations. */
static void teardown_plot(void)
{
    rg_plot_release_caches();
    teardown();
}

TestSuite(jsonl, .init = setup, .fini = teardown);
TestSuite(axis);
TestSuite(plot, .init = setup, .fini = teardown_plot, .timeout = 60);
TestSuite(plot_cli, .init = setup, .fini = teardown, .timeout = 60);

/* Writes `text` to tmpdir/name; returns the path (static buffer per slot). */
static const char *write_file(const char *name, const char *text)
{
    static char paths[8][256];
    static int slot;
    char *path = paths[slot++ % 8];
    snprintf(path, 256, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char *tmp_path(const char *name)
{
    static char paths[8][256];
    static int slot;
    char *path = paths[slot++ % 8];
    snprintf(path, 256, "%s/%s", tmpdir, name);
    return path;
}

/* ---- reader ----------------------------------------------------------------- */

static rg_jsonl *parse_ok(const char *text)
{
    rg_jsonl *j = NULL;
    rg_status st = rg_jsonl_parse("t.jsonl", text, strlen(text), &j);
    cr_assert_eq(st, RG_OK, "parse failed: %s", rg_cli_error_message());
    return j;
}

static void expect_parse_error(const char *text, const char *message)
{
    rg_jsonl *j = NULL;
    rg_cli_error_clear();
    rg_status st = rg_jsonl_parse("t.jsonl", text, strlen(text), &j);
    cr_assert_eq(st, RG_ERR_FORMAT, "'%s' parsed", text);
    cr_assert_null(j);
    cr_assert_str_eq(rg_cli_error_message(), message, "for input '%s'", text);
}

Test(jsonl, reads_numbers_strings_null_and_one_nested_object)
{
    rg_jsonl *j = parse_ok(
        "{\"epoch\": 1, \"val_loss\": null, \"name\": \"a\\\"b\\u00e9\", \"lr\": -5e-2}\n"
        "\r\n"
        "   \n"
        "{\"trial\": 3, \"params\": {\"l2.lambda\": 0.001, \"lr\": 0.05}, \"status\": \"ok\"}\r\n");
    cr_assert_eq(j->nrecords, 2);
    const rg_jsonl_record *a = &j->records[0], *b = &j->records[1];
    cr_assert_eq(a->line, 1);
    cr_assert_eq(b->line, 4, "blank lines still count for line numbers");
    cr_assert_eq(rg_jsonl_number(a, NULL, "epoch"), 1.0);
    cr_assert_eq(rg_jsonl_number(a, NULL, "lr"), -0.05);
    cr_assert_eq(rg_jsonl_get(a, NULL, "val_loss")->type, RG_JV_NULL);
    cr_assert(isnan(rg_jsonl_number(a, NULL, "val_loss")));
    cr_assert_null(rg_jsonl_get(a, NULL, "absent"));
    cr_assert_str_eq(rg_jsonl_get(a, NULL, "name")->string, "a\"b\xc3\xa9");
    cr_assert_eq(rg_jsonl_number(b, "params", "l2.lambda"), 0.001);
    cr_assert_eq(rg_jsonl_number(b, "params", "lr"), 0.05);
    cr_assert(isnan(rg_jsonl_number(b, NULL, "lr")), "nested keys are not top-level keys");
    cr_assert_eq(rg_jsonl_get(b, NULL, "params")->type, RG_JV_OBJECT);
    cr_assert_str_eq(rg_jsonl_get(b, NULL, "status")->string, "ok");
    rg_jsonl_destroy(j);
}

Test(jsonl, tolerates_arrays_booleans_nan_and_deeper_objects)
{
    rg_jsonl *j = parse_ok("{\"h\": [1, {\"x\": [2]}], \"p\": {\"d\": {\"e\": 1}, \"k\": true},"
                           " \"v\": NaN, \"w\": -Infinity, \"z\": false}\n");
    const rg_jsonl_record *r = &j->records[0];
    cr_assert_eq(rg_jsonl_get(r, NULL, "h")->type, RG_JV_OTHER);
    cr_assert_eq(rg_jsonl_get(r, "p", "d")->type, RG_JV_OTHER);
    cr_assert_eq(rg_jsonl_number(r, "p", "k"), 1.0);
    cr_assert_eq(rg_jsonl_get(r, NULL, "v")->type, RG_JV_NUMBER);
    cr_assert(isnan(rg_jsonl_number(r, NULL, "v")));
    cr_assert(isinf(rg_jsonl_number(r, NULL, "w")) && rg_jsonl_number(r, NULL, "w") < 0);
    cr_assert_eq(rg_jsonl_number(r, NULL, "z"), 0.0);
    rg_jsonl_destroy(j);
    /* Python's words only outside strings; inside one they are text. */
    j = parse_ok("{\"s\": \"NaN, Infinity\", \"p\": {\"x\": Infinity}, "
                 "\"n\": 12345678901234567890123}");
    r = &j->records[0];
    cr_assert_str_eq(rg_jsonl_get(r, NULL, "s")->string, "NaN, Infinity");
    cr_assert(isinf(rg_jsonl_number(r, "p", "x")) && rg_jsonl_number(r, "p", "x") > 0);
    cr_assert_eq(rg_jsonl_number(r, NULL, "n"), 12345678901234567890123.0,
                 "an integer beyond int64 is still a number");
    rg_jsonl_destroy(j);
}

Test(jsonl, a_key_given_twice_keeps_its_last_value)
{
    rg_jsonl *j = parse_ok("{\"a\": 1, \"b\": 2, \"a\": 3}");
    cr_assert_eq(rg_jsonl_number(&j->records[0], NULL, "a"), 3.0);
    cr_assert_eq(rg_jsonl_number(&j->records[0], NULL, "b"), 2.0);
    rg_jsonl_destroy(j);
}

Test(jsonl, malformed_lines_name_file_line_column_and_what_jansson_says)
{
    expect_parse_error("{\"a\": 1}\n{\"a\": 1,}\n", "t.jsonl:2:9: string or '}' expected near '}'");
    expect_parse_error("{\"a\" 1}", "t.jsonl:1:6: ':' expected near '1'");
    expect_parse_error("\n\n{\"a\": 1", "t.jsonl:3:7: '}' expected near end of file");
    expect_parse_error("{\"a\": tru}", "t.jsonl:1:9: invalid token near 'tru'");
    expect_parse_error("[1, 2]", "t.jsonl:1:1: expected a JSON object starting with '{'");
    expect_parse_error("   \"x\"", "t.jsonl:1:6: '[' or '{' expected near '\"x\"'");
    expect_parse_error("{\"a\": \"x}", "t.jsonl:1:9: premature end of input near '\"x}'");
    expect_parse_error("{\"a\": 1} x", "t.jsonl:1:10: end of file expected near 'x'");
    expect_parse_error("{\"a\": -}", "t.jsonl:1:7: invalid token near '-'");
    expect_parse_error("{\"a\": 1e}", "t.jsonl:1:8: invalid token near '1e'");
    expect_parse_error("{\"a\": 0x1}", "t.jsonl:1:8: '}' expected near 'x'");
    expect_parse_error("{\"a\": inf}", "t.jsonl:1:9: invalid token near 'inf'");
    expect_parse_error("{\"a\": \"\\q\"}", "t.jsonl:1:9: invalid escape near '\"\\q'");
    expect_parse_error("{\"a\": [1, 2}", "t.jsonl:1:12: ']' expected near '}'");
    /* Not JSON, so not numbers, whatever strtod would make of them. */
    expect_parse_error("{\"a\": .5}", "t.jsonl:1:7: invalid token near '.'");
    expect_parse_error("{\"a\": 5.}", "t.jsonl:1:8: invalid token near '5.'");
    expect_parse_error("{\"a\": +0.1}", "t.jsonl:1:7: invalid token near '+'");
    expect_parse_error("{\"a\": 007}", "t.jsonl:1:7: invalid token near '0'");
    /* A line that is wrong beyond Python's words is reported as jansson sees it. */
    expect_parse_error("{\"v\": NaN, \"a\" 1}", "t.jsonl:1:9: invalid token near 'NaN'");
    /* A NUL in a string could pass for one of the words: refused as jansson does. */
    expect_parse_error("{\"s\": \"\\u0000NaN\", \"v\": NaN}",
                       "t.jsonl:1:17: \\u0000 is not allowed without JSON_ALLOW_NUL near "
                       "'\"\\u0000NaN\"'");
}

Test(jsonl, read_names_the_file_line_and_column_in_errors)
{
    /* a metrics file whose third line lacks a ':' */
    const char *path = write_file("m.jsonl", "{\"epoch\": 1, \"train_loss\": 0.9}\n"
                                             "{\"epoch\": 2, \"train_loss\": 0.7}\n"
                                             "{\"epoch\": 3, \"train_loss\" 0.5}\n");
    rg_jsonl *j = NULL;
    cr_assert_eq(rg_jsonl_read(path, &j), RG_ERR_FORMAT);
    cr_assert_null(j);
    char want[512];
    snprintf(want, sizeof want, "%s:3:29: ':' expected near '0.5'", path);
    cr_assert_str_eq(rg_cli_error_message(), want);

    cr_assert_eq(rg_jsonl_read("/nonexistent/m.jsonl", &j), RG_ERR_IO);
    cr_assert_str_eq(rg_cli_error_message(),
                     "/nonexistent/m.jsonl: cannot open: No such file or directory");
}

/* ---- axes ------------------------------------------------------------------ */

static void expect_ticks(const rg_plot_axis *a, const char *want)
{
    char got[512] = "", buf[64];
    for (int i = 0; i < a->nticks; i++) {
        rg_plot_format_tick(a, a->ticks[i], buf, sizeof buf);
        strcat(got, i ? " " : "");
        strcat(got, buf);
    }
    cr_assert_str_eq(got, want);
}

Test(axis, linear_ticks_are_round_numbers_inside_the_range)
{
    rg_plot_axis a;
    rg_plot_axis_fit(&a, 0.13, 0.87, 0, 0, 0.0, 5);
    expect_ticks(&a, "0.2 0.3 0.4 0.5 0.6 0.7 0.8");
    rg_plot_axis_fit(&a, 0, 2.4e6, 0, 0, 0.0, 5);
    expect_ticks(&a, "0 5e5 1e6 1.5e6 2e6");
    cr_assert_float_eq(rg_plot_axis_frac(&a, 1.2e6), 0.5, 1e-12);
}

Test(axis, integer_axis_has_whole_ticks_and_centres_a_single_value)
{
    rg_plot_axis a;
    rg_plot_axis_fit(&a, 1, 4, 0, 1, 0.0, 10);
    expect_ticks(&a, "1 2 3 4");
    rg_plot_axis_fit(&a, 1, 1, 0, 1, 0.03, 8);
    cr_assert_float_eq(a.lo, 0.5, 1e-12);
    cr_assert_float_eq(a.hi, 1.5, 1e-12);
    expect_ticks(&a, "1");
}

Test(axis, log_ticks_at_decades_and_one_two_five_in_short_ranges)
{
    rg_plot_axis a;
    rg_plot_axis_fit(&a, 1e-5, 0.1, 1, 0, 0.0, 8);
    expect_ticks(&a, "1e-5 1e-4 1e-3 1e-2 1e-1");
    cr_assert_float_eq(rg_plot_axis_frac(&a, 1e-3), 0.5, 1e-12);
    rg_plot_axis_fit(&a, 0.015, 0.12, 1, 0, 0.0, 8);
    expect_ticks(&a, "0.02 0.05 0.1");
    rg_plot_axis_fit(&a, 1e-3, 10, 1, 0, 0.0, 8);
    expect_ticks(&a, "0.001 0.01 0.1 1 10");
}

/* ---- plots ------------------------------------------------------------------ */

typedef struct image {
    int w, h;
    unsigned char *rgb;
} image;

/* Reads a PNG with libpng, checking the IHDR: 8-bit RGB, as cairo writes. */
static image read_png(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s was not written", path);
    unsigned char sig[8];
    cr_assert_eq(fread(sig, 1, 8, f), 8);
    cr_assert_eq(png_sig_cmp(sig, 0, 8), 0, "%s is not a PNG", path);
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    image img = {0};
    png_bytep *rows = NULL;
    if (setjmp(png_jmpbuf(p)))
        cr_assert_fail("libpng could not read %s", path);
    png_init_io(p, f);
    png_set_sig_bytes(p, 8);
    png_read_info(p, info);
    png_uint_32 w, h;
    int depth, type;
    png_get_IHDR(p, info, &w, &h, &depth, &type, NULL, NULL, NULL);
    cr_assert_eq(depth, 8);
    cr_assert(type == PNG_COLOR_TYPE_RGB || type == PNG_COLOR_TYPE_RGB_ALPHA, "type %d", type);
    if (type == PNG_COLOR_TYPE_RGB_ALPHA)
        png_set_strip_alpha(p);
    png_read_update_info(p, info);
    img.w = (int)w;
    img.h = (int)h;
    img.rgb = malloc((size_t)w * h * 3);
    rows = malloc(h * sizeof *rows);
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = img.rgb + (size_t)y * w * 3;
    png_read_image(p, rows);
    png_read_end(p, NULL);
    png_destroy_read_struct(&p, &info, NULL);
    free(rows);
    fclose(f);
    return img;
}

static int is_color(const image *img, int x, int y, unsigned rgb)
{
    const unsigned char *px = img->rgb + ((size_t)y * img->w + x) * 3;
    return px[0] == ((rgb >> 16) & 255) && px[1] == ((rgb >> 8) & 255) && px[2] == (rgb & 255);
}

static int count_color(const image *img, rg_plot_rect r, unsigned rgb)
{
    int n = 0;
    for (int y = (int)r.y0; y < (int)r.y1; y++)
        for (int x = (int)r.x0; x < (int)r.x1; x++)
            n += is_color(img, x, y, rgb);
    return n;
}

static int column_count(const image *img, rg_plot_rect r, int x, unsigned rgb)
{
    int n = 0;
    for (int y = (int)r.y0; y < (int)r.y1; y++)
        n += is_color(img, x, y, rgb);
    return n;
}

/* Ten epochs whose validation loss is lowest at epoch `best`. */
static const char *metrics_file(const char *name, int best, int with_val)
{
    static char text[8192];
    text[0] = '\0';
    for (int e = 1; e <= 10; e++) {
        double tl = 1.0 / e, vl = 0.3 + 0.02 * (e - best) * (e - best);
        char line[512];
        if (with_val)
            snprintf(line, sizeof line,
                     "{\"epoch\": %d, \"step\": %d, \"train_loss\": %g, \"train_accuracy\": %g, "
                     "\"val_loss\": %g, \"val_accuracy\": %g, \"lr\": 0.05, \"seconds\": 1.2, "
                     "\"penalty\": 0.37, \"penalties\": {\"l2\": 0.37}}\n",
                     e, e * 422, tl, 1 - tl / 2, vl, 1 - vl / 2);
        else
            snprintf(line, sizeof line,
                     "{\"epoch\": %d, \"train_loss\": %g, \"train_accuracy\": %g, "
                     "\"val_loss\": null}\n", e, tl, 1 - tl / 2);
        strcat(text, line);
    }
    return write_file(name, text);
}

static rg_status plot(const char *in, const char *out, const rg_plot_options *o, rg_plot_info *info)
{
    rg_cli_error_clear();
    return rg_plot_file(in, out, o, info);
}

Test(plot, metrics_png_has_the_requested_size_and_both_series_in_both_panels)
{
    const char *in = metrics_file("m.jsonl", 7, 1), *out = tmp_path("m.png");
    rg_plot_options o = {.width = 900, .height = 420};
    rg_plot_info info;
    cr_assert_eq(plot(in, out, &o, &info), RG_OK, "%s", rg_cli_error_message());
    image img = read_png(out);
    cr_assert_eq(img.w, 900);
    cr_assert_eq(img.h, 420);
    cr_assert_eq(info.kind, RG_PLOT_METRICS);
    cr_assert_eq(info.points, 10);
    for (int k = 0; k < 2; k++) {
        /* More than a legend swatch (~100 px): the curves themselves. */
        int train = count_color(&img, info.area[k], RG_PLOT_COLOR_TRAIN);
        int val = count_color(&img, info.area[k], RG_PLOT_COLOR_VAL);
        cr_assert_gt(train, 400, "panel %d: %d train pixels", k, train);
        cr_assert_gt(val, 400, "panel %d: %d validation pixels", k, val);
    }
    cr_assert(info.area[0].x1 < info.area[1].x0, "panels side by side");
    free(img.rgb);

    /* Default size. */
    cr_assert_eq(plot(in, out, NULL, &info), RG_OK, "%s", rg_cli_error_message());
    img = read_png(out);
    cr_assert_eq(img.w, RG_PLOT_METRICS_WIDTH);
    cr_assert_eq(img.h, RG_PLOT_METRICS_HEIGHT);
    free(img.rgb);
}

Test(plot, no_validation_values_means_no_validation_pixels_and_no_marker)
{
    const char *in = metrics_file("m.jsonl", 7, 0), *out = tmp_path("m.png");
    rg_plot_info info;
    cr_assert_eq(plot(in, out, NULL, &info), RG_OK, "%s", rg_cli_error_message());
    image img = read_png(out);
    for (int k = 0; k < 2; k++) {
        cr_assert_gt(count_color(&img, info.area[k], RG_PLOT_COLOR_TRAIN), 400);
        cr_assert_eq(count_color(&img, info.area[k], RG_PLOT_COLOR_VAL), 0);
        cr_assert_eq(count_color(&img, info.area[k], RG_PLOT_COLOR_BEST), 0);
    }
    cr_assert(isnan(info.best_x));
    free(img.rgb);
}

/* The dashed line's full-colour pixels fill a large share of one column
 * pair, at the pixel of the best epoch on the x axis, in both panels. */
static void expect_marker_at(int best)
{
    char name[32];
    snprintf(name, sizeof name, "best%d.jsonl", best);
    const char *in = metrics_file(name, best, 1), *out = tmp_path("best.png");
    rg_plot_info info;
    cr_assert_eq(plot(in, out, NULL, &info), RG_OK, "%s", rg_cli_error_message());
    cr_assert_eq(info.best_x, best);
    image img = read_png(out);
    for (int k = 0; k < 2; k++) {
        rg_plot_rect a = info.area[k];
        /* Epochs 1..10 span the axis with 3% padding on each side. */
        double lo = 1 - 0.27, hi = 10 + 0.27;
        cr_assert_float_eq(info.x[k].lo, lo, 1e-9);
        cr_assert_float_eq(info.x[k].hi, hi, 1e-9);
        double want = a.x0 + (best - lo) / (hi - lo) * (a.x1 - a.x0);
        int found = 0;
        for (int x = (int)a.x0; x < (int)a.x1; x++) {
            int n = column_count(&img, a, x, RG_PLOT_COLOR_BEST);
            if (n > 0.4 * (a.y1 - a.y0)) {
                cr_assert(fabs(x + 0.5 - want) <= 1.5,
                          "panel %d: dashed column at x=%d, expected %.1f", k, x, want);
                found++;
            }
        }
        cr_assert(found >= 1 && found <= 2, "panel %d: %d dashed columns", k, found);
    }
    free(img.rgb);
}

Test(plot, best_epoch_marker_sits_at_the_lowest_validation_loss)
{
    expect_marker_at(7);
    expect_marker_at(2);
    expect_marker_at(10);
}

Test(plot, one_epoch_nan_null_and_huge_ranges_still_plot)
{
    rg_plot_info info;
    const char *out = tmp_path("x.png");
    const char *one = write_file("one.jsonl", "{\"epoch\": 1, \"train_loss\": 0.5, "
                                 "\"train_accuracy\": 0.8, \"val_loss\": 0.4, \"val_accuracy\": 0.85}\n");
    cr_assert_eq(plot(one, out, NULL, &info), RG_OK, "%s", rg_cli_error_message());
    cr_assert_eq(info.points, 1);
    cr_assert_eq(info.best_x, 1);
    image img = read_png(out);
    cr_assert_gt(count_color(&img, info.area[0], RG_PLOT_COLOR_TRAIN), 20, "a lone point is dotted");
    free(img.rgb);

    const char *gaps = write_file("gaps.jsonl",
        "{\"epoch\": 1, \"train_loss\": 2.0, \"val_loss\": NaN, \"train_accuracy\": 0.3}\n"
        "{\"epoch\": 2, \"train_loss\": null, \"val_loss\": 1.5}\n"
        "{\"epoch\": 3, \"train_loss\": 1.0, \"val_loss\": 1.2, \"val_accuracy\": null}\n"
        "{\"epoch\": 4, \"train_loss\": 0.8, \"val_loss\": 1.3}\n");
    cr_assert_eq(plot(gaps, out, NULL, &info), RG_OK, "%s", rg_cli_error_message());
    cr_assert_eq(info.best_x, 3);
    cr_assert_eq(info.y[0].log, 0);

    const char *huge = write_file("huge.jsonl",
        "{\"epoch\": 1, \"train_loss\": 25000.0, \"val_loss\": 3e4}\n"
        "{\"epoch\": 2, \"train_loss\": 3.0, \"val_loss\": 4.0}\n"
        "{\"epoch\": 3, \"train_loss\": 0.05, \"val_loss\": 0.2}\n");
    cr_assert_eq(plot(huge, out, NULL, &info), RG_OK, "%s", rg_cli_error_message());
    cr_assert_eq(info.y[0].log, 1, "losses over 5 decades go on a log axis");
    rg_plot_options lin = {.y_scale = RG_PLOT_SCALE_LINEAR};
    cr_assert_eq(plot(huge, out, &lin, &info), RG_OK, "%s", rg_cli_error_message());
    cr_assert_eq(info.y[0].log, 0);
}

Test(plot, empty_and_unplottable_files_are_errors)
{
    rg_plot_info info;
    const char *out = tmp_path("x.png");
    const char *empty = write_file("empty.jsonl", "\n  \n");
    cr_assert_eq(plot(empty, out, NULL, &info), RG_ERR_FORMAT);
    char want[512];
    snprintf(want, sizeof want, "%s: empty file (no JSON records to plot)", empty);
    cr_assert_str_eq(rg_cli_error_message(), want);

    const char *nothing = write_file("nothing.jsonl", "{\"epoch\": 1, \"lr\": 0.1}\n"
                                     "{\"epoch\": 2, \"train_loss\": null}\n");
    cr_assert_eq(plot(nothing, out, NULL, &info), RG_ERR_FORMAT);
    snprintf(want, sizeof want,
             "%s: no plottable values (no record has a finite train_loss, val_loss, "
             "train_accuracy or val_accuracy)", nothing);
    cr_assert_str_eq(rg_cli_error_message(), want);

    const char *failed = write_file("failed.jsonl",
        "{\"trial\": 1, \"params\": {\"lr\": 0.1}, \"val_accuracy\": null, \"status\": \"ok\"}\n"
        "{\"trial\": 2, \"params\": {\"lr\": 0.2}, \"val_accuracy\": 0.5, \"status\": \"diverged\"}\n");
    cr_assert_eq(plot(failed, out, NULL, &info), RG_ERR_FORMAT);
    snprintf(want, sizeof want,
             "%s: no plottable values (no trial has status \"ok\" and a finite val_accuracy)",
             failed);
    cr_assert_str_eq(rg_cli_error_message(), want);
}

static const char *sweep_file(const char *name, const double *lr, int n)
{
    static char text[8192];
    text[0] = '\0';
    for (int i = 0; i < n; i++) {
        char line[512];
        /* Accuracy peaks at the middle trial. */
        double acc = 0.9 - 0.05 * abs(i - n / 2);
        snprintf(line, sizeof line,
                 "{\"trial\": %d, \"params\": {\"l2.lambda\": 0.001, \"lr\": %g}, "
                 "\"val_accuracy\": %g, \"val_loss\": %g, \"best_epoch\": 7, \"status\": \"ok\"}\n",
                 i + 1, lr[i], acc, 1 - acc);
        strcat(text, line);
    }
    return write_file(name, text);
}

Test(plot, sweep_png_has_points_line_and_the_best_trial_ringed)
{
    const double lr[] = {1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1};
    const char *in = sweep_file("s.jsonl", lr, 7), *out = tmp_path("s.png");
    rg_plot_info info;
    cr_assert_eq(plot(in, out, NULL, &info), RG_OK, "%s", rg_cli_error_message());
    image img = read_png(out);
    cr_assert_eq(img.w, RG_PLOT_SWEEP_WIDTH);
    cr_assert_eq(img.h, RG_PLOT_SWEEP_HEIGHT);
    cr_assert_eq(info.kind, RG_PLOT_SWEEP);
    cr_assert_str_eq(info.param, "lr", "l2.lambda does not vary, lr does");
    cr_assert_eq(info.series, 1);
    cr_assert_eq(info.points, 7);
    cr_assert_eq(info.best_trial, 4);
    cr_assert_float_eq(info.best_x, 3e-3, 1e-12);
    cr_assert_gt(count_color(&img, info.area[0], rg_plot_palette[0]), 400);
    cr_assert_gt(count_color(&img, info.area[0], RG_PLOT_COLOR_BEST), 30);
    /* The ring is around the best point: red pixels near its position. */
    double bx = info.area[0].x0 + rg_plot_axis_frac(&info.x[0], 3e-3) *
                                      (info.area[0].x1 - info.area[0].x0);
    double by = info.area[0].y1 - rg_plot_axis_frac(&info.y[0], 0.9) *
                                      (info.area[0].y1 - info.area[0].y0);
    rg_plot_rect near = {bx - 12, by - 12, bx + 12, by + 12};
    cr_assert_gt(count_color(&img, near, RG_PLOT_COLOR_BEST), 20);
    free(img.rgb);
}

Test(plot, sweep_x_axis_goes_log_beyond_a_factor_of_twenty)
{
    rg_plot_info info;
    const char *out = tmp_path("s.png");
    const double narrow[] = {0.01, 0.05, 0.1, 0.2}; /* factor 20 */
    const double wide[] = {0.01, 0.05, 0.1, 0.21};  /* factor 21 */
    const double zero[] = {0.0, 0.01, 0.1, 1.0};
    cr_assert_eq(plot(sweep_file("n.jsonl", narrow, 4), out, NULL, &info), RG_OK);
    cr_assert_eq(info.x[0].log, 0);
    cr_assert_eq(plot(sweep_file("w.jsonl", wide, 4), out, NULL, &info), RG_OK);
    cr_assert_eq(info.x[0].log, 1);
    cr_assert_eq(plot(sweep_file("z.jsonl", zero, 4), out, NULL, &info), RG_OK);
    cr_assert_eq(info.x[0].log, 0, "zero cannot go on a log axis");

    rg_plot_options force = {.x_scale = RG_PLOT_SCALE_LOG};
    cr_assert_eq(plot(sweep_file("n2.jsonl", narrow, 4), out, &force, &info), RG_OK);
    cr_assert_eq(info.x[0].log, 1);
    rg_plot_options lin = {.x_scale = RG_PLOT_SCALE_LINEAR};
    cr_assert_eq(plot(sweep_file("w2.jsonl", wide, 4), out, &lin, &info), RG_OK);
    cr_assert_eq(info.x[0].log, 0);
    cr_assert_eq(plot(sweep_file("z2.jsonl", zero, 4), out, &force, &info), RG_ERR_INVALID);
    cr_assert_str_eq(rg_cli_error_message(), "--log-x: lr has values <= 0 (smallest 0)");
}

Test(plot, second_varying_parameter_makes_one_series_per_value)
{
    const char *in = write_file("grid.jsonl",
        "{\"trial\": 1, \"params\": {\"l2.lambda\": 0.01, \"lr\": 0.01}, \"val_accuracy\": 0.80, \"status\": \"ok\"}\n"
        "{\"trial\": 2, \"params\": {\"l2.lambda\": 0.01, \"lr\": 0.1}, \"val_accuracy\": 0.84, \"status\": \"ok\"}\n"
        "{\"trial\": 3, \"params\": {\"l2.lambda\": 0.001, \"lr\": 0.01}, \"val_accuracy\": 0.82, \"status\": \"ok\"}\n"
        "{\"trial\": 4, \"params\": {\"l2.lambda\": 0.001, \"lr\": 0.1}, \"val_accuracy\": 0.88, \"status\": \"ok\"}\n"
        "{\"trial\": 5, \"params\": {\"l2.lambda\": 0.0001, \"lr\": 0.1}, \"val_accuracy\": 0.86, \"status\": \"failed\"}\n");
    const char *out = tmp_path("g.png");
    rg_plot_info info;
    cr_assert_eq(plot(in, out, NULL, &info), RG_OK, "%s", rg_cli_error_message());
    cr_assert_str_eq(info.param, "l2.lambda", "the first parameter that varies");
    cr_assert_eq(info.series, 2, "one per lr");
    cr_assert_eq(info.skipped, 1);
    cr_assert_eq(info.best_trial, 4);
    image img = read_png(out);
    cr_assert_gt(count_color(&img, info.area[0], rg_plot_palette[0]), 100);
    cr_assert_gt(count_color(&img, info.area[0], rg_plot_palette[1]), 100);
    free(img.rgb);

    rg_plot_options o = {.param = "lr"};
    cr_assert_eq(plot(in, out, &o, &info), RG_OK, "%s", rg_cli_error_message());
    cr_assert_str_eq(info.param, "lr");
    cr_assert_eq(info.series, 2, "one per l2.lambda (0.0001 only in a failed trial)");

    o.param = "trial";
    cr_assert_eq(plot(in, out, &o, &info), RG_OK, "%s", rg_cli_error_message());
    cr_assert_str_eq(info.param, "trial");
    cr_assert_eq(info.series, 1, "numeric parameters do not split a plot against trials");
    cr_assert_eq(info.x[0].log, 0);

    o.param = "momentum";
    cr_assert_eq(plot(in, out, &o, &info), RG_ERR_INVALID);
    char want[512];
    snprintf(want, sizeof want, "--param momentum: no trial in %s has it (parameters: l2.lambda, lr)", in);
    cr_assert_str_eq(rg_cli_error_message(), want);
}

/* ---- the command --------------------------------------------------------------- */

static char out_text[1 << 14], err_text[1 << 14];

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
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s >%s/out 2>%s/err", REGULA, args, tmpdir, tmpdir);
    int st = system(cmd);
    slurp(tmp_path("out"), out_text, sizeof out_text);
    slurp(tmp_path("err"), err_text, sizeof err_text);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

static void expect_failure(const char *args, const char *message)
{
    int code = run(args);
    cr_assert(code == 1 || code == 2, "exit %d for '%s' (stderr: %s)", code, args, err_text);
    cr_assert(strstr(err_text, message) != NULL, "stderr '%s' lacks '%s'", err_text, message);
    cr_assert(strncmp(err_text, "regula: plot: ", 14) == 0, "stderr: %s", err_text);
    cr_assert_eq(strchr(err_text, '\n'), err_text + strlen(err_text) - 1, "more than one line: %s",
                 err_text);
}

Test(plot_cli, writes_the_png_and_says_so)
{
    const char *in = metrics_file("m.jsonl", 4, 1), *png = tmp_path("c.png");
    char args[1024];
    snprintf(args, sizeof args, "plot %s -o %s --width 640 --height 300 --title 'A run'", in, png);
    cr_assert_eq(run(args), 0, "stderr: %s", err_text);
    cr_assert(strstr(out_text, "best epoch 4") != NULL, "stdout: %s", out_text);
    image img = read_png(png);
    cr_assert_eq(img.w, 640);
    cr_assert_eq(img.h, 300);
    free(img.rgb);
}

Test(plot_cli, bad_input_exits_non_zero_with_one_line)
{
    char args[1024];
    const char *png = tmp_path("c.png");
    snprintf(args, sizeof args, "plot /nonexistent/run.jsonl -o %s", png);
    expect_failure(args, "/nonexistent/run.jsonl: cannot open: No such file or directory");
    snprintf(args, sizeof args, "plot %s -o %s", write_file("e.jsonl", ""), png);
    expect_failure(args, "e.jsonl: empty file (no JSON records to plot)");
    snprintf(args, sizeof args, "plot %s -o %s",
             write_file("b.jsonl", "{\"epoch\": 1, \"train_loss\": 1}\n{\"epoch\": 2, \"train_loss\": }\n"),
             png);
    expect_failure(args, "b.jsonl:2:28: unexpected token near '}'");
    /* the line number counts blank lines, the column is the line's */
    snprintf(args, sizeof args, "plot %s -o %s",
             write_file("b3.jsonl", "{\"epoch\": 1, \"train_loss\": 1}\n\n"
                                    "  {\"epoch\": 3, \"train_loss\": 1,}\n"),
             png);
    expect_failure(args, "b3.jsonl:3:32: string or '}' expected near '}'");
    snprintf(args, sizeof args, "plot %s -o %s", write_file("n.jsonl", "{\"epoch\": 1}\n"), png);
    expect_failure(args, "n.jsonl: no plottable values");
    snprintf(args, sizeof args, "plot %s", write_file("m.jsonl", "{\"epoch\": 1}\n"));
    expect_failure(args, "expected -o OUT.png");
    snprintf(args, sizeof args, "plot %s -o %s --width 10", tmp_path("m.jsonl"), png);
    expect_failure(args, "--width 10: out of range [200, 8000]");
    expect_failure("plot x.jsonl -o y.png --bogus", "unknown option '--bogus'");
    snprintf(args, sizeof args, "plot %s -o /nonexistent/dir/c.png",
             metrics_file("ok.jsonl", 3, 1));
    expect_failure(args, "/nonexistent/dir/c.png: cannot write: No such file or directory");
}

Test(plot_cli, help_documents_every_option)
{
    cr_assert_eq(run("plot --help"), 0);
    const char *flags[] = {"-o, --output", "--title", "--width", "--height", "--param",
                           "--metric", "--log-x", "--linear-x", "--log-y", "--linear-y",
                           "metrics", "sweep", "best epoch", NULL};
    for (int i = 0; flags[i]; i++)
        cr_assert(strstr(out_text, flags[i]) != NULL, "plot --help lacks %s", flags[i]);
    cr_assert_eq(run("--help"), 0);
    cr_assert(strstr(out_text, "plot FILE.jsonl") != NULL);
}

/* ---- comparing runs ------------------------------------------------------------ */

/* A metrics file as train --metrics writes it: the run record, then `n` epochs whose val
 * loss falls from `start`; penalties of l2 when `l2`. */
static const char *run_file(const char *name, const char *regs, double start, int n, int l2)
{
    char text[8192];
    int len = snprintf(text, sizeof text,
                       "{\"record\": \"run\", \"model\": \"mlp:64\", \"data\": \"fashion-mnist\", "
                       "\"seed\": 1, \"batch\": 128, \"regularizers\": \"%s\", \"augmenters\": "
                       "\"\", \"time\": \"2026-12-02T19:00:00.000Z\"}\n",
                       regs);
    for (int e = 1; e <= n; e++)
        len += snprintf(text + len, sizeof text - (size_t)len,
                        "{\"epoch\": %d, \"train_loss\": %g, \"train_accuracy\": %g, "
                        "\"penalty\": 0, \"val_loss\": %g, \"val_accuracy\": %g, \"lr\": %g, "
                        "\"seconds\": 0.1, \"penalties\": {%s}, \"step\": %d}\n"
                        "{\"record\": \"step\", \"step\": %d, \"epoch\": %d, \"batch\": 1, "
                        "\"loss\": 99, \"lr\": 0.05, \"penalty\": 0}\n",
                        e, start / e, 0.5 + 0.04 * e, start / e + 0.1, 0.6 + 0.03 * e - 0.1 * start,
                        0.05 / e, l2 ? "\"l2\": 0.01" : "", e * 10, e * 10 + 1, e + 1);
    return write_file(name, text);
}

Test(plot, compare_draws_every_run_in_its_colour_with_a_penalty_panel)
{
    const char *paths[3] = {run_file("a.jsonl", "", 2.0, 6, 0),
                            run_file("b.jsonl", "l2:lambda=1e-3", 1.5, 6, 1),
                            run_file("c.jsonl", "l2:lambda=1e-2 dropout", 1.0, 4, 1)};
    rg_plot_info info;
    const char *out = tmp_path("cmp.png");
    cr_assert_eq(rg_plot_compare(paths, NULL, 3, &(rg_plot_options){0}, out, &info), RG_OK,
                 "%s", rg_cli_error_message());
    cr_assert_eq(info.series, 3);
    cr_assert_eq(info.npanels, 4, "loss, accuracy, lr and the l2 penalty");
    image img = read_png(out);
    cr_assert_eq(img.w, info.width);
    cr_assert_eq(img.h, info.height);
    for (int r = 0; r < 3; r++) {
        /* a missing curve leaves 0 pixels of its colour; a drawn one, even short, dozens */
        cr_assert_gt(count_color(&img, info.area[0], rg_plot_palette[r]), 40,
                     "run %d has no loss curve", r);
        cr_assert_gt(count_color(&img, info.area[1], rg_plot_palette[r]), 40,
                     "run %d has no accuracy curve (%d pixels)", r,
                     count_color(&img, info.area[1], rg_plot_palette[r]));
    }
    free(img.rgb);
    /* a run without epochs is named */
    const char *empty = write_file("e.jsonl", "{\"record\": \"run\", \"model\": \"m\"}\n");
    const char *two[2] = {paths[0], empty};
    cr_assert_eq(rg_plot_compare(two, NULL, 2, &(rg_plot_options){0}, out, &info),
                 RG_ERR_FORMAT);
    cr_assert(strstr(rg_cli_error_message(), "e.jsonl: no epoch records to compare"), "%s",
              rg_cli_error_message());
}

Test(plot, a_metrics_plot_leaves_the_run_and_step_records_out)
{
    const char *path = run_file("s.jsonl", "l2", 2.0, 5, 1);
    rg_plot_info info;
    cr_assert_eq(rg_plot_file(path, tmp_path("s.png"), NULL, &info), RG_OK, "%s",
                 rg_cli_error_message());
    cr_assert_eq(info.points, 5, "5 epochs, not the 11 records");
    cr_assert_float_eq(info.best_x, 5.0, 1e-12);
}

static int dark_pixels(const image *img, rg_plot_rect r)
{
    int n = 0;
    for (int y = (int)r.y0; y < (int)r.y1; y++)
        for (int x = (int)r.x0; x < (int)r.x1; x++) {
            const unsigned char *px = img->rgb + ((size_t)y * img->w + x) * 3;
            n += px[0] < 128 && px[1] < 128 && px[2] < 128;
        }
    return n;
}

Test(plot, the_augment_grid_carries_column_titles_row_classes_and_a_caption)
{
    /* a 2 x 3 grid of 20-pixel cells (gap 2), gray, each cell its own level */
    enum { R = 2, C = 3, CELL = 20, GAP = 2, H = GAP + R * (CELL + GAP), W = GAP + C * (CELL + GAP) };
    static uint8_t planes[H * W];
    memset(planes, 0x80, sizeof planes);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < CELL; y++)
                for (int x = 0; x < CELL; x++)
                    planes[(GAP + r * (CELL + GAP) + y) * W + GAP + c * (CELL + GAP) + x] =
                        (uint8_t)(200 + 10 * r + 3 * c);
    const char *cols[C] = {"orig", "1", "2"}, *rows[R] = {"ankle_boot", "class 7"};
    rg_grid_layout g = {R, C, GAP, GAP, CELL + GAP, CELL + GAP, cols, rows,
                        "--aug hflip --aug rotate:degrees=15"};
    const char *out = tmp_path("grid.png");
    cr_assert_eq(rg_plot_labeled_grid(planes, 1, H, W, &g, out), RG_OK, "%s",
                 rg_cli_error_message());
    image img = read_png(out);
    cr_assert_gt(img.w, W);
    cr_assert_gt(img.h, H);
    /* where the grid landed: the pixel of level 200 + 10 + 6 (row 1, column 2) */
    int gx = -1, gy = -1;
    for (int y = 0; y < img.h && gx < 0; y++)
        for (int x = 0; x < img.w && gx < 0; x++)
            if (is_color(&img, x, y, 0xd8d8d8))
                gx = x, gy = y;
    cr_assert_geq(gx, 0, "the grid's pixels are not in the image");
    int left = gx - (GAP + 2 * (CELL + GAP)), top = gy - (GAP + 1 * (CELL + GAP));
    cr_assert_gt(left, 30, "no room for the row labels: grid at x %d", left);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            cr_assert(is_color(&img, left + GAP + c * (CELL + GAP) + 5,
                               top + GAP + r * (CELL + GAP) + 5,
                               (unsigned)(200 + 10 * r + 3 * c) * 0x010101u),
                      "cell %d,%d not copied", r, c);
    cr_assert_gt(dark_pixels(&img, (rg_plot_rect){0, top, left, top + H}), 20, "row labels");
    cr_assert_gt(dark_pixels(&img, (rg_plot_rect){left, 0, left + W, top}), 5, "column titles");
    cr_assert_gt(dark_pixels(&img, (rg_plot_rect){0, top + H, img.w, img.h}), 20, "caption");
    free(img.rgb);
}
