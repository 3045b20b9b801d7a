/* PNG folder loader and exporter on libpng's classic API.
 *
 * The simplified png_image API is not used on purpose: it converts 16-bit
 * samples and RGB to gray in linear light (gamma-decoded), which is not the
 * plain round(v / 257) and BT.601-on-stored-values this loader promises.
 * libpng reports errors by longjmp; each setjmp lives in a small function
 * whose mutable state is all behind a pointer to the caller's struct, so
 * nothing the handler reads is a clobbered local, and no longjmp ever
 * leaves this file. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L   /* stat, opendir, strdup */
#endif

#include "pngfolder.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

/* Labels are uint8_t. */
#define PNG_MAX_CLASSES 256
/* Same bound as the IDX loader: far above any real set, low enough that a
 * header claiming 10^6 x 10^6 pixels fails before it allocates. */
#define PNG_MAX_BYTES ((uint64_t)1 << 34)

static const uint8_t k_signature[8] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};

/* ---- small helpers ---------------------------------------------------------- */

static char *png_join(const char *dir, const char *name)
{
    size_t dlen = strlen(dir), nlen = strlen(name);
    int sep = dlen > 0 && dir[dlen - 1] != '/';
    char *p = malloc(dlen + (size_t)sep + nlen + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, dlen);
    if (sep)
        p[dlen] = '/';
    memcpy(p + dlen + (size_t)sep, name, nlen + 1);
    return p;
}

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static int list_push(name_list *l, const char *name)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(name)))
        return -1;
    l->n++;
    return 0;
}

static void list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_png_suffix(const char *name)
{
    size_t len = strlen(name);
    return len >= 4 && strcasecmp(name + len - 4, ".png") == 0;
}

/* Sorted names of dir's entries that are directories (want_png = 0) or whose
 * name ends in .png (want_png = 1); names starting with '.' are skipped. A
 * .png entry that is not a regular file is refused rather than skipped: the
 * user named it as an image. */
static rg_status scan_dir(const char *dir, int want_png, name_list *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return rg_error_set(RG_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
    rg_status st = RG_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno != 0)
                st = rg_error_set(RG_ERR_IO, "%s: cannot read directory: %s", dir,
                                  strerror(errno));
            break;
        }
        if (e->d_name[0] == '.' || (want_png && !has_png_suffix(e->d_name)))
            continue;
        char *path = png_join(dir, e->d_name);
        if (!path) {
            st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory listing the directory", dir);
            break;
        }
        struct stat sb;
        int keep = 0;
        if (stat(path, &sb) != 0)
            st = rg_error_set(RG_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        else if (!want_png)
            keep = S_ISDIR(sb.st_mode);
        else if (!S_ISREG(sb.st_mode))
            st = rg_error_set(RG_ERR_FORMAT, "%s: not a regular file, expected a PNG image",
                              path);
        else
            keep = 1;
        free(path);
        if (st != RG_OK)
            break;
        if (keep && list_push(out, e->d_name) != 0) {
            st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory listing the directory", dir);
            break;
        }
    }
    closedir(d);
    if (st == RG_OK && out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_names);
    return st;
}

/* ---- decoding ---------------------------------------------------------------- */

typedef struct png_dec {
    /* the file being read: for the read callback and the messages */
    FILE *f;
    const char *path;
    uint64_t offset;     /* bytes handed to libpng, signature included */
    int eof;             /* the file ended inside a read */
    int read_errno;      /* nonzero after a read error */
    int too_large;       /* the image exceeds PNG_MAX_BYTES */
    int nomem;           /* our allocation failed */
    char msg[256];       /* libpng's message */
    /* the decoded image, buffers reused from file to file */
    uint8_t *buf;
    size_t buf_cap;
    png_bytep *rows;
    size_t rows_cap;
    uint32_t width, height;
    int channels;        /* after expansion: 1 G, 2 GA, 3 RGB, 4 RGBA */
    int depth;           /* 8 or 16 */
} png_dec;

