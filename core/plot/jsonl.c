/* A small JSON Lines reader for the plot command: one object per line, its
 * members flat or one object deep. Strings are decoded in place in a copy of
 * the file (a decoded string is never longer than its JSON spelling), so a
 * file costs one text buffer plus one field array per record. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "plot.h"

#define RG_JSONL_MAX_DEPTH 64

typedef struct parser {
    const char *name;
    int line;
    char *line_start;
    char *p, *end;
    rg_jsonl_record *rec;
    int cap;
} parser;

static rg_status fail(parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static rg_status fail(parser *ps, const char *at, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return rg_error_set(RG_ERR_FORMAT, "%s:%d: %s (column %d)", ps->name, ps->line, what,
                        (int)(at - ps->line_start) + 1);
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

static char *put_utf8(char *w, unsigned cp)
{
    if (cp < 0x80) {
        *w++ = (char)cp;
    } else if (cp < 0x800) {
        *w++ = (char)(0xc0 | (cp >> 6));
        *w++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *w++ = (char)(0xe0 | (cp >> 12));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *w++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *w++ = (char)(0xf0 | (cp >> 18));
        *w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *w++ = (char)(0x80 | (cp & 0x3f));
    }
    return w;
}

/* At the opening quote; decodes in place and leaves p after the closing one. */
static rg_status parse_string(parser *ps, const char **out)
{
    char *start = ++ps->p, *w = start;
    while (ps->p < ps->end && *ps->p != '"') {
        char c = *ps->p;
        if ((unsigned char)c < 0x20)
            return fail(ps, ps->p, "control character in a string");
        if (c != '\\') {
            *w++ = c;
            ps->p++;
            continue;
        }
        if (ps->p + 1 >= ps->end)
            break;
        char e = ps->p[1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char repl[] = "\"\\/\b\f\n\r\t";
            *w++ = repl[simple - "\"\\/bfnrt"];
            ps->p += 2;
            continue;
        }
        unsigned cp, lo;
        if (e != 'u' || ps->end - ps->p < 6 || !hex4(ps->p + 2, &cp))
            return fail(ps, ps->p, "bad escape in a string");
        ps->p += 6;
        if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
            ps->p[1] == 'u' && hex4(ps->p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            ps->p += 6;
        } else if (cp >= 0xd800 && cp < 0xe000) {
            cp = 0xfffd; /* a lone surrogate: keep going with the replacement mark */
        }
        w = put_utf8(w, cp);
    }
    if (ps->p >= ps->end)
        return fail(ps, start - 1, "unterminated string");
    ps->p++;
    *w = '\0';
    *out = start;
    return RG_OK;
}

static int word_at(const parser *ps, const char *w)
{
    size_t n = strlen(w);
    return (size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, w, n);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* JSON's number grammar, loosened to what strtod reads in decimal: a leading
 * '+', leading zeros, ".5" and "5." (regula sweep writes a parameter value
 * as the user typed it). Checked before strtod, which would also take hex
 * and "inf"; NaN and Infinity are Python's spellings. */
static rg_status parse_number(parser *ps, double *out)
{
    const char *s = ps->p, *q = s;
    int neg = *q == '-';
    q += *q == '-' || *q == '+';
    if (ps->end - q >= 8 && !memcmp(q, "Infinity", 8)) {
        ps->p = (char *)q + 8;
        *out = neg ? -INFINITY : INFINITY;
        return RG_OK;
    }
    if (q == s && word_at(ps, "NaN")) {
        ps->p += 3;
        *out = NAN;
        return RG_OK;
    }
    int digits = 0;
    while (q < ps->end && is_digit(*q))
        q++, digits++;
    if (q < ps->end && *q == '.') {
        q++;
        while (q < ps->end && is_digit(*q))
            q++, digits++;
    }
    if (!digits)
        return fail(ps, s, "bad number");
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || !is_digit(*q))
            return fail(ps, s, "bad number");
        while (q < ps->end && is_digit(*q))
            q++;
    }
    char buf[128];
    if ((size_t)(q - s) >= sizeof buf)
        return fail(ps, s, "number too long");
    memcpy(buf, s, (size_t)(q - s));
    buf[q - s] = '\0';
    errno = 0;
    *out = strtod(buf, NULL); /* overflow gives +-HUGE_VAL: kept, the plot skips it */
    ps->p = (char *)q;
    return RG_OK;
}

