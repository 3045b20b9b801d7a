/* PNG folder loader and exporter. Every test builds its own folder in a
 * fresh mkdtemp directory and writes its PNGs here with libpng, so each
 * colour type and bit depth is a file we control byte by byte. Expected
 * pixels are computed in the test from the documented formulas (round(v /
 * 257) for 16 bits, BT.601 luma for gray), and expected messages are spelled
 * out by hand. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE   /* mkdtemp, nftw */
#endif

#include <criterion/criterion.h>

#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <png.h>

#include "dataset.h"
#include "error.h"
#include "idx.h"
#include "pngfolder.h"

#ifndef FASHION_DIR
#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#endif

static char g_dir[64];

static void setup(void)
{
    strcpy(g_dir, "/tmp/regula-test-png-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp failed");
    rg_error_clear();
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(g_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(png, .init = setup, .fini = teardown);
TestSuite(png_export, .init = setup, .fini = teardown);

/* ---- helpers ------------------------------------------------------------------ */

/* g_dir/rel in a static ring of buffers, so a test can hold several. */
static const char *at(const char *rel)
{
    static char bufs[16][512];
    static int next;
    char *p = bufs[next++ % 16];
    snprintf(p, sizeof bufs[0], "%s/%s", g_dir, rel);
    return p;
}

static void make_dir(const char *rel)
{
    cr_assert_eq(mkdir(at(rel), 0777), 0, "mkdir %s", rel);
}

static void write_raw(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static size_t read_whole(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    cr_assert_lt(n, cap, "%s larger than the test buffer", path);
    return n;
}

typedef struct png_spec {
    uint32_t w, h;
    int color;                 /* PNG_COLOR_TYPE_* */
    int depth;                 /* 1, 8 or 16 */
    const uint16_t *samples;   /* h * w * channels, interleaved; indices for palettes */
    const png_color *palette;
    int npalette;
    int interlace;
} png_spec;

static int spec_channels(int color)
{
    switch (color) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    case PNG_COLOR_TYPE_PALETTE: return 1;
    }
    return 0;
}

/* Writes the PNG the spec describes, packing samples big-endian (16 bit) or
 * MSB-first (1 bit) as the PNG format stores them. */
static void write_png(const char *path, const png_spec *s)
{
    int ch = spec_channels(s->color);
    size_t rowbytes = ((size_t)s->w * (size_t)ch * (size_t)s->depth + 7) / 8;
    uint8_t *img = calloc(s->h, rowbytes);
    png_bytep *rows = calloc(s->h, sizeof *rows);
    cr_assert(img && rows);
    for (uint32_t y = 0; y < s->h; y++) {
        rows[y] = img + y * rowbytes;
        for (uint32_t i = 0; i < s->w * (uint32_t)ch; i++) {
            uint16_t v = s->samples[y * s->w * (uint32_t)ch + i];
            if (s->depth == 16) {
                rows[y][2 * i] = (uint8_t)(v >> 8);
                rows[y][2 * i + 1] = (uint8_t)v;
            } else if (s->depth == 8) {
                rows[y][i] = (uint8_t)v;
            } else {
                cr_assert_eq(s->depth, 1);
                if (v)
                    rows[y][i / 8] |= (uint8_t)(0x80 >> (i % 8));
            }
        }
    }
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    if (setjmp(png_jmpbuf(png)))
        cr_assert_fail("libpng failed writing %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, s->w, s->h, s->depth, s->color,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette)
        png_set_PLTE(png, info, s->palette, s->npalette);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    cr_assert_eq(fclose(f), 0);
    free(rows);
    free(img);
}

/* A w x h 8-bit gray image with every pixel = v. */
static void write_gray(const char *path, uint32_t w, uint32_t h, uint8_t v)
{
    uint16_t samples[64 * 64];
    cr_assert_leq(w * h, 64 * 64);
    for (uint32_t i = 0; i < w * h; i++)
        samples[i] = v;
    write_png(path, &(png_spec){w, h, PNG_COLOR_TYPE_GRAY, 8, samples, NULL, 0, 0});
}

/* Loads g_dir, expecting success. */
static rg_dataset *load_ok(const rg_png_options *opt)
{
    rg_dataset *ds = NULL;
    rg_status st = rg_dataset_open_png_dir(g_dir, opt, &ds);
    cr_assert_eq(st, RG_OK, "status %s: %s", rg_status_name(st), rg_error_message());
    cr_assert_not_null(ds);
    return ds;
}

/* Loads g_dir, expecting exactly this status and message. */
static void assert_load_fails(const rg_png_options *opt, rg_status status, const char *message)
{
    rg_dataset sentinel;
    rg_dataset *ds = &sentinel;
    rg_status st = rg_dataset_open_png_dir(g_dir, opt, &ds);
    cr_assert_eq(st, status, "status %s, message: %s", rg_status_name(st), rg_error_message());
    cr_assert_null(ds, "*out must be NULL on failure");
    cr_assert_str_eq(rg_error_message(), message);
}

static void assert_shape(const rg_dataset *ds, int64_t n, int64_t c, int64_t h, int64_t w,
                         int32_t classes)
{
    cr_assert_eq(ds->n, n, "n = %lld", (long long)ds->n);
    cr_assert_eq(ds->c, c, "c = %lld", (long long)ds->c);
    cr_assert_eq(ds->h, h, "h = %lld", (long long)ds->h);
    cr_assert_eq(ds->w, w, "w = %lld", (long long)ds->w);
    cr_assert_eq(ds->num_classes, classes, "num_classes = %d", ds->num_classes);
}

/* The documented conversions, written out independently of the loader. */
static uint8_t scale16(unsigned v)
{
    return (uint8_t)lround(v * 255.0 / 65535.0);
}

static uint8_t luma(unsigned r, unsigned g, unsigned b)
{
    /* Exact in double: integers below 2^53 over 1000, and a .5 is exact. */
    return (uint8_t)floor((299.0 * r + 587.0 * g + 114.0 * b) / 1000.0 + 0.5);
}

/* ---- pixel formats --------------------------------------------------------------- */

Test(png, gray8_loads_shape_pixels_label_and_class_name)
{
    make_dir("only");
    const uint16_t px[6] = {0, 1, 127, 128, 254, 255};
    write_png(at("only/a.png"), &(png_spec){3, 2, PNG_COLOR_TYPE_GRAY, 8, px, NULL, 0, 0});
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 1, 1, 2, 3, 1);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(ds->pixels[i], px[i], "pixel %d: %u, expected %u", i, ds->pixels[i], px[i]);
    cr_assert_eq(ds->labels[0], 0);
    cr_assert_not_null(ds->class_names);
    cr_assert_str_eq(ds->class_names[0], "only");
    rg_dataset_destroy(ds);
}

Test(png, gray16_is_scaled_to_8_bits_with_rounding)
{
    make_dir("c");
    /* 128/257 = 0.498 and 129/257 = 0.502 pin the rounding; 32896 = 128 * 257 */
    const uint16_t px[8] = {0, 128, 129, 257, 385, 32896, 65406, 65535};
    write_png(at("c/x.png"), &(png_spec){4, 2, PNG_COLOR_TYPE_GRAY, 16, px, NULL, 0, 0});
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 1, 1, 2, 4, 1);
    const uint8_t by_hand[8] = {0, 0, 1, 1, 1, 128, 254, 255};
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(scale16(px[i]), by_hand[i], "test formula disagrees at %d", i);
        cr_assert_eq(ds->pixels[i], by_hand[i], "pixel %d (16-bit %u): %u, expected %u", i, px[i],
                     ds->pixels[i], by_hand[i]);
    }
    rg_dataset_destroy(ds);
}