static void dec_on_error(png_structp png, png_const_charp msg)
{
    png_dec *d = png_get_error_ptr(png);
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (bad ancillary chunks, which libpng then skips) are not errors
 * and the library never prints. */
static void dec_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void dec_on_read(png_structp png, png_bytep data, size_t len)
{
    png_dec *d = png_get_io_ptr(png);
    size_t got = fread(data, 1, len, d->f);
    d->offset += got;
    if (got < len) {
        if (ferror(d->f)) {
            d->read_errno = errno ? errno : EIO;
            png_error(png, "read error");
        }
        d->eof = 1;
        png_error(png, "unexpected end of file");
    }
}

static rg_status dec_failure(const png_dec *d)
{
    if (d->read_errno)
        return rg_error_set(RG_ERR_IO, "%s: read error at byte %" PRIu64 ": %s", d->path,
                            d->offset, strerror(d->read_errno));
    if (d->eof)
        return rg_error_set(RG_ERR_IO,
                            "%s: corrupt or truncated PNG: unexpected end of file at byte %" PRIu64,
                            d->path, d->offset);
    if (d->too_large)
        return rg_error_set(RG_ERR_FORMAT,
                            "%s: %" PRIu32 "x%" PRIu32 " pixels (width x height) need more than "
                            "%" PRIu64 " bytes",
                            d->path, d->width, d->height, PNG_MAX_BYTES);
    if (d->nomem || strcmp(d->msg, "Out of memory") == 0)
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory decoding %" PRIu32 "x%" PRIu32
                                          " pixels",
                            d->path, d->width, d->height);
    return rg_error_set(RG_ERR_FORMAT, "%s: corrupt or truncated PNG: %s (near byte %" PRIu64 ")",
                        d->path, d->msg, d->offset);
}

/* Makes room for the decoded image; never longjmps. */
static int dec_reserve(png_dec *d, size_t rowbytes)
{
    size_t need = rowbytes * d->height;
    if (need > d->buf_cap) {
        uint8_t *b = realloc(d->buf, need);
        if (!b)
            return -1;
        d->buf = b;
        d->buf_cap = need;
    }
    if (d->height > d->rows_cap) {
        png_bytep *r = realloc(d->rows, d->height * sizeof *r);
        if (!r)
            return -1;
        d->rows = r;
        d->rows_cap = d->height;
    }
    for (uint32_t y = 0; y < d->height; y++)
        d->rows[y] = d->buf + (size_t)y * rowbytes;
    return 0;
}

/* Decodes d->f (positioned after the 8 signature bytes) into d->buf: 8- or
 * 16-bit samples, 1 to 4 per pixel, palette and low-depth gray expanded. */
static rg_status dec_stream(png_dec *d)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, dec_on_error,
                                             dec_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory starting libpng", d->path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return dec_failure(d);
    }
    png_set_read_fn(png, d, dec_on_read);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);

    int color = png_get_color_type(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    d->width = png_get_image_width(png, info);
    d->height = png_get_image_height(png, info);
    d->channels = png_get_channels(png, info);
    d->depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes == 0 || (uint64_t)rowbytes * d->height > PNG_MAX_BYTES) {
        d->too_large = 1;
        png_error(png, "image too large");
    }
    if (dec_reserve(d, rowbytes) != 0) {
        d->nomem = 1;
        png_error(png, "Out of memory");
    }
    png_read_image(png, d->rows);
    /* Reads on to IEND, so a file cut after its image data is refused too. */
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    return RG_OK;
}

