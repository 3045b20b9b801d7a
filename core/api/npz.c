/* rg_model_export_npz: every parameter and buffer as a NumPy .npz archive, i.e. a ZIP of
 * stored (uncompressed) .npy files. Formats followed: NumPy's NEP 1 ("A Simple File
 * Format for NumPy Arrays", version 1.0 header) and PKWARE's APPNOTE.TXT (local file
 * headers, central directory, end record; CRC-32 as zlib computes it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../error.h"
#include "../model/model.h"
#include "api.h"

typedef struct zip_entry {
    char name[80];
    uint32_t crc, size, offset;
} zip_entry;

static void put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

/* The .npy header: magic, version 1.0, header length, a Python dict literal padded with
 * spaces and ended by '\n' so the data starts at a multiple of 64 bytes. */
static size_t npy_header(const rg_param *p, unsigned char *buf, size_t cap)
{
    char dict[256], shape[160] = "";
    size_t o = 0;
    for (uint32_t d = 0; d < p->ndim; d++)
        o += (size_t)snprintf(shape + o, sizeof shape - o, "%lld%s", (long long)p->shape[d],
                              p->ndim == 1 || d + 1 < p->ndim ? ", " : "");
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                     shape);
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    if (padded > cap)
        return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    put16(buf + 8, (uint32_t)(padded - 10));
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', padded - 10 - (size_t)n - 1);
    buf[padded - 1] = '\n';
    return padded;
}

/* PyTorch's names: batch norm's gamma and beta are its weight and bias. */
static void npy_name(const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (n > 6 && !strcmp(name + n - 6, ".gamma"))
        snprintf(out, cap, "%.*s.weight.npy", (int)(n - 6), name);
    else if (n > 5 && !strcmp(name + n - 5, ".beta"))
        snprintf(out, cap, "%.*s.bias.npy", (int)(n - 5), name);
    else
        snprintf(out, cap, "%s.npy", name);
}

rg_status rg_model_export_npz(const rg_model *m, const char *path)
{
    if (!m)
        return rg_api_null("rg_model_export_npz", "m");
    rg_api_enter(m->ctx);
    if (!path)
        return rg_api_fail(m->ctx, rg_api_null("rg_model_export_npz", "path"));
    int count = m->num_params + m->num_buffers;
    zip_entry *e = calloc((size_t)count, sizeof *e);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = e ? fopen(tmp, "wb") : NULL;
    if (!f) {
        free(e);
        return rg_api_fail(m->ctx, rg_error_set(e ? RG_ERR_IO : RG_ERR_NOMEM,
                                                "%s: cannot write", path));
    }
    int bad = 0;
    uint32_t off = 0;
    for (int i = 0; i < count && !bad; i++) {
        const rg_param *p = i < m->num_params ? m->params[i] : m->buffers[i - m->num_params];
        unsigned char head[256], local[30];
        size_t hl = npy_header(p, head, sizeof head);
        size_t data = (size_t)p->numel * sizeof(float);
        npy_name(p->name, e[i].name, sizeof e[i].name);
        uint32_t crc = (uint32_t)crc32(0L, head, (uInt)hl);
        crc = (uint32_t)crc32(crc, (const Bytef *)p->value, (uInt)data);
        e[i].crc = crc;
        e[i].size = (uint32_t)(hl + data);
        e[i].offset = off;
        size_t nl = strlen(e[i].name);
        memset(local, 0, sizeof local);
        put32(local, 0x04034b50);
        put16(local + 4, 20);  /* version needed: 2.0 */
        put32(local + 14, crc);
        put32(local + 18, e[i].size);
        put32(local + 22, e[i].size);
        put16(local + 26, (uint32_t)nl);
        bad |= hl == 0 || fwrite(local, 1, 30, f) != 30 || fwrite(e[i].name, 1, nl, f) != nl ||
               fwrite(head, 1, hl, f) != hl ||
               fwrite(p->value, 1, data, f) != data; /* little-endian floats, as '<f4' says */
        off += (uint32_t)(30 + nl) + e[i].size;
    }
    uint32_t dir_start = off, dir_size = 0;
    for (int i = 0; i < count && !bad; i++) {
        unsigned char cd[46];
        size_t nl = strlen(e[i].name);
        memset(cd, 0, sizeof cd);
        put32(cd, 0x02014b50);
        put16(cd + 4, 20);
        put16(cd + 6, 20);
        put32(cd + 16, e[i].crc);
        put32(cd + 20, e[i].size);
        put32(cd + 24, e[i].size);
        put16(cd + 28, (uint32_t)nl);
        put32(cd + 42, e[i].offset);
        bad |= fwrite(cd, 1, 46, f) != 46 || fwrite(e[i].name, 1, nl, f) != nl;
        dir_size += (uint32_t)(46 + nl);
    }
    unsigned char end[22];
    memset(end, 0, sizeof end);
    put32(end, 0x06054b50);
    put16(end + 8, (uint32_t)count);
    put16(end + 10, (uint32_t)count);
    put32(end + 12, dir_size);
    put32(end + 16, dir_start);
    bad |= fwrite(end, 1, 22, f) != 22;
    bad |= fclose(f) != 0;
    free(e);
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return rg_api_fail(m->ctx, rg_error_set(RG_ERR_IO, "%s: write error", path));
    }
    return RG_OK;
}
