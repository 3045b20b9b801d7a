/* IDX loader: every test writes its own small files into a fresh mkdtemp
 * directory; expected messages are spelled out by hand from the spec so a
 * wording change in the loader has to be a deliberate one. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L   /* mkdtemp, stat, unlink, rmdir */
#endif

#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset.h"
#include "error.h"
#include "idx.h"

#ifndef FASHION_DIR /* overridable to check the missing-package failure */
#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#endif

/* 3 images of 4 x 5 pixels, labels {2, 0, 6}: small enough to check every
 * byte, and a max label that is not n - 1 so num_classes is really max + 1. */
enum { N = 3, ROWS = 4, COLS = 5, NPIX = N * ROWS * COLS };
static const uint8_t k_labels[N] = {2, 0, 6};

static char g_dir[64];
static char g_files[16][512];
static int g_nfiles;

static void setup(void)
{
    strcpy(g_dir, "/tmp/regula-test-idx-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp failed");
    g_nfiles = 0;
    rg_error_clear();
}

static void teardown(void)
{
    for (int i = 0; i < g_nfiles; i++)
        unlink(g_files[i]);
    rmdir(g_dir);
}

TestSuite(idx, .init = setup, .fini = teardown);

/* Full path of `name` in the test directory, remembered for teardown. */
static const char *tmp_path(const char *name)
{
    cr_assert_lt(g_nfiles, 16);
    char *p = g_files[g_nfiles++];
    snprintf(p, sizeof g_files[0], "%s/%s", g_dir, name);
    return p;
}

static uint8_t pixel_value(size_t i)
{
    return (uint8_t)(i * 37 + 11);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Only the 16-byte header, for sizes too large to back with data. */
static void make_images_header(uint8_t *buf, uint32_t n, uint32_t rows, uint32_t cols)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = 3;
    put_be32(buf + 4, n);
    put_be32(buf + 8, rows);
    put_be32(buf + 12, cols);
}

/* buf must hold 16 + n*rows*cols bytes; returns the size written. */
static size_t make_images(uint8_t *buf, uint32_t n, uint32_t rows, uint32_t cols)
{
    make_images_header(buf, n, rows, cols);
    size_t npix = (size_t)n * rows * cols;
    for (size_t i = 0; i < npix; i++)
        buf[16 + i] = pixel_value(i);
    return 16 + npix;
}

static size_t make_labels(uint8_t *buf, uint32_t n, const uint8_t *labels)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = 1;
    put_be32(buf + 4, n);
    memcpy(buf + 8, labels, n);
    return 8 + n;
}

static void write_raw(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static void write_gz(const char *path, const void *data, size_t n)
{
    gzFile f = gzopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(gzwrite(f, data, (unsigned)n), (int)n);
    cr_assert_eq(gzclose(f), Z_OK);
}

static size_t read_whole(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    cr_assert_lt(n, cap, "%s larger than the test buffer", path);
    return n;
}

/* The standard good pair, written raw or compressed under the given names. */
static void write_good_pair(const char *images, const char *labels, int gz)
{
    uint8_t ibuf[16 + NPIX], lbuf[8 + N];
    size_t in = make_images(ibuf, N, ROWS, COLS);
    size_t ln = make_labels(lbuf, N, k_labels);
    if (gz) {
        write_gz(images, ibuf, in);
        write_gz(labels, lbuf, ln);
    } else {
        write_raw(images, ibuf, in);
        write_raw(labels, lbuf, ln);
    }
}

static void assert_good_dataset(const rg_dataset *ds)
{
    cr_assert_not_null(ds);
    cr_assert_eq(ds->n, N);
    cr_assert_eq(ds->c, 1);
    cr_assert_eq(ds->h, ROWS);
    cr_assert_eq(ds->w, COLS);
    cr_assert_eq(ds->num_classes, 7, "num_classes = max label 6 + 1, got %d", ds->num_classes);
    for (size_t i = 0; i < NPIX; i++)
        cr_assert_eq(ds->pixels[i], pixel_value(i), "pixel %zu", i);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(ds->labels[i], k_labels[i], "label %zu", i);
}

/* Loads and expects failure with exactly `status` and `message`. */
static void assert_load_fails(const char *images, const char *labels, rg_status status,
                              const char *message)
{
    rg_dataset *ds = NULL;
    rg_status st = rg_idx_load(images, labels, &ds);
    cr_assert_eq(st, status, "status %d (%s), message: %s", st, rg_status_name(st),
                 rg_error_message());
    cr_assert_null(ds);
    if (message)
        cr_assert_str_eq(rg_error_message(), message);
}

Test(idx, raw_files_load_with_shape_pixels_labels_and_num_classes)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_idx_load(img, lab, &ds), RG_OK, "%s", rg_error_message());
    assert_good_dataset(ds);
    rg_dataset_destroy(ds);
}

