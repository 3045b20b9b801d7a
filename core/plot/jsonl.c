/* The JSON Lines reader of the plot command: each line goes to jansson on
 * its own, so an error names the line of the file, and its members (flat,
 * or one object deep) become the record's fields. Keys and strings stay in
 * jansson's values, which the reader keeps until rg_jsonl_destroy. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_error.h"
#include "plot.h"

/* Integers as doubles: a plot wants numbers, and an integer beyond int64
 * (which jansson refuses as such) is still one. */
#define RG_JSONL_FLAGS JSON_DECODE_INT_AS_REAL

typedef struct reader {
    const char *name;
    rg_jsonl *j;
    int cap;       /* records allocated */
    int field_cap; /* fields allocated in the current record */
} reader;

/* ---- Python's non-finite numbers --------------------------------------------
 * json.dumps writes NaN, Infinity and -Infinity, which JSON lacks. A line
 * jansson refuses is tried once more with those words, outside strings,
 * spelled as strings that start with a NUL: no JSON text can hold a NUL
 * byte without the escape \u0000, and a line holding that escape is not
 * retried, so such a string is one of ours. */

static const struct {
    const char *word, *json;
    double value;
} non_finite[] = {
    /* -Infinity before Infinity: the longer word wins where both match */
    {"-Infinity", "\"\\u0000-Infinity\"", -INFINITY},
    {"Infinity", "\"\\u0000Infinity\"", INFINITY},
    {"NaN", "\"\\u0000NaN\"", NAN},
};
enum { N_NON_FINITE = sizeof non_finite / sizeof non_finite[0] };

static int word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '+' || c == '-';
}

/* Index into non_finite[] of the word at p (a whole word), -1 if none. */
static int non_finite_at(const char *line, const char *p, const char *end)
{
    if (p > line && word_char(p[-1]))
        return -1;
    for (int k = 0; k < N_NON_FINITE; k++) {
        size_t n = strlen(non_finite[k].word);
        if ((size_t)(end - p) >= n && !memcmp(p, non_finite[k].word, n) &&
            (p + n == end || !word_char(p[n])))
            return k;
    }
    return -1;
}

static int has_nul_escape(const char *line, size_t len)
{
    for (size_t i = 0; i + 6 <= len; i++)
        if (line[i] == '\\' && line[i + 1] == 'u' && !memcmp(line + i + 2, "0000", 4))
            return 1;
    return 0;
}

/* The line with the words replaced, or NULL when there is none to replace
 * (or no memory: the line then fails with jansson's first message). */
static char *spell_non_finite(const char *line, size_t len, size_t *out_len)
{
    if (has_nul_escape(line, len))
        return NULL;
    char *out = malloc(4 * len + 1); /* a replacement is under 4 times its word */
    if (!out)
        return NULL;
    size_t w = 0;
    int replaced = 0, in_string = 0;
    for (const char *p = line, *end = line + len; p < end;) {
        int k = in_string ? -1 : non_finite_at(line, p, end);
        if (k >= 0) {
            size_t n = strlen(non_finite[k].json);
            memcpy(out + w, non_finite[k].json, n);
            w += n;
            p += strlen(non_finite[k].word);
            replaced = 1;
            continue;
        }
        if (*p == '"')
            in_string = !in_string;
        else if (*p == '\\' && in_string && p + 1 < end)
            out[w++] = *p++; /* the escaped character cannot end the string */
        out[w++] = *p++;
    }
    if (!replaced) {
        free(out);
        return NULL;
    }
    *out_len = w;
    return out;
}

/* The word a NUL-led string stands for: its index into non_finite[], or -1. */
static int non_finite_of(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || s[0] != '\0')
        return -1;
    for (int k = 0; k < N_NON_FINITE; k++)
        if (len == 1 + strlen(non_finite[k].word) && !memcmp(s + 1, non_finite[k].word, len - 1))
            return k;
    return -1;
}

/* ---- records ------------------------------------------------------------------ */

static json_t *load_line(const char *line, size_t len, json_error_t *err)
{
    json_t *v = json_loadb(line, len, RG_JSONL_FLAGS, err);
    if (v)
        return v;
    size_t n = 0;
    char *spelled = spell_non_finite(line, len, &n);
    if (!spelled)
        return NULL;
    json_error_t again;
    v = json_loadb(spelled, n, RG_JSONL_FLAGS | JSON_ALLOW_NUL, &again);
    free(spelled);
    return v; /* when NULL, err still holds what jansson said of the line itself */
}

static rg_jsonl_record *current(reader *rd)
{
    return &rd->j->records[rd->j->nrecords - 1];
}

static rg_status add_field(reader *rd, const rg_jv_field *f)
{
    rg_jsonl_record *r = current(rd);
    if (r->nfields == rd->field_cap) {
        int cap = rd->field_cap ? rd->field_cap * 2 : 16;
        rg_jv_field *nf = realloc(r->fields, (size_t)cap * sizeof *nf);
        if (!nf)
            return rg_cli_error_set(RG_ERR_NOMEM, "%s: out of memory", rd->name);
        r->fields = nf;
        rd->field_cap = cap;
    }
    r->fields[r->nfields++] = *f;
    return RG_OK;
}