Test(png, gray1_expands_to_0_and_255)
{
    make_dir("c");
    const uint16_t px[10] = {1, 0, 0, 1, 1, 0, 1, 0, 1, 1};
    write_png(at("c/x.png"), &(png_spec){10, 1, PNG_COLOR_TYPE_GRAY, 1, px, NULL, 0, 0});
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 1, 1, 1, 10, 1);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(ds->pixels[i], px[i] ? 255 : 0, "pixel %d", i);
    rg_dataset_destroy(ds);
}

/* 2x2 RGB pixels, interleaved. */
static const uint16_t k_rgb[12] = {255, 0, 0, 0, 255, 0, 0, 0, 250, 12, 34, 56};

static void assert_planar_rgb(const rg_dataset *ds, const uint16_t *interleaved, int stride)
{
    for (int p = 0; p < 4; p++)
        for (int k = 0; k < 3; k++)
            cr_assert_eq(ds->pixels[k * 4 + p], interleaved[p * stride + k],
                         "pixel %d channel %d: %u, expected %u", p, k, ds->pixels[k * 4 + p],
                         interleaved[p * stride + k]);
}

Test(png, rgb8_loads_as_three_planes)
{
    make_dir("c");
    write_png(at("c/x.png"), &(png_spec){2, 2, PNG_COLOR_TYPE_RGB, 8, k_rgb, NULL, 0, 0});
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 1, 3, 2, 2, 1);
    assert_planar_rgb(ds, k_rgb, 3);
    rg_dataset_destroy(ds);
}

Test(png, rgb_to_gray_is_bt601_luma_rounded_half_up)
{
    make_dir("c");
    write_png(at("c/x.png"), &(png_spec){2, 2, PNG_COLOR_TYPE_RGB, 8, k_rgb, NULL, 0, 0});
    rg_dataset *ds = load_ok(&(rg_png_options){.channels = 1});
    assert_shape(ds, 1, 1, 2, 2, 1);
    /* 0.299*255 = 76.245, 0.587*255 = 149.685, 0.114*250 = 28.5 (a tie,
     * rounded up), 0.299*12 + 0.587*34 + 0.114*56 = 29.93 */
    const uint8_t by_hand[4] = {76, 150, 29, 30};
    for (int p = 0; p < 4; p++) {
        cr_assert_eq(luma(k_rgb[3 * p], k_rgb[3 * p + 1], k_rgb[3 * p + 2]), by_hand[p]);
        cr_assert_eq(ds->pixels[p], by_hand[p], "pixel %d: %u, expected %u", p, ds->pixels[p],
                     by_hand[p]);
    }
    rg_dataset_destroy(ds);
}