static rg_status dec_file(png_dec *d, const char *path)
{
    d->path = path;
    d->offset = 0;
    d->eof = d->read_errno = d->too_large = d->nomem = 0;
    d->msg[0] = '\0';
    d->width = d->height = 0;
    d->f = fopen(path, "rb");
    if (!d->f)
        return rg_error_set(RG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));

    uint8_t sig[8];
    size_t got = fread(sig, 1, sizeof sig, d->f);
    rg_status st;
    if (got < sizeof sig && ferror(d->f)) {
        st = rg_error_set(RG_ERR_IO, "%s: read error at byte 0: %s", path, strerror(errno));
    } else if (got < sizeof sig || memcmp(sig, k_signature, sizeof sig) != 0) {
        char found[64] = "an empty file";
        if (got > 0) {
            size_t at = 0;
            for (size_t i = 0; i < got; i++)
                at += (size_t)snprintf(found + at, sizeof found - at, "%s%02X", i ? " " : "",
                                       sig[i]);
            if (got < sizeof sig)
                snprintf(found + at, sizeof found - at, " and end of file");
        }
        st = rg_error_set(RG_ERR_FORMAT,
                          "%s: not a PNG file (bad signature): byte 0: expected 89 50 4E 47 0D "
                          "0A 1A 0A, found %s",
                          path, found);
    } else {
        d->offset = sizeof sig;
        st = dec_stream(d);
    }
    fclose(d->f);
    d->f = NULL;
    return st;
}

static void dec_free(png_dec *d)
{
    free(d->buf);
    free(d->rows);
}

static uint8_t dec_sample(const png_dec *d, const uint8_t *px, int k)
{
    if (d->depth == 16) {
        unsigned v = (unsigned)px[2 * k] << 8 | px[2 * k + 1];
        return (uint8_t)((v + 128) / 257);   /* round(v * 255 / 65535); 257 is odd: no ties */
    }
    return px[k];
}

/* Copies the h x w window at (x0, y0) of the decoded image into dst as c
 * planes. */
static void dec_convert(const png_dec *d, int64_t c, uint32_t x0, uint32_t y0, int64_t h,
                        int64_t w, uint8_t *dst)
{
    size_t stride = (size_t)d->channels * (size_t)(d->depth / 8);
    size_t plane = (size_t)h * (size_t)w;
    int color = d->channels >= 3;
    for (int64_t y = 0; y < h; y++) {
        const uint8_t *px = d->rows[y0 + y] + x0 * stride;
        for (int64_t x = 0; x < w; x++, px += stride) {
            size_t o = (size_t)y * (size_t)w + (size_t)x;
            if (!color) {
                uint8_t g = dec_sample(d, px, 0);
                for (int64_t k = 0; k < c; k++)
                    dst[k * plane + o] = g;
            } else if (c == 3) {
                for (int k = 0; k < 3; k++)
                    dst[k * plane + o] = dec_sample(d, px, k);
            } else {
                /* ITU-R BT.601 luma; weights in thousandths sum to 1000, so
                 * the result stays in 0..255 and +500 rounds half up. */
                unsigned r = dec_sample(d, px, 0), g = dec_sample(d, px, 1),
                         b = dec_sample(d, px, 2);
                dst[o] = (uint8_t)((299 * r + 587 * g + 114 * b + 500) / 1000);
            }
        }
    }
}

rg_status rg_png_read_image(const char *path, int64_t c, int64_t h, int64_t w, int center_crop,
                            uint8_t *planes)
{
    png_dec d = {0};
    rg_status st = dec_file(&d, path);
    if (st == RG_OK) {
        int fits = (int64_t)d.height == h && (int64_t)d.width == w;
        int larger = (int64_t)d.height >= h && (int64_t)d.width >= w;
        if (!fits && !(center_crop && larger))
            st = rg_error_set(RG_ERR_FORMAT, "%s: %ux%u pixels (width x height), the model takes "
                              "%lldx%lld%s", path, d.width, d.height, (long long)w, (long long)h,
                              larger ? "; add --center-crop to crop it" : "");
        else
            dec_convert(&d, c, (uint32_t)(((int64_t)d.width - w) / 2),
                        (uint32_t)(((int64_t)d.height - h) / 2), h, w, planes);
    }
    dec_free(&d);
    return st;
}

/* ---- loading a folder ------------------------------------------------------------ */