/* Type and payload of a member that is not kept as a nested object. */
static void set_value(rg_jv_field *f, const json_t *v)
{
    int k;
    switch (json_typeof(v)) {
    case JSON_NULL:
        f->type = RG_JV_NULL;
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        f->type = RG_JV_NUMBER;
        f->number = json_is_true(v);
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        f->type = RG_JV_NUMBER;
        f->number = json_number_value(v);
        break;
    case JSON_STRING:
        if ((k = non_finite_of(v)) >= 0) {
            f->type = RG_JV_NUMBER;
            f->number = non_finite[k].value;
        } else {
            f->type = RG_JV_STRING;
            f->string = json_string_value(v);
        }
        break;
    default: /* an array, or an object deeper than we keep */
        f->type = RG_JV_OTHER;
    }
}

/* The members of obj in file order; depth 0 is the record, whose object
 * members keep their own members (parent = their field's index). */
static rg_status add_members(reader *rd, json_t *obj, int depth, int parent)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        rg_jv_field f = {.key = key, .parent = parent};
        rg_status st;
        if (depth == 0 && json_is_object(v)) {
            f.type = RG_JV_OBJECT;
            st = add_field(rd, &f);
            if (st == RG_OK)
                st = add_members(rd, v, 1, current(rd)->nfields - 1);
        } else {
            set_value(&f, v);
            st = add_field(rd, &f);
        }
        if (st != RG_OK)
            return st;
    }
    return RG_OK;
}

static rg_status add_record(reader *rd, json_t *obj, int lineno)
{
    rg_jsonl *j = rd->j;
    /* j->docs_ owns obj from here: keys and strings point into it */
    if (json_array_append_new(j->docs_, obj) != 0)
        return rg_cli_error_set(RG_ERR_NOMEM, "%s: out of memory", rd->name);
    if (j->nrecords == rd->cap) {
        int cap = rd->cap ? rd->cap * 2 : 64;
        rg_jsonl_record *nr = realloc(j->records, (size_t)cap * sizeof *nr);
        if (!nr)
            return rg_cli_error_set(RG_ERR_NOMEM, "%s: out of memory", rd->name);
        j->records = nr;
        rd->cap = cap;
    }
    j->records[j->nrecords++] = (rg_jsonl_record){.line = lineno};
    rd->field_cap = 0;
    return add_members(rd, obj, 0, -1);
}

/* Leading blanks of the line (which is not NUL-terminated). */
static size_t blanks(const char *line, size_t len)
{
    size_t n = 0;
    while (n < len && (line[n] == ' ' || line[n] == '\t' || line[n] == '\r'))
        n++;
    return n;
}

static rg_status parse_line(reader *rd, const char *line, size_t len, int lineno)
{
    json_error_t err;
    json_t *v = load_line(line, len, &err);
    if (!v)
        return rg_cli_error_set(RG_ERR_FORMAT, "%s:%d:%d: %s", rd->name, lineno, err.column,
                            err.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return rg_cli_error_set(RG_ERR_FORMAT, "%s:%d:%d: expected a JSON object starting with '{'",
                            rd->name, lineno, (int)blanks(line, len) + 1);
    }
    return add_record(rd, v, lineno);
}

void rg_jsonl_destroy(rg_jsonl *j)
{
    if (!j)
        return;
    for (int i = 0; i < j->nrecords; i++)
        free(j->records[i].fields);
    free(j->records);
    json_decref(j->docs_);
    free(j);
}

rg_status rg_jsonl_parse(const char *name, const char *text, size_t len, rg_jsonl **out)
{
    *out = NULL;
    rg_jsonl *j = calloc(1, sizeof *j);
    if (!j || !(j->docs_ = json_array())) {
        free(j);
        return rg_cli_error_set(RG_ERR_NOMEM, "%s: out of memory", name);
    }
    reader rd = {.name = name, .j = j};
    rg_status st = RG_OK;
    int lineno = 0;
    for (const char *line = text, *stop = text + len; st == RG_OK && line < stop;) {
        const char *nl = memchr(line, '\n', (size_t)(stop - line));
        size_t n = (size_t)((nl ? nl : stop) - line);
        lineno++;
        if (blanks(line, n) < n)
            st = parse_line(&rd, line, n, lineno);
        line += n + 1;
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
        return rg_cli_error_set(RG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nt = realloc(text, ncap);
            if (!nt) {
                free(text);
                fclose(f);
                return rg_cli_error_set(RG_ERR_NOMEM, "%s: out of memory", path);
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
    rg_status st = bad ? rg_cli_error_set(RG_ERR_IO, "%s: read error", path)
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

const char *rg_jsonl_string(const rg_jsonl_record *r, const char *key)
{
    const rg_jv_field *f = rg_jsonl_get(r, NULL, key);
    return f && f->type == RG_JV_STRING ? f->string : NULL;
}

int rg_jsonl_is_extra(const rg_jsonl_record *r)
{
    return rg_jsonl_string(r, "record") != NULL;
}