Test(png, rgba_drops_alpha_without_compositing)
{
    make_dir("c");
    /* alpha 0, 1, 128, 255: the colour must come through unchanged */
    const uint16_t px[16] = {255, 0, 0, 0, 0, 255, 0, 1, 0, 0, 250, 128, 12, 34, 56, 255};
    write_png(at("c/x.png"), &(png_spec){2, 2, PNG_COLOR_TYPE_RGB_ALPHA, 8, px, NULL, 0, 0});
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 1, 3, 2, 2, 1);
    assert_planar_rgb(ds, px, 4);
    rg_dataset_destroy(ds);
}

Test(png, rgba_to_gray_is_luma_of_the_colour)
{
    make_dir("c");
    const uint16_t px[16] = {255, 0, 0, 0, 0, 255, 0, 1, 0, 0, 250, 128, 12, 34, 56, 255};
    write_png(at("c/x.png"), &(png_spec){2, 2, PNG_COLOR_TYPE_RGB_ALPHA, 8, px, NULL, 0, 0});
    rg_dataset *ds = load_ok(&(rg_png_options){.channels = 1});
    assert_shape(ds, 1, 1, 2, 2, 1);
    for (int p = 0; p < 4; p++)
        cr_assert_eq(ds->pixels[p], luma(px[4 * p], px[4 * p + 1], px[4 * p + 2]), "pixel %d",
                     p);
    rg_dataset_destroy(ds);
}

Test(png, gray_alpha_drops_alpha)
{
    make_dir("c");
    const uint16_t px[6] = {10, 0, 200, 255, 77, 128};
    write_png(at("c/x.png"), &(png_spec){3, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, px, NULL, 0, 0});
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 1, 1, 1, 3, 1);
    cr_assert_eq(ds->pixels[0], 10);
    cr_assert_eq(ds->pixels[1], 200);
    cr_assert_eq(ds->pixels[2], 77);
    rg_dataset_destroy(ds);
}

Test(png, gray_to_rgb_replicates_the_sample)
{
    make_dir("c");
    const uint16_t px[6] = {10, 0, 200, 255, 77, 128};
    write_png(at("c/x.png"), &(png_spec){3, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, px, NULL, 0, 0});
    rg_dataset *ds = load_ok(&(rg_png_options){.channels = 3});
    assert_shape(ds, 1, 3, 1, 3, 1);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(ds->pixels[3 * k + 0], 10, "channel %d", k);
        cr_assert_eq(ds->pixels[3 * k + 1], 200, "channel %d", k);
        cr_assert_eq(ds->pixels[3 * k + 2], 77, "channel %d", k);
    }
    rg_dataset_destroy(ds);
}

static const png_color k_palette[3] = {{255, 0, 0}, {12, 34, 56}, {0, 0, 250}};
static const uint16_t k_indices[4] = {2, 0, 1, 1};

Test(png, palette_expands_to_its_rgb_entries)
{
    make_dir("c");
    write_png(at("c/x.png"), &(png_spec){2, 2, PNG_COLOR_TYPE_PALETTE, 8, k_indices, k_palette,
                                         3, 0});
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 1, 3, 2, 2, 1);
    for (int p = 0; p < 4; p++) {
        png_color e = k_palette[k_indices[p]];
        cr_assert_eq(ds->pixels[0 * 4 + p], e.red, "pixel %d red", p);
        cr_assert_eq(ds->pixels[1 * 4 + p], e.green, "pixel %d green", p);
        cr_assert_eq(ds->pixels[2 * 4 + p], e.blue, "pixel %d blue", p);
    }
    rg_dataset_destroy(ds);
}

Test(png, palette_to_gray_is_luma_of_the_entries)
{
    make_dir("c");
    write_png(at("c/x.png"), &(png_spec){2, 2, PNG_COLOR_TYPE_PALETTE, 8, k_indices, k_palette,
                                         3, 0});
    rg_dataset *ds = load_ok(&(rg_png_options){.channels = 1});
    assert_shape(ds, 1, 1, 2, 2, 1);
    const uint8_t by_hand[4] = {29, 76, 30, 30};
    for (int p = 0; p < 4; p++) {
        png_color e = k_palette[k_indices[p]];
        cr_assert_eq(luma(e.red, e.green, e.blue), by_hand[p]);
        cr_assert_eq(ds->pixels[p], by_hand[p], "pixel %d: %u", p, ds->pixels[p]);
    }
    rg_dataset_destroy(ds);
}