Test(idx, gzip_files_load_the_same_as_raw)
{
    const char *img = tmp_path("img.gz"), *lab = tmp_path("lab.gz");
    write_good_pair(img, lab, 1);
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_idx_load(img, lab, &ds), RG_OK, "%s", rg_error_message());
    assert_good_dataset(ds);
    rg_dataset_destroy(ds);
}

Test(idx, open_idx_finds_raw_names)
{
    write_good_pair(tmp_path("train-images-idx3-ubyte"), tmp_path("train-labels-idx1-ubyte"), 0);
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_idx(g_dir, "train", &ds), RG_OK, "%s", rg_error_message());
    assert_good_dataset(ds);
    rg_dataset_destroy(ds);
}

Test(idx, open_idx_finds_gz_names)
{
    write_good_pair(tmp_path("t10k-images-idx3-ubyte.gz"), tmp_path("t10k-labels-idx1-ubyte.gz"),
                    1);
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_idx(g_dir, "t10k", &ds), RG_OK, "%s", rg_error_message());
    assert_good_dataset(ds);
    rg_dataset_destroy(ds);
}

Test(idx, open_idx_accepts_dir_with_trailing_slash)
{
    write_good_pair(tmp_path("train-images-idx3-ubyte"), tmp_path("train-labels-idx1-ubyte"), 0);
    char dir[80];
    snprintf(dir, sizeof dir, "%s/", g_dir);
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_idx(dir, "train", &ds), RG_OK, "%s", rg_error_message());
    assert_good_dataset(ds);
    rg_dataset_destroy(ds);
}

Test(idx, open_idx_prefers_raw_over_gz)
{
    write_good_pair(tmp_path("train-images-idx3-ubyte"), tmp_path("train-labels-idx1-ubyte"), 0);
    /* A .gz pair of a different shape: if it were read, n would be 1. */
    uint8_t ibuf[16 + 2 * 2], lbuf[8 + 1];
    const uint8_t one_label[1] = {0};
    write_gz(tmp_path("train-images-idx3-ubyte.gz"), ibuf, make_images(ibuf, 1, 2, 2));
    write_gz(tmp_path("train-labels-idx1-ubyte.gz"), lbuf, make_labels(lbuf, 1, one_label));
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_idx(g_dir, "train", &ds), RG_OK, "%s", rg_error_message());
    assert_good_dataset(ds);
    rg_dataset_destroy(ds);
}

Test(idx, open_idx_missing_files_names_both_paths_tried)
{
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_idx(g_dir, "train", &ds), RG_ERR_IO);
    cr_assert_null(ds);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s/train-images-idx3-ubyte: cannot open: No such file or directory "
             "(also tried %s/train-images-idx3-ubyte.gz)",
             g_dir, g_dir);
    cr_assert_str_eq(rg_error_message(), expect);
}

Test(idx, open_idx_missing_labels_names_labels_paths)
{
    uint8_t ibuf[16 + NPIX];
    write_raw(tmp_path("train-images-idx3-ubyte"), ibuf, make_images(ibuf, N, ROWS, COLS));
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_idx(g_dir, "train", &ds), RG_ERR_IO);
    cr_assert_null(ds);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s/train-labels-idx1-ubyte: cannot open: No such file or directory "
             "(also tried %s/train-labels-idx1-ubyte.gz)",
             g_dir, g_dir);
    cr_assert_str_eq(rg_error_message(), expect);
}

