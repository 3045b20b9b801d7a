/* CSV reader: one pass with getline, arrays grown by doubling, so the file
 * is never held in memory and a line may be any length. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L   /* getline */
#endif

#include "csv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "error.h"

/* Same bound as the IDX loader. */
#define CSV_MAX_BYTES ((uint64_t)1 << 34)
/* Parsed values saturate here: anything above 255 is out of range anyway,
 * and the message quotes the field as written. */
#define CSV_SATURATE 100000

typedef struct csv_reader {
    const char *path;
    int64_t row;            /* 1-based line number of the current line */
    int64_t npix;           /* pixel columns per row, 0 until known */
    int64_t shape_row;      /* the row that fixed npix (0: given by h and w) */
    int64_t h, w;
    uint8_t *pixels, *labels;
    size_t n, cap;          /* images read, images allocated */
    uint8_t max_label;
} csv_reader;

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Parses [s, e) as an optionally signed decimal integer; -1 if it is not
 * one. */
static int parse_int(const char *s, const char *e, long *v)
{
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    int neg = 0;
    if (s < e && (*s == '+' || *s == '-'))
        neg = *s++ == '-';
    if (s == e)
        return -1;
    long x = 0;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        x = x * 10 + (*s - '0');
        if (x > CSV_SATURATE)
            x = CSV_SATURATE;
    }
    *v = neg ? -x : x;
    return 0;
}

/* The field [s, e) quoted for a message, shortened and with unprintable
 * bytes escaped. */
static void quote_field(const char *s, const char *e, char *buf, size_t cap)
{
    if (s == e) {
        snprintf(buf, cap, "an empty field");
        return;
    }
    size_t at = (size_t)snprintf(buf, cap, "\"");
    int shown = 0;
    for (; s < e && at + 8 < cap; s++, shown++) {
        if (shown == 24) {
            at += (size_t)snprintf(buf + at, cap - at, "...");
            break;
        }
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch < 0x7F && ch != '"' && ch != '\\')
            buf[at++] = (char)ch;
        else
            at += (size_t)snprintf(buf + at, cap - at, "\\x%02X", ch);
    }
    snprintf(buf + at, cap - at, "\"");
}

static rg_status field_error(const csv_reader *r, int64_t col, const char *s, const char *e,
                             const char *what)
{
    char found[96];
    quote_field(s, e, found, sizeof found);
    return rg_error_set(RG_ERR_FORMAT,
                        "%s: row %" PRId64 ", column %" PRId64 ": expected an integer %s 0..255, "
                        "found %s",
                        r->path, r->row, col, what, found);
}

static int64_t isqrt64(int64_t v)
{
    int64_t s = 0;
    while ((s + 1) * (s + 1) <= v)
        s++;
    return s;
}

/* Checks the row's column count; the first data row fixes it. */
static rg_status check_columns(csv_reader *r, int64_t cols)
{
    int64_t pix = cols - 1;
    if (r->npix == 0) {
        if (pix == 0)
            return rg_error_set(RG_ERR_FORMAT,
                                "%s: row %" PRId64 ": 1 column, expected a label followed by "
                                "pixel columns",
                                r->path, r->row);
        if (r->h == 0) {
            int64_t side = pix < ((int64_t)1 << 40) ? isqrt64(pix) : 0;
            if (side * side != pix)
                return rg_error_set(RG_ERR_FORMAT,
                                    "%s: row %" PRId64 ": %" PRId64 " pixel columns is not a "
                                    "square image; pass h and w for non-square images",
                                    r->path, r->row, pix);
            r->h = r->w = side;
        }
        r->npix = pix;
        r->shape_row = r->row;
        return RG_OK;
    }
    if (pix == r->npix)
        return RG_OK;
    if (r->shape_row == 0)
        return rg_error_set(RG_ERR_FORMAT,
                            "%s: row %" PRId64 ": %" PRId64 " pixel columns, expected %" PRId64
                            " (h %" PRId64 " x w %" PRId64 ")",
                            r->path, r->row, pix, r->npix, r->h, r->w);
    return rg_error_set(RG_ERR_FORMAT,
                        "%s: row %" PRId64 ": %" PRId64 " pixel columns, expected %" PRId64
                        " like row %" PRId64,
                        r->path, r->row, pix, r->npix, r->shape_row);
}

static rg_status grow(csv_reader *r)
{
    if (r->n < r->cap)
        return RG_OK;
    size_t cap = r->cap ? 2 * r->cap : 1024;
    if ((uint64_t)cap * (uint64_t)r->npix > CSV_MAX_BYTES) {
        cap = (size_t)(CSV_MAX_BYTES / (uint64_t)r->npix);
        if (cap <= r->n)
            return rg_error_set(RG_ERR_FORMAT,
                                "%s: row %" PRId64 ": more than %" PRIu64 " pixel bytes", r->path,
                                r->row, CSV_MAX_BYTES);
    }
    uint8_t *p = realloc(r->pixels, cap * (size_t)r->npix);
    if (p)
        r->pixels = p;
    uint8_t *l = p ? realloc(r->labels, cap) : NULL;
    if (!l)
        return rg_error_set(RG_ERR_NOMEM, "%s: row %" PRId64 ": out of memory for %zu images",
                            r->path, r->row, cap);
    r->labels = l;
    r->cap = cap;
    return RG_OK;
}