Test(png, rgb16_to_gray_scales_each_sample_then_takes_luma)
{
    make_dir("c");
    const uint16_t px[6] = {65535, 129, 40000, 1000, 30000, 64250};
    write_png(at("c/x.png"), &(png_spec){2, 1, PNG_COLOR_TYPE_RGB, 16, px, NULL, 0, 0});
    rg_dataset *ds = load_ok(&(rg_png_options){.channels = 1});
    assert_shape(ds, 1, 1, 1, 2, 1);
    for (int p = 0; p < 2; p++) {
        uint8_t want = luma(scale16(px[3 * p]), scale16(px[3 * p + 1]), scale16(px[3 * p + 2]));
        cr_assert_eq(ds->pixels[p], want, "pixel %d: %u, expected %u", p, ds->pixels[p], want);
    }
    rg_dataset_destroy(ds);
}

Test(png, rgb16_keeps_three_scaled_planes)
{
    make_dir("c");
    const uint16_t px[6] = {65535, 129, 40000, 1000, 30000, 64250};
    write_png(at("c/x.png"), &(png_spec){2, 1, PNG_COLOR_TYPE_RGB, 16, px, NULL, 0, 0});
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 1, 3, 1, 2, 1);
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 3; k++)
            cr_assert_eq(ds->pixels[k * 2 + p], scale16(px[3 * p + k]), "pixel %d channel %d", p,
                         k);
    rg_dataset_destroy(ds);
}

Test(png, interlaced_image_loads_like_a_plain_one)
{
    make_dir("c");
    uint16_t px[9 * 7];
    for (int i = 0; i < 9 * 7; i++)
        px[i] = (uint16_t)(i * 4);
    write_png(at("c/x.png"), &(png_spec){9, 7, PNG_COLOR_TYPE_GRAY, 8, px, NULL, 0, 1});
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 1, 1, 7, 9, 1);
    for (int i = 0; i < 9 * 7; i++)
        cr_assert_eq(ds->pixels[i], px[i], "pixel %d", i);
    rg_dataset_destroy(ds);
}

Test(png, first_image_sets_channels_and_later_gray_is_replicated)
{
    make_dir("a");
    make_dir("b");
    write_png(at("a/x.png"), &(png_spec){2, 2, PNG_COLOR_TYPE_RGB, 8, k_rgb, NULL, 0, 0});
    write_gray(at("b/y.png"), 2, 2, 99);
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 2, 3, 2, 2, 2);
    assert_planar_rgb(ds, k_rgb, 3);
    for (int i = 12; i < 24; i++)
        cr_assert_eq(ds->pixels[i], 99, "byte %d of image 1", i);
    rg_dataset_destroy(ds);
}

/* ---- folder layout ----------------------------------------------------------------- */

Test(png, classes_and_files_sort_bytewise_and_images_go_class_by_class)
{
    /* created out of order; strcmp order is "C.PNG" < "a.png" < "b.png" */
    make_dir("dog");
    make_dir("cat");
    make_dir("bird");
    write_gray(at("dog/b.png"), 1, 1, 31);
    write_gray(at("dog/a.png"), 1, 1, 30);
    write_gray(at("cat/b.png"), 1, 1, 21);
    write_gray(at("cat/C.PNG"), 1, 1, 20);
    write_gray(at("cat/a.png"), 1, 1, 22);
    write_gray(at("bird/z.png"), 1, 1, 10);
    /* ignored: not .png, hidden, plain files and hidden folders at the top */
    write_raw(at("cat/notes.txt"), "hello", 5);
    write_raw(at("cat/.junk.png"), "hello", 5);
    write_raw(at("README"), "hello", 5);
    make_dir(".git");
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 6, 1, 1, 1, 3);
    const uint8_t pixels[6] = {10, 20, 22, 21, 30, 31};
    const uint8_t labels[6] = {0, 1, 1, 1, 2, 2};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(ds->pixels[i], pixels[i], "image %d is %u, expected %u", i, ds->pixels[i],
                     pixels[i]);
        cr_assert_eq(ds->labels[i], labels[i], "image %d label", i);
    }
    cr_assert_str_eq(ds->class_names[0], "bird");
    cr_assert_str_eq(ds->class_names[1], "cat");
    cr_assert_str_eq(ds->class_names[2], "dog");
    rg_dataset_destroy(ds);
}

Test(png, dir_with_trailing_slash_loads)
{
    make_dir("k");
    write_gray(at("k/a.png"), 1, 1, 5);
    char dir[80];
    snprintf(dir, sizeof dir, "%s/", g_dir);
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_png_dir(dir, NULL, &ds), RG_OK, "%s", rg_error_message());
    cr_assert_eq(ds->n, 1);
    cr_assert_eq(ds->pixels[0], 5);
    rg_dataset_destroy(ds);
}

Test(png, exactly_256_classes_load_with_label_255_last, .timeout = 60)
{
    char rel[32];
    for (int k = 0; k < 256; k++) {
        snprintf(rel, sizeof rel, "%03d", k);
        make_dir(rel);
        snprintf(rel, sizeof rel, "%03d/i.png", k);
        write_gray(at(rel), 1, 1, (uint8_t)k);
    }
    rg_dataset *ds = load_ok(NULL);
    assert_shape(ds, 256, 1, 1, 1, 256);
    for (int k = 0; k < 256; k++) {
        cr_assert_eq(ds->labels[k], k);
        cr_assert_eq(ds->pixels[k], k);
    }
    cr_assert_str_eq(ds->class_names[255], "255");
    rg_dataset_destroy(ds);
}

