#include "json.h"

#include <math.h>

void rg_json_init(rg_json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = 1;
    j->after_key = 0;
    j->compact = 0;
}

static void sep(rg_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (!j->first[j->depth])
        fputs(j->compact ? ", " : ",", j->f);
    if (j->depth > 0 && !j->compact)
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    j->first[j->depth] = 0;
}

static void open_(rg_json *j, char c)
{
    sep(j);
    fputc(c, j->f);
    if (j->depth < 31)
        j->depth++;
    j->first[j->depth] = 1;
}

static void close_(rg_json *j, char c)
{
    int empty = j->first[j->depth];
    j->depth--;
    if (!empty && !j->compact)
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(c, j->f);
    if (j->depth == 0)
        fputc('\n', j->f);
}

void rg_json_begin_object(rg_json *j) { open_(j, '{'); }
void rg_json_end_object(rg_json *j) { close_(j, '}'); }
void rg_json_begin_array(rg_json *j) { open_(j, '['); }
void rg_json_end_array(rg_json *j) { close_(j, ']'); }

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void rg_json_key(rg_json *j, const char *key)
{
    sep(j);
    put_string(j->f, key);
    fputs(": ", j->f);
    j->after_key = 1;
}

void rg_json_string(rg_json *j, const char *s)
{
    sep(j);
    put_string(j->f, s ? s : "");
}

void rg_json_number(rg_json *j, double v)
{
    sep(j);
    if (isfinite(v))
        fprintf(j->f, "%.9g", v);
    else
        fputs("null", j->f);
}

void rg_json_int(rg_json *j, long long v)
{
    sep(j);
    fprintf(j->f, "%lld", v);
}

void rg_json_bool(rg_json *j, int v)
{
    sep(j);
    fputs(v ? "true" : "false", j->f);
}