rg_status rg_dataset_open_png_dir(const char *dir, const rg_png_options *opt, rg_dataset **out)
{
    if (!out)
        return rg_error_set(RG_ERR_INVALID, "rg_dataset_open_png_dir: out is NULL");
    *out = NULL;
    if (!dir)
        return rg_error_set(RG_ERR_INVALID, "rg_dataset_open_png_dir: dir is NULL");
    rg_png_options o = {0};
    if (opt)
        o = *opt;
    if (o.channels != 0 && o.channels != 1 && o.channels != 3)
        return rg_error_set(RG_ERR_INVALID,
                            "rg_dataset_open_png_dir: channels is %d, expected 0 (from the first "
                            "image), 1 (grayscale) or 3 (RGB)",
                            o.channels);

    name_list classes = {0};
    name_list *files = NULL;
    char *class_dir = NULL, *path = NULL, *first = NULL;
    png_dec dec = {0};
    rg_dataset *ds = NULL;
    size_t total = 0, nclasses = 0;
    rg_status st = scan_dir(dir, 0, &classes);
    if (st != RG_OK)
        goto done;
    nclasses = classes.n;
    if (nclasses == 0) {
        st = rg_error_set(RG_ERR_FORMAT,
                          "%s: no class folders, expected one sub-folder per class holding .png "
                          "files",
                          dir);
        goto done;
    }
    if (nclasses > PNG_MAX_CLASSES) {
        st = rg_error_set(RG_ERR_FORMAT,
                          "%s: %zu class folders, at most %d supported (labels are 8-bit)", dir,
                          nclasses, PNG_MAX_CLASSES);
        goto done;
    }

    files = calloc(nclasses, sizeof *files);
    if (!files) {
        st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory listing classes", dir);
        goto done;
    }
    for (size_t k = 0; k < nclasses; k++) {
        if (!(class_dir = png_join(dir, classes.v[k]))) {
            st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory listing classes", dir);
            goto done;
        }
        if ((st = scan_dir(class_dir, 1, &files[k])) != RG_OK)
            goto done;
        if (files[k].n == 0) {
            st = rg_error_set(RG_ERR_FORMAT,
                              "%s: class folder holds no .png files (class %zu of %zu)", class_dir,
                              k, nclasses);
            goto done;
        }
        free(class_dir);
        class_dir = NULL;
        total += files[k].n;
    }

    ds = calloc(1, sizeof *ds);
    if (ds) {
        ds->class_names = calloc(nclasses, sizeof *ds->class_names);
        ds->labels = malloc(total);
    }
    if (!ds || !ds->class_names || !ds->labels) {
        st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory for %zu labels", dir, total);
        goto done;
    }
    ds->num_classes = (int32_t)nclasses;
    for (size_t k = 0; k < nclasses; k++) {
        ds->class_names[k] = classes.v[k];
        classes.v[k] = NULL;
    }
    ds->n = (int64_t)total;

    size_t i = 0;
    uint64_t image_bytes = 0;
    for (size_t k = 0; k < nclasses; k++) {
        if (!(class_dir = png_join(dir, ds->class_names[k]))) {
            st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory", dir);
            goto done;
        }
        for (size_t j = 0; j < files[k].n; j++, i++) {
            if (!(path = png_join(class_dir, files[k].v[j]))) {
                st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory", class_dir);
                goto done;
            }
            if ((st = dec_file(&dec, path)) != RG_OK)
                goto done;
            if (i == 0) {
                /* The first image sets the shape of all. */
                ds->h = dec.height;
                ds->w = dec.width;
                ds->c = o.channels ? o.channels : (dec.channels >= 3 ? 3 : 1);
                image_bytes = (uint64_t)ds->c * dec.height * dec.width;
                if (image_bytes > PNG_MAX_BYTES / total) {
                    st = rg_error_set(RG_ERR_FORMAT,
                                      "%s: %zu images of %" PRIu32 "x%" PRIu32 " pixels x %" PRId64
                                      " channels need more than %" PRIu64 " bytes",
                                      dir, total, dec.width, dec.height, ds->c, PNG_MAX_BYTES);
                    goto done;
                }
                if (!(ds->pixels = malloc((size_t)(image_bytes * total)))) {
                    st = rg_error_set(RG_ERR_NOMEM, "%s: cannot allocate %" PRIu64
                                                    " bytes for %zu images",
                                      dir, image_bytes * total, total);
                    goto done;
                }
                first = path;
                path = NULL;
            } else if (dec.width != (uint32_t)ds->w || dec.height != (uint32_t)ds->h) {
                int larger = dec.width >= (uint32_t)ds->w && dec.height >= (uint32_t)ds->h;
                if (!o.center_crop) {
                    st = rg_error_set(RG_ERR_FORMAT,
                                      "%s: %" PRIu32 "x%" PRIu32 " pixels (width x height), "
                                      "expected %" PRId64 "x%" PRId64 " like %s%s",
                                      path, dec.width, dec.height, ds->w, ds->h, first,
                                      larger ? "; set center_crop to crop larger images" : "");
                    goto done;
                }
                if (!larger) {
                    st = rg_error_set(RG_ERR_FORMAT,
                                      "%s: %" PRIu32 "x%" PRIu32 " pixels (width x height) is "
                                      "smaller than %" PRId64 "x%" PRId64 " of %s; center_crop "
                                      "only crops larger images",
                                      path, dec.width, dec.height, ds->w, ds->h, first);
                    goto done;
                }
            }
            uint32_t x0 = (dec.width - (uint32_t)ds->w) / 2, y0 = (dec.height - (uint32_t)ds->h) / 2;
            dec_convert(&dec, ds->c, x0, y0, ds->h, ds->w, ds->pixels + i * image_bytes);
            ds->labels[i] = (uint8_t)k;
            free(path);
            path = NULL;
        }
        free(class_dir);
        class_dir = NULL;
    }

done:
    if (files)
        for (size_t k = 0; k < nclasses; k++)
            list_free(&files[k]);
    free(files);
    list_free(&classes);
    free(class_dir);
    free(path);
    free(first);
    dec_free(&dec);
    if (st != RG_OK) {
        rg_dataset_destroy(ds);
        return st;
    }
    *out = ds;
    return RG_OK;
}