Test(png, center_crop_takes_the_middle_of_larger_images)
{
    make_dir("a");
    make_dir("b");
    write_gray(at("a/first.png"), 2, 2, 7);
    /* 5 wide, 4 high: x0 = (5 - 2) / 2 = 1, y0 = (4 - 2) / 2 = 1 */
    uint16_t px[20];
    for (int i = 0; i < 20; i++)
        px[i] = (uint16_t)(100 + i);
    write_png(at("b/big.png"), &(png_spec){5, 4, PNG_COLOR_TYPE_GRAY, 8, px, NULL, 0, 0});
    rg_dataset *ds = load_ok(&(rg_png_options){.center_crop = 1});
    assert_shape(ds, 2, 1, 2, 2, 2);
    const uint8_t window[4] = {106, 107, 111, 112};  /* rows 1-2, columns 1-2 */
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(ds->pixels[i], 7);
        cr_assert_eq(ds->pixels[4 + i], window[i], "cropped pixel %d: %u, expected %u", i,
                     ds->pixels[4 + i], window[i]);
    }
    rg_dataset_destroy(ds);
}

/* ---- refusals ------------------------------------------------------------------------- */

Test(png, missing_directory_is_io_error)
{
    char dir[96], expect[256];
    snprintf(dir, sizeof dir, "%s/nope", g_dir);
    snprintf(expect, sizeof expect, "%s: cannot open directory: No such file or directory", dir);
    rg_dataset *ds = NULL;
    cr_assert_eq(rg_dataset_open_png_dir(dir, NULL, &ds), RG_ERR_IO);
    cr_assert_null(ds);
    cr_assert_str_eq(rg_error_message(), expect);
}