Test(idx, missing_images_file_is_io_error_naming_it)
{
    const char *img = tmp_path("nope"), *lab = tmp_path("lab");
    uint8_t lbuf[8 + N];
    write_raw(lab, lbuf, make_labels(lbuf, N, k_labels));
    char expect[512];
    snprintf(expect, sizeof expect, "%s: cannot open: No such file or directory", img);
    assert_load_fails(img, lab, RG_ERR_IO, expect);
}

Test(idx, missing_labels_file_is_io_error_naming_it)
{
    const char *img = tmp_path("img"), *lab = tmp_path("nope");
    uint8_t ibuf[16 + NPIX];
    write_raw(img, ibuf, make_images(ibuf, N, ROWS, COLS));
    char expect[512];
    snprintf(expect, sizeof expect, "%s: cannot open: No such file or directory", lab);
    assert_load_fails(img, lab, RG_ERR_IO, expect);
}

Test(idx, truncated_images_header_is_io_error_with_exact_message)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t ibuf[16 + NPIX];
    make_images(ibuf, N, ROWS, COLS);
    write_raw(img, ibuf, 10); /* magic, n, half of rows */
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: truncated at byte 10: expected 16-byte header (IDX magic + 3 sizes)", img);
    assert_load_fails(img, lab, RG_ERR_IO, expect);
}

Test(idx, empty_images_file_is_truncated_at_byte_0)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    write_raw(img, "", 0);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: truncated at byte 0: expected 16-byte header (IDX magic + 3 sizes)", img);
    assert_load_fails(img, lab, RG_ERR_IO, expect);
}

Test(idx, truncated_images_data_is_io_error_with_exact_message)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t ibuf[16 + NPIX];
    make_images(ibuf, N, ROWS, COLS);
    write_raw(img, ibuf, 50);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: truncated at byte 50: expected 76 bytes (16-byte header + 3 x 4 x 5 pixels)",
             img);
    assert_load_fails(img, lab, RG_ERR_IO, expect);
}

Test(idx, truncated_labels_header_is_io_error_with_exact_message)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t lbuf[8 + N];
    make_labels(lbuf, N, k_labels);
    write_raw(lab, lbuf, 6);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: truncated at byte 6: expected 8-byte header (IDX magic + 1 size)", lab);
    assert_load_fails(img, lab, RG_ERR_IO, expect);
}

Test(idx, truncated_labels_data_is_io_error_with_exact_message)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t lbuf[8 + N];
    make_labels(lbuf, N, k_labels);
    write_raw(lab, lbuf, 9);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: truncated at byte 9: expected 11 bytes (8-byte header + 3 labels)", lab);
    assert_load_fails(img, lab, RG_ERR_IO, expect);
}

