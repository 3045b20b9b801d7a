/* CSV loader: each test writes one small file into a fresh mkdtemp
 * directory; expected messages are spelled out by hand, rows and columns
 * 1-based as a user counts them in an editor. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L   /* mkdtemp */
#endif

#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "dataset.h"
#include "error.h"

static char g_dir[64];
static char g_path[128];

static void setup(void)
{
    strcpy(g_dir, "/tmp/regula-test-csv-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp failed");
    snprintf(g_path, sizeof g_path, "%s/data.csv", g_dir);
    rg_error_clear();
}

static void teardown(void)
{
    unlink(g_path);
    rmdir(g_dir);
}

TestSuite(csv, .init = setup, .fini = teardown);

static void write_text(const char *text, size_t n)
{
    FILE *f = fopen(g_path, "wb");
    cr_assert_not_null(f, "cannot create %s", g_path);
    cr_assert_eq(fwrite(text, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static void write_str(const char *text)
{
    write_text(text, strlen(text));
}

static rg_dataset *load_ok(int64_t h, int64_t w)
{
    rg_dataset *ds = NULL;
    rg_status st = rg_dataset_open_csv(g_path, h, w, &ds);
    cr_assert_eq(st, RG_OK, "status %s: %s", rg_status_name(st), rg_error_message());
    cr_assert_not_null(ds);
    return ds;
}

/* message has one %s for the file's path. */
static void assert_fails(int64_t h, int64_t w, rg_status status, const char *message)
{
    rg_dataset sentinel;
    rg_dataset *ds = &sentinel;
    rg_status st = rg_dataset_open_csv(g_path, h, w, &ds);
    cr_assert_eq(st, status, "status %s, message: %s", rg_status_name(st), rg_error_message());
    cr_assert_null(ds, "*out must be NULL on failure");
    char expect[512];
    snprintf(expect, sizeof expect, message, g_path);
    cr_assert_str_eq(rg_error_message(), expect);
}

/* The two 2x2 images every good file below holds. */
static void assert_two_images(const rg_dataset *ds)
{
    cr_assert_eq(ds->n, 2);
    cr_assert_eq(ds->c, 1);
    cr_assert_eq(ds->h, 2);
    cr_assert_eq(ds->w, 2);
    cr_assert_eq(ds->num_classes, 4, "num_classes = max label 3 + 1, got %d", ds->num_classes);
    cr_assert_null(ds->class_names);
    const uint8_t pixels[8] = {0, 1, 2, 255, 10, 20, 30, 40};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(ds->pixels[i], pixels[i], "pixel %d: %u, expected %u", i, ds->pixels[i],
                     pixels[i]);
    cr_assert_eq(ds->labels[0], 3);
    cr_assert_eq(ds->labels[1], 0);
}

/* ---- good files ------------------------------------------------------------------- */

Test(csv, rows_load_with_square_side_inferred)
{
    write_str("3,0,1,2,255\n0,10,20,30,40\n");
    rg_dataset *ds = load_ok(0, 0);
    assert_two_images(ds);
    rg_dataset_destroy(ds);
}

Test(csv, header_line_is_detected_and_skipped)
{
    write_str("label,p0,p1,p2,p3\n3,0,1,2,255\n0,10,20,30,40\n");
    rg_dataset *ds = load_ok(0, 0);
    assert_two_images(ds);
    rg_dataset_destroy(ds);
}

Test(csv, crlf_and_missing_final_newline_are_fine)
{
    write_str("label,p0,p1,p2,p3\r\n3,0,1,2,255\r\n0,10,20,30,40");
    rg_dataset *ds = load_ok(0, 0);
    assert_two_images(ds);
    rg_dataset_destroy(ds);
}

Test(csv, spaces_around_fields_and_trailing_blank_lines_are_fine)
{
    write_str("3, 0 ,1,\t2,255\n0,10,20,30,40\n\n\r\n");
    rg_dataset *ds = load_ok(0, 0);
    assert_two_images(ds);
    rg_dataset_destroy(ds);
}

Test(csv, utf8_byte_order_mark_does_not_make_a_data_row_a_header)
{
    write_str("\xEF\xBB\xBF" "3,0,1,2,255\n0,10,20,30,40\n");
    rg_dataset *ds = load_ok(0, 0);
    assert_two_images(ds);
    rg_dataset_destroy(ds);
}

Test(csv, given_shape_allows_non_square_images)
{
    write_str("7,1,2,3,4,5,6\n");
    rg_dataset *ds = load_ok(2, 3);
    cr_assert_eq(ds->n, 1);
    cr_assert_eq(ds->h, 2);
    cr_assert_eq(ds->w, 3);
    cr_assert_eq(ds->num_classes, 8);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(ds->pixels[i], i + 1);
    cr_assert_eq(ds->labels[0], 7);
    rg_dataset_destroy(ds);
}

Test(csv, many_rows_grow_the_arrays)
{
    /* more rows than the first allocation (1024) */
    enum { N = 3000 };
    FILE *f = fopen(g_path, "wb");
    cr_assert_not_null(f);
    for (int i = 0; i < N; i++)
        fprintf(f, "%d,%d,%d,%d,%d\n", i % 10, i % 256, (i / 256) % 256, 7, 255 - i % 256);
    cr_assert_eq(fclose(f), 0);
    rg_dataset *ds = load_ok(0, 0);
    cr_assert_eq(ds->n, N);
    cr_assert_eq(ds->num_classes, 10);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(ds->labels[i], i % 10, "label %d", i);
        cr_assert_eq(ds->pixels[4 * i + 0], i % 256, "image %d", i);
        cr_assert_eq(ds->pixels[4 * i + 1], (i / 256) % 256, "image %d", i);
        cr_assert_eq(ds->pixels[4 * i + 3], 255 - i % 256, "image %d", i);
    }
    rg_dataset_destroy(ds);
}

/* ---- refusals ------------------------------------------------------------------------ */

Test(csv, missing_file_is_io_error)
{
    assert_fails(0, 0, RG_ERR_IO, "%s: cannot open: No such file or directory");
}

Test(csv, directory_is_read_error)
{
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_csv(g_dir, 0, 0, &ds), RG_ERR_IO);
    cr_assert_null(ds);
    char expect[256];
    snprintf(expect, sizeof expect, "%s: read error at row 1: Is a directory", g_dir);
    cr_assert_str_eq(rg_error_message(), expect);
}

Test(csv, empty_file_is_refused)
{
    write_text("", 0);
    assert_fails(0, 0, RG_ERR_FORMAT, "%s: empty file, expected rows of label,p0,p1,...");
}

Test(csv, file_of_blank_lines_is_empty)
{
    write_str("\n\r\n\n");
    assert_fails(0, 0, RG_ERR_FORMAT, "%s: empty file, expected rows of label,p0,p1,...");
}

Test(csv, header_without_data_is_refused)
{
    write_str("label,p0,p1,p2,p3\n");
    assert_fails(0, 0, RG_ERR_FORMAT,
                 "%s: no data rows after the header in row 1, expected label,p0,p1,...");
}

Test(csv, non_integer_pixel_names_row_and_column)
{
    write_str("label,a,b,c,d\n3,0,1,2,255\n0,10,1.5,30,40\n");
    assert_fails(0, 0, RG_ERR_FORMAT,
                 "%s: row 3, column 3: expected an integer pixel value 0..255, found \"1.5\"");
}

Test(csv, empty_field_is_named)
{
    write_str("3,0,1,,255\n");
    assert_fails(0, 0, RG_ERR_FORMAT,
                 "%s: row 1, column 4: expected an integer pixel value 0..255, found an empty "
                 "field");
}

Test(csv, non_integer_label_after_the_first_row_is_not_a_header)
{
    write_str("3,0,1,2,255\ncat,10,20,30,40\n");
    assert_fails(0, 0, RG_ERR_FORMAT,
                 "%s: row 2, column 1: expected an integer label 0..255, found \"cat\"");
}

Test(csv, unprintable_bytes_are_escaped_in_the_message)
{
    write_text("3,0,1,\x01z,255\n", 13);
    assert_fails(0, 0, RG_ERR_FORMAT,
                 "%s: row 1, column 4: expected an integer pixel value 0..255, found "
                 "\"\\x01z\"");
}

Test(csv, pixel_above_255_is_out_of_range)
{
    write_str("3,0,1,2,255\n0,10,256,30,40\n");
    assert_fails(0, 0, RG_ERR_FORMAT, "%s: row 2, column 3: pixel value 256 out of range 0..255");
}

Test(csv, negative_pixel_is_out_of_range)
{
    write_str("3,0,-3,2,255\n");
    assert_fails(0, 0, RG_ERR_FORMAT, "%s: row 1, column 3: pixel value -3 out of range 0..255");
}

Test(csv, huge_value_is_quoted_as_written)
{
    write_str("3,0,1,2,99999999999999999999\n");
    assert_fails(0, 0, RG_ERR_FORMAT,
                 "%s: row 1, column 5: pixel value 99999999999999999999 out of range 0..255");
}

Test(csv, label_above_255_is_out_of_range)
{
    write_str("256,0,1,2,255\n");
    assert_fails(0, 0, RG_ERR_FORMAT, "%s: row 1, column 1: label 256 out of range 0..255");
}

Test(csv, negative_label_in_the_first_row_is_data_not_a_header)
{
    write_str("-1,0,1,2,255\n");
    assert_fails(0, 0, RG_ERR_FORMAT, "%s: row 1, column 1: label -1 out of range 0..255");
}

Test(csv, short_row_names_the_row_that_set_the_width)
{
    /* header, 15 good rows of 784 pixels (rows 2..16), then 783 in row 17 */
    FILE *f = fopen(g_path, "wb");
    cr_assert_not_null(f);
    fprintf(f, "label");
    for (int j = 0; j < 784; j++)
        fprintf(f, ",pixel%d", j);
    fprintf(f, "\n");
    for (int r = 2; r <= 17; r++) {
        fprintf(f, "%d", r % 10);
        for (int j = 0; j < (r == 17 ? 783 : 784); j++)
            fprintf(f, ",%d", (r + j) % 256);
        fprintf(f, "\n");
    }
    cr_assert_eq(fclose(f), 0);
    assert_fails(0, 0, RG_ERR_FORMAT, "%s: row 17: 783 pixel columns, expected 784 like row 2");
}

Test(csv, long_row_is_refused_too)
{
    write_str("3,0,1,2,255\n0,10,20,30,40,50\n");
    assert_fails(0, 0, RG_ERR_FORMAT, "%s: row 2: 5 pixel columns, expected 4 like row 1");
}

Test(csv, non_square_count_asks_for_the_shape)
{
    write_str("3,0,1,2,255,7\n");
    assert_fails(0, 0, RG_ERR_FORMAT,
                 "%s: row 1: 5 pixel columns is not a square image; pass h and w for non-square "
                 "images");
}

Test(csv, count_not_matching_the_given_shape_is_refused)
{
    write_str("label,a,b,c,d,e\n3,0,1,2,255,7\n");
    assert_fails(2, 3, RG_ERR_FORMAT, "%s: row 2: 5 pixel columns, expected 6 (h 2 x w 3)");
}

Test(csv, label_without_pixels_is_refused)
{
    write_str("3\n");
    assert_fails(0, 0, RG_ERR_FORMAT,
                 "%s: row 1: 1 column, expected a label followed by pixel columns");
}

Test(csv, blank_line_before_data_is_refused)
{
    write_str("3,0,1,2,255\n\n0,10,20,30,40\n");
    assert_fails(0, 0, RG_ERR_FORMAT,
                 "%s: row 2: empty row, expected label,p0,p1,... (blank lines are allowed only "
                 "at the end)");
}

Test(csv, half_given_shape_is_invalid)
{
    write_str("3,0,1,2,255\n");
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_csv(g_path, 2, 0, &ds), RG_ERR_INVALID);
    cr_assert_null(ds);
    cr_assert_str_eq(rg_error_message(),
                     "rg_dataset_open_csv: h 2 and w 0, expected both positive or both 0 "
                     "(square side inferred from the column count)");
}

Test(csv, null_arguments_are_invalid_and_clear_out)
{
    rg_dataset sentinel;
    rg_dataset *ds = &sentinel;
    cr_assert_eq(rg_dataset_open_csv(NULL, 0, 0, &ds), RG_ERR_INVALID);
    cr_assert_null(ds);
    cr_assert_str_eq(rg_error_message(), "rg_dataset_open_csv: path is NULL");
    cr_assert_eq(rg_dataset_open_csv(g_path, 0, 0, NULL), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(), "rg_dataset_open_csv: out is NULL");
}