Test(png, empty_directory_is_refused)
{
    char expect[256];
    snprintf(expect, sizeof expect,
             "%s: no class folders, expected one sub-folder per class holding .png files", g_dir);
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

Test(png, directory_with_only_files_has_no_class_folders)
{
    write_gray(at("loose.png"), 1, 1, 1);
    char expect[256];
    snprintf(expect, sizeof expect,
             "%s: no class folders, expected one sub-folder per class holding .png files", g_dir);
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

Test(png, class_folder_without_png_is_named)
{
    make_dir("a");
    make_dir("b");
    write_gray(at("a/x.png"), 1, 1, 1);
    write_raw(at("b/readme.txt"), "x", 1);
    char expect[256];
    snprintf(expect, sizeof expect, "%s: class folder holds no .png files (class 1 of 2)",
             at("b"));
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

Test(png, more_than_256_classes_is_refused)
{
    char rel[16];
    for (int k = 0; k < 257; k++) {
        snprintf(rel, sizeof rel, "%03d", k);
        make_dir(rel);
    }
    char expect[256];
    snprintf(expect, sizeof expect, "%s: 257 class folders, at most 256 supported (labels are 8-bit)",
             g_dir);
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

Test(png, png_name_with_other_content_is_not_a_png)
{
    make_dir("a");
    write_raw(at("a/x.png"), "hello, world\n", 13);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: not a PNG file (bad signature): byte 0: expected 89 50 4E 47 0D 0A 1A 0A, "
             "found 68 65 6C 6C 6F 2C 20 77",
             at("a/x.png"));
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

Test(png, uppercase_png_name_with_other_content_is_refused_too)
{
    make_dir("a");
    write_raw(at("a/X.PNG"), "hi", 2);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: not a PNG file (bad signature): byte 0: expected 89 50 4E 47 0D 0A 1A 0A, "
             "found 68 69 and end of file",
             at("a/X.PNG"));
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

Test(png, empty_png_file_is_refused)
{
    make_dir("a");
    write_raw(at("a/x.png"), "", 0);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: not a PNG file (bad signature): byte 0: expected 89 50 4E 47 0D 0A 1A 0A, "
             "found an empty file",
             at("a/x.png"));
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

Test(png, directory_with_png_name_is_refused)
{
    make_dir("a");
    make_dir("a/sub.png");
    char expect[512];
    snprintf(expect, sizeof expect, "%s: not a regular file, expected a PNG image",
             at("a/sub.png"));
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

/* A 16x16 RGB image of varied pixels, so the IDAT chunk is most of the
 * file and half the file ends inside it. */
static size_t write_noisy_rgb(const char *path, uint8_t *copy, size_t cap)
{
    uint16_t px[16 * 16 * 3];
    uint32_t x = 12345;
    for (int i = 0; i < 16 * 16 * 3; i++) {
        x = x * 1103515245u + 12345u;
        px[i] = (uint16_t)(x >> 24);
    }
    write_png(path, &(png_spec){16, 16, PNG_COLOR_TYPE_RGB, 8, px, NULL, 0, 0});
    return read_whole(path, copy, cap);
}

Test(png, truncated_png_is_io_error_at_the_end_of_file)
{
    make_dir("a");
    const char *p = at("a/x.png");
    uint8_t buf[4096];
    size_t n = write_noisy_rgb(p, buf, sizeof buf);
    cr_assert_gt(n, 400, "the image should not compress to %zu bytes", n);
    write_raw(p, buf, n / 2);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: corrupt or truncated PNG: unexpected end of file at byte %zu", p, n / 2);
    assert_load_fails(NULL, RG_ERR_IO, expect);
}

Test(png, png_missing_only_its_iend_chunk_is_truncated)
{
    make_dir("a");
    const char *p = at("a/x.png");
    uint8_t buf[4096];
    size_t n = write_noisy_rgb(p, buf, sizeof buf);
    write_raw(p, buf, n - 12);   /* IEND is 12 bytes: length, type, CRC */
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: corrupt or truncated PNG: unexpected end of file at byte %zu", p, n - 12);
    assert_load_fails(NULL, RG_ERR_IO, expect);
}

Test(png, corrupt_header_crc_is_format_error_with_libpng_message)
{
    make_dir("a");
    const char *p = at("a/x.png");
    uint8_t buf[4096];
    size_t n = write_noisy_rgb(p, buf, sizeof buf);
    buf[8 + 8 + 3] ^= 0x01;   /* width's low byte: 16 -> 17, CRC no longer matches */
    write_raw(p, buf, n);
    char expect[512];
    /* IHDR ends at byte 8 + 4 + 4 + 13 + 4 = 33 */
    snprintf(expect, sizeof expect, "%s: corrupt or truncated PNG: IHDR: CRC error (near byte 33)",
             p);
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

Test(png, different_size_without_center_crop_is_refused_naming_both_files)
{
    make_dir("a");
    make_dir("b");
    write_gray(at("a/x.png"), 2, 2, 1);
    write_gray(at("b/y.png"), 3, 2, 1);
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: 3x2 pixels (width x height), expected 2x2 like %s; set center_crop to crop "
             "larger images",
             at("b/y.png"), at("a/x.png"));
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

Test(png, smaller_image_without_center_crop_gets_no_crop_hint)
{
    make_dir("a");
    write_gray(at("a/x.png"), 2, 2, 1);
    write_gray(at("a/y.png"), 2, 1, 1);
    char expect[512];
    snprintf(expect, sizeof expect, "%s: 2x1 pixels (width x height), expected 2x2 like %s",
             at("a/y.png"), at("a/x.png"));
    assert_load_fails(NULL, RG_ERR_FORMAT, expect);
}

Test(png, center_crop_refuses_a_smaller_image)
{
    make_dir("a");
    write_gray(at("a/x.png"), 3, 3, 1);
    write_gray(at("a/y.png"), 4, 2, 1);   /* wider but not as high */
    char expect[512];
    snprintf(expect, sizeof expect,
             "%s: 4x2 pixels (width x height) is smaller than 3x3 of %s; center_crop only crops "
             "larger images",
             at("a/y.png"), at("a/x.png"));
    assert_load_fails(&(rg_png_options){.center_crop = 1}, RG_ERR_FORMAT, expect);
}

Test(png, bad_channels_option_is_invalid)
{
    make_dir("a");
    write_gray(at("a/x.png"), 1, 1, 1);
    assert_load_fails(&(rg_png_options){.channels = 2}, RG_ERR_INVALID,
                      "rg_dataset_open_png_dir: channels is 2, expected 0 (from the first "
                      "image), 1 (grayscale) or 3 (RGB)");
}

Test(png, null_arguments_are_invalid_and_clear_out)
{
    rg_dataset sentinel;
    rg_dataset *ds = &sentinel;
    cr_assert_eq(rg_dataset_open_png_dir(NULL, NULL, &ds), RG_ERR_INVALID);
    cr_assert_null(ds);
    cr_assert_str_eq(rg_error_message(), "rg_dataset_open_png_dir: dir is NULL");
    cr_assert_eq(rg_dataset_open_png_dir(g_dir, NULL, NULL), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(), "rg_dataset_open_png_dir: out is NULL");
}

/* ---- export ------------------------------------------------------------------------------ */

/* A small dataset with shuffled labels; pixels from a formula. */
static rg_dataset *make_dataset(int64_t n, int64_t c, int64_t h, int64_t w, int32_t classes,
                                const uint8_t *labels)
{
    rg_dataset *ds = calloc(1, sizeof *ds);
    cr_assert_not_null(ds);
    size_t bytes = (size_t)(n * c * h * w);
    ds->pixels = malloc(bytes);
    ds->labels = malloc((size_t)n);
    cr_assert(ds->pixels && ds->labels);
    for (size_t i = 0; i < bytes; i++)
        ds->pixels[i] = (uint8_t)(i * 37 + 11);
    memcpy(ds->labels, labels, (size_t)n);
    ds->n = n;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    ds->num_classes = classes;
    return ds;
}

/* Images of `orig` in the order the loader gives them back: stably sorted by
 * label. */
static void assert_same_as_sorted(const rg_dataset *orig, const rg_dataset *back)
{
    assert_shape(back, orig->n, orig->c, orig->h, orig->w, orig->num_classes);
    size_t bytes = (size_t)(orig->c * orig->h * orig->w);
    int64_t j = 0;
    for (int32_t k = 0; k < orig->num_classes; k++)
        for (int64_t i = 0; i < orig->n; i++) {
            if (orig->labels[i] != k)
                continue;
            cr_assert_eq(back->labels[j], k, "loaded image %lld label %u, expected %d",
                         (long long)j, back->labels[j], k);
            cr_assert(memcmp(back->pixels + (size_t)j * bytes, orig->pixels + (size_t)i * bytes,
                             bytes) == 0,
                      "loaded image %lld differs from original image %lld", (long long)j,
                      (long long)i);
            j++;
        }
    cr_assert_eq(j, orig->n);
}

static char g_out[128];

static const char *out_dir(void)
{
    snprintf(g_out, sizeof g_out, "%s/out", g_dir);
    return g_out;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

Test(png_export, gray_round_trip_keeps_pixels_labels_shape_and_names)
{
    const uint8_t labels[5] = {1, 0, 2, 0, 1};
    rg_dataset *ds = make_dataset(5, 1, 3, 2, 3, labels);
    const char *names[3] = {"zero", "one", "two"};
    cr_assert_eq(rg_dataset_export_png(ds, out_dir(), names), RG_OK, "%s", rg_error_message());
    cr_assert(exists(at("out/01_one/00000.png")), "image 0 of class 1 not at 01_one/00000.png");
    cr_assert(exists(at("out/00_zero/00003.png")));
    rg_dataset *back = NULL;
    cr_assert_eq(rg_dataset_open_png_dir(out_dir(), NULL, &back), RG_OK, "%s",
                 rg_error_message());
    assert_same_as_sorted(ds, back);
    cr_assert_str_eq(back->class_names[0], "00_zero");
    cr_assert_str_eq(back->class_names[1], "01_one");
    cr_assert_str_eq(back->class_names[2], "02_two");
    rg_dataset_destroy(back);
    rg_dataset_destroy(ds);
}

Test(png_export, rgb_round_trip_without_names_uses_numbered_folders)
{
    const uint8_t labels[4] = {1, 1, 0, 1};
    rg_dataset *ds = make_dataset(4, 3, 4, 5, 2, labels);
    cr_assert_eq(rg_dataset_export_png(ds, out_dir(), NULL), RG_OK, "%s", rg_error_message());
    rg_dataset *back = NULL;
    cr_assert_eq(rg_dataset_open_png_dir(out_dir(), NULL, &back), RG_OK, "%s",
                 rg_error_message());
    assert_same_as_sorted(ds, back);
    cr_assert_str_eq(back->class_names[0], "00");
    cr_assert_str_eq(back->class_names[1], "01");
    rg_dataset_destroy(back);
    rg_dataset_destroy(ds);
}

Test(png_export, eleven_classes_still_sort_in_class_order)
{
    /* "10" must come after "09", and image 10 after image 9 */
    uint8_t labels[12];
    for (int i = 0; i < 12; i++)
        labels[i] = (uint8_t)(i % 11);
    rg_dataset *ds = make_dataset(12, 1, 2, 2, 11, labels);
    cr_assert_eq(rg_dataset_export_png(ds, out_dir(), NULL), RG_OK, "%s", rg_error_message());
    rg_dataset *back = NULL;
    cr_assert_eq(rg_dataset_open_png_dir(out_dir(), NULL, &back), RG_OK, "%s",
                 rg_error_message());
    assert_same_as_sorted(ds, back);
    cr_assert_str_eq(back->class_names[10], "10");
    rg_dataset_destroy(back);
    rg_dataset_destroy(ds);
}

Test(png_export, leaves_only_png_files_no_temporaries)
{
    const uint8_t labels[3] = {0, 0, 0};
    rg_dataset *ds = make_dataset(3, 1, 2, 2, 1, labels);
    cr_assert_eq(rg_dataset_export_png(ds, out_dir(), NULL), RG_OK, "%s", rg_error_message());
    DIR *d = opendir(at("out/00"));
    cr_assert_not_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(e->d_name);
        cr_assert(len > 4 && strcmp(e->d_name + len - 4, ".png") == 0, "stray file %s",
                  e->d_name);
        count++;
    }
    closedir(d);
    cr_assert_eq(count, 3);
    rg_dataset_destroy(ds);
}

Test(png_export, existing_empty_directory_is_accepted)
{
    const uint8_t labels[1] = {0};
    rg_dataset *ds = make_dataset(1, 1, 1, 1, 1, labels);
    make_dir("out");
    cr_assert_eq(rg_dataset_export_png(ds, out_dir(), NULL), RG_OK, "%s", rg_error_message());
    cr_assert(exists(at("out/00/00000.png")));
    rg_dataset_destroy(ds);
}

static void assert_export_fails(const rg_dataset *ds, const char *const *names, rg_status status,
                                const char *message)
{
    rg_status st = rg_dataset_export_png(ds, out_dir(), names);
    cr_assert_eq(st, status, "status %s, message: %s", rg_status_name(st), rg_error_message());
    cr_assert_str_eq(rg_error_message(), message);
}

Test(png_export, non_empty_directory_is_refused)
{
    const uint8_t labels[1] = {0};
    rg_dataset *ds = make_dataset(1, 1, 1, 1, 1, labels);
    make_dir("out");
    write_raw(at("out/keep.txt"), "x", 1);
    char expect[256];
    snprintf(expect, sizeof expect,
             "%s: exists and is not empty; export writes into a new or empty directory",
             out_dir());
    assert_export_fails(ds, NULL, RG_ERR_IO, expect);
    rg_dataset_destroy(ds);
}

Test(png_export, two_channels_are_refused)
{
    const uint8_t labels[1] = {0};
    rg_dataset *ds = make_dataset(1, 2, 1, 1, 1, labels);
    assert_export_fails(ds, NULL, RG_ERR_INVALID,
                        "rg_dataset_export_png: 2 channels, expected 1 (grayscale) or 3 (RGB)");
    cr_assert(!exists(out_dir()), "nothing may be written for a refused dataset");
    rg_dataset_destroy(ds);
}

Test(png_export, label_at_num_classes_is_refused)
{
    const uint8_t labels[2] = {0, 2};
    rg_dataset *ds = make_dataset(2, 1, 1, 1, 2, labels);
    assert_export_fails(ds, NULL, RG_ERR_INVALID,
                        "rg_dataset_export_png: image 1 has label 2, expected below num_classes "
                        "2");
    rg_dataset_destroy(ds);
}

Test(png_export, class_without_images_is_refused)
{
    const uint8_t labels[2] = {0, 2};
    rg_dataset *ds = make_dataset(2, 1, 1, 1, 3, labels);
    assert_export_fails(ds, NULL, RG_ERR_INVALID,
                        "rg_dataset_export_png: class 1 has no images; a PNG folder holds a class "
                        "only through its images");
    rg_dataset_destroy(ds);
}

Test(png_export, class_name_with_slash_is_refused)
{
    const uint8_t labels[2] = {0, 1};
    rg_dataset *ds = make_dataset(2, 1, 1, 1, 2, labels);
    const char *names[2] = {"ok", "a/b"};
    assert_export_fails(ds, names, RG_ERR_INVALID,
                        "rg_dataset_export_png: class name 1 \"a/b\" contains '/', expected a "
                        "folder name");
    rg_dataset_destroy(ds);
}

Test(png_export, null_arguments_are_invalid)
{
    cr_assert_eq(rg_dataset_export_png(NULL, out_dir(), NULL), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(), "rg_dataset_export_png: ds is NULL");
    const uint8_t labels[1] = {0};
    rg_dataset *ds = make_dataset(1, 1, 1, 1, 1, labels);
    cr_assert_eq(rg_dataset_export_png(ds, NULL, NULL), RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(), "rg_dataset_export_png: dir is NULL");
    rg_dataset_destroy(ds);
}

/* ---- real data ------------------------------------------------------------------------- */

Test(png_export, fashion_mnist_first_100_test_images_round_trip_bit_for_bit, .timeout = 120)
{
    struct stat sb;
    if (stat(FASHION_DIR, &sb) != 0)
        cr_assert_fail("%s not found (apt-get install dataset-fashion-mnist)", FASHION_DIR);
    rg_dataset *full = NULL;
    cr_assert_eq(rg_dataset_open_idx(FASHION_DIR, "t10k", &full), RG_OK, "%s",
                 rg_error_message());
    enum { N = 100 };
    size_t bytes = (size_t)(full->c * full->h * full->w);
    rg_dataset *ds = calloc(1, sizeof *ds);
    cr_assert_not_null(ds);
    ds->pixels = malloc(N * bytes);
    ds->labels = malloc(N);
    cr_assert(ds->pixels && ds->labels);
    memcpy(ds->pixels, full->pixels, N * bytes);
    memcpy(ds->labels, full->labels, N);
    ds->n = N;
    ds->c = full->c;
    ds->h = full->h;
    ds->w = full->w;
    ds->num_classes = full->num_classes;
    rg_dataset_destroy(full);

    static const char *const names[10] = {"tshirt", "trouser", "pullover", "dress", "coat",
                                          "sandal", "shirt",   "sneaker",  "bag",   "boot"};
    cr_assert_eq(rg_dataset_export_png(ds, out_dir(), names), RG_OK, "%s", rg_error_message());
    rg_dataset *back = NULL;
    cr_assert_eq(rg_dataset_open_png_dir(out_dir(), NULL, &back), RG_OK, "%s",
                 rg_error_message());
    cr_assert_eq(back->c, 1);
    cr_assert_eq(back->h, 28);
    cr_assert_eq(back->w, 28);
    assert_same_as_sorted(ds, back);
    cr_assert_str_eq(back->class_names[9], "09_boot");
    rg_dataset_destroy(back);
    rg_dataset_destroy(ds);
}