static rg_status add_field(parser *ps, const rg_jv_field *f)
{
    rg_jsonl_record *r = ps->rec;
    if (r->nfields == ps->cap) {
        int cap = ps->cap ? ps->cap * 2 : 16;
        rg_jv_field *nf = realloc(r->fields, (size_t)cap * sizeof *nf);
        if (!nf)
            return rg_error_set(RG_ERR_NOMEM, "%s: out of memory", ps->name);
        r->fields = nf;
        ps->cap = cap;
    }
    r->fields[r->nfields++] = *f;
    return RG_OK;
}

static rg_status parse_object(parser *ps, int depth, int parent);

/* Validates and skips an array or an object nested deeper than we keep. */
static rg_status skip_value(parser *ps, int depth);

static rg_status skip_container(parser *ps, int depth)
{
    char close = *ps->p == '{' ? '}' : ']';
    int is_obj = close == '}';
    if (depth > RG_JSONL_MAX_DEPTH)
        return fail(ps, ps->p, "nesting too deep");
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return RG_OK;
    }
    for (;;) {
        skip_ws(ps);
        if (is_obj) {
            const char *key;
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, ps->p, "expected a key in double quotes");
            rg_status st = parse_string(ps, &key);
            if (st != RG_OK)
                return st;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps, ps->p, "expected ':' after key \"%s\"", key);
            ps->p++;
            skip_ws(ps);
        }
        rg_status st = skip_value(ps, depth + 1);
        if (st != RG_OK)
            return st;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return RG_OK;
        }
        return fail(ps, ps->p, "expected ',' or '%c'", close);
    }
}

/* Parses one value into *f (type and payload). */
static rg_status parse_value(parser *ps, rg_jv_field *f, int depth)
{
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "expected a value after key \"%s\"", f->key);
    char c = *ps->p;
    if (c == '"') {
        f->type = RG_JV_STRING;
        return parse_string(ps, &f->string);
    }
    if (c == '-' || c == '+' || c == '.' || is_digit(c) || c == 'N' || c == 'I') {
        f->type = RG_JV_NUMBER;
        return parse_number(ps, &f->number);
    }
    if (word_at(ps, "null")) {
        ps->p += 4;
        f->type = RG_JV_NULL;
        return RG_OK;
    }
    if (word_at(ps, "true") || word_at(ps, "false")) {
        f->type = RG_JV_NUMBER;
        f->number = c == 't';
        ps->p += c == 't' ? 4 : 5;
        return RG_OK;
    }
    if (c == '[' || c == '{') {
        f->type = RG_JV_OTHER;
        return skip_container(ps, depth);
    }
    return fail(ps, ps->p, "expected a value after key \"%s\"", f->key);
}

static rg_status skip_value(parser *ps, int depth)
{
    rg_jv_field f = {.key = "", .parent = -1};
    return parse_value(ps, &f, depth);
}

/* At '{'. depth 0 is the record, 1 a nested object whose members we keep. */
static rg_status parse_object(parser *ps, int depth, int parent)
{
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return RG_OK;
    }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end)
            return fail(ps, ps->p, "line ends inside an object");
        if (*ps->p != '"')
            return fail(ps, ps->p, "expected a key in double quotes");
        rg_jv_field f = {.parent = parent};
        rg_status st = parse_string(ps, &f.key);
        if (st != RG_OK)
            return st;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':')
            return fail(ps, ps->p, "expected ':' after key \"%s\"", f.key);
        ps->p++;
        skip_ws(ps);
        if (depth == 0 && ps->p < ps->end && *ps->p == '{') {
            f.type = RG_JV_OBJECT;
            if ((st = add_field(ps, &f)) != RG_OK)
                return st;
            if ((st = parse_object(ps, 1, ps->rec->nfields - 1)) != RG_OK)
                return st;
        } else {
            if ((st = parse_value(ps, &f, depth + 1)) != RG_OK)
                return st;
            if ((st = add_field(ps, &f)) != RG_OK)
                return st;
        }
        skip_ws(ps);
        if (ps->p >= ps->end)
            return fail(ps, ps->p, "line ends inside an object");
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == '}') {
            ps->p++;
            return RG_OK;
        }
        return fail(ps, ps->p, "expected ',' or '}'");
    }
}