/* Parses one data row of len bytes (line end already removed). */
static rg_status parse_row(csv_reader *r, const char *line, size_t len)
{
    const char *end = line + len;
    int64_t cols = 1;
    for (const char *p = line; (p = memchr(p, ',', (size_t)(end - p))) != NULL; p++)
        cols++;
    rg_status st = check_columns(r, cols);
    if (st == RG_OK)
        st = grow(r);
    if (st != RG_OK)
        return st;

    uint8_t *dst = r->pixels + r->n * (size_t)r->npix;
    const char *s = line;
    for (int64_t col = 1; col <= cols; col++) {
        const char *e = memchr(s, ',', (size_t)(end - s));
        if (!e)
            e = end;
        long v;
        const char *what = col == 1 ? "label" : "pixel value";
        if (parse_int(s, e, &v) != 0)
            return field_error(r, col, s, e, what);
        if (v < 0 || v > 255) {
            /* Well-formed digits: shown as written, without quotes. */
            const char *ts = s, *te = e;
            while (is_blank(*ts))
                ts++;
            while (is_blank(te[-1]))
                te--;
            int len = te - ts > 24 ? 24 : (int)(te - ts);
            return rg_error_set(RG_ERR_FORMAT,
                                "%s: row %" PRId64 ", column %" PRId64 ": %s %.*s%s out of range "
                                "0..255",
                                r->path, r->row, col, what, len, ts, te - ts > 24 ? "..." : "");
        }
        if (col == 1)
            r->labels[r->n] = (uint8_t)v;
        else
            dst[col - 2] = (uint8_t)v;
        s = e + 1;
    }
    if (r->labels[r->n] > r->max_label)
        r->max_label = r->labels[r->n];
    r->n++;
    return RG_OK;
}

/* The first line is a header when its first field is not an integer. */
static int is_header(const char *line, size_t len)
{
    const char *e = memchr(line, ',', len);
    long v;
    return parse_int(line, e ? e : line + len, &v) != 0;
}

rg_status rg_dataset_open_csv(const char *path, int64_t h, int64_t w, rg_dataset **out)
{
    if (!out)
        return rg_error_set(RG_ERR_INVALID, "rg_dataset_open_csv: out is NULL");
    *out = NULL;
    if (!path)
        return rg_error_set(RG_ERR_INVALID, "rg_dataset_open_csv: path is NULL");
    if (h < 0 || w < 0 || (h == 0) != (w == 0) || (h > 0 && w > (int64_t)CSV_MAX_BYTES / h))
        return rg_error_set(RG_ERR_INVALID,
                            "rg_dataset_open_csv: h %" PRId64 " and w %" PRId64
                            ", expected both positive or both 0 (square side inferred from the "
                            "column count)",
                            h, w);

    csv_reader r = {.path = path, .h = h, .w = w, .npix = h * w};
    FILE *f = fopen(path, "r");
    if (!f)
        return rg_error_set(RG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));

    rg_status st = RG_OK;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    int64_t blank_row = 0;    /* first blank line not yet followed by data */
    int header = 0;
    for (;;) {
        errno = 0;
        if ((got = getline(&line, &line_cap, f)) < 0)
            break;
        r.row++;
        size_t len = (size_t)got;
        char *text = line;
        if (len > 0 && text[len - 1] == '\n')
            len--;
        if (len > 0 && text[len - 1] == '\r')
            len--;
        if (r.row == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
            text += 3;
            len -= 3;
        }
        if (len == 0) {
            if (!blank_row)
                blank_row = r.row;
            continue;
        }
        if (blank_row) {
            st = rg_error_set(RG_ERR_FORMAT,
                              "%s: row %" PRId64 ": empty row, expected label,p0,p1,... (blank "
                              "lines are allowed only at the end)",
                              path, blank_row);
            break;
        }
        if (r.row == 1 && is_header(text, len)) {
            header = 1;
            continue;
        }
        if ((st = parse_row(&r, text, len)) != RG_OK)
            break;
    }
    if (st == RG_OK && ferror(f))
        st = rg_error_set(RG_ERR_IO, "%s: read error at row %" PRId64 ": %s", path, r.row + 1,
                          strerror(errno ? errno : EIO));
    free(line);
    fclose(f);

    rg_dataset *ds = NULL;
    if (st == RG_OK && r.n == 0)
        st = header ? rg_error_set(RG_ERR_FORMAT,
                                   "%s: no data rows after the header in row 1, expected "
                                   "label,p0,p1,...",
                                   path)
                    : rg_error_set(RG_ERR_FORMAT,
                                   "%s: empty file, expected rows of label,p0,p1,...", path);
    if (st == RG_OK && !(ds = calloc(1, sizeof *ds)))
        st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory", path);
    if (st != RG_OK) {
        free(r.pixels);
        free(r.labels);
        return st;
    }
    /* Shrinking cannot fail in practice; keep the larger block if it does. */
    uint8_t *p = realloc(r.pixels, r.n * (size_t)r.npix);
    ds->pixels = p ? p : r.pixels;
    uint8_t *l = realloc(r.labels, r.n);
    ds->labels = l ? l : r.labels;
    ds->n = (int64_t)r.n;
    ds->c = 1;
    ds->h = r.h;
    ds->w = r.w;
    ds->num_classes = (int32_t)r.max_label + 1;
    *out = ds;
    return RG_OK;
}
