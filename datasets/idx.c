/* IDX reader. zlib's gzread passes non-gzip files through unchanged, so one
 * path serves both .gz and decompressed files, and every offset reported is
 * in the decompressed stream. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L   /* stat */
#endif

#include "idx.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "error.h"

#define IDX_TYPE_UBYTE 0x08
/* Far above any real IDX set, low enough that a corrupt header cannot ask
 * for an allocation that takes the machine down before failing. */
#define IDX_MAX_BYTES ((uint64_t)1 << 34)
/* gzread counts in int. */
#define IDX_READ_CHUNK (1u << 30)

typedef struct idx_kind {
    const char *what;   /* for the magic message */
    uint8_t ndims;
    const char *dim_names[3];
} idx_kind;

static const idx_kind k_images = {
    "unsigned-byte images, 3 dims", 3, {"image count", "row count", "column count"}};
static const idx_kind k_labels = {"unsigned-byte labels, 1 dim", 1, {"label count", NULL, NULL}};

typedef struct idx_file {
    gzFile gz;
    const char *path;
    uint64_t offset; /* decompressed bytes handed to us so far */
} idx_file;

static rg_status idx_open(idx_file *f, const char *path)
{
    f->path = path;
    f->offset = 0;
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz) {
        /* gzopen leaves errno alone when only its own malloc failed. */
        if (errno == 0)
            return rg_error_set(RG_ERR_NOMEM, "%s: cannot open: out of memory", path);
        return rg_error_set(RG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    /* The 8 KiB default costs a syscall per 8 KiB on a 47 MB file. */
    gzbuffer(f->gz, 1u << 17);
    return RG_OK;
}

static void idx_close(idx_file *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

/* zlib discards the output of the call that failed, so the offset can be
 * somewhat before the damage, never after it. */
static rg_status idx_stream_error(idx_file *f)
{
    int errnum = Z_OK;
    const char *why = gzerror(f->gz, &errnum);
    size_t len = strlen(f->path);
    /* gzerror prefixes the path; ours already does. */
    if (strncmp(why, f->path, len) == 0 && why[len] == ':' && why[len + 1] == ' ')
        why += len + 2;
    if (errnum == Z_ERRNO)
        return rg_error_set(RG_ERR_IO, "%s: read error at byte %" PRIu64 ": %s", f->path,
                            f->offset, why);
    if (errnum == Z_MEM_ERROR)
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory decompressing at byte %" PRIu64,
                            f->path, f->offset);
    return rg_error_set(RG_ERR_FORMAT,
                        "%s: corrupt gzip stream at byte %" PRIu64 " of the decompressed data: %s",
                        f->path, f->offset, why);
}

/* Reads up to n bytes; *got < n only at end of file (including a gzip
 * stream cut short, which zlib reports as a plain end). */
static rg_status idx_read(idx_file *f, uint8_t *buf, uint64_t n, uint64_t *got)
{
    *got = 0;
    while (*got < n) {
        uint64_t left = n - *got;
        unsigned chunk = left > IDX_READ_CHUNK ? IDX_READ_CHUNK : (unsigned)left;
        int r = gzread(f->gz, buf + *got, chunk);
        if (r < 0)
            return idx_stream_error(f);
        if (r == 0)
            break;
        *got += (uint64_t)r;
        f->offset += (uint64_t)r;
    }
    return RG_OK;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *idx_type_name(uint8_t t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    }
    return "not an IDX type";
}

static rg_status idx_truncated_header(const idx_file *f, const idx_kind *k)
{
    return rg_error_set(RG_ERR_IO,
                        "%s: truncated at byte %" PRIu64 ": expected %u-byte header (IDX magic + %u %s)",
                        f->path, f->offset, 4u + 4u * k->ndims, (unsigned)k->ndims,
                        k->ndims == 1 ? "size" : "sizes");
}

static rg_status idx_read_header(idx_file *f, const idx_kind *k, uint32_t *dims)
{
    uint8_t head[4 + 4 * 3];
    uint64_t got;
    uint64_t size_bytes = 4u * (uint64_t)k->ndims;
    rg_status st = idx_read(f, head, 4, &got);
    if (st != RG_OK)
        return st;
    if (got < 4)
        return idx_truncated_header(f, k);

    if (head[0] != 0 || head[1] != 0 || head[2] != IDX_TYPE_UBYTE || head[3] != k->ndims) {
        char type_note[96] = "";
        if (head[0] == 0 && head[1] == 0 && head[2] != IDX_TYPE_UBYTE)
            snprintf(type_note, sizeof type_note,
                     "; type 0x%02X (%s) is not supported, only 0x08 (unsigned byte)", head[2],
                     idx_type_name(head[2]));
        return rg_error_set(RG_ERR_FORMAT,
                            "%s: byte 0: expected IDX magic 00 00 08 %02X (%s), found %02X %02X "
                            "%02X %02X%s",
                            f->path, k->ndims, k->what, head[0], head[1], head[2], head[3],
                            type_note);
    }

    st = idx_read(f, head + 4, size_bytes, &got);
    if (st != RG_OK)
        return st;
    if (got < size_bytes)
        return idx_truncated_header(f, k);
    for (unsigned i = 0; i < k->ndims; i++) {
        dims[i] = be32(head + 4 + 4 * i);
        if (dims[i] == 0)
            return rg_error_set(RG_ERR_FORMAT, "%s: byte %u: expected a nonzero %s, found 0",
                                f->path, 4 + 4 * i, k->dim_names[i]);
    }
    return RG_OK;
}

/* Reads exactly n bytes of data and insists the file ends right after. */
static rg_status idx_read_body(idx_file *f, uint8_t *buf, uint64_t n, const char *layout)
{
    uint64_t got;
    uint64_t end = f->offset + n;
    rg_status st = idx_read(f, buf, n, &got);
    if (st != RG_OK)
        return st;
    if (got < n)
        return rg_error_set(RG_ERR_IO,
                            "%s: truncated at byte %" PRIu64 ": expected %" PRIu64 " bytes (%s)",
                            f->path, f->offset, end, layout);
    /* Also where a bad gzip CRC shows up: zlib checks it only at stream end. */
    uint8_t extra;
    st = idx_read(f, &extra, 1, &got);
    if (st != RG_OK)
        return st;
    if (got != 0)
        return rg_error_set(RG_ERR_FORMAT,
                            "%s: byte %" PRIu64 ": expected end of file after %" PRIu64
                            " bytes (%s), found more data",
                            f->path, end, end, layout);
    return RG_OK;
}

rg_status rg_idx_load(const char *images_path, const char *labels_path, rg_dataset **out)
{
    if (!out)
        return rg_error_set(RG_ERR_INVALID, "rg_idx_load: out is NULL");
    *out = NULL;
    if (!images_path || !labels_path)
        return rg_error_set(RG_ERR_INVALID, "rg_idx_load: %s path is NULL",
                            images_path ? "labels" : "images");

    idx_file img = {0}, lab = {0};
    rg_dataset *ds = NULL;
    uint32_t idims[3], ldims[1];
    char img_layout[128], lab_layout[96];
    uint64_t per_image, pixel_bytes;
    uint8_t max_label = 0;
    rg_status st;

    if ((st = idx_open(&img, images_path)) != RG_OK)
        goto done;
    if ((st = idx_read_header(&img, &k_images, idims)) != RG_OK)
        goto done;
    /* rows * cols < 2^64 always; only the product with n can overflow. */
    per_image = (uint64_t)idims[1] * idims[2];
    if (per_image > IDX_MAX_BYTES || idims[0] > IDX_MAX_BYTES / per_image
#if SIZE_MAX < UINT64_MAX
        || (uint64_t)idims[0] * per_image > SIZE_MAX
#endif
    ) {
        st = rg_error_set(RG_ERR_FORMAT,
                          "%s: byte 4: expected at most %" PRIu64 " pixel bytes, header declares "
                          "%" PRIu32 " x %" PRIu32 " x %" PRIu32,
                          images_path, IDX_MAX_BYTES, idims[0], idims[1], idims[2]);
        goto done;
    }
    pixel_bytes = (uint64_t)idims[0] * per_image;

    if ((st = idx_open(&lab, labels_path)) != RG_OK)
        goto done;
    if ((st = idx_read_header(&lab, &k_labels, ldims)) != RG_OK)
        goto done;
    /* Checked before the data so a mismatch does not cost a 47 MB read. */
    if (ldims[0] != idims[0]) {
        st = rg_error_set(RG_ERR_FORMAT, "%s: holds %" PRIu32 " labels but %s holds %" PRIu32
                                         " images",
                          labels_path, ldims[0], images_path, idims[0]);
        goto done;
    }

    /* A header can claim far more than the file holds: refuse a large claim before
     * allocating (a small one is read and reported at the byte where the data ends).
     * Deflate expands at most about 1032:1, so a gzip file of S bytes holds at most 1032*S. */
    {
        struct stat sb;
        uint64_t limit = 0;
        if (stat(images_path, &sb) == 0) {
            uint64_t fs = (uint64_t)sb.st_size;
            limit = gzdirect(img.gz) ? fs : (fs > UINT64_MAX / 1040 ? UINT64_MAX : fs * 1040);
        }
        if (limit && pixel_bytes > limit && pixel_bytes > ((uint64_t)1 << 26)) {
            st = rg_error_set(RG_ERR_FORMAT,
                              "%s: byte 4: the header declares %" PRIu32 " x %" PRIu32
                              " x %" PRIu32 " = %" PRIu64 " pixel bytes, more than the %"
                              PRIu64 "-byte file can hold (truncated?)",
                              images_path, idims[0], idims[1], idims[2], pixel_bytes,
                              (uint64_t)sb.st_size);
            goto done;
        }
    }
    ds = calloc(1, sizeof *ds);
    if (ds) {
        ds->pixels = malloc((size_t)pixel_bytes);
        ds->labels = malloc(idims[0]);
    }
    if (!ds || !ds->pixels || !ds->labels) {
        st = rg_error_set(RG_ERR_NOMEM, "%s: cannot allocate %" PRIu64 " bytes for %" PRIu32
                                        " images",
                          images_path, pixel_bytes + idims[0], idims[0]);
        goto done;
    }
    ds->n = idims[0];
    ds->c = 1;
    ds->h = idims[1];
    ds->w = idims[2];

    snprintf(img_layout, sizeof img_layout,
             "16-byte header + %" PRIu32 " x %" PRIu32 " x %" PRIu32 " pixels", idims[0], idims[1],
             idims[2]);
    snprintf(lab_layout, sizeof lab_layout, "8-byte header + %" PRIu32 " labels", ldims[0]);
    if ((st = idx_read_body(&img, ds->pixels, pixel_bytes, img_layout)) != RG_OK)
        goto done;
    if ((st = idx_read_body(&lab, ds->labels, ldims[0], lab_layout)) != RG_OK)
        goto done;

    for (uint32_t i = 0; i < ldims[0]; i++)
        if (ds->labels[i] > max_label)
            max_label = ds->labels[i];
    ds->num_classes = (int32_t)max_label + 1;

done:
    idx_close(&img);
    idx_close(&lab);
    if (st != RG_OK) {
        rg_dataset_destroy(ds);
        return st;
    }
    *out = ds;
    return RG_OK;
}

static char *idx_join(const char *dir, const char *split, const char *stem, const char *ext)
{
    size_t dlen = strlen(dir);
    const char *sep = (dlen == 0 || dir[dlen - 1] == '/') ? "" : "/";
    int len = snprintf(NULL, 0, "%s%s%s-%s%s", dir, sep, split, stem, ext);
    if (len < 0)
        return NULL;
    char *path = malloc((size_t)len + 1);
    if (path)
        snprintf(path, (size_t)len + 1, "%s%s%s-%s%s", dir, sep, split, stem, ext);
    return path;
}

static int idx_absent(const char *path)
{
    struct stat sb;
    return stat(path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR);
}

/* Picks the raw name if it exists, else the .gz one. Anything but "does not
 * exist" (e.g. permission denied) keeps the raw name, so the open reports
 * the real cause. */
static rg_status idx_resolve(const char *dir, const char *split, const char *stem, char **path)
{
    *path = NULL;
    char *raw = idx_join(dir, split, stem, "");
    char *gz = idx_join(dir, split, stem, ".gz");
    if (!raw || !gz) {
        free(raw);
        free(gz);
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory building file names", dir);
    }
    if (!idx_absent(raw)) {
        free(gz);
        *path = raw;
        return RG_OK;
    }
    int raw_errno = errno;
    if (!idx_absent(gz)) {
        free(raw);
        *path = gz;
        return RG_OK;
    }
    rg_status st = rg_error_set(RG_ERR_IO, "%s: cannot open: %s (also tried %s)", raw,
                                strerror(raw_errno), gz);
    free(raw);
    free(gz);
    return st;
}

rg_status rg_dataset_open_idx(const char *dir, const char *split, rg_dataset **out)
{
    if (!out)
        return rg_error_set(RG_ERR_INVALID, "rg_dataset_open_idx: out is NULL");
    *out = NULL;
    if (!dir || !split)
        return rg_error_set(RG_ERR_INVALID, "rg_dataset_open_idx: %s is NULL",
                            dir ? "split" : "dir");

    char *images = NULL, *labels = NULL;
    rg_status st = idx_resolve(dir, split, "images-idx3-ubyte", &images);
    if (st == RG_OK)
        st = idx_resolve(dir, split, "labels-idx1-ubyte", &labels);
    if (st == RG_OK)
        st = rg_idx_load(images, labels, out);
    free(images);
    free(labels);
    return st;
}