Test(idx, wrong_images_magic_is_format_error_with_exact_message)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t lbuf[8 + N];
    /* A labels file where images are expected. */
    write_raw(img, lbuf, make_labels(lbuf, N, k_labels));
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: byte 0: expected IDX magic 00 00 08 03 (unsigned-byte images, 3 dims), "
             "found 00 00 08 01",
             img);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, wrong_labels_magic_is_format_error_with_exact_message)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t ibuf[16 + NPIX];
    write_raw(lab, ibuf, make_images(ibuf, N, ROWS, COLS));
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: byte 0: expected IDX magic 00 00 08 01 (unsigned-byte labels, 1 dim), "
             "found 00 00 08 03",
             lab);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, non_ubyte_type_is_rejected_naming_the_type)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t ibuf[16 + NPIX];
    size_t n = make_images(ibuf, N, ROWS, COLS);
    ibuf[2] = 0x0D;
    write_raw(img, ibuf, n);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: byte 0: expected IDX magic 00 00 08 03 (unsigned-byte images, 3 dims), "
             "found 00 00 0D 03; type 0x0D (float32) is not supported, only 0x08 (unsigned byte)",
             img);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, image_label_count_mismatch_is_format_error_with_exact_message)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t lbuf[8 + N];
    write_raw(lab, lbuf, make_labels(lbuf, N - 1, k_labels));
    char expect[512];
    snprintf(expect, sizeof expect, "%s: holds 2 labels but %s holds 3 images", lab, img);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, trailing_bytes_after_images_are_format_error_with_offset)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t ibuf[16 + NPIX + 2];
    make_images(ibuf, N, ROWS, COLS);
    ibuf[76] = 0xAB;
    ibuf[77] = 0xCD;
    write_raw(img, ibuf, sizeof ibuf);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: byte 76: expected end of file after 76 bytes (16-byte header + 3 x 4 x 5 "
             "pixels), found more data",
             img);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, trailing_bytes_after_gz_labels_are_format_error_with_offset)
{
    const char *img = tmp_path("img.gz"), *lab = tmp_path("lab.gz");
    write_good_pair(img, lab, 1);
    uint8_t lbuf[8 + N + 1];
    make_labels(lbuf, N, k_labels);
    lbuf[11] = 0;
    write_gz(lab, lbuf, sizeof lbuf);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: byte 11: expected end of file after 11 bytes (8-byte header + 3 labels), "
             "found more data",
             lab);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, zero_dimension_is_format_error_naming_it)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t ibuf[16];
    make_images_header(ibuf, N, 0, COLS);
    write_raw(img, ibuf, 16);
    char expect[512];
    snprintf(expect, sizeof expect, "%s: byte 8: expected a nonzero row count, found 0", img);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, zero_labels_is_format_error)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t lbuf[8];
    write_raw(lab, lbuf, make_labels(lbuf, 0, k_labels));
    char expect[512];
    snprintf(expect, sizeof expect, "%s: byte 4: expected a nonzero label count, found 0", lab);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, sizes_whose_product_overflows_are_format_error_before_allocating)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t ibuf[16];
    make_images_header(ibuf, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu);
    write_raw(img, ibuf, 16);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: byte 4: expected at most 17179869184 pixel bytes, header declares "
             "4294967295 x 4294967295 x 4294967295",
             img);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, size_just_over_2_pow_34_is_format_error)
{
    const char *img = tmp_path("img"), *lab = tmp_path("lab");
    write_good_pair(img, lab, 0);
    uint8_t ibuf[16];
    /* 65537 x 512 x 512 = 2^34 + 2^18 bytes. */
    make_images_header(ibuf, 65537, 512, 512);
    write_raw(img, ibuf, 16);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: byte 4: expected at most 17179869184 pixel bytes, header declares "
             "65537 x 512 x 512",
             img);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, corrupt_gzip_data_is_format_error_with_zlib_reason)
{
    const char *img = tmp_path("img.gz"), *lab = tmp_path("lab.gz");
    write_good_pair(img, lab, 1);
    /* A valid gzip member header, then a deflate block of type 3, which
     * does not exist. */
    uint8_t bad[26] = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03};
    memset(bad + 10, 0xFF, 16);
    write_raw(img, bad, sizeof bad);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: corrupt gzip stream at byte 0 of the decompressed data: invalid block type", img);
    assert_load_fails(img, lab, RG_ERR_FORMAT, expect);
}

Test(idx, gzip_crc_mismatch_is_format_error)
{
    const char *img = tmp_path("img.gz"), *lab = tmp_path("lab.gz");
    write_good_pair(img, lab, 1);
    uint8_t gz[1024];
    size_t n = read_whole(img, gz, sizeof gz);
    gz[n - 8] ^= 0xFF; /* first byte of the CRC-32 trailer */
    write_raw(img, gz, n);
    /* zlib drops the output of the failing call, so the offset is not
     * pinned down; the file and the reason are. */
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_idx_load(img, lab, &ds), RG_ERR_FORMAT, "%s", rg_error_message());
    cr_assert_null(ds);
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s: corrupt gzip stream at byte ", img);
    cr_assert(strncmp(rg_error_message(), prefix, strlen(prefix)) == 0, "got: %s",
              rg_error_message());
    cr_assert_not_null(strstr(rg_error_message(), ": incorrect data check"), "got: %s",
                       rg_error_message());
}