void rg_jsonl_destroy(rg_jsonl *j)
{
    if (!j)
        return;
    for (int i = 0; i < j->nrecords; i++)
        free(j->records[i].fields);
    free(j->records);
    free(j->arena_);
    free(j);
}

rg_status rg_jsonl_parse(const char *name, const char *text, size_t len, rg_jsonl **out)
{
    *out = NULL;
    rg_jsonl *j = calloc(1, sizeof *j);
    char *buf = malloc(len + 1);
    if (!j || !buf) {
        free(j);
        free(buf);
        return rg_error_set(RG_ERR_NOMEM, "%s: out of memory", name);
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    j->arena_ = buf;
    int cap = 0;
    parser ps = {.name = name};
    rg_status st = RG_OK;
    char *line = buf, *stop = buf + len;
    while (st == RG_OK && line < stop) {
        char *nl = memchr(line, '\n', (size_t)(stop - line));
        char *eol = nl ? nl : stop;
        ps.line++;
        ps.line_start = ps.p = line;
        ps.end = eol;
        skip_ws(&ps);
        if (ps.p < ps.end) {
            if (*ps.p != '{') {
                st = fail(&ps, ps.p, "expected a JSON object starting with '{'");
                break;
            }
            if (j->nrecords == cap) {
                int ncap = cap ? cap * 2 : 64;
                rg_jsonl_record *nr = realloc(j->records, (size_t)ncap * sizeof *nr);
                if (!nr) {
                    st = rg_error_set(RG_ERR_NOMEM, "%s: out of memory", name);
                    break;
                }
                j->records = nr;
                cap = ncap;
            }
            ps.rec = &j->records[j->nrecords++];
            *ps.rec = (rg_jsonl_record){.line = ps.line};
            ps.cap = 0;
            st = parse_object(&ps, 0, -1);
            if (st == RG_OK) {
                skip_ws(&ps);
                if (ps.p < ps.end)
                    st = fail(&ps, ps.p, "unexpected text after the object");
            }
        }
        line = eol + 1;
    }
    if (st != RG_OK) {
        rg_jsonl_destroy(j);
        return st;
    }
    *out = j;
    return RG_OK;
}

rg_status rg_jsonl_read(const char *path, rg_jsonl **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return rg_error_set(RG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nt = realloc(text, ncap);
            if (!nt) {
                free(text);
                fclose(f);
                return rg_error_set(RG_ERR_NOMEM, "%s: out of memory", path);
            }
            text = nt;
            cap = ncap;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    rg_status st = bad ? rg_error_set(RG_ERR_IO, "%s: read error", path)
                       : rg_jsonl_parse(path, text, len, out);
    free(text);
    return st;
}

const rg_jv_field *rg_jsonl_get(const rg_jsonl_record *r, const char *object, const char *key)
{
    for (int i = r->nfields - 1; i >= 0; i--) {
        const rg_jv_field *f = &r->fields[i];
        if (strcmp(f->key, key) != 0)
            continue;
        if (!object && f->parent < 0)
            return f;
        if (object && f->parent >= 0 && !strcmp(r->fields[f->parent].key, object))
            return f;
    }
    return NULL;
}

double rg_jsonl_number(const rg_jsonl_record *r, const char *object, const char *key)
{
    const rg_jv_field *f = rg_jsonl_get(r, object, key);
    return f && f->type == RG_JV_NUMBER ? f->number : NAN;
}