/* ---- export ------------------------------------------------------------------------ */

typedef struct png_enc {
    FILE *f;
    const char *path;    /* the temporary file, for messages */
    int write_errno;
    char msg[256];
    const uint8_t *planes;
    int64_t c, h, w;
    uint8_t *row;        /* w * c interleaved samples */
} png_enc;

static void enc_on_error(png_structp png, png_const_charp msg)
{
    png_enc *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void enc_on_write(png_structp png, png_bytep data, size_t len)
{
    png_enc *e = png_get_io_ptr(png);
    if (fwrite(data, 1, len, e->f) != len) {
        e->write_errno = errno ? errno : EIO;
        png_error(png, "write error");
    }
}

static void enc_on_flush(png_structp png)
{
    png_enc *e = png_get_io_ptr(png);
    if (fflush(e->f) != 0) {
        e->write_errno = errno ? errno : EIO;
        png_error(png, "write error");
    }
}

static void enc_rows(png_structp png, png_enc *e)
{
    size_t plane = (size_t)e->h * (size_t)e->w;
    for (int64_t y = 0; y < e->h; y++) {
        const uint8_t *src = e->planes + (size_t)y * (size_t)e->w;
        for (int64_t x = 0; x < e->w; x++)
            for (int64_t k = 0; k < e->c; k++)
                e->row[x * e->c + k] = src[k * plane + x];
        png_write_row(png, e->row);
    }
}

static rg_status enc_stream(png_enc *e)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, e, enc_on_error,
                                              dec_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory starting libpng", e->path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        if (e->write_errno)
            return rg_error_set(RG_ERR_IO, "%s: write error: %s", e->path,
                                strerror(e->write_errno));
        return rg_error_set(RG_ERR_IO, "%s: cannot write PNG: %s", e->path, e->msg);
    }
    png_set_write_fn(png, e, enc_on_write, enc_on_flush);
    png_set_IHDR(png, info, (png_uint_32)e->w, (png_uint_32)e->h, 8,
                 e->c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    enc_rows(png, e);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return RG_OK;
}

