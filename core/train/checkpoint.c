#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../error.h"

#define MAGIC "RGCKPT02"

typedef struct writer {
    FILE *f;
    uLong crc;
    int ok;
    int err; /* errno of the first failed write */
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (!w->ok)
        return;
    if (fwrite(p, 1, n, w->f) != n) {
        w->ok = 0;
        w->err = errno;
    }
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

rg_status rg_checkpoint_write(const char *path, const char *meta, const char *config,
                              const rg_ckpt_tensor *tensors, int count)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    writer w = {fopen(tmp, "wb"), crc32(0, NULL, 0), 1, 0};
    if (!w.f)
        return rg_error_set(RG_ERR_IO, "%s: cannot write: %s%s", tmp, strerror(errno),
                            access(path, F_OK) == 0 ? "; the previous checkpoint is intact"
                                                    : "");
    put(&w, MAGIC, 8);
    put_u32(&w, (uint32_t)strlen(meta));
    put(&w, meta, strlen(meta));
    put_u32(&w, (uint32_t)strlen(config));
    put(&w, config, strlen(config));
    put_u32(&w, (uint32_t)count);
    for (int i = 0; i < count; i++) {
        const rg_ckpt_tensor *t = &tensors[i];
        put_u32(&w, (uint32_t)strlen(t->name));
        put(&w, t->name, strlen(t->name));
        put_u32(&w, t->ndim);
        for (uint32_t d = 0; d < t->ndim; d++)
            put_i64(&w, t->shape[d]);
        /* float32 as stored: this writer only targets little-endian hosts */
        put(&w, t->data, (size_t)t->numel * sizeof(float));
    }
    uLong crc = w.crc;
    put_u32(&w, (uint32_t)crc);
    if (w.ok && fflush(w.f) != 0) {
        w.ok = 0;
        w.err = errno;
    }
    if (w.ok && fsync(fileno(w.f)) != 0) {
        w.ok = 0;
        w.err = errno;
    }
    if (fclose(w.f) != 0 && w.ok) {
        w.ok = 0;
        w.err = errno;
    }
    if (w.ok && rename(tmp, path) != 0) {
        w.ok = 0;
        w.err = errno;
    }
    if (!w.ok) {
        unlink(tmp);
        int full = w.err == ENOSPC || w.err == EDQUOT || w.err == EFBIG;
        return rg_error_set(RG_ERR_IO, "%s: cannot write checkpoint: %s%s%s", path,
                            strerror(w.err), full ? " (the disk or a size limit is full)" : "",
                            access(path, F_OK) == 0 ? "; the previous checkpoint there is "
                                                      "intact"
                                                    : "; no checkpoint was kept");
    }
    /* the rename itself reaches the disk: a power cut after this keeps the new file */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
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

static char *take_text(reader *r, uint32_t len)
{
    char *s = malloc((size_t)len + 1);
    if (s) {
        memcpy(s, r->p + r->pos, len);
        s[len] = '\0';
    }
    r->pos += len;
    return s;
}

static rg_status parse(reader *r, rg_checkpoint *c)
{
    rg_status st;
    if ((st = need(r, 8, "magic")) != RG_OK)
        return st;
    if (memcmp(r->p, MAGIC, 8) != 0)
        return rg_error_set(RG_ERR_FORMAT, "%s: byte 0: expected magic %s, not a regula checkpoint "
                            "of this version", r->path, MAGIC);
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
    for (int part = 0; part < 2; part++) {
        if ((st = need(r, 4, part ? "config length" : "metadata length")) != RG_OK)
            return st;
        uint32_t n = get_u32(r);
        if ((st = need(r, n, part ? "config" : "metadata")) != RG_OK)
            return st;
        char *text = take_text(r, n);
        if (!text)
            return rg_error_set(RG_ERR_NOMEM, "out of memory");
        if (part)
            c->config = text;
        else
            c->meta = text;
    }
    if ((st = need(r, 4, "tensor count")) != RG_OK)
        return st;
    uint32_t count = get_u32(r);
    if (count > RG_CKPT_MAX_TENSORS)
        return rg_error_set(RG_ERR_FORMAT, "%s: byte %zu: %u tensors, at most %d", r->path,
                            r->pos - 4, count, RG_CKPT_MAX_TENSORS);
    for (uint32_t i = 0; i < count; i++) {
        rg_ckpt_tensor *t = &c->tensors[i];
        size_t at = r->pos;
        if ((st = need(r, 4, "name length")) != RG_OK)
            return st;
        uint32_t nl = get_u32(r);
        if (nl == 0 || nl >= sizeof t->name)
            return rg_error_set(RG_ERR_FORMAT, "%s: byte %zu: tensor name length %u", r->path, at,
                                nl);
        if ((st = need(r, (size_t)nl + 4, "name")) != RG_OK)
            return st;
        memcpy(t->name, r->p + r->pos, nl);
        t->name[nl] = '\0';
        r->pos += nl;
        t->ndim = get_u32(r);
        if (t->ndim > 4)
            return rg_error_set(RG_ERR_FORMAT, "%s: byte %zu: %s has %u dims", r->path, r->pos - 4,
                                t->name, t->ndim);
        if ((st = need(r, 8 * (size_t)t->ndim, "shape")) != RG_OK)
            return st;
        t->numel = 1;
        for (uint32_t d = 0; d < t->ndim; d++) {
            uint64_t lo = get_u32(r), hi = get_u32(r);
            t->shape[d] = (int64_t)(lo | hi << 32);
            if (t->shape[d] < 0 || t->shape[d] > ((int64_t)1 << 34))
                return rg_error_set(RG_ERR_FORMAT, "%s: byte %zu: %s dim %u is %lld", r->path,
                                    r->pos - 8, t->name, d, (long long)t->shape[d]);
            /* a product of legal dims can still overflow, or wrap the byte count: bound
             * it by what the file holds before it is used */
            int64_t prod;
            if (__builtin_mul_overflow(t->numel, t->shape[d], &prod) ||
                (uint64_t)prod > (uint64_t)(r->len - r->pos) / sizeof(float))
                return rg_error_set(RG_ERR_FORMAT, "%s: byte %zu: %s's shape needs more floats "
                                    "than the %zu bytes left in the file", r->path, r->pos - 8,
                                    t->name, r->len - r->pos);
            t->numel = prod;
        }
        size_t bytes = (size_t)t->numel * sizeof(float);
        if ((st = need(r, bytes, t->name)) != RG_OK)
            return st;
        t->data = r->p + r->pos;
        r->pos += bytes;
        c->count++;
    }
    if (r->pos != r->len)
        return rg_error_set(RG_ERR_FORMAT, "%s: byte %zu: %zu unexpected bytes after the last "
                            "tensor", r->path, r->pos, r->len - r->pos);
    return RG_OK;
}

void rg_checkpoint_free(rg_checkpoint *c)
{
    if (!c)
        return;
    free(c->meta);
    free(c->config);
    free(c->image);
    free(c);
}

rg_status rg_checkpoint_read(const char *path, rg_checkpoint **out)
{
    rg_checkpoint *c = calloc(1, sizeof *c);
    if (!c)
        return rg_error_set(RG_ERR_NOMEM, "out of memory");
    size_t len = 0;
    rg_status st = read_all(path, &c->image, &len);
    if (st == RG_OK) {
        reader r = {c->image, len, 0, path};
        st = parse(&r, c);
    }
    if (st != RG_OK) {
        rg_checkpoint_free(c);
        return st;
    }
    *out = c;
    return RG_OK;
}

const rg_ckpt_tensor *rg_checkpoint_find(const rg_checkpoint *c, const char *name)
{
    for (int i = 0; i < c->count; i++)
        if (strcmp(c->tensors[i].name, name) == 0)
            return &c->tensors[i];
    return NULL;
}

rg_status rg_checkpoint_apply_model(const rg_checkpoint *c, const char *path, rg_model *m,
                                    int eval_forms)
{
    for (int i = 0; i < m->num_params + m->num_buffers; i++) {
        rg_param *p = i < m->num_params ? m->params[i] : m->buffers[i - m->num_params];
        char evname[128];
        snprintf(evname, sizeof evname, "%s#eval", p->name);
        const rg_ckpt_tensor *t = eval_forms ? rg_checkpoint_find(c, evname) : NULL;
        if (!t)
            t = rg_checkpoint_find(c, p->name);
        if (!t)
            return rg_error_set(RG_ERR_FORMAT, "%s: holds no tensor %s (different --model?)",
                                path, p->name);
        int same = t->ndim == p->ndim;
        for (uint32_t d = 0; same && d < p->ndim; d++)
            same = t->shape[d] == p->shape[d];
        if (!same)
            return rg_error_set(RG_ERR_FORMAT, "%s: %s has another shape than in the model "
                                "(different --model?)", path, p->name);
        memcpy(p->value, t->data, (size_t)p->numel * sizeof(float));
    }
    return RG_OK;
}

const char *rg_checkpoint_config_get(const rg_checkpoint *c, const char *key, char *buf,
                                     size_t cap)
{
    size_t kl = strlen(key);
    for (const char *line = c->config; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        if (ll > kl && strncmp(line, key, kl) == 0 && line[kl] == '=') {
            size_t vl = ll - kl - 1 < cap - 1 ? ll - kl - 1 : cap - 1;
            memcpy(buf, line + kl + 1, vl);
            buf[vl] = '\0';
            return buf;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

static int model_tensors(const rg_model *m, rg_ckpt_tensor *t)
{
    int n = 0;
    for (int i = 0; i < m->num_params + m->num_buffers; i++, n++) {
        const rg_param *p = i < m->num_params ? m->params[i] : m->buffers[i - m->num_params];
        snprintf(t[n].name, sizeof t[n].name, "%s", p->name);
        t[n].ndim = p->ndim;
        memcpy(t[n].shape, p->shape, sizeof t[n].shape);
        t[n].numel = p->numel;
        t[n].data = p->value;
    }
    return n;
}

rg_status rg_checkpoint_save(const char *path, const rg_model *m, const char *meta_json)
{
    static rg_ckpt_tensor t[RG_CKPT_MAX_TENSORS];
    int n = model_tensors(m, t);
    return rg_checkpoint_write(path, meta_json, "", t, n);
}

rg_status rg_checkpoint_load(const char *path, rg_model *m, char **meta_out)
{
    if (meta_out)
        *meta_out = NULL;
    rg_checkpoint *c = NULL;
    rg_status st = rg_checkpoint_read(path, &c);
    if (st != RG_OK)
        return st;
    int expected = m->num_params + m->num_buffers;
    if (c->count != expected)
        st = rg_error_set(RG_ERR_FORMAT, "%s: holds %d tensors, the model has %d (different "
                          "--model?)", path, c->count, expected);
    if (st == RG_OK)
        st = rg_checkpoint_apply_model(c, path, m, 1);
    if (st == RG_OK && meta_out) {
        *meta_out = c->meta;
        c->meta = NULL;
    }
    rg_checkpoint_free(c);
    return st;
}