Test(idx, gzip_stream_cut_short_is_truncation)
{
    const char *img = tmp_path("img.gz"), *lab = tmp_path("lab.gz");
    write_good_pair(img, lab, 1);
    uint8_t gz[1024];
    size_t n = read_whole(img, gz, sizeof gz);
    write_raw(img, gz, n / 2);
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_idx_load(img, lab, &ds), RG_ERR_IO, "%s", rg_error_message());
    cr_assert_null(ds);
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s: truncated at byte ", img);
    cr_assert(strncmp(rg_error_message(), prefix, strlen(prefix)) == 0, "got: %s",
              rg_error_message());
}

Test(idx, directory_given_as_file_is_io_error)
{
    const char *lab = tmp_path("lab");
    write_good_pair(tmp_path("img"), lab, 0);
    char expect[512];
    snprintf(expect, sizeof expect, "%s: read error at byte 0: Is a directory", g_dir);
    assert_load_fails(g_dir, lab, RG_ERR_IO, expect);
}

Test(idx, null_arguments_are_invalid_and_clear_out)
{
    rg_dataset sentinel;
    rg_dataset *ds = &sentinel;
    cr_assert_eq(rg_idx_load(NULL, "x", &ds), RG_ERR_INVALID);
    cr_assert_null(ds);
    cr_assert_eq(rg_idx_load("x", NULL, &ds), RG_ERR_INVALID);
    cr_assert_eq(rg_idx_load("x", "y", NULL), RG_ERR_INVALID);
    ds = &sentinel;
    cr_assert_eq(rg_dataset_open_idx(NULL, "train", &ds), RG_ERR_INVALID);
    cr_assert_null(ds);
    cr_assert_eq(rg_dataset_open_idx(g_dir, NULL, &ds), RG_ERR_INVALID);
    rg_dataset_destroy(NULL);
}

/* The real data: fails (never skips) when the package is missing, so a CI
 * image without it is noticed. */
static void require_fashion_mnist(void)
{
    struct stat sb;
    cr_assert(stat(FASHION_DIR, &sb) == 0 && S_ISDIR(sb.st_mode),
              FASHION_DIR " not found: install the Debian package dataset-fashion-mnist "
                          "(apt-get install dataset-fashion-mnist)");
}

static void assert_fashion_split(const char *split, int64_t n)
{
    require_fashion_mnist();
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_idx(FASHION_DIR, split, &ds), RG_OK, "%s", rg_error_message());
    cr_assert_eq(ds->n, n);
    cr_assert_eq(ds->c, 1);
    cr_assert_eq(ds->h, 28);
    cr_assert_eq(ds->w, 28);
    cr_assert_eq(ds->num_classes, 10);
    /* Both splits start with an ankle boot (class 9) and are exactly
     * balanced over the 10 classes. */
    cr_assert_eq(ds->labels[0], 9, "first %s label is %d, expected 9 (Ankle boot)", split,
                 ds->labels[0]);
    int64_t per_class[10] = {0};
    for (int64_t i = 0; i < ds->n; i++)
        per_class[ds->labels[i]]++;
    for (int k = 0; k < 10; k++)
        cr_assert_eq(per_class[k], n / 10, "class %d has %lld %s images", k,
                     (long long)per_class[k], split);
    rg_dataset_destroy(ds);
}

Test(fashion_mnist, train_split_is_60000x1x28x28_with_10_classes_first_label_9, .timeout = 120)
{
    assert_fashion_split("train", 60000);
}

Test(fashion_mnist, t10k_split_is_10000x1x28x28_with_10_classes_first_label_9, .timeout = 60)
{
    assert_fashion_split("t10k", 10000);
}