/* Writes final_path through final_path.tmp, so a reader never sees half a
 * file under a .png name. */
static rg_status enc_file(png_enc *e, const char *final_path)
{
    size_t len = strlen(final_path);
    char *tmp = malloc(len + 5);
    if (!tmp)
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory", final_path);
    memcpy(tmp, final_path, len);
    memcpy(tmp + len, ".tmp", 5);
    e->path = tmp;
    e->write_errno = 0;
    e->msg[0] = '\0';
    rg_status st = RG_OK;
    if (!(e->f = fopen(tmp, "wb"))) {
        st = rg_error_set(RG_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    st = enc_stream(e);
    if (fclose(e->f) != 0 && st == RG_OK)
        st = rg_error_set(RG_ERR_IO, "%s: write error: %s", tmp, strerror(errno));
    e->f = NULL;
    if (st == RG_OK && rename(tmp, final_path) != 0)
        st = rg_error_set(RG_ERR_IO, "%s: cannot rename to %s: %s", tmp, final_path,
                          strerror(errno));
    if (st != RG_OK)
        unlink(tmp);
    free(tmp);
    return st;
}

rg_status rg_png_write(const char *path, const uint8_t *planes, int64_t c, int64_t h, int64_t w)
{
    if ((c != 1 && c != 3) || h < 1 || w < 1)
        return rg_error_set(RG_ERR_INVALID, "%s: cannot write a %lldx%lldx%lld image as PNG",
                            path, (long long)c, (long long)h, (long long)w);
    png_enc e;
    memset(&e, 0, sizeof e);
    e.planes = planes;
    e.c = c;
    e.h = h;
    e.w = w;
    e.row = malloc((size_t)(w * c));
    if (!e.row)
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory", path);
    rg_status st = enc_file(&e, path);
    free(e.row);
    return st;
}

static int decimal_digits(int64_t v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Creates dir, or accepts it if it is an empty directory. */
static rg_status make_empty_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0)
        return RG_OK;
    if (errno != EEXIST)
        return rg_error_set(RG_ERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
    DIR *d = opendir(dir);
    if (!d)
        return rg_error_set(RG_ERR_IO, "%s: exists and cannot be opened as a directory: %s", dir,
                            strerror(errno));
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    if (!empty)
        return rg_error_set(RG_ERR_IO,
                            "%s: exists and is not empty; export writes into a new or empty "
                            "directory",
                            dir);
    return RG_OK;
}

static rg_status check_exportable(const rg_dataset *ds, const char *const *names)
{
    static const char *fn = "rg_dataset_export_png";
    if (ds->c != 1 && ds->c != 3)
        return rg_error_set(RG_ERR_INVALID,
                            "%s: %" PRId64 " channels, expected 1 (grayscale) or 3 (RGB)", fn,
                            ds->c);
    if (ds->n < 1 || ds->h < 1 || ds->w < 1 || ds->h > PNG_UINT_31_MAX ||
        ds->w > PNG_UINT_31_MAX)
        return rg_error_set(RG_ERR_INVALID,
                            "%s: shape %" PRId64 " x %" PRId64 " x %" PRId64 " x %" PRId64
                            ", expected at least one image of at least 1x1 pixels",
                            fn, ds->n, ds->c, ds->h, ds->w);
    if (!ds->pixels || !ds->labels)
        return rg_error_set(RG_ERR_INVALID, "%s: dataset has no %s", fn,
                            ds->pixels ? "labels" : "pixels");
    if (ds->num_classes < 1 || ds->num_classes > PNG_MAX_CLASSES)
        return rg_error_set(RG_ERR_INVALID, "%s: num_classes is %" PRId32 ", expected 1..%d", fn,
                            ds->num_classes, PNG_MAX_CLASSES);
    int64_t count[PNG_MAX_CLASSES] = {0};
    for (int64_t i = 0; i < ds->n; i++) {
        if (ds->labels[i] >= ds->num_classes)
            return rg_error_set(RG_ERR_INVALID,
                                "%s: image %" PRId64 " has label %u, expected below num_classes "
                                "%" PRId32,
                                fn, i, ds->labels[i], ds->num_classes);
        count[ds->labels[i]]++;
    }
    for (int32_t k = 0; k < ds->num_classes; k++) {
        if (count[k] == 0)
            return rg_error_set(RG_ERR_INVALID,
                                "%s: class %" PRId32 " has no images; a PNG folder holds a class "
                                "only through its images",
                                fn, k);
        if (names && names[k] && strchr(names[k], '/'))
            return rg_error_set(RG_ERR_INVALID,
                                "%s: class name %" PRId32 " \"%s\" contains '/', expected a "
                                "folder name",
                                fn, k, names[k]);
    }
    return RG_OK;
}

rg_status rg_dataset_export_png(const rg_dataset *ds, const char *dir,
                                const char *const *class_names_or_null)
{
    if (!ds || !dir)
        return rg_error_set(RG_ERR_INVALID, "rg_dataset_export_png: %s is NULL",
                            ds ? "dir" : "ds");
    const char *const *names = class_names_or_null;
    rg_status st = check_exportable(ds, names);
    if (st != RG_OK)
        return st;
    if ((st = make_empty_dir(dir)) != RG_OK)
        return st;

    char *class_dirs[PNG_MAX_CLASSES] = {0};
    char *path = NULL;
    png_enc enc = {0};
    int cdigits = decimal_digits(ds->num_classes - 1), idigits = decimal_digits(ds->n - 1);
    if (cdigits < 2)
        cdigits = 2;
    if (idigits < 5)
        idigits = 5;
    size_t image_bytes = (size_t)(ds->c * ds->h * ds->w);

    for (int32_t k = 0; k < ds->num_classes; k++) {
        const char *name = names && names[k] && names[k][0] ? names[k] : NULL;
        char head[16];
        snprintf(head, sizeof head, "%0*" PRId32 "%s", cdigits, k, name ? "_" : "");
        size_t len = strlen(head) + (name ? strlen(name) : 0);
        char *folder = malloc(len + 1);
        if (folder) {
            snprintf(folder, len + 1, "%s%s", head, name ? name : "");
            class_dirs[k] = png_join(dir, folder);
            free(folder);
        }
        if (!class_dirs[k]) {
            st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory", dir);
            goto done;
        }
        if (mkdir(class_dirs[k], 0777) != 0) {
            st = rg_error_set(RG_ERR_IO, "%s: cannot create directory: %s", class_dirs[k],
                              strerror(errno));
            goto done;
        }
    }

    if (!(enc.row = malloc((size_t)(ds->w * ds->c)))) {
        st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory for a %" PRId64 "-pixel row", dir,
                          ds->w);
        goto done;
    }
    enc.c = ds->c;
    enc.h = ds->h;
    enc.w = ds->w;
    for (int64_t i = 0; i < ds->n; i++) {
        const char *cdir = class_dirs[ds->labels[i]];
        size_t len = strlen(cdir) + (size_t)idigits + 32;
        if (!(path = malloc(len))) {
            st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory", dir);
            goto done;
        }
        snprintf(path, len, "%s/%0*" PRId64 ".png", cdir, idigits, i);
        enc.planes = ds->pixels + (size_t)i * image_bytes;
        if ((st = enc_file(&enc, path)) != RG_OK)
            goto done;
        free(path);
        path = NULL;
    }

done:
    for (int k = 0; k < PNG_MAX_CLASSES; k++)
        free(class_dirs[k]);
    free(path);
    free(enc.row);
    return st;
}
