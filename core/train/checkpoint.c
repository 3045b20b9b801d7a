#include "checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../error.h"

#define MAGIC "RGCKPT01"

typedef struct writer {
    FILE *f;
    uLong crc;
    int ok;
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (!w->ok)
        return;
    if (fwrite(p, 1, n, w->f) != n)
        w->ok = 0;
    w->crc = crc32(w->crc, p, (uInt)n);
}

static void put_u32(writer *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(w, b, 4);
}

static void put_i64(writer *w, int64_t v)
{
    put_u32(w, (uint32_t)(uint64_t)v);
    put_u32(w, (uint32_t)((uint64_t)v >> 32));
}

rg_status rg_checkpoint_save(const char *path, const rg_model *m, const char *meta_json)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    writer w = {fopen(tmp, "wb"), crc32(0, NULL, 0), 1};
    if (!w.f)
        return rg_error_set(RG_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    put(&w, MAGIC, 8);
    put_u32(&w, (uint32_t)strlen(meta_json));
    put(&w, meta_json, strlen(meta_json));
    put_u32(&w, (uint32_t)(m->num_params + m->num_buffers));
    for (int i = 0; i < m->num_params + m->num_buffers; i++) {
        const rg_param *p = i < m->num_params ? m->params[i] : m->buffers[i - m->num_params];
        put_u32(&w, (uint32_t)strlen(p->name));
        put(&w, p->name, strlen(p->name));
        put_u32(&w, p->ndim);
        for (uint32_t d = 0; d < p->ndim; d++)
            put_i64(&w, p->shape[d]);
        /* float32 as stored: this writer only targets little-endian hosts */
        put(&w, p->value, (size_t)p->numel * sizeof(float));
    }
    uLong crc = w.crc;
    put_u32(&w, (uint32_t)crc);
    int ok = w.ok && fflush(w.f) == 0 && fsync(fileno(w.f)) == 0;
    ok = (fclose(w.f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return rg_error_set(RG_ERR_IO, "%s: cannot write checkpoint: %s", path, strerror(e));
    }
    return RG_OK;
}

typedef struct reader {
    const unsigned char *p;
    size_t len, pos;
    const char *path;
} reader;

static rg_status need(reader *r, size_t n, const char *what)
{
    if (r->len - r->pos < n)
        return rg_error_set(RG_ERR_IO, "%s: truncated at byte %zu: expected %zu more bytes (%s)",
                            r->path, r->len, n - (r->len - r->pos), what);
    return RG_OK;
}

static uint32_t get_u32(reader *r)
{
    const unsigned char *b = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static rg_status read_all(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rg_error_set(RG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        unsigned char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        return rg_error_set(RG_ERR_IO, "%s: cannot read", path);
    }
    *data = buf;
    *len = n;
    return RG_OK;
}

static rg_status parse(reader *r, rg_model *m, char **meta_out)
{
    rg_status st;
    if ((st = need(r, 8, "magic")) != RG_OK)
        return st;
    if (memcmp(r->p, MAGIC, 8) != 0)
        return rg_error_set(RG_ERR_FORMAT, "%s: byte 0: expected magic %s, not a regula checkpoint",
                            r->path, MAGIC);
    r->pos = 8;
    if (r->len < 12)
        return need(r, 12 - r->pos, "checksum");
    uint32_t stored = (uint32_t)r->p[r->len - 4] | (uint32_t)r->p[r->len - 3] << 8 |
                      (uint32_t)r->p[r->len - 2] << 16 | (uint32_t)r->p[r->len - 1] << 24;
    uint32_t actual = (uint32_t)crc32(crc32(0, NULL, 0), r->p, (uInt)(r->len - 4));
    if (stored != actual)
        return rg_error_set(RG_ERR_FORMAT,
                            "%s: checksum mismatch (stored %08x, computed %08x over %zu bytes): "
                            "the file is corrupt or truncated",
                            r->path, stored, actual, r->len - 4);
    r->len -= 4;
    if ((st = need(r, 4, "metadata length")) != RG_OK)
        return st;
    uint32_t meta_len = get_u32(r);
    if ((st = need(r, meta_len, "metadata")) != RG_OK)
        return st;
    if (meta_out) {
        *meta_out = malloc(meta_len + 1);
        if (!*meta_out)
            return rg_error_set(RG_ERR_NOMEM, "out of memory");
        memcpy(*meta_out, r->p + r->pos, meta_len);
        (*meta_out)[meta_len] = '\0';
    }
    r->pos += meta_len;
    if ((st = need(r, 4, "parameter count")) != RG_OK)
        return st;
    uint32_t count = get_u32(r);
    int total = m->num_params + m->num_buffers;
    if (count != (uint32_t)total)
        return rg_error_set(RG_ERR_FORMAT, "%s: byte %zu: holds %u tensors, the model has %d "
                            "(different --model?)",
                            r->path, r->pos - 4, count, total);
    for (int i = 0; i < total; i++) {
        rg_param *p = i < m->num_params ? m->params[i] : m->buffers[i - m->num_params];
        size_t at = r->pos;
        if ((st = need(r, 4, "name length")) != RG_OK)
            return st;
        uint32_t nl = get_u32(r);
        if ((st = need(r, (size_t)nl + 4, "name")) != RG_OK)
            return st;
        if (nl != strlen(p->name) || memcmp(r->p + r->pos, p->name, nl) != 0)
            return rg_error_set(RG_ERR_FORMAT, "%s: byte %zu: expected tensor %s, found %.*s",
                                r->path, at, p->name, (int)(nl < 64 ? nl : 64), r->p + r->pos);
        r->pos += nl;
        uint32_t ndim = get_u32(r);
        if (ndim != p->ndim)
            return rg_error_set(RG_ERR_FORMAT, "%s: byte %zu: %s has %u dims, model %u", r->path,
                                r->pos - 4, p->name, ndim, p->ndim);
        if ((st = need(r, 8 * (size_t)ndim, "shape")) != RG_OK)
            return st;
        for (uint32_t d = 0; d < ndim; d++) {
            uint64_t lo = get_u32(r), hi = get_u32(r);
            int64_t v = (int64_t)(lo | hi << 32);
            if (v != p->shape[d])
                return rg_error_set(RG_ERR_FORMAT,
                                    "%s: byte %zu: %s dim %u is %lld, the model has %lld",
                                    r->path, r->pos - 8, p->name, d, (long long)v,
                                    (long long)p->shape[d]);
        }
        size_t bytes = (size_t)p->numel * sizeof(float);
        if ((st = need(r, bytes, p->name)) != RG_OK)
            return st;
        memcpy(p->value, r->p + r->pos, bytes);
        r->pos += bytes;
    }
    if (r->pos != r->len)
        return rg_error_set(RG_ERR_FORMAT, "%s: byte %zu: %zu unexpected bytes after the last "
                            "tensor", r->path, r->pos, r->len - r->pos);
    return RG_OK;
}

rg_status rg_checkpoint_load(const char *path, rg_model *m, char **meta_out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (meta_out)
        *meta_out = NULL;
    rg_status st = read_all(path, &data, &len);
    if (st != RG_OK)
        return st;
    reader r = {data, len, 0, path};
    st = parse(&r, m, meta_out);
    free(data);
    if (st != RG_OK && meta_out) {
        free(*meta_out);
        *meta_out = NULL;
    }
    return st;
}
